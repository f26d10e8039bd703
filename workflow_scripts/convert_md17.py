"""Rule `convert_md17`: MD17 DFT (rMD17) or coupled-cluster (sGDML) data -> gmnn HDF5."""

from gmnn.data import read_h5, write_h5
from gmnn.data.sources import load_rmd17, load_sgdml
from gmnn.workflow import job

log = job(snakemake)
molecule, source = snakemake.wildcards.molecule, snakemake.params.source
raw = snakemake.input.raw
if source == "embedded":
    structures = read_h5(raw)
elif source == "rmd17":
    structures = load_rmd17(raw, molecule)
else:
    structures = load_sgdml(raw, molecule)
write_h5(structures, snakemake.output[0])
log.info("%s -> %s: %r", raw, snakemake.output[0], structures)
