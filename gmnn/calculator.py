"""ASE calculators: one GM-NN model, or the mean of an ensemble with its spread.

>>> from gmnn import load_model, GMNNCalculator
>>> atoms.calc = GMNNCalculator(load_model("models/ethanol"))
>>> atoms.get_forces()          # eV/Å

The ensemble calculator returns the mean energy, forces and stress of K models
and stores their standard deviation as an uncertainty in ``results``:
``energy_std`` (eV), ``forces_std`` (A, 3) and ``forces_std_max`` (eV/Å, the
largest per-atom force spread, a common trigger for active learning).

Both evaluate their models with one :class:`gmnn.model.inference.Predictor`: one
neighbour list, all members in one batched computation, compiled with XLA for small and
medium systems.  The models' parameters are copied when the calculator is made; a
calculator does not follow later changes of the models (make a new one).

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


def _model_dirs(models) -> list:
    """``models`` with each exported-ensemble directory replaced by its members, read,
    verified and checked by the one ensemble reader (:func:`gmnn.export.read_ensemble`);
    models given as directories must share species, cutoff, architecture and dtype
    (:func:`gmnn.export.check_consistent`: the error names the member's model.json)."""
    from gmnn.export import check_consistent, model_paths

    if isinstance(models, (str, Path)):
        models = [models]
    models = list(models)
    if not all(isinstance(m, (str, Path)) for m in models):
        return models
    paths = model_paths(models)
    if len(paths) > 1:
        check_consistent(paths)
    return paths


def model_fingerprint(model) -> dict:
    """What determines a model's predictions: its settings and a sha256 of its weights."""
    from gmnn.fingerprints import arrays_fingerprint

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


class _PredictorCalculator(Calculator):
    """The members' energies, forces and stresses of one Predictor call."""

    def __init__(self, models, dtype=None, jit="auto", **kwargs):
        super().__init__(**kwargs)
        from gmnn.model.inference import Predictor

        self.models = [_as_model(m, dtype) for m in models]
        if len(self.models) < 1:
            raise ValueError("an ensemble needs at least one model")
        self.predictor = Predictor(self.models, jit=jit)

    def check_state(self, atoms, tol=1e-15):
        return _changes(self.atoms, atoms)

    def _members(self, properties) -> dict:
        """Per-member ``energy`` (K,), ``forces`` (K, A, 3) float64 and ``stress``
        (K, 6) when asked for."""
        want_stress = "stress" in properties and bool(np.all(self.atoms.pbc))
        if "stress" in properties and not want_stress:
            raise ValueError("stress needs a cell periodic in all three directions")
        out = self.predictor.predict(atoms_inputs(self.models[0], self.atoms), stress=want_stress)
        res = {"energy": out["energy"][:, 0], "forces": out["forces"].astype(np.float64)}
        if want_stress:
            volume = self.atoms.get_volume()
            res["stress"] = np.array(
                [full_3x3_to_voigt_6_stress(s / volume) for s in out["dE_dstrain"][:, 0]]
            )
        return res


class GMNNCalculator(_PredictorCalculator):
    """ASE calculator for one GM-NN model (a model object or a model directory)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model, dtype: str | None = None, jit="auto", **kwargs):
        super().__init__([model], dtype=dtype, jit=jit, **kwargs)
        self.model = self.models[0]

    def fingerprint(self) -> dict:
        """The model's settings and a sha256 of its weights (:func:`model_fingerprint`)."""
        return {"calculator": "GMNNCalculator", **model_fingerprint(self.model)}

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        members = self._members(properties)
        energy = float(members["energy"][0])
        self.results.update(
            {"energy": energy, "free_energy": energy, "forces": members["forces"][0]}
        )
        if "stress" in members:
            self.results["stress"] = members["stress"][0]


class EnsembleCalculator(_PredictorCalculator):
    """Mean of K GM-NN models, evaluated together; their spread is an uncertainty.

    ``models``: model objects, model directories, or exported ensembles (a directory
    stands for its members, verified against their checksums)."""

    implemented_properties = [
        "energy",
        "free_energy",
        "forces",
        "stress",
        "energy_std",
        "forces_std",
        "forces_std_max",
    ]

    def __init__(self, models, dtype: str | None = None, jit="auto", **kwargs):
        # the Predictor refuses members that disagree (cutoff, species, architecture)
        super().__init__(_model_dirs(models), dtype=dtype, jit=jit, **kwargs)

    def fingerprint(self) -> dict:
        """Each member's settings and weights hash, in order (the mean's rounding
        depends on it)."""
        return {
            "calculator": "EnsembleCalculator",
            "models": [model_fingerprint(m) for m in self.models],
        }

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        members = self._members(properties)
        energies, forces = members["energy"], members["forces"]
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
        if "stress" in members:
            self.results["stress"] = members["stress"].mean(axis=0)
