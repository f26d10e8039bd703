"""Rule `ala10_solvate`: the helix in a periodic water box (gmnn.workflow.solvate_job,
packmol)."""

from gmnn.workflow import job, solvate_job

log = job(snakemake)
solvate_job(
    helix=snakemake.input[0],
    output=snakemake.output[0],
    solvation=snakemake.params.solvation,
    log=log,
)
