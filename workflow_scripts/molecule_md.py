"""Rule `molecule_md`: ensemble MD of the best fine-tuned or from-scratch models of a
molecule study (gmnn.molecules.md.molecule_md_job over gmnn.workflow.md_job): resumable,
a divergence recorded in summary.json, not raised.

input.errors: the study's errors.csv; input.models: the exported ensemble (run finetuned)
or model.json of every from-scratch setting at the largest label count (run scratch);
input.data: the accurate labels (the lowest-energy structure starts the run); params.md:
the entry's md key; params.settings: the settings the run chooses from.
"""

from gmnn.molecules.md import molecule_md_job
from gmnn.workflow import finish, job

log = job(snakemake, tf=True)
inp, out, p, wc = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
done = molecule_md_job(
    wc.name,
    wc.run,
    errors=inp.errors,
    models=list(inp.models),
    settings=list(p.settings),
    data=inp.data,
    md=p.md,
    trajectory=out.trajectory,
    summary=out.summary,
    log=log,
)
log.info(
    "%s: %s, %.3f of %.3f ps",
    out.summary,
    done["setting"],
    done["time_ps"],
    done["steps_requested"] * done["timestep_fs"] / 1000,
)
finish()  # leave without the interpreter's teardown (gmnn.workflow.finish)
