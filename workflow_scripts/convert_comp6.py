"""Rule `convert_comp6`: one COMP6 v1 subset -> gmnn HDF5."""

import logging

from gmnn.data import write_h5
from gmnn.data.sources import load_comp6
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
structures = load_comp6(snakemake.input.raw, snakemake.wildcards.subset)
write_h5(structures, snakemake.output[0])
logging.info("%s -> %s: %r", snakemake.input.raw, snakemake.output[0], structures)
