"""Typed settings (gmnn.settings): one home for every default, range and key check."""

from __future__ import annotations

import pytest

from gmnn.model.config import ModelConfig
from gmnn.settings import Settings, SettingsError, differences, option
from gmnn.train import TrainConfig
from gmnn.transfer import FinetuneConfig


class Inner(Settings):
    width: float = option(1.0, gt=0.0)


class Outer(Settings):
    section = "outer"
    count: int = option(2, ge=1)
    name: str = option("a", choices=("a", "b"))
    sizes: tuple[int, ...] = option((1, 2), ge=1)
    maybe: float | None = option(None, ge=0.0)
    inner: Inner = option(default_factory=Inner)


def test_defaults_round_trip_and_nesting():
    o = Outer.from_dict({"inner": {"width": 3}})
    assert o.inner.width == 3.0 and isinstance(o.inner.width, float)
    assert o.sizes == (1, 2)
    assert Outer.from_dict(o.to_dict()) == o
    assert o.to_dict() == {
        "count": 2,
        "name": "a",
        "sizes": [1, 2],
        "maybe": None,
        "inner": {"width": 3.0},
    }


@pytest.mark.parametrize(
    "data, message",
    [
        ({"cuont": 3}, r"outer.cuont: unknown setting\(s\) outer.cuont; known: count"),
        ({"count": 0}, r"outer.count: must be >= 1, got 0"),
        ({"count": 1.5}, r"outer.count: must be an integer, got 1.5"),
        ({"count": True}, r"outer.count: must be an integer"),
        ({"name": "c"}, r"outer.name: must be one of \['a', 'b'\], got 'c'"),
        ({"sizes": [1, 0]}, r"outer.sizes\[1\]: must be >= 1|outer.sizes: must be >= 1"),
        ({"maybe": -1}, r"outer.maybe: must be >= 0.0"),
        ({"maybe": float("nan")}, r"outer.maybe: must be a finite number"),
        ({"inner": {"width": 0}}, r"outer.inner.width: must be > 0.0"),
        ({"inner": {"wdth": 1}}, r"outer.inner.wdth: unknown"),
        ({"inner": 3}, r"outer.inner: must be a mapping"),
    ],
)
def test_errors_name_the_key(data, message):
    with pytest.raises(SettingsError, match=message):
        Outer.from_dict(data)


def test_component_settings_hold_the_paper_defaults_once():
    assert ModelConfig().to_dict() == {
        "cutoff": 4.0,
        "n_basis": 7,
        "n_radial": 5,
        "r_min": 0.5,
        "hidden": [512, 512],
        "dtype": "float32",
    }
    t = TrainConfig()
    assert (t.epochs, t.batch_size, t.learning_rates) == (
        1000,
        32,
        {"nn": 0.03, "embed": 0.02, "scale": 0.001, "shift": 0.05},
    )
    f = FinetuneConfig()
    assert (f.mode, f.lr_last, f.lr_factor) == ("discriminative", 0.01, 5.0)


@pytest.mark.parametrize(
    "cls, data, message",
    [
        (ModelConfig, {"cutoff": 0}, r"model.cutoff: must be > 0.0"),
        (ModelConfig, {"cutoff": -5.0}, r"model.cutoff: must be > 0.0"),
        (ModelConfig, {"n_basis": 0}, r"model.n_basis: must be >= 1"),
        (ModelConfig, {"hidden": []}, r"model.hidden: needs at least one hidden layer"),
        (ModelConfig, {"r_min": 5.0}, r"model.r_min: must be below the cutoff 4.0"),
        (ModelConfig, {"dtype": "float16"}, r"model.dtype: must be one of"),
        (TrainConfig, {"force_weight": -1}, r"training.force_weight: must be >= 0.0"),
        (TrainConfig, {"beta2": 1.0}, r"training.beta2: must be < 1.0"),
        (TrainConfig, {"lr": {"nn": 1}}, r"training.lr: unknown setting"),
    ],
)
def test_component_ranges(cls, data, message):
    with pytest.raises(SettingsError, match=message):
        cls.from_dict(data)


def test_differences_names_paths():
    assert differences({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3, "d": 4}}) == [
        "a.c: 2 before, now 3",
        "a.d: absent before, now 4",
    ]


def test_a_required_setting_is_named():
    class Run(Settings):
        steps: int = option(ge=1)

    with pytest.raises(SettingsError, match=r"md.steps: is required"):
        Run.from_dict({}, where="md")
    assert Run.from_dict({"steps": 3}).steps == 3
