"""Rules `embedded_sample` and `molecule_sample`: GFN2-xTB Langevin MD of one molecule
(gmnn.refdata.molecules.sample, over gmnn.refdata.qc.sample_xtb_md).

Writes all sampled frames (extxyz) and a JSON record with the frames of each level of
theory, the sampling settings, the starting geometry, code versions and wall time.
"""

import os

import ase.io

from gmnn.io import atomic_path, atomic_write_json
from gmnn.refdata import molecules
from gmnn.workflow import job

log = job(snakemake)
spec = molecules.MoleculeSpec.from_dict(snakemake.params.spec)
log.info(
    "sampling %d frames of %s (OMP_NUM_THREADS=%s): %s",
    spec.n_frames,
    spec.name,
    os.environ.get("OMP_NUM_THREADS"),
    spec.sampling,
)
frames, record = molecules.sample(spec)
log.info("sampled %d frames in %.1f s", len(frames), record["wall_s"])
with atomic_path(snakemake.output.trajectory) as tmp:
    ase.io.write(tmp, frames, format="extxyz")
atomic_write_json(snakemake.output.frames, record)
