"""Rule `molecule_import`: labels of one level computed elsewhere (an extxyz file with its
units stated in the config) -> the level's gmnn HDF5 file, in eV and eV/Å
(gmnn.refdata.molecules.import_labels, through gmnn.data.read)."""

from gmnn.data import write_h5
from gmnn.refdata import molecules
from gmnn.workflow import job

job(snakemake)
spec = molecules.MoleculeSpec.from_dict(snakemake.params.spec)
out = snakemake.output[0]
write_h5(molecules.import_labels(spec, snakemake.params.level, out), out)
