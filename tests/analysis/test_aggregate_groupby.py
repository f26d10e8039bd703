"""The per-seed aggregation (a pandas groupby) against numpy by hand, and the aggregate jobs."""

from __future__ import annotations

import json
import logging
import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gmnn.analysis.aggregate import (
    DFT_REFERENCE,
    LEARNING_CURVES,
    METRICS,
    PRETRAIN_SIZE,
    aggregate,
    fig2_tables,
    fig3_table,
    mean_sem,
    stat_columns,
)

REPO = Path(__file__).resolve().parents[2]


def random_records(seed=0):
    """Groups of 1-5 seeds, a few metrics missing (a NaN group value)."""
    rng = np.random.default_rng(seed)
    records = []
    for molecule in ("toluene", "aspirin"):
        for setting in ("scratch_EF", "finetune_E"):
            for n_train in (950, 32, 128):
                for s in range(int(rng.integers(1, 6))):
                    record = {"molecule": molecule, "setting": setting, "n_train": n_train}
                    record["seed"] = int(s)
                    record |= {m: float(rng.lognormal(0, 2)) for m in METRICS}
                    if rng.random() < 0.05:
                        del record["force_mae"]
                    records.append(record)
    rng.shuffle(records)
    return records


def by_hand(records, by):
    groups = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    rows = []
    for key in sorted(groups):
        group = groups[key]
        row = dict(zip(by, key, strict=True)) | {"n_seeds": len(group)}
        for m in METRICS:
            v = np.array([r.get(m, np.nan) for r in group], dtype=float)
            row[f"{m}_mean"] = float(np.mean(v))
            row[f"{m}_sem"] = float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else math.nan
        rows.append(row)
    return rows


def test_groupby_mean_and_sem_match_numpy():
    records = random_records()
    by = ("molecule", "setting", "n_train")
    table = aggregate(records, by)
    expected = by_hand(records, by)
    assert list(table.columns) == list(LEARNING_CURVES.columns)
    assert len(table) == len(expected)
    for got, want in zip(table.to_dict("records"), expected, strict=True):
        assert {k: got[k] for k in (*by, "n_seeds")} == {k: want[k] for k in (*by, "n_seeds")}
        for column in stat_columns():  # the convergence columns: test_convergence.py
            if math.isnan(want[column]):
                assert math.isnan(got[column]), (want, column)
            else:
                assert got[column] == pytest.approx(want[column], rel=1e-12), column
    # a single seed gives a NaN SEM, a missing metric a NaN mean and SEM
    one = table[table["n_seeds"] == 1]
    assert len(one) and one["energy_rmse_sem"].isna().all()
    assert one["energy_rmse_mean"].notna().all()
    assert table["force_mae_mean"].isna().any() and table["energy_rmse_mean"].notna().all()


def test_mean_sem_by_hand():
    import pandas as pd

    df = pd.DataFrame({"k": ["a", "a", "a", "b"], "x": [1.0, 2.0, 4.0, 0.5]})
    (a, b) = mean_sem(df, ["k"], ["x"]).to_dict("records")
    assert a["n"] == 3 and a["x_mean"] == pytest.approx(7 / 3)
    # sample variance: ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 7/3
    assert a["x_sem"] == pytest.approx(math.sqrt(7 / 3) / math.sqrt(3))
    assert b["n"] == 1 and b["x_mean"] == 0.5 and math.isnan(b["x_sem"])
    assert mean_sem(df.iloc[:0], ["k"], ["x"]).empty


def test_duplicate_seed_and_missing_key():
    records = random_records()[:3]
    with pytest.raises(ValueError, match=r"seed \[.*\] occurs more than once"):
        aggregate([*records, records[0]], ("molecule", "setting", "n_train"))
    with pytest.raises(KeyError, match=r"lacks key\(s\) \[.*n_train"):
        aggregate(
            [{"molecule": "x", "setting": "y", "seed": 0}], ("molecule", "setting", "n_train")
        )


def write_records(tmp_path, records, name):
    paths = []
    for i, record in enumerate(records):
        path = tmp_path / name / f"{i}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(record))
        paths.append(str(path))
    return paths


def test_fig2_and_fig3_jobs(tmp_path):
    runs = write_records(tmp_path, random_records(1), "runs")
    pre = [
        {"molecule": "aspirin", "setting": "pretrain", "n_train": 8192, "seed": s}
        | {"test_set": level}
        | {m: 1.0 + s for m in METRICS}
        for s in (0, 1)
        for level in ("cc", "dft")
    ]
    curves, reference = fig2_tables(runs, write_records(tmp_path, pre, "pre"))
    assert len(curves) == 12 and list(reference["test_set"]) == ["cc", "dft"]
    assert reference["energy_rmse_mean"].tolist() == [1.5, 1.5]
    assert reference["energy_rmse_sem"].tolist() == pytest.approx([0.5, 0.5])

    finetuned = [
        {"molecule": "aspirin", "setting": "finetune_EF", "n_train": 128, "seed": s}
        | {"n_pretrain": None if n == 8192 else n}  # Fig. 2 records may lack it
        | {m: 1000.0 / n + s for m in METRICS}
        for n in (1024, 8192)
        for s in (0, 1, 2)
    ]
    paths = write_records(tmp_path, finetuned, "fig3")
    sizes = [r["n_pretrain"] or 8192 for r in finetuned]
    table = fig3_table(paths, sizes)
    assert list(table.columns) == list(PRETRAIN_SIZE.columns)
    assert table["n_pretrain"].tolist() == [1024, 8192]
    assert table["n_seeds"].tolist() == [3, 3]
    assert table["energy_rmse_mean"].tolist() == pytest.approx([1000 / 1024 + 1, 1000 / 8192 + 1])
    with pytest.raises(
        ValueError, match=r"fig3/0\.json: n_pretrain is 1024 in the record but 8192"
    ):
        fig3_table(paths, sizes[::-1])
    with pytest.raises(ValueError, match="shorter|longer"):
        fig3_table(paths, sizes[:-1])


def run_script(name, tmp_path, input, output, params=None):
    """Run a workflow script with a stand-in ``snakemake`` object (under pytest its
    logging.basicConfig is a no-op: messages go to caplog)."""
    log = tmp_path / f"{name}.log"
    snakemake = SimpleNamespace(
        input=input, output=output, params=SimpleNamespace(**(params or {})), log=[str(log)]
    )
    runpy.run_path(str(REPO / "workflow_scripts" / name), init_globals={"snakemake": snakemake})


def test_aggregate_workflow_scripts(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    records = random_records(2)
    runs = write_records(tmp_path, records, "runs")
    pre = [
        {"molecule": "aspirin", "setting": "pretrain", "n_train": 64, "seed": 0, "test_set": "cc"}
        | {m: 2.0 for m in METRICS}
    ]
    out = SimpleNamespace(curves=str(tmp_path / "c.csv"), reference=str(tmp_path / "r.csv"))
    run_script(
        "aggregate.py",
        tmp_path,
        SimpleNamespace(runs=runs, pretrain=write_records(tmp_path, pre, "pre")),
        out,
    )
    assert "single seed" in caplog.text and "c.csv: 12 rows" in caplog.text
    curves = LEARNING_CURVES.read(out.curves)
    assert curves.attrs["comments"] == list(LEARNING_CURVES.comments)
    assert (
        curves["n_seeds"].tolist() == aggregate(records, LEARNING_CURVES.keys)["n_seeds"].tolist()
    )
    assert DFT_REFERENCE.read(out.reference)["n_seeds"].tolist() == [1]

    fig3 = [r | {"n_pretrain": 512} for r in records if r["setting"] == "finetune_E"]
    output = [str(tmp_path / "fig3.csv")]
    run_script(
        "aggregate_pretrain_size.py",
        tmp_path,
        SimpleNamespace(runs=write_records(tmp_path, fig3, "fig3")),
        output,
        {"n_pretrain": [512] * len(fig3)},
    )
    assert set(PRETRAIN_SIZE.read(output[0])["n_pretrain"]) == {512}
