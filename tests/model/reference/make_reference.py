"""Write the committed prediction reference of ``test_prediction_reference.py``.

Run once, with the implementation whose predictions later versions must reproduce:

    .venv/bin/python tests/model/reference/make_reference.py

It saves a small GM-NN model (the paper's descriptor and cutoff 5 Å, hidden layers 64-64 to
keep the file small; random β, weights, biases, scale and shift, so that every parameter
matters) to ``tests/model/reference/model`` and, in ``predictions.npz``, three inputs
(aspirin-like C9H8O4 molecule, a periodic box of 32 waters, a batch of three molecules of
different sizes) with the energies, forces and, for the box, dE/dε predicted in float32 and
float64.  The inputs are generated here (no data files), fixed by the seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import molecule

from gmnn.data import Structures
from gmnn.io import atomic_save_npz, save_model
from gmnn.model import GMNN
from gmnn.model.batch import GraphData, atoms_inputs

HERE = Path(__file__).resolve().parent
SPECIES = (1, 6, 7, 8)


def reference_model() -> GMNN:
    model = GMNN(SPECIES, {"cutoff": 5.0, "hidden": [64, 64]}, seed=7)
    rng = np.random.default_rng(11)
    weights = model.get_weights()
    for key, value in weights.items():
        if key.endswith("/b"):
            weights[key] = rng.normal(0.0, 0.5, value.shape)
    weights["scale"] = rng.uniform(0.5, 1.5, weights["scale"].shape)
    weights["shift"] = rng.normal(-3.0, 1.0, weights["shift"].shape)
    weights["energy_scale"] = np.float64(0.37)
    model.set_weights(weights)
    return model


def aspirin_like(rng) -> Atoms:
    numbers = [6] * 9 + [1] * 8 + [8] * 4
    pos = np.zeros((0, 3))
    while len(pos) < len(numbers):  # random sequential addition, atoms >= 1 Å apart
        trial = rng.uniform(0.0, 5.0, 3)
        if len(pos) == 0 or np.linalg.norm(pos - trial, axis=1).min() > 1.0:
            pos = np.vstack([pos, trial])
    return Atoms(numbers, positions=pos)


def water_box(rng, n_side: int = 4, spacing: float = 3.1) -> Atoms:
    water = molecule("H2O")
    atoms = Atoms()
    for ix in range(n_side):
        for iy in range(n_side):
            for iz in range(2):
                w = water.copy()
                w.rotate(rng.uniform(0, 360), rng.normal(size=3))
                w.translate(np.array([ix, iy, iz]) * spacing + rng.normal(0, 0.1, 3))
                atoms += w
    atoms.cell = [n_side * spacing, n_side * spacing, 2 * spacing]
    atoms.pbc = True
    atoms.wrap()
    return atoms


def inputs():
    rng = np.random.default_rng(2024)
    asp = aspirin_like(rng)
    box = water_box(rng)
    mols = [molecule(name) for name in ("CH3CH2OH", "HCOOH", "CH3CONH2")]
    for m in mols:
        m.positions += rng.normal(0.0, 0.05, m.positions.shape)
    return asp, box, mols


def batch_inputs(model, mols) -> dict:
    s = Structures.from_ase(mols, energy=False, forces=False)
    return GraphData(s, model.cutoff, model.species).batch(
        np.arange(len(mols)), dtype=model.dtype.as_numpy_dtype
    )


def predictions(model, asp, box, mols) -> dict:
    out = {}
    for name, feed, stress in (
        ("aspirin", atoms_inputs(model, asp), False),
        ("box", atoms_inputs(model, box), True),
        ("batch", batch_inputs(model, mols), False),
    ):
        res = model.predict(feed, forces=True, stress=stress)
        out[f"{name}_energy"] = np.asarray(res["energy"], np.float64)
        out[f"{name}_forces"] = np.asarray(res["forces"], np.float64)
        if stress:
            out[f"{name}_dE_dstrain"] = np.asarray(res["dE_dstrain"], np.float64)
    return out


def main() -> None:
    from gmnn.io import load_model

    model = reference_model()
    save_model(model, HERE / "model", provenance={"purpose": "prediction reference"})
    asp, box, mols = inputs()
    arrays = {
        "aspirin_numbers": asp.numbers,
        "aspirin_positions": asp.positions,
        "box_numbers": box.numbers,
        "box_positions": box.positions,
        "box_cell": box.cell.array,
    }
    for k, m in enumerate(mols):
        arrays[f"mol{k}_numbers"] = m.numbers
        arrays[f"mol{k}_positions"] = m.positions
    for dtype in ("float32", "float64"):
        loaded = load_model(HERE / "model", dtype=dtype)
        for key, value in predictions(loaded, asp, box, mols).items():
            arrays[f"{dtype}/{key}"] = value
    atomic_save_npz(HERE / "predictions.npz", arrays)
    print("wrote", HERE / "predictions.npz")


if __name__ == "__main__":
    main()
