"""The transfer-learning card (gmnn.molecules.card) on synthetic results: errors per
setting with mean and standard error over seeds, and a recommendation that agrees with
the learning curves it shows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gmnn.molecules import card

# force MAE (kcal/mol/A) by setting at n = 8, 16, 32; three seeds each, +-0.05 spread
CURVES = {
    "scratch_EF": [4.0, 2.5, 1.6],
    "finetune_EF": [1.5, 1.1, 0.8],
    "finetune_E": [2.0, 1.4, 1.0],
    "finetune_nd_EF": [1.7, 1.2, 0.95],
}
SIZES = [8, 16, 32]


def records(curves=CURVES, spread=0.05):
    out = []
    for setting, values in curves.items():
        for n, value in zip(SIZES, values, strict=True):
            for seed, delta in enumerate((-spread, 0.0, spread)):
                out.append(
                    {
                        "setting": setting,
                        "n_train": n,
                        "seed": seed,
                        "force_mae": value + delta,
                        "energy_mae": value / 4 + delta,
                    }
                )
    # the pre-trained model used directly (no accurate labels)
    out += [
        {"setting": "pretrained", "n_train": 0, "seed": s, "force_mae": 3.0, "energy_mae": 9.0}
        for s in range(3)
    ]
    return out


LEVELS = {
    "pretraining": {
        "level_of_theory": "PBE/6-31G",
        "label_cost": {
            "label": "energy and gradient",
            "cpu_s": [2.0, 4.0],
            "cpu_s_mean": 3.0,
            "cpu_s_median": 3.0,
        },
    },
    "accurate": {
        "level_of_theory": "CCSD(T)/6-31G (frozen core)",
        "label_cost": {
            "label": "energy",
            "cpu_s": [3600.0] * 3,
            "cpu_s_mean": 3600.0,
            "cpu_s_median": 3600.0,
        },
    },
}


def test_card_recommends_what_the_curves_show(tmp_path):
    record = card.card_record("water", records(), LEVELS)
    rec = record["recommendation"]
    assert rec["setting"] == "finetune_EF" and rec["n_train"] == 32 and rec["metric"] == "force_mae"
    assert rec["mean"] == pytest.approx(0.8) and rec["sem"] == pytest.approx(0.05 / np.sqrt(3))
    assert rec["best_at"] == SIZES and rec["runner_up"] == "finetune_nd_EF" and rec["clear"]
    assert "best at 3 of 3 label counts" in rec["why"]
    # mean and standard error per setting and size, the direct use as n_train 0
    rows = {(r["setting"], r["n_train"]): r for r in record["errors"]}
    assert rows[("scratch_EF", 8)]["force_mae_mean"] == pytest.approx(4.0)
    assert rows[("scratch_EF", 8)]["n_seeds"] == 3
    assert rows[("pretrained", 0)]["force_mae_mean"] == pytest.approx(3.0)
    assert record["levels"]["accurate"]["cpu_hours"] == pytest.approx(3.0)
    assert record["levels"]["pretraining"]["cpu_s_per_label_mean"] == 3.0
    paths = card.write_card(tmp_path / "results/molecules/water", record)
    assert json.loads(paths[0].read_text()) == json.loads(json.dumps(record))
    text = paths[1].read_text()
    assert "# Transfer-learning card: water" in text
    assert "**finetune_EF** (force_mae): lowest mean force_mae at 32 accurate labels" in text
    assert "| finetune_EF | 32 | 3 |" in text and "| pretrained | 0 | 3 |" in text


def test_close_results_are_not_called_clear():
    curves = {**CURVES, "finetune_nd_EF": [1.7, 1.2, 0.82]}
    rec = card.recommend(card.error_table(records(curves)))
    assert rec["setting"] == "finetune_EF" and not rec["clear"]
    assert "within two combined standard errors of finetune_nd_EF" in rec["why"]


def test_energy_only_results_recommend_by_energy():
    rows = [{**r, "force_mae": float("nan")} for r in records() if r["setting"] == "finetune_E"]
    rows += [{**r, "force_mae": float("nan")} for r in records() if r["setting"] == "scratch_EF"]
    rec = card.recommend(card.error_table(rows))
    assert rec["metric"] == "energy_mae" and rec["setting"] == "finetune_E"


def test_a_card_needs_trained_results():
    with pytest.raises(ValueError, match="no results"):
        card.error_table([])
    with pytest.raises(ValueError, match="no fine-tuned or from-scratch results"):
        card.recommend(card.error_table(records()[-3:]))


def test_errors_table_and_the_planner_on_the_card(tmp_path):
    """The tidy errors.csv (the pre-trained model used as it is: n_train 0; energies-only
    labels: empty force fields) and the card's planner, whose answer agrees with the
    curves: finetune_EF reaches 0.5 kcal/mol/A within 4x the largest measured count,
    scratch_EF would need more than that (refused)."""
    rows = records()
    for r in rows:
        if r["setting"] == "pretrained":
            r.pop("n_train")
    rows.append({"setting": "scratch_E", "n_train": 8, "seed": 0, "energy_mae": 2.0})
    df = card.errors_frame(rows)
    path = card.ERRORS.write(df, tmp_path / "errors.csv")
    back = card.ERRORS.read(path)
    assert len(back) == len(rows)
    assert (back.loc[back["setting"] == "pretrained", "n_train"] == 0).all()
    assert back.loc[back["setting"] == "scratch_E", "force_mae"].isna().all()
    assert "\nscratch_E,8,0,2,nan,,\n" in path.read_text()  # no forces: empty fields

    from gmnn.molecules.planner import plan

    budget = plan(back.to_dict("records"), metric="force_mae", target=0.5, cpu_s_per_label=3600.0)
    answers = budget["settings"]
    assert "pretrained" not in answers and "scratch_E" not in answers  # no curve
    assert answers["finetune_EF"]["status"] == "ok"
    assert 32 < answers["finetune_EF"]["n_labels"] <= 4 * 32
    assert answers["finetune_EF"]["cpu_hours"] == answers["finetune_EF"]["n_labels"]
    assert answers["scratch_EF"]["status"] == "refused"
    record = card.card_record("water", rows, LEVELS, planner=budget)
    text = card.card_markdown(record)
    assert "| finetune_EF | ok |" in text and "| scratch_EF | refused |" in text
    assert "No answer beyond 4 times the largest measured label count" in text
