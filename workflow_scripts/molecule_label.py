"""Rules `embedded_label` and `molecule_label`: PySCF labels of one chunk of frames of one
level (gmnn.refdata.molecules.label_chunk, over gmnn.refdata.qc.label_pyscf).

Chunk `c` of level `L` holds the frames `frames[L][c * chunk_size : (c + 1) * chunk_size]`
of the sampling record. Structures whose SCF/CC does not converge after one retry are
kept with NaN labels and listed in the chunk's info; every label's CPU and wall seconds
are in the info too.
"""

import json
import os

import ase.io

from gmnn.io import atomic_save_npz
from gmnn.refdata import molecules
from gmnn.workflow import job

log = job(snakemake)
p, wc = snakemake.params, snakemake.wildcards
spec = molecules.MoleculeSpec.from_dict(p.spec)
level = getattr(wc, "mlevel", None) or wc.level  # molecule_label or embedded_label
chunk = int(wc.chunk)
with open(snakemake.input.frames) as fh:
    record = json.load(fh)
trajectory = ase.io.read(snakemake.input.trajectory, index=":", format="extxyz")
try:
    atoms_list = molecules.chunk_atoms(trajectory, record, level, chunk, spec.chunk_size)
except ValueError as err:
    raise SystemExit(f"{snakemake.input.trajectory}: {err}") from None
log.info(
    "%s chunk %d: frames %d..%d with %s (threads %d, OMP_NUM_THREADS=%s)",
    level,
    chunk,
    atoms_list[0].info["frame"],
    atoms_list[-1].info["frame"],
    spec.levels[level],
    snakemake.threads,
    os.environ.get("OMP_NUM_THREADS"),
)
arrays = molecules.label_chunk(
    spec, level, atoms_list, max_memory_mb=p.max_memory_mb, n_threads=snakemake.threads
)
atomic_save_npz(snakemake.output[0], arrays)
info = json.loads(str(arrays["info"]))
log.info(
    "done: %d structures, %d dropped, %.1f s wall, %.1f s CPU",
    len(atoms_list),
    len(info["failures"]),
    sum(info["wall_s"]),
    sum(info["cpu_s"]),
)
