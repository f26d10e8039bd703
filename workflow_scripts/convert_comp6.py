"""Rule `convert_comp6`: one COMP6 v1 subset -> gmnn HDF5, streaming
(gmnn.data.sources.convert_comp6; forces negated, see gmnn.data.sources.load_comp6)."""

from gmnn.data.sources import convert_comp6
from gmnn.workflow import job

log = job(snakemake)
summary = convert_comp6(snakemake.input.raw, snakemake.wildcards.subset, snakemake.output[0])
log.info("%s -> %s: %s", snakemake.input.raw, snakemake.output[0], summary)
