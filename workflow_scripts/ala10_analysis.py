"""Rule `ala10_analysis`: RMSD, helicity, spread and stability of one deca-alanine run
(gmnn.workflow.ala10_analysis_job)."""

from gmnn.workflow import ala10_analysis_job, job

log = job(snakemake)
inp, out, p, wc = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
ala10_analysis_job(
    reference=inp.reference,
    trajectories=list(inp.trajectories),
    summaries=list(inp.summaries),
    series=out.series,
    runs=out.stages,
    structures=out.structures,
    phase=wc.phase,
    model=wc.model,
    equilibration_ps=p.equilibration_ps,
    window_ps=p.window_ps,
    log=log,
)
