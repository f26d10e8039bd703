"""Training: losses, learning-rate groups, decay, early stopping, checkpoint and resume."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from _synthetic import emt_structures, mixed_structures

from gmnn.io import load_model
from gmnn.runs import CheckpointMismatch
from gmnn.train import TrainConfig, Trainer, TrainingInterrupted, fit
from gmnn.train.api import build_model

SMALL = {"hidden": (32, 32), "n_radial": 3}


@pytest.fixture(scope="module")
def data():
    d = emt_structures("CH3CH2OH", n=40, seed=1)
    return d[:32], d[32:]


def config(**kw):
    base = {"epochs": 3, "batch_size": 8, "progress": False, "checkpoint_every": 1}
    return TrainConfig(**{**base, **kw})


def test_config_validation():
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="F")
    with pytest.raises(ValueError, match="unknown setting"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match=r"learning_rates.nn: must be >= 0"):
        TrainConfig(learning_rates={"nn": -1})
    assert TrainConfig().loss_weights(mixed_sizes=False) == (1.0, 4.0)
    assert TrainConfig().loss_weights(mixed_sizes=True) == (1.0, 0.01)
    assert TrainConfig(loss="E").loss_weights(mixed_sizes=False) == (1.0, 0.0)


def test_training_reduces_error_and_writes_outputs(tmp_path, data):
    train, valid = data
    model = fit(train, valid, tmp_path, config(epochs=6), model_config=SMALL)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert len(rows) == 6
    assert float(rows[-1]["valid_force_rmse"]) < float(rows[0]["valid_force_rmse"])
    # linear decay: factor 1 - step/max_step at the last step of each epoch
    steps_per_epoch = 4
    for k, row in enumerate(rows):
        expected = 1 - ((k + 1) * steps_per_epoch - 1) / (6 * steps_per_epoch)
        assert float(row["lr_factor"]) == pytest.approx(expected)
    loaded = load_model(tmp_path / "model")
    assert loaded.provenance["n_train"] == 32
    assert loaded.provenance["loss_weights"] == {"energy": 1.0, "forces": 4.0}
    for k, v in model.get_weights().items():
        np.testing.assert_array_equal(v, loaded.get_weights()[k])


def test_best_validation_weights_are_restored(tmp_path, data):
    train, valid = data
    model = build_model(train, valid, SMALL)
    trainer = Trainer(model, train, valid, config(epochs=5), tmp_path)
    history = trainer.fit()
    best = min(history, key=lambda h: h["valid_loss"])
    assert trainer.validate()["valid_loss"] == pytest.approx(best["valid_loss"], rel=1e-6)


def test_early_stopping_patience(tmp_path, data):
    train, valid = data
    # a huge learning rate makes validation worse after the first epoch
    cfg = config(
        epochs=30, patience=2, learning_rates={"nn": 3.0, "embed": 0.0, "scale": 0.0, "shift": 0.0}
    )
    model = build_model(train, valid, SMALL)
    history = Trainer(model, train, valid, cfg, tmp_path).fit()
    assert len(history) < 30
    best_epoch = max(h["epoch"] for h in history if h["best"])
    assert history[-1]["epoch"] == best_epoch + 2


def test_group_learning_rates_and_frozen_groups(tmp_path, data):
    """After one Adam step every element moves by its group's rate (m̂/sqrt(v̂) = ±1
    for |g| >> ε), and groups with rate 0 stay bit-identical."""
    train, valid = data
    rates = {
        "embed": 0.0,
        "dense_0": 0.0004,
        "dense_1": 0.002,
        "dense_2": 0.01,
        "scale": 0.0,
        "shift": 0.05,
    }
    model = build_model(train, valid, SMALL)
    before = model.get_weights()
    trainer = Trainer(
        model, train, valid, config(epochs=1, batch_size=32, learning_rates=rates), tmp_path
    )
    trainer.fit()
    after = model.get_weights()
    np.testing.assert_array_equal(before["descriptor/beta"], after["descriptor/beta"])
    np.testing.assert_array_equal(before["scale"], after["scale"])
    for group, lr in rates.items():
        if lr == 0:
            continue
        names = [f"{group}/w"] if group.startswith("dense") else [group]
        for name in names:
            delta = np.abs(after[name] - before[name])
            assert np.median(delta[delta > 0]) == pytest.approx(lr, rel=1e-3), name


def test_killed_and_resumed_run_matches_uninterrupted(tmp_path, data):
    train, valid = data
    cfg = config(epochs=4, checkpoint_every=2)
    ref = fit(train, valid, tmp_path / "ref", cfg, model_config=SMALL)
    model = build_model(train, valid, SMALL, seed=cfg.seed)
    trainer = Trainer(model, train, valid, cfg, tmp_path / "killed")
    with pytest.raises(TrainingInterrupted, match="rerun to resume"):
        trainer.fit(stop_after_steps=6)  # mid-epoch 2
    assert (tmp_path / "killed" / "checkpoint.npz").exists()
    # a new process would rebuild the model from scratch and resume from the checkpoint
    resumed = fit(train, valid, tmp_path / "killed", cfg, model_config=SMALL)
    for k, v in ref.get_weights().items():
        np.testing.assert_array_equal(v, resumed.get_weights()[k], err_msg=k)
    a = list(csv.DictReader(open(tmp_path / "ref" / "metrics.csv")))
    b = list(csv.DictReader(open(tmp_path / "killed" / "metrics.csv")))
    assert [r["valid_loss"] for r in a] == [r["valid_loss"] for r in b]


def test_checkpoint_from_other_settings_is_refused(tmp_path, data):
    train, valid = data
    fit(train, valid, tmp_path, config(epochs=1), model_config=SMALL)
    with pytest.raises(CheckpointMismatch, match=r"training.epochs: 1 before, now 2"):
        fit(train, valid, tmp_path, config(epochs=2), model_config=SMALL)


def test_checkpoint_of_other_data_or_model_is_refused_or_restarted(tmp_path, data):
    """A run's identity holds the data and the initial weights, not only the settings."""
    train, valid = data
    first = fit(train, valid, tmp_path, config(epochs=1), model_config=SMALL)
    other = train.with_labels(energy=train.energy + 0.1)
    with pytest.raises(CheckpointMismatch, match=r"data.train"):
        fit(other, valid, tmp_path, config(epochs=1), model_config=SMALL)
    with pytest.raises(CheckpointMismatch, match=r"model.config.cutoff: 4.0 before, now 3.5"):
        fit(train, valid, tmp_path, config(epochs=1), model_config={**SMALL, "cutoff": 3.5})
    # the pipeline's choice: start over
    second = fit(
        train,
        valid,
        tmp_path,
        config(epochs=1),
        model_config={**SMALL, "cutoff": 3.5},
        on_mismatch="restart",
    )
    assert second.cutoff == 3.5 and load_model(tmp_path / "model").cutoff == 3.5
    assert (
        not np.array_equal(first.get_weights()["dense_0/w"], second.get_weights()["dense_0/w"])
        or first.cutoff != second.cutoff
    )


def test_energy_only_training_needs_no_forces(tmp_path, data):
    train, valid = data
    train_e = train.without_labels(forces=True)
    valid_e = valid.without_labels(forces=True)
    model = fit(train_e, valid_e, tmp_path, config(loss="E", epochs=2), model_config=SMALL)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert rows[-1]["valid_force_rmse"] == "nan"
    assert model.provenance if hasattr(model, "provenance") else True
    with pytest.raises(ValueError, match="needs force labels"):
        fit(train_e, valid_e, tmp_path / "x", config(loss="EF"), model_config=SMALL)


def test_mixed_sizes_use_per_atom_energy_weight(tmp_path):
    data = mixed_structures(n_each=6)
    model = build_model(data, None, SMALL)
    trainer = Trainer(model, data[:20], data[20:], config(epochs=1), tmp_path)
    assert trainer.mixed_sizes and (trainer.lam_e, trainer.lam_f) == (1.0, 0.01)
    trainer.fit()


def test_reproducible_with_seed(tmp_path, data):
    train, valid = data
    a = fit(train, valid, tmp_path / "a", config(epochs=1, seed=4), model_config=SMALL)
    b = fit(train, valid, tmp_path / "b", config(epochs=1, seed=4), model_config=SMALL)
    c = fit(train, valid, tmp_path / "c", config(epochs=1, seed=5), model_config=SMALL)
    np.testing.assert_array_equal(a.get_weights()["dense_0/w"], b.get_weights()["dense_0/w"])
    assert not np.array_equal(a.get_weights()["dense_0/w"], c.get_weights()["dense_0/w"])
