"""Transfer learning: frozen descriptor, re-initialised scale/shift, discriminative rates."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import emt_structures

from gmnn.io import load_model
from gmnn.train import TrainConfig, fit
from gmnn.transfer import FinetuneConfig, finetune, finetune_learning_rates, prepare_finetune

SMALL = {"hidden": (32, 32), "n_radial": 3}
# the paper's from-scratch rates (η_base = 0.03 for every layer), non-discriminative mode
FROM_SCRATCH_RATES = {
    "embed": 0.02,
    "dense_0": 0.03,
    "dense_1": 0.03,
    "dense_2": 0.03,
    "scale": 0.001,
    "shift": 0.05,
}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    out = tmp_path_factory.mktemp("pre")
    data = emt_structures("CH3CH2OH", n=40, seed=2)
    cfg = TrainConfig(epochs=3, batch_size=8, progress=False)
    fit(data[:32], data[32:], out, cfg, model_config=SMALL)
    return out / "model"


@pytest.fixture(scope="module")
def target():
    """'Higher level' labels: the EMT energies shifted and scaled, so scale/shift must adapt."""
    data = emt_structures("CH3CH2OH", n=24, seed=9)
    return data.with_labels(energy=1.1 * data.energy - 7.0, forces=1.1 * data.forces)


def test_discriminative_rates_follow_the_paper(pretrained):
    model = load_model(pretrained)
    rates = finetune_learning_rates(model, FinetuneConfig(mode="discriminative"))
    assert rates == {
        "embed": 0.0,
        "dense_2": 0.01,
        "dense_1": pytest.approx(0.002),
        "dense_0": pytest.approx(0.0004),
        "scale": 0.001,
        "shift": 0.05,
    }
    non = finetune_learning_rates(model, FinetuneConfig(mode="non_discriminative"))
    assert non == FROM_SCRATCH_RATES
    probe = finetune_learning_rates(model, FinetuneConfig(mode="linear_probe"))
    assert (
        probe["dense_0"] == probe["dense_1"] == probe["embed"] == 0.0 and probe["dense_2"] == 0.01
    )
    with pytest.raises(ValueError, match="finetune.mode: must be one of"):
        FinetuneConfig.from_dict({"mode": "lora"})


def test_prepare_reinitialises_scale_and_shift(pretrained, target):
    pre = load_model(pretrained)
    model = prepare_finetune(
        pre, target, FinetuneConfig(energy_scale="keep", shift_init="offset_free")
    )
    np.testing.assert_array_equal(model.scale.numpy(), 1.0)
    assert not np.allclose(model.shift.numpy(), pre.shift.numpy())
    assert float(model.energy_scale.numpy()) == float(pre.energy_scale.numpy())
    for k in ("descriptor/beta", "dense_0/w", "dense_2/b"):
        np.testing.assert_array_equal(model.get_weights()[k], pre.get_weights()[k])
    # fine-tuning starts without an energy offset: the shift absorbs the mean error of the
    # pre-trained network on the new labels
    from gmnn.analysis import predict

    start_error = target.energy - predict(model, target, forces=False)["energy"]
    assert abs(start_error.mean()) < 1e-3 * abs(target.energy.mean() - pre_mean(pre, target))
    recomputed = prepare_finetune(pre, target, FinetuneConfig(energy_scale="recompute"))
    assert float(recomputed.energy_scale.numpy()) != float(pre.energy_scale.numpy())


def test_default_reinitialisation_is_the_papers(pretrained, target):
    """By default sigma = 1 and mu is the plain regression on the fine-tuning labels
    (the paper re-initialises exactly these), while c is kept from pre-training."""
    pre = load_model(pretrained)
    model = prepare_finetune(pre, target)
    fresh = load_model(pretrained)
    fresh.init_scale_shift(target, energy_scale=float(pre.energy_scale.numpy()))
    assert float(model.energy_scale.numpy()) == float(pre.energy_scale.numpy())
    np.testing.assert_array_equal(model.shift.numpy(), fresh.shift.numpy())
    np.testing.assert_array_equal(model.scale.numpy(), 1.0)


def pre_mean(pre, data):
    from gmnn.analysis import predict

    return predict(pre, data, forces=False)["energy"].mean()


@pytest.mark.parametrize("loss", ["E", "EF"])
def test_finetuning_keeps_descriptor_bit_identical(tmp_path, pretrained, target, loss):
    pre = load_model(pretrained)
    train, valid = target[:16], target[16:]
    if loss == "E":  # energy-only fine-tuning must work without any force labels
        train, valid = train.without_labels(forces=True), valid.without_labels(forces=True)
    cfg = TrainConfig(epochs=2, batch_size=8, loss=loss, progress=False)
    model = finetune(pretrained, train, valid, tmp_path, cfg)
    after = model.get_weights()
    np.testing.assert_array_equal(after["descriptor/beta"], pre.get_weights()["descriptor/beta"])
    for k in ("dense_0/w", "dense_1/w", "dense_2/w"):
        assert not np.array_equal(after[k], pre.get_weights()[k]), k
    saved = load_model(tmp_path / "model")
    assert saved.provenance["finetune"]["mode"] == "discriminative"
    assert saved.provenance["learning_rates"]["embed"] == 0.0


def test_linear_probe_trains_only_last_layer(tmp_path, pretrained, target):
    pre = load_model(pretrained).get_weights()
    cfg = TrainConfig(epochs=1, batch_size=8, progress=False)
    model = finetune(
        pretrained,
        target[:16],
        target[16:],
        tmp_path,
        cfg,
        finetune_config=FinetuneConfig(mode="linear_probe"),
    )
    after = model.get_weights()
    for k in ("descriptor/beta", "dense_0/w", "dense_0/b", "dense_1/w", "dense_1/b"):
        np.testing.assert_array_equal(after[k], pre[k], err_msg=k)
    assert not np.array_equal(after["dense_2/w"], pre["dense_2/w"])


def test_new_element_in_finetuning_data_is_refused(pretrained):
    water = emt_structures("NH3", n=2)
    with pytest.raises(ValueError, match=r"Z=\[7\]"):
        prepare_finetune(load_model(pretrained), water)


def test_shift_initialisation_options(pretrained, target):
    """plain regression: mu from the energies alone; offset-free: plus the regression of
    what the pre-trained network still misses; c kept or re-estimated."""
    from gmnn.analysis import predict

    pre = load_model(pretrained)
    plain = prepare_finetune(
        pre, target, FinetuneConfig(energy_scale="keep", shift_init="regression")
    )
    fresh = load_model(pretrained)
    fresh.init_scale_shift(target, energy_scale=float(pre.energy_scale.numpy()))
    np.testing.assert_array_equal(plain.shift.numpy(), fresh.shift.numpy())
    np.testing.assert_array_equal(plain.scale.numpy(), 1.0)
    offset_free = prepare_finetune(
        pre, target, FinetuneConfig(energy_scale="keep", shift_init="offset_free")
    )
    miss = target.energy - predict(plain, target, forces=False)["energy"]
    assert abs(miss.mean()) > 1e-3  # the plain start has an energy offset ...
    start = target.energy - predict(offset_free, target, forces=False)["energy"]
    assert abs(start.mean()) < 1e-3 * abs(miss.mean())  # ... the offset-free one has not
    kept = float(plain.energy_scale.numpy())
    assert kept == float(pre.energy_scale.numpy())
    recomputed = prepare_finetune(
        pre, target, FinetuneConfig(energy_scale="recompute", shift_init="regression")
    )
    fresh.init_scale_shift(target)
    assert float(recomputed.energy_scale.numpy()) == float(fresh.energy_scale.numpy()) != kept


def test_finetune_uses_the_configured_scale_and_shift_rates(pretrained):
    model = load_model(pretrained)
    rates = finetune_learning_rates(model, FinetuneConfig(), base={"scale": 0.002, "shift": 0.1})
    assert rates["scale"] == 0.002 and rates["shift"] == 0.1 and rates["embed"] == 0.0


def test_finetune_settings_are_checked():
    with pytest.raises(ValueError, match="finetune.lr_factor: must be > 0"):
        FinetuneConfig.from_dict({"lr_factor": 0})
    with pytest.raises(ValueError, match="finetune.shift_init: must be one of"):
        FinetuneConfig.from_dict({"shift_init": "zero"})
    with pytest.raises(ValueError, match="unknown setting.*finetune.lr_lats"):
        FinetuneConfig.from_dict({"lr_lats": 0.1})


# ---------------------------------------------------------------- fewer species (Fig. 6)
@pytest.fixture(scope="module")
def chno_model():
    """A model of H, C, N, O (as pre-trained on ANI-1x) with distinct σ per element."""
    from gmnn.data import Structures
    from gmnn.train.api import build_model

    data = Structures.concatenate(
        [emt_structures("NH3", n=6, seed=1), emt_structures("CH3OH", n=6, seed=2)]
    )
    model = build_model(data, None, SMALL)
    assert list(model.species) == [1, 6, 7, 8]
    model.scale.assign([1.1, 0.9, 1.3, 0.8])
    return model


@pytest.mark.parametrize("energy_scale", ["keep", "recompute"])
@pytest.mark.parametrize("shift_init", ["regression", "offset_free"])
def test_absent_elements_keep_their_pretrained_energy(chno_model, target, energy_scale, shift_init):
    """Fine-tuning data without N (ethanol: H, C, O): σ and μ of H, C, O re-initialised,
    N keeps c·σ_N and c·μ_N of pre-training; nothing is NaN."""
    cfg = FinetuneConfig(energy_scale=energy_scale, shift_init=shift_init)
    model = prepare_finetune(chno_model, target, cfg)
    c_pre, c_new = float(chno_model.energy_scale.numpy()), float(model.energy_scale.numpy())
    scale, shift = model.scale.numpy(), model.shift.numpy()
    assert np.all(np.isfinite(scale)) and np.all(np.isfinite(shift)) and np.isfinite(c_new)
    np.testing.assert_array_equal(scale[[0, 1, 3]], 1.0)
    n = 2  # index of N in [1, 6, 7, 8]
    assert c_new * scale[n] == pytest.approx(c_pre * 1.3, rel=1e-12)
    assert c_new * shift[n] == pytest.approx(c_pre * chno_model.shift.numpy()[n], rel=1e-12)
    if energy_scale == "keep":
        assert scale[n] == 1.3 and shift[n] == chno_model.shift.numpy()[n]
    if shift_init == "regression":
        # the present elements get what a model of H, C, O alone gets from the same data
        from gmnn.model import GMNN

        hco = GMNN([1, 6, 8], **{k: v for k, v in chno_model.config.items() if k != "species"})
        hco.init_scale_shift(target, energy_scale=c_new if energy_scale == "keep" else None)
        assert float(hco.energy_scale.numpy()) == pytest.approx(c_new, rel=1e-12)
        np.testing.assert_allclose(shift[[0, 1, 3]], hco.shift.numpy(), rtol=1e-10)


def test_finetuning_without_an_element_leaves_it_untouched(tmp_path, chno_model, target):
    from gmnn.analysis import predict

    prepared = prepare_finetune(chno_model, target)
    cfg = TrainConfig(epochs=2, batch_size=8, progress=False)
    model = finetune(chno_model, target[:16], target[16:], tmp_path, cfg)
    for name in ("scale", "shift"):
        before, after = getattr(prepared, name).numpy(), getattr(model, name).numpy()
        assert after[2] == before[2], name  # N: no gradient, no update
        assert not np.array_equal(after[[0, 1, 3]], before[[0, 1, 3]]), name
    out = predict(model, target, forces=True)
    assert np.all(np.isfinite(out["energy"])) and np.all(np.isfinite(out["forces"]))


def test_non_discriminative_finetuning_uses_the_from_scratch_rates(tmp_path, pretrained, target):
    """Fig. 6, green lines: every group trains, β included, at η_base = 0.03,
    η_embed = 0.02, η_shift = 0.05, η_scale = 0.001 (whatever lr_last and lr_factor say)."""
    pre = load_model(pretrained).get_weights()
    cfg = TrainConfig(epochs=1, batch_size=8, progress=False)
    ft = FinetuneConfig(mode="non_discriminative", lr_last=0.5, lr_factor=2.0)
    model = finetune(pretrained, target[:16], target[16:], tmp_path, cfg, finetune_config=ft)
    rates = load_model(tmp_path / "model").provenance["learning_rates"]
    assert rates == FROM_SCRATCH_RATES
    after = model.get_weights()
    for k in ("descriptor/beta", "dense_0/w", "dense_1/w", "dense_2/w"):
        assert not np.array_equal(after[k], pre[k]), k


def test_linear_probe_setting_keeps_every_other_weight_bit_identical(tmp_path, pretrained, target):
    """The pipeline's linear-probe setting (finetune_lp_*, gmnn.workflow.Setting) through
    the one training job: only the last dense layer, scale and shift change; the
    descriptor, every lower layer and the energy scale c stay bit-identical."""
    from gmnn.data import save_split, write_h5
    from gmnn.data.splits import make_split
    from gmnn.workflow import train_job

    write_h5(target, tmp_path / "cc.h5")
    save_split(make_split(len(target), 12, 4, 8, seed=0), tmp_path / "split.json")
    pre = load_model(pretrained)
    before = pre.get_weights()
    last = f"dense_{len(pre.config['hidden'])}"
    for loss in ("E", "EF"):
        out = tmp_path / loss
        record = train_job(
            data=tmp_path / "cc.h5",
            split=tmp_path / "split.json",
            n_train=12,
            out_dir=out,
            setting=f"finetune_lp_{loss}",
            training={"epochs": 2, "batch_size": 4, "progress": False},
            model=SMALL,
            pretrained=pretrained,
            record={"setting": f"finetune_lp_{loss}", "n_train": 12, "seed": 0},
            metrics=out / "metrics.json",
        )
        saved = load_model(out / "model")
        assert saved.provenance["finetune"]["mode"] == "linear_probe"
        after = saved.get_weights()
        assert set(after) == set(before)
        trained = {k for k in after if k.startswith(f"{last}/") or k in ("scale", "shift")}
        assert trained and len(trained) < len(after)
        for key in sorted(set(after) - trained):
            np.testing.assert_array_equal(after[key], before[key], err_msg=f"{loss}: {key}")
        for key in (f"{last}/w", f"{last}/b"):
            assert not np.array_equal(after[key], before[key]), f"{loss}: {key}"
        assert record["setting"] == f"finetune_lp_{loss}" and record["energy_mae"] > 0
