"""The convergence columns of the tables of trained models (best_step_mean, steps_run_mean,
still_improving) and the optional columns of a Table."""

import math

import pandas as pd
import pytest

from gmnn.analysis.aggregate import (
    CONVERGENCE_COLUMNS,
    CONVERGENCE_COMMENT,
    LEARNING_CURVES,
    PRETRAIN_SIZE,
    convergence,
    learning_curves,
)
from gmnn.analysis.ani import FIG5, FIG6, TABLE1, fig5_table, table1
from gmnn.analysis.tables import Table


def _record(seed, best_step, steps_run, n_train=32, setting="scratch_EF", **extra):
    training = {
        "best_step": best_step,
        "steps_run": steps_run,
        "best_epoch": 1,
        "epochs_run": 2,
        "late_gain": 0.01 * seed,
    }
    return {
        "molecule": "methanol",
        "setting": setting,
        "n_train": n_train,
        "seed": seed,
        "energy_rmse": 1.0 + seed,
        "force_rmse": 2.0,
        "training": training,
        **extra,
    }


def test_run_still_improving_when_best_is_last_validation():
    assert convergence({"best_step": 400, "steps_run": 400})["still_improving"] == 1.0
    assert convergence({"best_step": 380, "steps_run": 400})["still_improving"] == 0.0
    # steps decide where recorded, epochs otherwise (old pre-training records)
    both = {"best_step": 300, "steps_run": 400, "best_epoch": 5.0, "epochs_run": 5.0}
    assert convergence(both)["still_improving"] == 0.0
    assert convergence({"best_epoch": 5.0, "epochs_run": 5.0})["still_improving"] == 1.0
    assert convergence({"best_epoch": 3, "epochs_run": 5})["still_improving"] == 0.0
    none = convergence(None)
    assert all(math.isnan(v) for v in none.values())


def test_learning_curves_count_seeds_still_improving():
    records = [
        _record(0, 400, 400),
        _record(1, 200, 400),
        _record(2, 400, 400),
        _record(0, 100, 1000, n_train=128),
        _record(1, 300, 1000, n_train=128),
    ]
    table = learning_curves(records)
    assert list(table.columns[-4:]) == list(CONVERGENCE_COLUMNS)
    small, large = table.iloc[0], table.iloc[1]
    assert small["still_improving"] == 2 and large["still_improving"] == 0
    assert small["best_step_mean"] == pytest.approx(1000 / 3)
    assert small["steps_run_mean"] == 400 and large["best_step_mean"] == 200
    assert small["late_gain_max"] == pytest.approx(0.02) and large["late_gain_max"] == 0.01


def test_records_without_late_gain_keep_the_other_columns():
    records = [_record(0, 400, 400), _record(1, 100, 400)]
    for r in records:
        del r["training"]["late_gain"]
    row = learning_curves(records).iloc[0]
    assert math.isnan(row["late_gain_max"]) and row["still_improving"] == 1


def test_group_with_a_run_without_training_record_is_nan():
    records = [_record(0, 400, 400), {**_record(1, 1, 2), "training": None}]
    row = learning_curves(records).iloc[0]
    assert all(math.isnan(row[c]) for c in CONVERGENCE_COLUMNS)


def test_tables_write_and_state_the_rule(tmp_path):
    table = learning_curves([_record(0, 400, 400), _record(1, 100, 400)])
    path = LEARNING_CURVES.write(table, tmp_path / "fig2.csv")
    back = LEARNING_CURVES.read(path)
    assert back["still_improving"].tolist() == [1]
    assert CONVERGENCE_COMMENT in back.attrs["comments"]
    for t in (LEARNING_CURVES, PRETRAIN_SIZE, FIG5, FIG6, TABLE1):
        assert set(CONVERGENCE_COLUMNS) <= set(t.columns)
        assert any(line.startswith(CONVERGENCE_COMMENT) for line in t.comments)


def test_fig5_and_table1_carry_convergence():
    f5 = fig5_table(
        [
            {**_record(0, 1200, 1200, setting="scratch_E", n_train=40), "n_pretrain": None},
            {**_record(1, 600, 1200, setting="scratch_E", n_train=40), "n_pretrain": None},
        ]
    )
    assert f5["still_improving"].tolist() == [1] and f5["best_step_mean"].tolist() == [900]
    entry = {"energy_mae": 1.0, "energy_rmse": 2.0}
    records = [
        {
            "n_train": 1024,
            "seed": seed,
            "subsets": {"drugs": entry},
            "comp6": entry,
            "training": {"best_epoch": best, "epochs_run": 5.0},
        }
        for seed, best in ((0, 5.0), (1, 4.0))
    ]
    t1 = table1(records)
    assert (t1["still_improving"] == 1).all() and t1["best_step_mean"].isna().all()


def test_optional_columns_filled_on_read_and_write(tmp_path):
    t = Table("t", columns=("k", "x", "c"), keys=("k",), optional=("c",))
    text = t.format(pd.DataFrame({"k": [1], "x": [2.0]}))
    assert text.splitlines()[0] == "k,x,c" and text.splitlines()[1] == "1,2,nan"
    (tmp_path / "old.csv").write_text("k,x\n1,2\n")
    assert math.isnan(t.read(tmp_path / "old.csv")["c"].iloc[0])
    assert list(t.load(pd.DataFrame({"k": [1], "x": [2.0]})).columns) == ["k", "x", "c"]
    (tmp_path / "bad.csv").write_text("k,c\n1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        t.read(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="optional column must be numeric"):
        Table("u", columns=("k",), keys=("k",), optional=("k",))
