"""Rule `embedded_label`: PySCF energies and forces of one chunk of frames of one level.

Chunk `c` of level `L` holds the frames `frames[L][c * chunk_size : (c + 1) * chunk_size]`
of the sampling record. Structures whose SCF/CC does not converge after one retry are
kept with NaN labels and listed in the chunk's info (gmnn.refdata.qc.label_pyscf).
"""

import json
import os

import ase.io
import numpy as np

from gmnn.io import atomic_save_npz
from gmnn.refdata import qc
from gmnn.workflow import job

log = job(snakemake)
p, wc = snakemake.params, snakemake.wildcards
chunk = int(wc.chunk)
with open(snakemake.input.frames) as fh:
    selection = json.load(fh)["frames"][wc.level]
indices = selection[chunk * p.chunk_size : (chunk + 1) * p.chunk_size]
if not indices:
    raise SystemExit(f"chunk {chunk} of level {wc.level} is empty ({len(selection)} frames)")
trajectory = ase.io.read(snakemake.input.trajectory, index=":", format="extxyz")
atoms_list = [trajectory[i] for i in indices]
if [atoms.info["frame"] for atoms in atoms_list] != indices:
    raise SystemExit(f"{snakemake.input.trajectory}: frame numbers do not match their order")

log.info(
    "%s chunk %d: frames %d..%d with %s (threads %d, OMP_NUM_THREADS=%s)",
    wc.level,
    chunk,
    indices[0],
    indices[-1],
    p.level,
    snakemake.threads,
    os.environ.get("OMP_NUM_THREADS"),
)
energies, forces, info = qc.label_pyscf(
    atoms_list,
    p.level["method"],
    p.level["basis"],
    frozen_core=p.level.get("frozen_core", False),
    max_memory_mb=p.max_memory_mb,
    n_threads=snakemake.threads,
    on_failure="drop",
)
info["code_versions"] = qc.provenance()
atomic_save_npz(
    snakemake.output[0],
    {
        "numbers": np.concatenate([atoms.numbers for atoms in atoms_list]),
        "positions": np.concatenate([atoms.positions for atoms in atoms_list]),
        "n_atoms": np.array([len(atoms) for atoms in atoms_list]),
        "energy": energies,
        "forces": forces,
        "frames": np.array(indices),
        "info": np.array(json.dumps(info)),
    },
)
log.info(
    "done: %d structures, %d dropped, %.1f s wall",
    len(indices),
    len(info["failures"]),
    sum(info["wall_s"]),
)
