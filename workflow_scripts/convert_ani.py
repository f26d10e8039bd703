"""Rule `convert_ani`: ANI-1x (DFT) or ANI-1ccx (CCSD(T)*/CBS) -> gmnn HDF5, streaming
(gmnn.data.ani.convert_ani: memory bounded by one chunk; positions/forces float32)."""

from gmnn.data.ani import convert_ani
from gmnn.data.sources import find_files
from gmnn.workflow import job

log = job(snakemake)
(path,) = find_files("file", snakemake.input.raw, [])
summary = convert_ani(path, snakemake.output[0], level=snakemake.params.level)
log.info("%s -> %s: %s", path, snakemake.output[0], summary)
