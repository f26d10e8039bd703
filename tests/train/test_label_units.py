"""Training does not depend on the unit of the labels (TrainConfig.loss_units), and the
loss weights of mixed-size data are the paper's (λ_E = 1/N_at, λ_F = 0.01 Å²).

With ``loss_units="energy_scale"`` the residuals are measured in the model's per-atom
energy constant c, which scales with the labels: multiplying every energy and force label
by a constant must then give the same network weights, σ and μ, c times the constant and
predictions times the constant, both from scratch and in fine-tuning. With the loss in eV
(``"eV"``) Adam's ε is compared with gradients that shrink with the square of the unit,
and the energy-only case comes out different.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from _synthetic import emt_structures, mixed_structures

from gmnn.analysis.metrics import predict
from gmnn.model import GMNN
from gmnn.train import TrainConfig, Trainer
from gmnn.train.api import build_model
from gmnn.transfer import FinetuneConfig, finetune
from gmnn.units import KCAL_MOL

REPO = Path(__file__).resolve().parents[2]
FACTOR = 23.06  # about eV -> kcal/mol
MODEL = {"hidden": (16, 16), "n_radial": 3, "dtype": "float64"}
# float64 throughout: what differs between the two runs is rounding (1e-16) amplified
# over a few dozen Adam steps; a unit-dependent optimiser differs by orders more.
RTOL = 1e-12
NETWORK = ("descriptor/beta", "dense_0/w", "dense_0/b", "dense_1/w", "dense_1/b", "dense_2/w")


def config(loss: str, loss_units: str, **kw) -> TrainConfig:
    base = {"epochs": 4, "batch_size": 8, "progress": False, "loss": loss}
    return TrainConfig(**{**base, "loss_units": loss_units, **kw})


def scaled(structures, factor: float):
    """The same structures with every energy and force label multiplied by ``factor``."""
    forces = None if structures.forces is None else structures.forces * factor
    return structures.with_labels(energy=structures.energy * factor, forces=forces)


def labels_for(structures, loss: str):
    return structures.without_labels(forces=True) if loss == "E" else structures


@pytest.fixture(scope="module")
def data():
    d = emt_structures("CH3CH2OH", n=40, seed=1)
    return d[:32], d[32:]


def train_from_scratch(train, valid, cfg, out_dir):
    model = build_model(train, valid, MODEL)
    Trainer(model, train, valid, cfg, out_dir).fit(resume=False)
    return model


def rescaling_mismatch(model, model_s, valid, factor: float) -> dict[str, float]:
    """Largest relative differences between ``model_s`` and ``model`` with its output
    rescaled by ``factor``: per weight, c / factor, and predictions / factor."""
    w, ws = model.get_weights(), model_s.get_weights()
    out = {k: _rel(ws[k], w[k]) for k in (*NETWORK, "scale", "shift")}
    out["energy_scale"] = _rel(ws["energy_scale"] / factor, w["energy_scale"])
    forces = valid.forces is not None
    p, ps = predict(model, valid, forces=forces), predict(model_s, valid, forces=forces)
    out["pred_energy"] = _rel(ps["energy"] / factor, p["energy"])
    if forces:
        out["pred_forces"] = _rel(ps["forces"] / factor, p["forces"])
    return out


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def assert_same_up_to_rescaling(mismatch: dict[str, float]) -> None:
    bad = {k: v for k, v in mismatch.items() if not v <= RTOL}
    assert not bad, f"not the same model up to the rescaling of the labels: {bad}"


@pytest.mark.parametrize("loss", ["E", "EF"])
def test_training_from_scratch_is_independent_of_the_label_unit(tmp_path, data, loss):
    train, valid = (labels_for(s, loss) for s in data)
    cfg = config(loss, "energy_scale")
    model = train_from_scratch(train, valid, cfg, tmp_path / "ev")
    model_s = train_from_scratch(
        scaled(train, FACTOR), scaled(valid, FACTOR), cfg, tmp_path / "scaled"
    )
    assert_same_up_to_rescaling(rescaling_mismatch(model, model_s, valid, FACTOR))


def test_loss_in_ev_makes_energy_only_training_depend_on_the_unit(tmp_path, data):
    """The old behaviour (loss in eV², loss_units="eV"): Adam's ε acts on gradients that
    are FACTOR² times smaller in eV, so the energy-only runs end with other weights."""
    train, valid = (labels_for(s, "E") for s in data)
    cfg = config("E", "eV")
    model = train_from_scratch(train, valid, cfg, tmp_path / "ev")
    model_s = train_from_scratch(
        scaled(train, FACTOR), scaled(valid, FACTOR), cfg, tmp_path / "scaled"
    )
    mismatch = rescaling_mismatch(model, model_s, valid, FACTOR)
    # the initial models are the same up to the rescaling; the trained ones are not
    assert mismatch["energy_scale"] <= RTOL
    assert max(mismatch[k] for k in NETWORK) > 1e-4, mismatch  # 3e-2 measured


@pytest.fixture(scope="module")
def pretrained(data):
    """A small model pre-trained in eV (E+F), and the same model for labels x FACTOR: it
    differs only in c (what pre-training on the rescaled labels gives, see above)."""
    train, valid = data
    model = build_model(train, valid, MODEL)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        Trainer(model, train, valid, config("EF", "energy_scale"), tmp).fit(resume=False)
    model_s = GMNN(**model.config)
    weights = model.get_weights()
    weights["energy_scale"] = weights["energy_scale"] * FACTOR
    model_s.set_weights(weights)
    return model, model_s


@pytest.mark.parametrize(
    "loss, energy_scale, shift_init",
    [
        ("E", None, None),  # the FinetuneConfig defaults
        ("EF", None, None),
        ("E", "recompute", "regression"),
    ],
)
def test_finetuning_is_independent_of_the_label_unit(
    tmp_path, pretrained, loss, energy_scale, shift_init
):
    target = emt_structures("CH3CH2OH", n=28, seed=7)
    # another "level of theory": the pre-training labels stretched and offset
    target = target.with_labels(energy=1.1 * target.energy - 0.3 * target.n_atoms)
    train, valid = labels_for(target[:20], loss), labels_for(target[20:], loss)
    options = {"energy_scale": energy_scale, "shift_init": shift_init}
    ft = FinetuneConfig(**{k: v for k, v in options.items() if v is not None})
    cfg = config(loss, "energy_scale")
    pre, pre_s = pretrained
    model = finetune(pre, train, valid, tmp_path / "ev", config=cfg, finetune_config=ft)
    model_s = finetune(
        pre_s,
        scaled(train, FACTOR),
        scaled(valid, FACTOR),
        tmp_path / "scaled",
        config=cfg,
        finetune_config=ft,
    )
    assert_same_up_to_rescaling(rescaling_mismatch(model, model_s, valid, FACTOR))
    # the descriptor stayed frozen, in both units
    np.testing.assert_array_equal(
        model.get_weights()["descriptor/beta"], pre.get_weights()["descriptor/beta"]
    )


# --------------------------------------------------------------------- loss weights
def pipeline_training_params(config: dict, seed: int) -> dict:
    """The pipeline's ``training_params`` (the `training` parameter of its training rules,
    in one of rules/*.smk), evaluated on ``config``."""
    found = []
    for path in sorted((REPO / "rules").glob("*.smk")):
        pattern = r"^def training_params\(.*?(?=^\S|\Z)"
        found += re.findall(pattern, path.read_text(), flags=re.S | re.M)
    assert len(found) == 1, f"{len(found)} definitions of training_params in rules/*.smk"
    from gmnn.workflow.design import Design

    # the names rules/common.smk defines at start-up that the function reads (the design
    # of ``config`` over config.yaml, section by section)
    full = {**yaml.safe_load((REPO / "config.yaml").read_text()), **config}
    namespace = {"config": full, "GRID": Design.from_config(full).grid}
    exec(found[0], namespace)

    class Wildcards:
        pass

    wc = Wildcards()
    wc.seed = str(seed)
    return namespace["training_params"](wc)


def test_pipeline_passes_no_loss_weight_unless_the_user_sets_one():
    config_yaml = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in (REPO / "config.yaml", *sorted((REPO / "presets").glob("*.yaml"))):
        document = yaml.safe_load(path.read_text())
        # the training section and the ANI runs' overrides of it
        ani = document.get("ani") or {}
        for section in (
            document.get("training"),
            ani.get("training"),
            (ani.get("ani1x") or {}).get("training"),
        ):
            section = section or {}
            assert "force_weight" not in section and "energy_weight" not in section, path
    for path in sorted((REPO / "rules").glob("*.smk")):
        for value in re.findall(r"^\s+training=(.*?),?$", path.read_text(), flags=re.M):
            # ani_training: the same section with ani.training (and, for the pre-training,
            # ani.ani1x.training) over it (rules/common.smk)
            # (the molecule study: `training` with molecules.<name>.training over it)
            assert value in (
                "training_params",
                'ani_training("ani1x")',
                'ani_training("ani1ccx")',
                "lambda wc: MOLECULE_STUDIES.training_params(wc.name, wc.seed)",
            ), f"{path.name}: training={value}"
    params = pipeline_training_params(config_yaml, seed=3)
    assert params == {**(config_yaml.get("training") or {}), "seed": 3, "progress": False}
    assert "force_weight" not in params and "energy_weight" not in params
    # the user's value goes through
    user = pipeline_training_params({"training": {"force_weight": 2.0}}, seed=0)
    assert TrainConfig.from_dict({**user, "loss": "EF"}).force_weight == 2.0


@pytest.mark.parametrize("loss_units", ["eV", "kcal_mol", "energy_scale"])
def test_mixed_sizes_get_per_atom_energy_and_small_force_weight(tmp_path, loss_units):
    """An empty training section, as the pipeline passes it, on data of mixed sizes:
    λ_E = 1/N_at and λ_F = 0.01 Å², and the validation loss is exactly that loss, with the
    residuals in the configured unit."""
    params = pipeline_training_params({"training": {}}, seed=0)
    # as gmnn.workflow.train_job builds it (the setting fixes the loss)
    cfg = TrainConfig.from_dict({**params, "loss": "EF", "loss_units": loss_units})
    assert cfg.energy_weight is None and cfg.force_weight is None
    assert cfg.loss_weights(mixed_sizes=True) == (1.0, 0.01)
    data = mixed_structures(n_each=3, seed=2)
    train, valid = data[::2], data[1::2]
    assert len(set(valid.n_atoms)) > 1
    model = build_model(train, valid, MODEL)
    trainer = Trainer(model, train, valid, cfg, tmp_path)
    assert trainer.mixed_sizes
    assert (trainer.lam_e, trainer.lam_f) == (1.0, 0.01)
    unit = {"eV": 1.0, "kcal_mol": KCAL_MOL, "energy_scale": float(model.energy_scale.numpy())}
    assert trainer.loss_unit == unit[loss_units]
    pred = predict(model, valid)
    de = (pred["energy"] - valid.energy) / trainer.loss_unit
    df = (pred["forces"] - valid.forces) / trainer.loss_unit
    seg = np.repeat(np.arange(len(valid)), valid.n_atoms)
    f_sq = np.bincount(seg, weights=np.sum(df**2, axis=1))
    expected = np.mean(de**2 / valid.n_atoms + 0.01 * f_sq)
    assert trainer.validate()["valid_loss"] == pytest.approx(expected, rel=1e-10)
