"""The ANI analysis (gmnn.analysis.ani): COMP6 errors pooled over conformers, the
offset-corrected evaluation of Fig. 6's pre-trained model, and the tidy tables of
Table 1 and Figs. 5 and 6 (mean ± SEM over seeds); the job scripts end to end."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _records import error_record

from gmnn.analysis.ani import (
    FIG5,
    FIG6,
    PAPER_TABLE1,
    TABLE1,
    comp6_errors,
    error_sums,
    fig5_table,
    fig6_table,
    offset_corrected_errors,
    pool,
    table1,
)
from gmnn.analysis.metrics import prediction_errors
from gmnn.units import KCAL_MOL

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    return GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2))


def labelled(model, structures, energy_error_kcal, force_error_kcal=None, forces=True):
    """``structures`` relabelled so that prediction − label is the given error (kcal/mol,
    kcal/mol/Å): label = prediction − error."""
    from gmnn.analysis import predict

    pred = predict(model, structures)
    energy = pred["energy"].astype(float) - np.asarray(energy_error_kcal) * KCAL_MOL
    if not forces:
        return structures.with_labels(energy=energy).without_labels(forces=True)
    df = np.zeros_like(pred["forces"]) if force_error_kcal is None else force_error_kcal
    return structures.with_labels(energy=energy, forces=pred["forces"] - df * KCAL_MOL)


# --- pooling ----------------------------------------------------------------------------------


def test_error_sums_and_pool_by_hand():
    a = error_sums([1.0, -1.0], np.full((2, 3), 3.0))  # MAE 1, RMSE 1; forces 3, 3
    b = error_sums([2.0, -2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0], np.ones((4, 3)))  # 2, 2; 1, 1
    assert (a["energy_mae"], a["energy_rmse"], a["force_mae"]) == (1.0, 1.0, 3.0)
    assert b["sum_abs_energy_error"] == 16.0 and b["sum_sq_energy_error"] == 32.0
    pooled = pool({"a": a, "b": b})
    # over the 10 conformers: MAE (2 + 16)/10, RMSE sqrt((2 + 32)/10); the mean of the two
    # subsets would be 1.5 for both
    assert pooled["n_conformers"] == 10
    assert pooled["energy_mae"] == pytest.approx(1.8)
    assert pooled["energy_rmse"] == pytest.approx(math.sqrt(3.4))
    # forces over the 18 components: MAE (18 + 12)/18, RMSE sqrt((54 + 12)/18)
    assert pooled["n_force_components"] == 18
    assert pooled["force_mae"] == pytest.approx(30 / 18)
    assert pooled["force_rmse"] == pytest.approx(math.sqrt(66 / 18))
    assert pooled["subsets"] == ["a", "b"] and pooled["force_subsets"] == ["a", "b"]
    # a subset without forces adds energies only
    c = error_sums([4.0])
    assert "force_mae" not in c
    both = pool({"a": a, "c": c})
    assert both["energy_mae"] == pytest.approx(6 / 3) and both["force_subsets"] == ["a"]
    assert both["force_mae"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no subsets"):
        pool({})
    with pytest.raises(ValueError, match=r"subset 'x': no 'sum_sq_energy_error'"):
        pool({"x": {"n_conformers": 2, "sum_abs_energy_error": 1.0}})


def test_comp6_errors_pool_conformers_of_a_model(model):
    from _synthetic import emt_structures

    de_a = np.array([1.0, -1.0])
    de_b = np.array([2.0, -2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    a = labelled(model, emt_structures("CH3OH", n=2, seed=1), de_a)
    base_b = emt_structures("CH3CH2OH", n=8, seed=2)
    df_b = np.full((base_b.n_total_atoms, 3), 0.5)
    df_b[0] = [-1.5, 1.5, 0.5]
    b = labelled(model, base_b, de_b, df_b)
    c = labelled(model, emt_structures("H2O", n=3, seed=3), [0.5, 0.5, -0.5], forces=False)
    out = comp6_errors(model, {"a": a, "b": b, "c": c}, batch_size=2, chunk=3)
    sub, pooled = out["subsets"], out["comp6"]
    assert sub["a"]["energy_mae"] == pytest.approx(1.0, abs=1e-6)
    assert sub["b"]["energy_rmse"] == pytest.approx(2.0, abs=1e-6)
    assert sub["c"]["n_conformers"] == 3 and "force_mae" not in sub["c"]
    assert sub["a"]["force_mae"] == pytest.approx(0.0, abs=1e-5)
    n_b = df_b.size
    assert sub["b"]["force_mae"] == pytest.approx((0.5 * (n_b - 3) + 3.5) / n_b, abs=1e-5)
    assert pooled["n_conformers"] == 13 and pooled["n_atoms"] == 2 * 6 + 8 * 9 + 3 * 3
    assert pooled["energy_mae"] == pytest.approx((2 + 16 + 1.5) / 13, abs=1e-6)
    assert pooled["energy_rmse"] == pytest.approx(math.sqrt((2 + 32 + 0.75) / 13), abs=1e-6)
    mean_of_subsets = np.mean([s["energy_mae"] for s in sub.values()])
    assert abs(pooled["energy_mae"] - mean_of_subsets) > 0.2  # not the mean of the subsets
    assert pooled["n_force_components"] == 3 * (12 + 72)
    assert pooled["force_subsets"] == ["a", "b"]
    expected = (0.5 * (n_b - 3) + 3.5) / pooled["n_force_components"]
    assert pooled["force_mae"] == pytest.approx(expected, abs=1e-5)
    json.dumps(out, allow_nan=False)  # strict JSON
    with pytest.raises(ValueError, match="cannot be named 'comp6'"):
        comp6_errors(model, {"comp6": a})


def test_offset_corrected_evaluation(model):
    from _synthetic import emt_structures

    data = emt_structures("CH3OH", n=10, seed=4)
    shifted = labelled(model, data, np.full(10, -25.0 / KCAL_MOL))  # labels = pred + 25 eV
    train, test = shifted[np.arange(4)], shifted[np.arange(4, 10)]
    out = offset_corrected_errors(model, train, test, batch_size=3)
    assert out["energy_offset_eV"] == pytest.approx(25.0, abs=1e-6)
    assert out["energy_mae"] == pytest.approx(0.0, abs=1e-4)
    assert out["energy_rmse"] == pytest.approx(0.0, abs=1e-4)
    assert out["force_rmse"] == pytest.approx(0.0, abs=1e-5)
    assert out["n_structures"] == 6 and out["n_offset"] == 4
    de, _ = prediction_errors(model, test)  # without the offset: 25 eV off
    assert np.mean(np.abs(de)) == pytest.approx(25.0 / KCAL_MOL, rel=1e-6)
    # forces are compared unchanged: an error there is not removed
    wrong = test.with_labels(forces=test.forces + 1.0 * KCAL_MOL)
    assert offset_corrected_errors(model, train, wrong)["force_mae"] == pytest.approx(1.0, 1e-5)
    with pytest.raises(ValueError, match="no structures to fit the energy offset"):
        offset_corrected_errors(model, train[np.arange(0)], test)


# --- tables -----------------------------------------------------------------------------------


def comp6_record(n_train, seed, e_mae, f_rmse=2.0, path=None):
    def entry(scale):
        return {
            "energy_mae": e_mae * scale,
            "energy_rmse": 2 * e_mae * scale,
            "force_mae": f_rmse / 2,
            "force_rmse": f_rmse,
        }

    record = {
        "n_train": n_train,
        "seed": seed,
        "setting": "pretrain",
        "subsets": {"tripeptides": entry(1.0), "drugbank": entry(2.0)},
        "comp6": entry(1.5),
    }
    return record | ({"_path": path} if path else {})


def test_table1_mean_sem_and_paper_values():
    records = [
        comp6_record(524288, 0, 1.0),
        comp6_record(524288, 1, 2.0),
        comp6_record(524288, 2, 6.0),
        comp6_record(4194304, 0, 3.0),
    ]
    table = table1(records, paper=True)
    assert list(table.columns) == list(TABLE1.columns)
    # paper order: DrugBank, Tripeptides, then COMP6; energy before force; MAE before RMSE
    assert list(dict.fromkeys(table["subset"])) == ["drugbank", "tripeptides", "comp6"]
    row = table[
        (table["subset"] == "comp6")
        & (table["n_train"] == 524288)
        & (table["quantity"] == "energy")
        & (table["metric"] == "MAE")
    ].iloc[0]
    # 1.5 x (1, 2, 6): mean 4.5, std(ddof=1) 1.5 * sqrt(7), SEM that / sqrt(3)
    assert row["mean"] == pytest.approx(4.5) and row["n_seeds"] == 3
    assert row["sem"] == pytest.approx(1.5 * math.sqrt(7) / math.sqrt(3))
    assert row["paper"] == 2.03 == PAPER_TABLE1["comp6", 524288, "energy", "MAE"]
    single = table[(table["n_train"] == 4194304)]
    assert single["n_seeds"].eq(1).all() and single["sem"].isna().all()
    drug = single[(single["subset"] == "drugbank") & (single["quantity"] == "force")]
    assert drug["paper"].tolist() == [2.61, 1.55]  # as printed (impossible)
    assert table1(records)["paper"].isna().all()
    with pytest.raises(ValueError, match=r"b\.json: n_train 524288, seed 0 occurs more than once"):
        table1(
            [
                comp6_record(524288, 0, 1.0, path="a.json"),
                comp6_record(524288, 0, 1.0, path="b.json"),
            ]
        )
    with pytest.raises(ValueError, match=r"x\.json: no 'comp6'"):
        table1([{"n_train": 1, "seed": 0, "subsets": {}, "_path": "x.json"}])


def test_fig5_table():
    def rec(setting, n, seed, e, n_pre=None):
        r = {"setting": setting, "n_train": n, "seed": seed, "energy_rmse": e, "energy_mae": e / 2}
        return r | ({"n_pretrain": n_pre} if n_pre is not None else {})

    records = [
        rec("scratch_E", 1024, 0, 5.0),
        rec("scratch_E", 1024, 1, 7.0) | {"n_pretrain": None},
        rec("finetune_E", 1024, 0, 2.0, 8192),
        rec("finetune_E", 1024, 1, 4.0, 8192),
        rec("finetune_E", 1024, 0, 3.0, 65536),
    ]
    table = fig5_table(records)
    assert list(table.columns) == list(FIG5.columns) and len(table) == 3
    scratch = table[table["setting"] == "scratch_E"].iloc[0]
    assert np.isnan(scratch["n_pretrain"]) and scratch["energy_rmse_mean"] == 6.0
    assert scratch["energy_rmse_sem"] == pytest.approx(1.0)
    tuned = table[(table["setting"] == "finetune_E") & (table["n_pretrain"] == 8192)].iloc[0]
    assert tuned["energy_mae_mean"] == pytest.approx(1.5) and tuned["n_seeds"] == 2
    text = FIG5.format(table)
    assert "\nscratch_E,,1024,2,6," in text  # n_pretrain of scratch runs: empty
    with pytest.raises(ValueError, match="'finetune_E' without 'n_pretrain'"):
        fig5_table([rec("finetune_E", 10, 0, 1.0)])


def fig6_records():
    def rec(setting, n_pre, seed, e, f, n=950):
        return error_record(setting, n, seed, e, f, "aspirin", n_pretrain=n_pre)

    finetuned = [
        rec(s, n, seed, e * (1 + seed) / n**0.1, f * (1 + seed) / n**0.1)
        for s, e, f in (
            ("finetune_E", 8.0, 12.0),
            ("finetune_EF", 3.0, 4.0),
            ("finetune_nd_E", 9.0, 14.0),
            ("finetune_nd_EF", 2.0, 3.0),
        )
        for n in (8192, 65536, 4194304)
        for seed in (0, 1)
    ]
    scratch = [
        rec(s, None, seed, e, f)
        for s, e, f in (("scratch_E", 5.0, 19.5), ("scratch_EF", 1.0, 1.0))
        for seed in (0, 1)
    ]
    pretrained = [
        rec("pretrain", 4194304, seed, 3.0 + seed, 2.7 + seed, n=4194304) | {"n_offset": 950}
        for seed in (0, 1)
    ]
    return finetuned, scratch, pretrained


def test_fig6_table_roles():
    finetuned, scratch, pretrained = fig6_records()
    table = fig6_table(finetuned, scratch, pretrained)
    assert list(table.columns) == list(FIG6.columns)
    assert table["role"].value_counts().to_dict() == {
        "finetuned": 12,
        "scratch": 2,
        "pretrained": 1,
    }
    pre = table[table["role"] == "pretrained"].iloc[0]
    assert pre["n_train"] == 950 and pre["n_pretrain"] == 4194304  # n_train: the offset's
    assert pre["force_rmse_mean"] == pytest.approx(3.2) and pre["force_rmse_sem"] == pytest.approx(
        0.5
    )
    assert table[table["role"] == "scratch"]["n_pretrain"].isna().all()
    with pytest.raises(ValueError, match="no 'n_offset'"):
        fig6_table([], [], [{k: v for k, v in pretrained[0].items() if k != "n_offset"}])
    with pytest.raises(ValueError, match="no 'n_pretrain'"):
        fig6_table([finetuned[0] | {"n_pretrain": None}], [], [])


# --- the job scripts ---------------------------------------------------------------------------

DRIVER = """
import json, runpy, sys, types

class Files(list):
    def __init__(self, items=(), **named):
        super().__init__([*items, *named.values()])
        self.__dict__.update(named)

for script, inputs, outputs, params, log in json.loads(sys.argv[1]):
    snakemake = types.SimpleNamespace(
        rule=script, input=Files(**inputs), output=Files(outputs), params=types.SimpleNamespace(**params),
        log=[log], threads=1,
    )
    runpy.run_path(script, init_globals={"snakemake": snakemake}, run_name="__main__")
"""


def test_evaluation_scripts(tmp_path, model):
    """evaluate.py as the pipeline runs it for rules evaluate_comp6 and evaluate_ani_md17
    (one subprocess: the script redirects the process's output to its log)."""
    from _synthetic import emt_structures

    from gmnn.data import make_split, save_split, write_h5
    from gmnn.io import save_model

    save_model(model, tmp_path / "model", provenance={"n_train": 64, "epochs_run": 1})
    a = labelled(model, emt_structures("CH3OH", n=3, seed=1), [1.0, -1.0, 1.0])
    b = labelled(model, emt_structures("H2O", n=2, seed=2), [3.0, 3.0], forces=False)
    cc = labelled(model, emt_structures("CH3OH", n=8, seed=3), np.full(8, 10.0))
    files = {n: write_h5(s, tmp_path / f"comp6_{n}.h5") for n, s in (("ani_md", a), ("s66x8", b))}
    write_h5(cc, tmp_path / "cc.h5")
    save_split(make_split(8, n_train=3, n_valid=1, n_test=4, seed=0), tmp_path / "split.json")
    jobs = [
        (
            str(REPO / "workflow_scripts" / "evaluate.py"),
            {"model": str(tmp_path / "model"), "data": [str(p) for p in files.values()]},
            [str(tmp_path / "comp6.json")],
            {"subsets": list(files), "record": {"n_train": 64, "seed": 0, "setting": "pretrain"}},
            str(tmp_path / "comp6.log"),
        ),
        (
            str(REPO / "workflow_scripts" / "evaluate.py"),
            {
                "model": str(tmp_path / "model" / "model.json"),
                "data": str(tmp_path / "cc.h5"),
                "split": str(tmp_path / "split.json"),
            },
            [str(tmp_path / "pre.json")],
            {"n_offset": 3, "record": {"molecule": "methanol", "seed": 0}},
            str(tmp_path / "pre.log"),
        ),
    ]
    # two scripts in one process: the first must not leave at its finish()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GMNN_FAST_EXIT": "0"}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(jobs)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + (tmp_path / "comp6.log").read_text()
    comp6 = json.loads((tmp_path / "comp6.json").read_text())
    assert comp6["n_train"] == 64 and comp6["setting"] == "pretrain"
    assert (
        set(comp6["subsets"]) == {"ani_md", "s66x8"}
        and "force_mae" not in comp6["subsets"]["s66x8"]
    )
    assert comp6["comp6"]["energy_mae"] == pytest.approx(9 / 5, abs=1e-5)
    assert comp6["comp6"]["sum_sq_energy_error"] == pytest.approx(21.0, abs=1e-4)
    assert comp6["test_data"]["ani_md"]["sha256"] and comp6["training"]["n_train"] == 64
    pre = json.loads((tmp_path / "pre.json").read_text())
    assert pre["energy_rmse"] == pytest.approx(0.0, abs=1e-4) and pre["n_offset"] == 3
    assert pre["energy_offset_eV"] == pytest.approx(-10.0 * KCAL_MOL, abs=1e-6)
    assert pre["n_pretrain"] == 64 and pre["n_structures"] == 4 and pre["molecule"] == "methanol"


def test_table1_zero_force_baseline():
    """The zero_force column: the MAE and RMS of each subset's force labels (kcal/mol/Å),
    pooled over every force component for the comp6 row; NaN on energy rows."""
    from types import SimpleNamespace

    from gmnn.analysis.ani import zero_force_errors
    from gmnn.units import KCAL_MOL

    class S(SimpleNamespace):  # a one-conformer Structures with forces in eV/Å
        def __len__(self):
            return 1

    # components in kcal/mol/Å: drugbank 1, -1, 1, -1, 3, -3; tripeptides 0, 0, 0, 2, -2, 2
    drug = np.array([[1.0, -1.0, 1.0], [-1.0, 3.0, -3.0]]) * KCAL_MOL
    tri = np.array([[0.0, 0.0, 0.0], [2.0, -2.0, 2.0]]) * KCAL_MOL
    subsets = {"drugbank": S(forces=drug), "tripeptides": S(forces=tri), "no": S(forces=None)}
    zero = zero_force_errors(subsets)
    assert zero["drugbank", "MAE"] == pytest.approx(10 / 6)
    assert zero["drugbank", "RMSE"] == pytest.approx(math.sqrt(22 / 6))
    assert zero["tripeptides", "RMSE"] == pytest.approx(math.sqrt(12 / 6))
    assert zero["comp6", "RMSE"] == pytest.approx(math.sqrt(34 / 12))
    assert ("no", "MAE") not in zero
    table = table1([comp6_record(524288, 0, 1.0)], zero_force=zero)
    forces = table[table["quantity"] == "force"].set_index(["subset", "metric"])["zero_force"]
    assert forces["drugbank", "RMSE"] == pytest.approx(math.sqrt(22 / 6))
    assert forces["comp6", "MAE"] == pytest.approx(zero["comp6", "MAE"])
    assert table[table["quantity"] == "energy"]["zero_force"].isna().all()
    from gmnn.plots.ani import table1_markdown

    text = table1_markdown(table)
    assert "zero force, MAE / RMSE |" in text and "Zero force: the errors of a model" in text
    drug_force = next(line for line in text.splitlines() if line.startswith("| DrugBank | force"))
    assert drug_force.endswith(f"| {10 / 6:.2f} / {math.sqrt(22 / 6):.2f} |")
