"""Rule `convert_ani`: ANI-1x (DFT) or ANI-1ccx (CCSD(T)*/CBS) -> gmnn HDF5, streaming
(gmnn.data.ani.convert_ani: memory bounded by one chunk; positions/forces float32)."""

import logging

from gmnn.data.ani import convert_ani
from gmnn.data.sources import find_files
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
(path,) = find_files("file", snakemake.input.raw, [])
summary = convert_ani(path, snakemake.output[0], level=snakemake.params.level)
logging.info("%s -> %s: %s", path, snakemake.output[0], summary)
