"""Rule `ala10_md`: one stage of a deca-alanine run with the mean of an ensemble
(gmnn.workflow.ensemble_md_stage_job). The trajectory grows in md.partial.traj next to
md.traj with the checkpoint md.ckpt.npz, both kept when a job is killed, so the rerun
continues; a diverging stage is recorded in summary.json, not raised. Stage 0 records the
gate on input.gate (the initial helix) first."""

from gmnn.workflow import ensemble_md_stage_job, finish, job

log = job(snakemake, tf=True)
inp, out, p = snakemake.input, snakemake.output, snakemake.params
ensemble_md_stage_job(
    models=p.members,
    start=inp.start,
    stages=p.stages,
    base=p.base,
    stage=int(snakemake.wildcards.stage),
    trajectory=out.trajectory,
    summary=out.summary,
    previous_summary=inp.get("previous_summary"),
    previous_trajectory=inp.get("previous_trajectory"),
    where=p.where,
    record=p.record,
    gate_structure=inp.get("gate") or None,
    log=log,
)
finish()  # leave without the interpreter's teardown (gmnn.workflow.finish)
