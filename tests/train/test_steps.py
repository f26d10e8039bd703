"""Training length in optimiser steps (the paper's "2000 steps for ANI"): validation
interval, linear decay over the steps, batch order across epochs, early stopping by
validations, resuming after a SIGTERM inside an epoch, and uncached neighbour lists."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import yaml
from _synthetic import emt_structures

import gmnn.model.batch as batch_module
from gmnn.runs import read_checkpoint
from gmnn.settings import SettingsError
from gmnn.train import TrainConfig, Trainer, TrainingInterrupted, fit
from gmnn.train.api import build_model

REPO = Path(__file__).resolve().parents[2]
SMALL = {"hidden": (16, 16), "n_radial": 3}


@pytest.fixture(scope="module")
def data():
    d = emt_structures("CH3CH2OH", n=36, seed=5)
    return d[:30], d[30:]  # 30 training structures: 4 steps of 8 per epoch, the last of 6


def config(**kw):
    base = {"steps": 10, "valid_every": 3, "batch_size": 8, "progress": False}
    return TrainConfig(**{**base, **kw})


def test_step_settings():
    assert TrainConfig().by_steps is False
    assert TrainConfig(epochs=7).total_steps(4) == 28
    assert TrainConfig(steps=10, epochs=7).total_steps(4) == 10
    assert TrainConfig().validation_interval(4) == 4  # once per epoch
    # default by steps: 20 validations per run, whatever the epoch length
    assert TrainConfig(steps=2000).validation_interval(2048) == 100
    assert TrainConfig(steps=2000).validation_interval(30) == 100
    # checkpoints: every 10 epochs, or at every validation by steps, unless set
    assert TrainConfig().checkpoint_interval(30) == 10
    assert TrainConfig(steps=2000).checkpoint_interval(30) == 100
    assert TrainConfig(steps=2000, checkpoint_every=7).checkpoint_interval(30) == 7
    assert TrainConfig(steps=5).validation_interval(30) == 1
    assert TrainConfig(steps=2000, valid_every=7).validation_interval(30) == 7
    with pytest.raises(SettingsError, match=r"training.valid_every: applies only when .*steps"):
        TrainConfig.from_dict({"valid_every": 5})
    with pytest.raises(SettingsError, match=r"training.steps: must be >= 1, got 0"):
        TrainConfig.from_dict({"steps": 0})
    # identity: unchanged for runs by epochs; by steps without epochs (it has no effect)
    by_epochs = TrainConfig().identity()
    assert "steps" not in by_epochs and "valid_every" not in by_epochs and "epochs" in by_epochs
    assert TrainConfig(steps=3, epochs=5).identity() == TrainConfig(steps=3, epochs=9).identity()
    assert "epochs" not in TrainConfig(steps=3).identity()
    # the paper's ANI training (config.yaml's ani.training): 2000 steps of 2048 molecules
    paper = yaml.safe_load((REPO / "config.yaml").read_text())["ani"]["training"]
    ani = TrainConfig.from_dict(paper)
    assert (ani.batch_size, ani.steps, ani.by_steps) == (2048, 2000, True)


def test_training_by_steps(tmp_path, data):
    train, valid = data
    model = build_model(train, valid, SMALL)
    trainer = Trainer(model, train, valid, config(), tmp_path)
    assert (trainer.steps_per_epoch, trainer.max_steps, trainer.valid_interval) == (4, 10, 3)
    # batch order: a fresh permutation per epoch, batches of 8 (the last of an epoch 6)
    for epoch in range(3):
        order = np.random.default_rng([0, epoch]).permutation(30)
        got = np.concatenate([trainer.batch_indices(4 * epoch + k) for k in range(4)])
        np.testing.assert_array_equal(got, order)
    assert len(trainer.batch_indices(3)) == 6
    history = trainer.fit()
    # validations every 3 steps and after the last one (step 10, inside epoch 3)
    assert [h["step"] for h in history] == [3, 6, 9, 10]
    assert [h["epoch"] for h in history] == pytest.approx([0.75, 1.5, 2.25, 2.5])
    # linear decay over the 10 steps: the factor of the step before each validation
    assert [h["lr_factor"] for h in history] == pytest.approx([0.8, 0.5, 0.2, 0.1])
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["step"] for r in rows] == ["3", "6", "9", "10"]
    assert rows[1]["epoch"] == "1.5"
    # the best validation weights are the model's at the end
    best = min(history, key=lambda h: h["valid_loss"])
    assert trainer.validate()["valid_loss"] == pytest.approx(best["valid_loss"], rel=1e-6)


def test_fit_by_steps_records_steps_in_the_provenance(tmp_path, data):
    from gmnn.io import load_model

    train, valid = data
    fit(train, valid, tmp_path, config(steps=5, valid_every=2), model_config=SMALL)
    info = load_model(tmp_path / "model").provenance
    assert info["steps_run"] == 5 and info["validations_run"] == 3
    assert info["epochs_run"] == pytest.approx(1.25)
    assert info["best_step"] in (2, 4, 5)
    # the gain of the last quarter (steps > 3.75: the validation at 4 and 5 against 2)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    losses = {int(r["step"]): float(r["valid_loss"]) for r in rows}
    before = losses[2]
    assert info["late_gain"] == pytest.approx(1 - min(before, *losses.values()) / before)


def test_early_stopping_counts_validations(tmp_path, data):
    train, valid = data
    rates = {"nn": 3.0, "embed": 0.0, "scale": 0.0, "shift": 0.0}  # diverges after a step
    cfg = config(steps=60, valid_every=1, patience=2, learning_rates=rates)
    history = Trainer(build_model(train, valid, SMALL), train, valid, cfg, tmp_path).fit()
    assert len(history) < 60
    best_step = max(h["step"] for h in history if h["best"])
    assert history[-1]["step"] == best_step + 2


def test_sigterm_inside_an_epoch_resumes_at_the_same_step(tmp_path, data):
    """A SLURM time limit: SIGTERM during step 5 (in the middle of epoch 2, between the
    validations at 3 and 6, one step after the checkpoint at 4); the resumed run continues
    with the same batches, Adam state and running training loss and ends bit-identical."""
    train, valid = data
    cfg = config(checkpoint_every=4)
    ref = fit(train, valid, tmp_path / "ref", cfg, model_config=SMALL)
    trainer = Trainer(
        build_model(train, valid, SMALL, seed=cfg.seed), train, valid, cfg, tmp_path / "k"
    )
    step_fn, calls = trainer.train_step, []

    def step_and_signal(batch, factor):
        calls.append(1)
        if len(calls) == 5:
            os.kill(os.getpid(), signal.SIGTERM)  # StopSignals turns it into a flag
        return step_fn(batch, factor)

    trainer.train_step = step_and_signal
    with pytest.raises(TrainingInterrupted, match=r"signal 15\) at step 5"):
        trainer.fit()
    state = json.loads(str(read_checkpoint(tmp_path / "k" / "checkpoint.npz")["state"]))
    assert state["step"] == 5 and not state["finished"]
    # one validation (step 3) done; steps 4 (the last of epoch 1: 6 structures) and 5 (8)
    assert len(state["history"]) == 1 and state["loss_count"] == 14
    # a new process: a fresh model (same seed) resumes from the checkpoint
    resumed = fit(train, valid, tmp_path / "k", cfg, model_config=SMALL)
    for k, v in ref.get_weights().items():
        np.testing.assert_array_equal(v, resumed.get_weights()[k], err_msg=k)
    a = list(csv.DictReader(open(tmp_path / "ref" / "metrics.csv")))
    b = list(csv.DictReader(open(tmp_path / "k" / "metrics.csv")))
    drop = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == [
        {k: v for k, v in r.items() if k not in drop} for r in b
    ]


def test_uncached_neighbour_lists_train_alike(tmp_path, data, monkeypatch):
    """Large sets: GraphData builds neighbour lists per batch (the trainer does not force
    a cache); the run then matches the cached one to float round-off."""
    train, valid = data
    cfg = config(steps=4, valid_every=2, valid_batch_size=4)
    cached = Trainer(build_model(train, valid, SMALL), train, valid, cfg, tmp_path / "c")
    assert cached.train_data.cached
    cached.fit()
    monkeypatch.setattr(batch_module, "_MAX_CACHED_PAIRS", 0)
    uncached = Trainer(build_model(train, valid, SMALL), train, valid, cfg, tmp_path / "u")
    assert not uncached.train_data.cached and not uncached.valid_data.cached
    uncached.fit()
    for k, v in cached.model.get_weights().items():
        np.testing.assert_allclose(uncached.model.get_weights()[k], v, rtol=1e-4, atol=1e-6)
