"""Rule `md`: one MD run of one model from the lowest-energy coupled-cluster structure
(gmnn.workflow.md_job). params.md is the run's gmnn.md.MDConfig (config md.dynamics with
temperature_K, steps and seed filled in); params.model the config's model section, which
the model must match. The trajectory grows in md.partial.traj next to md.traj with the
checkpoint md.ckpt.npz, both kept when a job is killed, so the rerun continues; a
diverging run is recorded in summary.json, not raised."""

from pathlib import Path

from gmnn.workflow import finish, job, md_job

log = job(snakemake, tf=True)
inp, out, p = snakemake.input, snakemake.output, snakemake.params
files = {"model": Path(inp.model[0]).parent, "data": inp.data}
files.update(trajectory=out.trajectory, summary=out.summary)
md_job(**files, dynamics=p.md, record=p.record, architecture=p.model, log=log)
finish()  # leave without the interpreter's teardown (gmnn.workflow.finish)
