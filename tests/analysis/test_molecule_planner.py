"""The data-budget planner (gmnn.molecules.planner) on synthetic learning curves: it
recovers a known exponent with an uncertainty that covers it, answers within the
measured range with a cost, and refuses to extrapolate, to fit too few points or to
promise an error below the curve's floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gmnn.molecules import planner

SIZES = [8, 16, 32, 64, 128]


def curve(a=20.0, b=0.5, c=0.0, sizes=SIZES, seeds=3, noise=0.02, seed=0):
    """Points (n, err), ``seeds`` per size, with relative noise ``noise``."""
    rng = np.random.default_rng(seed)
    n, err = [], []
    for size in sizes:
        for _ in range(seeds):
            n.append(size)
            err.append((a * size**-b + c) * (1 + noise * rng.standard_normal()))
    return n, err


@pytest.mark.parametrize("b", [0.3, 0.5, 0.8])
def test_recovers_a_known_exponent(b):
    fit = planner.fit_power_law(*curve(b=b), offset=False)
    assert not fit.offset
    assert fit.b == pytest.approx(b, abs=0.05)
    assert abs(fit.b - b) < 3 * fit.sd[1]  # the stated uncertainty covers the truth
    assert fit.sd[1] > 0
    assert fit.predict([32])[0] == pytest.approx(20.0 * 32**-b, rel=0.05)


def test_recovers_an_error_floor_where_the_data_support_it():
    n, err = curve(a=10.0, b=0.8, c=1.0, noise=0.005)
    fit = planner.fit_power_law(n, err)  # offset chosen by the data
    assert fit.offset and fit.c == pytest.approx(1.0, abs=0.1)
    assert fit.b == pytest.approx(0.8, abs=0.1)
    # without a floor, the plain law is kept
    assert not planner.fit_power_law(*curve(b=0.5)).offset


def test_answers_within_the_measured_range_with_its_cost():
    n, err = curve(a=20.0, b=0.5, noise=0.01)
    answer = planner.plan_setting(n, err, target=2.5, cpu_s_per_label=36.0)
    assert answer["status"] == "ok", answer
    truth = (20.0 / 2.5) ** 2  # 64
    assert answer["n_labels"] == pytest.approx(truth, rel=0.1)
    lo, hi = answer["n_labels_range"]
    assert lo < truth < hi
    assert answer["cpu_hours"] == pytest.approx(answer["n_labels"] * 36.0 / 3600, rel=1e-3)
    assert answer["fit"]["model"] == "a n^-b"
    # a target the smallest count already meets
    easy = planner.plan_setting(n, err, target=10.0)
    assert easy["status"] == "reached" and easy["n_labels"] == 8 and "cpu_hours" not in easy


def test_refuses_to_extrapolate_beyond_the_stated_factor():
    n, err = curve(a=20.0, b=0.5)
    # err 0.5 needs (20 / 0.5)^2 = 1600 labels: 12.5 times the largest measured count
    answer = planner.plan_setting(n, err, target=0.5, max_extrapolation=4)
    assert answer["status"] == "refused"
    assert "4 times" in answer["reason"] and "128" in answer["reason"]
    assert "n_labels" not in answer
    # with a looser limit, the same question is answered
    loose = planner.plan_setting(n, err, target=0.5, max_extrapolation=20)
    assert loose["status"] == "ok" and loose["n_labels"] > 128


def test_refuses_too_few_points_and_unreachable_targets():
    n, err = curve(sizes=[8, 16])
    few = planner.plan_setting(n, err, target=1.0)
    assert few["status"] == "no_fit" and "at least 3" in few["reason"]
    n, err = curve(a=10.0, b=0.8, c=1.0, noise=0.005)
    floor = planner.plan_setting(n, err, target=0.5)
    assert floor["status"] == "unreachable" and "levels off" in floor["reason"]


def test_plan_over_records_skips_direct_use_and_missing_errors():
    n, err = curve()
    records = [
        {"setting": "finetune_EF", "n_train": int(x), "seed": 0, "force_mae": y}
        for x, y in zip(n, err, strict=True)
    ]
    records += [{"setting": "pretrained", "n_train": 0, "seed": 0, "force_mae": 30.0}]
    records += [{"setting": "scratch_E", "n_train": 8, "seed": 0, "force_mae": math.nan}]
    out = planner.plan(records, metric="force_mae", target=3.0, cpu_s_per_label=10.0)
    assert list(out["settings"]) == ["finetune_EF"]
    assert out["settings"]["finetune_EF"]["status"] == "ok"
    assert out["metric"] == "force_mae" and out["max_extrapolation"] == planner.MAX_EXTRAPOLATION
    again = planner.plan(records, metric="force_mae", target=3.0, cpu_s_per_label=10.0)
    assert again == out  # seeded: the same results give the same card


def test_a_flat_curve_is_refused_not_called_a_floor():
    n, err = curve(a=30.0, b=0.0, noise=0.001)  # no learning at all
    flat = planner.plan_setting(n, err, target=5.0)
    assert flat["status"] == "refused" and "barely falls" in flat["reason"], flat
