"""One-call training: build (or take) a model, train it, save it with provenance."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from gmnn.io import save_model
from gmnn.train.config import TrainConfig
from gmnn.train.trainer import Trainer, check_sets


def _versions() -> dict:
    import tensorflow as tf

    import gmnn

    return {
        "gmnn": gmnn.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


LATE_FRACTION = 0.25
"""The last part of a run (a fraction of its steps) that :func:`late_gain` looks at."""


def late_gain(history, fraction: float = LATE_FRACTION) -> float | None:
    """How much a run still gained at its end: the relative drop of the best validation
    loss over the last ``fraction`` of its steps, 1 - best(all) / best(before), where
    "before" are the validations at steps <= (1 - fraction) x the last step. 0 for a run
    that had reached its plateau (no better validation in its last quarter), near 1 for
    one cut off while falling steeply; None without a validation before the last quarter
    (or a non-positive loss there).

    A best validation at the last step alone (``best_step == steps_run``) does not tell a
    converged run from an unfinished one: as the rates decay linearly to zero the
    validation loss of a converged run keeps creeping down to the end."""
    if not history:
        return None
    cut = (1.0 - fraction) * history[-1]["step"]
    before = [h["valid_loss"] for h in history if h["step"] <= cut]
    if not before or min(before) <= 0:
        return None
    best = min(h["valid_loss"] for h in history)
    return float(1.0 - best / min(before))


def build_model(train, valid=None, model_config=None, seed: int = 0):
    """A fresh GM-NN for ``train`` (species from the data, plus ``species`` if given),
    with scale and shift initialised from the training energies.

    ``model_config`` is a :class:`gmnn.model.config.ModelConfig` or a mapping of its
    fields (which may also hold ``species``).
    """
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    cfg = (
        model_config.to_dict()
        if isinstance(model_config, ModelConfig)
        else dict(model_config or {})
    )
    species = set(cfg.pop("species", []) or [])
    species |= {int(z) for z in train.species}
    if valid is not None:
        species |= {int(z) for z in valid.species}
    model = GMNN(sorted(species), ModelConfig.from_dict(cfg), seed=seed)
    model.init_scale_shift(train)
    return model


def fit(
    train,
    valid,
    out_dir,
    config: TrainConfig | None = None,
    model=None,
    model_config=None,
    provenance: dict | None = None,
    resume: bool = True,
    on_mismatch: str = "error",
):
    """Train a GM-NN potential and save it to ``out_dir/model``.

    ``train`` and ``valid`` are :class:`gmnn.data.Structures` (eV, Å).  Without
    ``model`` a new one is built from ``model_config`` (a
    :class:`gmnn.model.config.ModelConfig` or a mapping of its fields; defaults are the
    paper's).  ``out_dir`` receives ``metrics.csv`` (one row per validation: per epoch, or
    every ``valid_every`` steps when ``config.steps`` is set),
    ``checkpoint.npz`` (resume point) and ``model/``.  A checkpoint of another run in
    ``out_dir`` is an error saying what differs (``on_mismatch="restart"``: deleted);
    ``resume=False`` starts over in any case.  Returns the trained model with the best
    validation weights.

    An empty training or validation set is a ValueError naming it (before a model is
    built: its energy scale would be NaN).
    """
    check_sets(train, valid)
    config = config or TrainConfig()
    out_dir = Path(out_dir)
    if model is None:
        model = build_model(train, valid, model_config, seed=config.seed)
    t0 = time.time()
    trainer = Trainer(model, train, valid, config, out_dir)
    history = trainer.fit(resume=resume, on_mismatch=on_mismatch)
    best = [h for h in history if h["best"]]
    info = {
        "training": config.to_dict(),
        "learning_rates": trainer.group_rates,
        "loss_weights": {"energy": trainer.lam_e, "forces": trainer.lam_f},
        "n_train": len(train),
        "n_valid": len(valid),
        "train_source": dict(getattr(train, "meta", {}) or {}),
        # by steps: passes over the training data (fractional), else epochs
        "epochs_run": (history[-1]["epoch"] if history else 0) if config.by_steps else len(history),
        "steps_run": history[-1]["step"] if history else 0,
        "validations_run": len(history),
        "best_epoch": best[-1]["epoch"] if best else None,
        "best_step": best[-1]["step"] if best else None,
        "best_valid": {k: v for k, v in best[-1].items() if k.startswith("valid")}
        if best
        else None,
        "late_gain": late_gain(history),
        "wall_seconds_this_call": time.time() - t0,
        "versions": _versions(),
        **(provenance or {}),
    }
    save_model(model, out_dir / "model", provenance=info)
    return model
