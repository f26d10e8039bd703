"""One-call training: build (or take) a model, train it, save it with provenance."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from gmnn.io import save_model
from gmnn.train.config import TrainConfig
from gmnn.train.trainer import Trainer




def _versions() -> dict:
    import tensorflow as tf

    import gmnn

    return {
        "gmnn": gmnn.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def build_model(train, valid=None, model_config: dict | None = None, seed: int = 0):
    """A fresh GM-NN for ``train`` (species from the data unless given), with
    scale and shift initialised from the training energies."""
    from gmnn.model import GMNN

    cfg = dict(model_config or {})
    species = set(cfg.pop("species", []) or [])
    species |= {int(z) for z in train.species}
    if valid is not None:
        species |= {int(z) for z in valid.species}
    model = GMNN(species=sorted(species), seed=seed, **cfg)
    model.init_scale_shift(train)
    return model


def fit(
    train,
    valid,
    out_dir,
    config: TrainConfig | None = None,
    model=None,
    model_config: dict | None = None,
    provenance: dict | None = None,
    resume: bool = True,
):
    """Train a GM-NN potential and save it to ``out_dir/model``.

    ``train`` and ``valid`` are :class:`gmnn.data.Structures` (eV, Å).  Without
    ``model`` a new one is built from ``model_config`` (cutoff, n_basis,
    n_radial, r_min, hidden, dtype, species).  ``out_dir`` receives
    ``metrics.csv`` (one row per epoch), ``checkpoint.npz`` (resume point) and
    ``model/``.  Returns the trained model with the best validation weights.
    """
    config = config or TrainConfig()
    out_dir = Path(out_dir)
    if model is None:
        model = build_model(train, valid, model_config, seed=config.seed)
    t0 = time.time()
    trainer = Trainer(model, train, valid, config, out_dir)
    history = trainer.fit(resume=resume)
    best = [h for h in history if h["best"]]
    info = {
        "training": config.to_dict(),
        "learning_rates": trainer.group_rates,
        "loss_weights": {"energy": trainer.lam_e, "forces": trainer.lam_f},
        "n_train": len(train),
        "n_valid": len(valid),
        "train_source": dict(getattr(train, "meta", {}) or {}),
        "epochs_run": len(history),
        "best_epoch": best[-1]["epoch"] if best else None,
        "best_valid": {k: v for k, v in best[-1].items() if k.startswith("valid")}
        if best
        else None,
        "wall_seconds_this_call": time.time() - t0,
        "versions": _versions(),
        **(provenance or {}),
    }
    save_model(model, out_dir / "model", provenance=info)
    return model
