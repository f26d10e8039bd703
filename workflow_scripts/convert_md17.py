"""Rule `convert_md17`: MD17 DFT (rMD17) or coupled-cluster (sGDML) data -> gmnn HDF5."""

import logging

from gmnn.data import read_h5, write_h5
from gmnn.data.sources import load_rmd17, load_sgdml
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
molecule, source = snakemake.wildcards.molecule, snakemake.params.source
raw = snakemake.input.raw
if source == "embedded":
    structures = read_h5(raw)
elif source == "rmd17":
    structures = load_rmd17(raw, molecule)
else:
    structures = load_sgdml(raw, molecule)
write_h5(structures, snakemake.output[0])
logging.info("%s -> %s: %r", raw, snakemake.output[0], structures)
