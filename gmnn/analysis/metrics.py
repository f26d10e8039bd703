"""Prediction errors of a model on labelled structures, reported in kcal/mol and kcal/mol/Å."""

from __future__ import annotations

import numpy as np

from gmnn.model.batch import GraphData
from gmnn.units import ev_to_kcal_mol


def predict(model, structures, batch_size: int = 128, forces: bool = True) -> dict:
    """Energies (M,) in eV and, with ``forces``, forces (A, 3) in eV/Å."""
    data = GraphData(structures, model.cutoff, model.species)
    energies, force_parts = [], []
    for start in range(0, len(structures), batch_size):
        idx = np.arange(start, min(len(structures), start + batch_size))
        out = model.predict(data.batch(idx, model.dtype.as_numpy_dtype), forces=forces)
        energies.append(out["energy"])
        if forces:
            force_parts.append(out["forces"].astype(np.float64))
    result = {"energy": np.concatenate(energies) if energies else np.zeros(0)}
    if forces:
        result["forces"] = np.concatenate(force_parts) if force_parts else np.zeros((0, 3))
    return result


def error_metrics(model, structures, batch_size: int = 128) -> dict:
    """MAE and RMSE of energies (kcal/mol) and force components (kcal/mol/Å).

    Force errors are over all Cartesian components of all atoms, the MD17
    convention; energy errors are per structure (total energies).

    Raises:
        ValueError: no structures (the metrics would be NaN), no energy labels, or a
            non-finite prediction (naming the structure); the message names the data's
            ``meta["source"]``.
    """
    source = (getattr(structures, "meta", None) or {}).get("source") or "the structures"
    if len(structures) == 0:
        raise ValueError(f"{source}: no structures to evaluate on (0 structures selected)")
    if structures.energy is None:
        raise ValueError(f"{source}: error metrics need energy labels")
    has_f = structures.forces is not None
    pred = predict(model, structures, batch_size, forces=has_f)
    bad = ~np.isfinite(pred["energy"])
    if has_f:
        bad_atoms = ~np.isfinite(pred["forces"]).all(axis=1)
        bad |= np.bincount(structures.structure_index[bad_atoms], minlength=len(bad)) > 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{source}: the model predicts a non-finite energy or force for structure {i} "
            f"({int(bad.sum())} of {len(structures)} structures)"
        )
    de = ev_to_kcal_mol(pred["energy"] - structures.energy)
    out = {
        "n_structures": int(len(structures)),
        "energy_mae": float(np.mean(np.abs(de))),
        "energy_rmse": float(np.sqrt(np.mean(de**2))),
        "units": {"energy": "kcal/mol", "forces": "kcal/mol/Angstrom"},
    }
    if has_f:
        df = ev_to_kcal_mol(pred["forces"] - structures.forces)
        out["force_mae"] = float(np.mean(np.abs(df)))
        out["force_rmse"] = float(np.sqrt(np.mean(df**2)))
    return out


def predict_geometries(model, numbers, geometries, batch_size: int = 128) -> np.ndarray:
    """Energies (eV) of one molecule's ``(n, A, 3)`` geometries with atomic ``numbers``."""
    from gmnn.data import Structures

    geometries = np.asarray(geometries, dtype=float)
    n, n_atoms = geometries.shape[:2]
    structures = Structures(
        numbers=np.tile(np.asarray(numbers), n),
        positions=geometries.reshape(-1, 3),
        n_atoms=np.full(n, n_atoms),
    )
    return predict(model, structures, batch_size, forces=False)["energy"].astype(float)
