"""Rule `embedded_merge`: the labelled chunks of one level -> the final gmnn HDF5 file.

Structures dropped while labelling (NaN labels) are left out and listed in
`meta["dropped"]`; `ids` are the frame indices in the sampled trajectory.
"""

import json
import logging

import numpy as np

from gmnn.data import Structures, write_h5

logging.basicConfig(
    filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
)
wc = snakemake.wildcards
with open(snakemake.input.frames) as fh:
    record = json.load(fh)
chunks = [np.load(path) for path in snakemake.input.chunks]
infos = [json.loads(str(chunk["info"])) for chunk in chunks]


def joined(key):
    return np.concatenate([chunk[key] for chunk in chunks])


def unique(key):
    """The value of an info entry, which must be the same in every chunk."""
    values = {json.dumps(info[key], sort_keys=True) for info in infos}
    if len(values) != 1:
        raise SystemExit(f"chunks disagree on {key}: {sorted(values)}")
    return infos[0][key]


n_atoms, energy, forces = joined("n_atoms"), joined("energy"), joined("forces")
keep = np.isfinite(energy)
atom_keep = np.repeat(keep, n_atoms)
if not np.isfinite(forces[atom_keep]).all():
    raise SystemExit("finite energy with non-finite forces in a chunk")
frames = joined("frames")
if not np.array_equal(frames, record["frames"][wc.level]):
    raise SystemExit(f"chunks do not hold exactly the {wc.level} frames of the sampling record")

wall = [t for info in infos for t in info["wall_s"]]
cpu = [t for info in infos for t in info["cpu_s"]]
level_of_theory = f"{unique('method')}/{unique('basis')}"
if unique("frozen_core"):
    level_of_theory += " (frozen core)"
meta = {
    "source": snakemake.output[0],
    "format": "gmnn-embedded",
    "name": f"{record['molecule']}_{wc.level}",
    "molecule": record["molecule"],
    "level": wc.level,
    "level_of_theory": level_of_theory,
    "method": unique("method"),
    "basis": unique("basis"),
    "xc": unique("xc"),
    "frozen_core": unique("frozen_core"),
    "n_frozen_orbitals": sorted({n for info in infos for n in info["n_frozen_orbitals"] if n >= 0}),
    "n_basis_functions": sorted({n for info in infos for n in info["n_basis"] if n >= 0}),
    "scf_conv_tol_hartree": unique("scf_conv_tol_hartree"),
    "cc_conv_tol_hartree": unique("cc_conv_tol_hartree"),
    "dft_grid_level": unique("dft_grid_level"),
    "code_versions": unique("code_versions"),
    "sampling": record["sampling"],
    "sampling_code_versions": record["code_versions"],
    "frame_selection": record["frame_selection"],
    "ids": "frame index in the sampled trajectory (0-based, after equilibration)",
    "dropped": [f for info in infos for f in info["failures"]],
    "retried": [r for info in infos for r in info["retries"]],
    "wall_time_s": {
        "sampling": record["wall_s"],
        "labelling_sum": round(sum(wall), 1),
        "labelling_cpu_sum": round(sum(cpu), 1),
        "labelling_mean_per_structure": round(float(np.mean(wall)), 2),
        "labelling_max_per_structure": round(float(np.max(wall)), 2),
    },
    "n_chunks": len(chunks),
    "units": {"energy": "eV", "forces": "eV/Angstrom", "positions": "Angstrom"},
}
structures = Structures(
    numbers=joined("numbers")[atom_keep],
    positions=joined("positions")[atom_keep],
    n_atoms=n_atoms[keep],
    energy=energy[keep],
    forces=forces[atom_keep],
    ids=frames[keep],
    meta=meta,
)
write_h5(structures, snakemake.output[0])
logging.info(
    "%s: %d structures (%d dropped), %s, labelling %.0f s (sum over structures)",
    snakemake.output[0],
    int(keep.sum()),
    int((~keep).sum()),
    level_of_theory,
    sum(wall),
)
