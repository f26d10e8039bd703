"""The loss of Eq. (4) computed by hand: λ_E = 1/N_at and λ_F = 0.01 Å² per structure for
data of mixed sizes (ANI), λ_E = 1 and λ_F = 4 Å² for equally sized structures (MD17)."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import emt_structures, mixed_structures

from gmnn.analysis import predict
from gmnn.train import TrainConfig, Trainer
from gmnn.train.api import build_model

SMALL = {"hidden": (16, 16), "n_radial": 3}


def by_hand(model, data, lam_e, lam_f, per_atom: bool, unit: float) -> np.ndarray:
    """Per-structure loss λ_E ΔE² (/N_at) + λ_F Σ_i |ΔF_i|², residuals in ``unit`` (eV)."""
    pred = predict(model, data, forces=True)
    de = (pred["energy"] - data.energy) / unit
    df = (pred["forces"] - data.forces) / unit
    seg = np.repeat(np.arange(len(data)), data.n_atoms)
    f_sq = np.bincount(seg, weights=np.sum(df**2, axis=1), minlength=len(data))
    e_term = de**2 / data.n_atoms if per_atom else de**2
    return lam_e * e_term + lam_f * f_sq


def trainer_losses(trainer, data):
    """(per-structure loss of the evaluation step, loss returned by one training step)
    on all of ``data`` as one batch (the training step is taken last: it moves the weights)."""
    batch = trainer.train_data.batch(np.arange(len(data)))
    per = trainer.eval_step(batch)["loss"]
    step = trainer.train_step(batch, 1.0)
    return per, step


@pytest.mark.parametrize("loss_units", ["eV", "energy_scale"])
def test_mixed_sizes_weigh_energy_per_atom_and_forces_by_001(tmp_path, loss_units):
    data = mixed_structures(n_each=2)  # ethanol (9 atoms), water (3), methane (5), methanol (6)
    assert sorted(set(data.n_atoms.tolist())) == [3, 5, 6, 9]
    model = build_model(data, None, SMALL)
    cfg = TrainConfig(epochs=1, batch_size=len(data), progress=False, loss_units=loss_units)
    trainer = Trainer(model, data, data[:2], cfg, tmp_path)
    assert trainer.mixed_sizes and (trainer.lam_e, trainer.lam_f) == (1.0, 0.01)
    unit = 1.0 if loss_units == "eV" else float(model.energy_scale.numpy())
    expected = by_hand(model, data, 1.0, 0.01, per_atom=True, unit=unit)
    per, step = trainer_losses(trainer, data)
    np.testing.assert_allclose(per, expected, rtol=2e-5)
    assert step == pytest.approx(expected.mean(), rel=2e-5)
    # the weights are not the equal-size ones: those would give another loss
    other = by_hand(model, data, 1.0, 4.0, per_atom=False, unit=unit)
    assert not np.allclose(per, other, rtol=1e-2)


def test_equal_sizes_weigh_energy_by_1_and_forces_by_4(tmp_path):
    data = emt_structures("CH3OH", n=6, seed=3)
    model = build_model(data, None, SMALL)
    cfg = TrainConfig(epochs=1, batch_size=6, progress=False, loss_units="eV")
    trainer = Trainer(model, data, data[:2], cfg, tmp_path)
    assert not trainer.mixed_sizes and (trainer.lam_e, trainer.lam_f) == (1.0, 4.0)
    expected = by_hand(model, data, 1.0, 4.0, per_atom=False, unit=1.0)
    per, step = trainer_losses(trainer, data)
    np.testing.assert_allclose(per, expected, rtol=2e-5)
    assert step == pytest.approx(expected.mean(), rel=2e-5)


def test_explicit_weights_still_divide_energies_by_the_atom_count(tmp_path):
    """energy_weight: λ_E multiplies ΔE²/N_at for mixed sizes (TrainConfig.loss_weights)."""
    data = mixed_structures(n_each=1)
    model = build_model(data, None, SMALL)
    cfg = TrainConfig(
        epochs=1,
        batch_size=4,
        progress=False,
        loss_units="eV",
        energy_weight=2.0,
        force_weight=0.5,
    )
    trainer = Trainer(model, data, data[:1], cfg, tmp_path)
    expected = by_hand(model, data, 2.0, 0.5, per_atom=True, unit=1.0)
    per, _ = trainer_losses(trainer, data)
    np.testing.assert_allclose(per, expected, rtol=2e-5)
