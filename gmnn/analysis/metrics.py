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


UNITS = {"energy": "kcal/mol", "forces": "kcal/mol/Angstrom"}
"""Units of :func:`error_metrics`."""


def source_name(structures) -> str:
    """The data's ``meta["source"]`` for messages ("the structures" without one)."""
    return (getattr(structures, "meta", None) or {}).get("source") or "the structures"


def prediction_errors(
    model,
    structures,
    batch_size: int = 128,
    chunk: int | None = 8192,
    energy_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Errors (prediction + ``energy_offset`` − label) of ``model`` on ``structures``:
    energies (M,) in kcal/mol and, if the structures have forces, force components
    (A, 3) in kcal/mol/Å (else None).

    ``energy_offset`` (eV) is added to every predicted energy. The structures are
    predicted ``chunk`` at a time (all at once for None) in batches of ``batch_size``
    (neighbour lists of a chunk only), so that subsets of tens of thousands of conformers
    fit in memory.

    Raises:
        ValueError: no structures, no energy labels, or a non-finite prediction (naming the
            structure); the message names the data's ``meta["source"]``.
    """
    source = source_name(structures)
    n = len(structures)
    if n == 0:
        raise ValueError(f"{source}: no structures to evaluate on (0 structures selected)")
    if structures.energy is None:
        raise ValueError(f"{source}: error metrics need energy labels")
    has_f = structures.forces is not None
    step = n if chunk is None else chunk
    de_parts, df_parts = [], []
    for start in range(0, n, step):
        part = structures if step >= n else structures[np.arange(start, min(n, start + step))]
        pred = predict(model, part, batch_size, forces=has_f)
        bad = ~np.isfinite(pred["energy"])
        if has_f:
            bad_atoms = ~np.isfinite(pred["forces"]).all(axis=1)
            bad |= np.bincount(part.structure_index[bad_atoms], minlength=len(part)) > 0
        if bad.any():
            i = start + int(np.argmax(bad))
            raise ValueError(
                f"{source}: the model predicts a non-finite energy or force for structure {i} "
                f"({int(bad.sum())} of the {len(part)} structures {start}-{start + len(part) - 1})"
            )
        de_parts.append(
            ev_to_kcal_mol(pred["energy"].astype(np.float64) + energy_offset - part.energy)
        )
        if has_f:
            df_parts.append(ev_to_kcal_mol(pred["forces"].astype(np.float64) - part.forces))
    de = np.concatenate(de_parts)
    return de, (np.concatenate(df_parts) if has_f else None)


def error_summary(energy_errors, force_errors=None, units=UNITS, **extra) -> dict:
    """``n_structures``, MAE and RMSE of the energy errors (M,) and, if given, of the force
    components, with ``units`` and the ``extra`` entries (before the force errors)."""
    de = energy_errors
    out = {
        "n_structures": int(len(de)),
        "energy_mae": float(np.mean(np.abs(de))),
        "energy_rmse": float(np.sqrt(np.mean(de**2))),
        "units": units,
        **extra,
    }
    if force_errors is not None:
        df = force_errors
        out["force_mae"] = float(np.mean(np.abs(df)))
        out["force_rmse"] = float(np.sqrt(np.mean(df**2)))
    return out


def error_metrics(model, structures, batch_size: int = 128) -> dict:
    """MAE and RMSE of energies (kcal/mol) and force components (kcal/mol/Å).

    Force errors are over all Cartesian components of all atoms, the MD17
    convention; energy errors are per structure (total energies). All structures are
    predicted at once (:func:`prediction_errors` without chunks).

    Raises:
        ValueError: no structures (the metrics would be NaN), no energy labels, or a
            non-finite prediction (naming the structure); the message names the data's
            ``meta["source"]``.
    """
    return error_summary(*prediction_errors(model, structures, batch_size, chunk=None))


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
