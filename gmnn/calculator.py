"""ASE calculators: one GM-NN model, or the mean of an ensemble with its spread.

>>> from gmnn import load_model, GMNNCalculator
>>> atoms.calc = GMNNCalculator(load_model("models/ethanol"))
>>> atoms.get_forces()          # eV/Å

The ensemble calculator returns the mean energy, forces and stress of K models
and stores their standard deviation as an uncertainty in ``results``:
``energy_std`` (eV), ``forces_std`` (A, 3) and ``forces_std_max`` (eV/Å, the
largest per-atom force spread, a common trigger for active learning).

``calc.fingerprint()`` identifies the potential a calculator evaluates (model settings
and a hash of the weights of each model); an MD run stores it in its identity, so that a
checkpoint is never continued with another model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from gmnn.model.batch import atoms_inputs


def _as_model(model, dtype=None):
    if isinstance(model, (str, Path)):
        from gmnn.io import load_model

        return load_model(model, dtype=dtype)
    return model


def model_fingerprint(model) -> dict:
    """What determines a model's predictions: its settings and a sha256 of its weights."""
    from gmnn.runs import arrays_fingerprint

    return {"config": dict(model.config), "weights": arrays_fingerprint(model.get_weights())}


def _changes(old, atoms) -> list[str]:
    """What changed between ``old`` and ``atoms``, compared exactly and only for what the
    models read (numbers, positions, cell, pbc): the cheap replacement of ASE's
    ``compare_atoms`` (numpy ``allclose`` over every array, ~0.4 ms per call), which MD
    calls several times per step."""
    if old is None or len(old) != len(atoms):
        return list(all_changes)
    changes = []
    if not np.array_equal(old.numbers, atoms.numbers):
        changes.append("numbers")
    if not np.array_equal(old.positions, atoms.positions):
        changes.append("positions")
    if not np.array_equal(old.cell.array, atoms.cell.array):
        changes.append("cell")
    if not np.array_equal(old.pbc, atoms.pbc):
        changes.append("pbc")
    return changes


class _FastCheck:
    def check_state(self, atoms, tol=1e-15):
        return _changes(self.atoms, atoms)


def _evaluate(model, atoms, want_stress: bool) -> dict:
    out = model.predict(atoms_inputs(model, atoms), forces=True, stress=want_stress)
    res = {
        "energy": float(out["energy"][0]),
        "forces": out["forces"].astype(np.float64),
    }
    if want_stress:
        volume = atoms.get_volume()
        res["stress"] = full_3x3_to_voigt_6_stress(out["dE_dstrain"][0] / volume)
    return res


class GMNNCalculator(_FastCheck, Calculator):
    """ASE calculator for one GM-NN model (a model object or a model directory)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model, dtype: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.model = _as_model(model, dtype)

    def fingerprint(self) -> dict:
        """The model's settings and a sha256 of its weights (:func:`model_fingerprint`)."""
        return {"calculator": "GMNNCalculator", **model_fingerprint(self.model)}

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties and bool(np.all(self.atoms.pbc))
        if "stress" in properties and not want_stress:
            raise ValueError("stress needs a cell periodic in all three directions")
        res = _evaluate(self.model, self.atoms, want_stress)
        res["free_energy"] = res["energy"]
        self.results.update(res)


class EnsembleCalculator(_FastCheck, Calculator):
    """Mean of K GM-NN models; the spread between them is exposed as an uncertainty."""

    implemented_properties = [
        "energy",
        "free_energy",
        "forces",
        "stress",
        "energy_std",
        "forces_std",
        "forces_std_max",
    ]

    def __init__(self, models, dtype: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.models = [_as_model(m, dtype) for m in models]
        if len(self.models) < 1:
            raise ValueError("an ensemble needs at least one model")
        cutoffs = {m.cutoff for m in self.models}
        if len(cutoffs) > 1:
            raise ValueError(f"ensemble members disagree on the cutoff: {sorted(cutoffs)}")

    def fingerprint(self) -> dict:
        """Each member's settings and weights hash, in order (the mean's rounding
        depends on it)."""
        return {
            "calculator": "EnsembleCalculator",
            "models": [model_fingerprint(m) for m in self.models],
        }

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties and bool(np.all(self.atoms.pbc))
        if "stress" in properties and not want_stress:
            raise ValueError("stress needs a cell periodic in all three directions")
        members = [_evaluate(m, self.atoms, want_stress) for m in self.models]
        energies = np.array([r["energy"] for r in members])
        forces = np.stack([r["forces"] for r in members])
        f_std = forces.std(axis=0)
        self.results.update(
            {
                "energy": float(energies.mean()),
                "free_energy": float(energies.mean()),
                "forces": forces.mean(axis=0),
                "energy_std": float(energies.std()),
                "forces_std": f_std,
                "forces_std_max": float(np.linalg.norm(f_std, axis=1).max()),
            }
        )
        if want_stress:
            self.results["stress"] = np.mean([r["stress"] for r in members], axis=0)
