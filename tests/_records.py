"""Synthetic metrics records of training runs, as the pipeline's evaluation jobs write them."""

from __future__ import annotations


def error_record(
    setting: str,
    n_train,
    seed: int,
    energy_rmse: float,
    force_rmse: float,
    molecule: str = "ethanol",
    *,
    energy_mae: float | None = None,
    force_mae: float | None = None,
    **fields,
) -> dict:
    """The test errors of one run (kcal/mol, kcal/mol/Å) with its grid point; the MAEs are
    half the RMSEs unless given; ``fields`` are added (e.g. ``n_pretrain``)."""
    return {
        "molecule": molecule,
        "setting": setting,
        "n_train": n_train,
        "seed": seed,
        "energy_rmse": energy_rmse,
        "force_rmse": force_rmse,
        "energy_mae": energy_rmse / 2 if energy_mae is None else energy_mae,
        "force_mae": force_rmse / 2 if force_mae is None else force_mae,
        **fields,
    }
