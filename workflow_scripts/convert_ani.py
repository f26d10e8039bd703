"""Rule `convert_ani`: ANI-1x (DFT) or ANI-1ccx (CCSD(T)*/CBS) -> gmnn HDF5."""

import logging

from gmnn.data import write_h5
from gmnn.data.sources import find_files, load_ani1x
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
(path,) = find_files("file", snakemake.input.raw, [])
structures = load_ani1x(path, snakemake.params.level)
write_h5(structures, snakemake.output[0])
logging.info("%s -> %s: %r", path, snakemake.output[0], structures)
