"""Rule `embedded_ala10`: the embedded default's deca-alanine helix, an ideal alpha-helix
(PeptideBuilder, RDKit hydrogens) relaxed with GFN2-xTB (gmnn.refdata.peptide), as extended
XYZ with PDB names and the build and relaxation settings in its comment line."""

import json

from gmnn.io import atomic_path
from gmnn.refdata.peptide import embedded_ala10_helix
from gmnn.workflow import job

log = job(snakemake)
atoms, record = embedded_ala10_helix()
log.info("embedded helix: %s", json.dumps(record, default=str))
atoms.info = {"provenance": json.dumps(record, default=str, sort_keys=True)}
with atomic_path(snakemake.output[0]) as tmp:
    atoms.write(tmp, format="extxyz")
