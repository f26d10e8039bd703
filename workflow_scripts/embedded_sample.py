"""Rule `embedded_sample`: GFN2-xTB Langevin MD of the molecule (gmnn.refdata.qc.sample_xtb_md).

Writes all sampled frames (extxyz) and a JSON record with the frames of each level of
theory (gmnn.refdata.qc.split_frames), the sampling settings, code versions and wall time.
"""

import os
import time

import ase.io

from gmnn.io import atomic_path, atomic_write_json
from gmnn.refdata import qc
from gmnn.workflow import job

log = job(snakemake)
p = snakemake.params
n_frames = p.n_dft + p.n_cc
log.info(
    "sampling %d frames of %s (OMP_NUM_THREADS=%s): %s",
    n_frames,
    p.molecule,
    os.environ.get("OMP_NUM_THREADS"),
    p.sampling,
)
start = time.perf_counter()
frames = qc.sample_xtb_md(
    qc.build_molecule(p.molecule),
    temperature_K=p.sampling["temperature_K"],
    timestep_fs=p.sampling["timestep_fs"],
    n_equil=p.sampling["n_equil"],
    n_frames=n_frames,
    stride=p.sampling["stride"],
    seed=p.sampling["seed"],
    method=p.sampling["method"],
)
wall_s = time.perf_counter() - start
log.info("sampled %d frames in %.1f s", n_frames, wall_s)

with atomic_path(snakemake.output.trajectory) as tmp:
    ase.io.write(tmp, frames, format="extxyz")
selection = qc.split_frames(p.n_dft, p.n_cc)
atomic_write_json(
    snakemake.output.frames,
    {
        "molecule": p.molecule,
        "sampling": {
            **p.sampling,
            "n_frames": n_frames,
            "friction_per_fs": qc.LANGEVIN_FRICTION_PER_FS,
            "thermostat": "Langevin (ase.md.langevin), centre of mass fixed",
        },
        "frame_selection": qc.FRAME_SELECTION,
        "frames": {level: indices.tolist() for level, indices in selection.items()},
        "code_versions": qc.provenance(),
        "wall_s": round(wall_s, 1),
    },
)
