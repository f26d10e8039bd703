"""Rule `ala10_helix`: the initial deca-alanine helix (gmnn.workflow.ala10_structure_job)
from the downloaded PDB or the committed embedded helix, as extended XYZ with PDB names."""

from gmnn.workflow import ala10_structure_job, job

log = job(snakemake)
ala10_structure_job(
    source=snakemake.input.source, kind=snakemake.params.kind, output=snakemake.output[0], log=log
)
