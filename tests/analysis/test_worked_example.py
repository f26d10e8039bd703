"""The committed card of the worked example (examples/molecules/formic_acid.yaml,
results/molecules/formic_acid/): its tables agree with its errors table, its
recommendation with the learning curves it shows, and its MD section with the runs'
summaries (the card is re-derived from the committed tidy files and compared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gmnn.molecules.card import ERRORS, error_table, recommend
from gmnn.molecules.md import md_summary

OUT = Path(__file__).resolve().parents[2] / "results" / "molecules" / "formic_acid"

pytestmark = pytest.mark.skipif(
    not (OUT / "card.json").is_file(), reason="the worked example's card is not committed here"
)


def test_card_agrees_with_its_errors_table():
    card = json.loads((OUT / "card.json").read_text())
    table = error_table(ERRORS.read(OUT / "errors.csv").to_dict("records"))
    rec = recommend(table)
    assert card["recommendation"]["setting"] == rec["setting"]
    assert card["recommendation"]["why"] == rec["why"]
    # the recommended setting has the lowest mean error at the largest label count
    at_max = table[table["n_train"] == table["n_train"].max()]
    metric = rec["metric"] + "_mean"
    assert at_max.sort_values(metric).iloc[0]["setting"] == rec["setting"]
    shown = {(r["setting"], r["n_train"]): r[metric] for r in card["errors"]}
    for row in table.to_dict("records"):
        assert shown[row["setting"], row["n_train"]] == pytest.approx(row[metric])


def test_card_md_section_is_the_runs():
    card = json.loads((OUT / "card.json").read_text())
    runs = ("finetuned", "scratch")
    md = md_summary(
        [OUT / "md" / r / "summary.json" for r in runs],
        [OUT / "md" / r / "peaks.csv" for r in runs],
    )
    assert card["md"] == json.loads(json.dumps(md))
    finetuned, scratch = md
    # what the card says of the example: the fine-tuned ensemble runs stably, from scratch breaks
    assert not finetuned["diverged"] and finetuned["simulated_ps"] == finetuned["requested_ps"]
    assert scratch["diverged"] and scratch["simulated_ps"] < 1
    assert finetuned["setting"] == card["recommendation"]["setting"]
