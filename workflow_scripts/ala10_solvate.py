"""Rule `ala10_solvate`: the helix in a periodic water box (gmnn.workflow.solvate_job,
packmol)."""

from gmnn.workflow import solvate_job, start_job

log = start_job(snakemake.log[0], snakemake.threads)
solvate_job(
    helix=snakemake.input[0],
    output=snakemake.output[0],
    solvation=snakemake.params.solvation,
    log=log,
)
