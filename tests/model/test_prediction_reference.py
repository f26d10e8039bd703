"""Predictions of a saved model agree with a committed reference of an earlier implementation.

``reference/make_reference.py`` wrote ``reference/model`` (a small GM-NN: the paper's
descriptor, cutoff 5 Å, hidden 64-64, every parameter random) and its energies, forces and
dE/dε (periodic box) in float32 and float64 with the implementation before the speed work
(issue 12).  Any later change of the descriptor, the network, the neighbour layout or the
compiled inference must reproduce them: float64 to 1e-9 of the largest value, float32 to
1e-5 of it (the float32 - float64 round-off of the reference implementation itself is
0.4-1.1e-6 of the largest value, see the module's tests).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from gmnn.io import load_model
from gmnn.model.batch import atoms_inputs

REF = Path(__file__).resolve().parent / "reference"
TOLERANCE = {"float64": 1e-9, "float32": 1e-5}


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(REF / "predictions.npz"))


def _systems(ref):
    asp = Atoms(ref["aspirin_numbers"], positions=ref["aspirin_positions"])
    box = Atoms(ref["box_numbers"], positions=ref["box_positions"], cell=ref["box_cell"], pbc=True)
    mols = [Atoms(ref[f"mol{k}_numbers"], positions=ref[f"mol{k}_positions"]) for k in range(3)]
    return asp, box, mols


def _predict(model, ref) -> dict:
    from gmnn.data import Structures
    from gmnn.model.batch import GraphData

    asp, box, mols = _systems(ref)
    out = {}
    for name, feed, stress in (
        ("aspirin", atoms_inputs(model, asp), False),
        ("box", atoms_inputs(model, box), True),
        (
            "batch",
            GraphData(
                Structures.from_ase(mols, energy=False, forces=False), model.cutoff, model.species
            ).batch(np.arange(3), dtype=model.dtype.as_numpy_dtype),
            False,
        ),
    ):
        res = model.predict(feed, forces=True, stress=stress)
        out[f"{name}_energy"] = res["energy"]
        out[f"{name}_forces"] = res["forces"]
        if stress:
            out[f"{name}_dE_dstrain"] = res["dE_dstrain"]
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predictions_match_committed_reference(reference, dtype):
    model = load_model(REF / "model", dtype=dtype)
    got = _predict(model, reference)
    assert set(got) == {k.split("/", 1)[1] for k in reference if k.startswith(dtype + "/")}
    for key, value in got.items():
        want = reference[f"{dtype}/{key}"]
        scale = np.abs(reference[f"float64/{key}"]).max()
        err = np.abs(np.asarray(value, np.float64) - want).max()
        assert err <= TOLERANCE[dtype] * scale, (
            f"{dtype} {key}: max deviation {err:.3g} from the reference "
            f"(allowed {TOLERANCE[dtype]:.0e} x {scale:.3g})"
        )


def test_reference_round_off_is_what_the_tolerance_assumes(reference):
    """The reference's own float32 - float64 gap sits well inside the float32 tolerance."""
    for key in [k.split("/", 1)[1] for k in reference if k.startswith("float64/")]:
        gap = np.abs(reference[f"float32/{key}"] - reference[f"float64/{key}"]).max()
        assert 0 < gap < 0.3 * TOLERANCE["float32"] * np.abs(reference[f"float64/{key}"]).max()
