"""Rule `ala10_analysis`: RMSD, helicity, spread and stability of one deca-alanine run
(gmnn.workflow.ala10_analysis_job)."""

from gmnn.workflow import ala10_analysis_job, job

log = job(snakemake)
inp, out, p, wc = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
files = {"reference": inp.reference, "series": out.series, "runs": out.stages}
files.update(trajectories=list(inp.trajectories), summaries=list(inp.summaries))
settings = {"equilibration_ps": p.equilibration_ps, "window_ps": p.window_ps}
ala10_analysis_job(
    **files, structures=out.structures, phase=wc.phase, model=wc.model, **settings, log=log
)
