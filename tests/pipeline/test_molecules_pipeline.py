"""A molecule study end to end (rules/molecules.smk, issue 23): water sampled with
GFN2-xTB, HF/STO-3G pre-training labels and MP2/STO-3G accurate labels (PySCF), 2-epoch
16x16 models, the comparison over three label counts, the tidy errors table, the exported
fine-tuned ensemble and the card with its planner, all in pytest's tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("pyscf")
pytest.importorskip("tblite")

WATER = {
    "ase_molecule": "H2O",
    "sampling": {"temperature_K": 500, "n_equil": 10, "stride": 2, "relax": False},
    "pretraining": {"method": "HF", "basis": "sto-3g", "n_structures": 20},
    "accurate": {"method": "MP2", "basis": "sto-3g", "n_structures": 20},
    "chunk_size": 10,
    "train_sizes": [2, 4, 8],
    "n_valid": 4,
    "seeds": [0],
    "settings": ["scratch_EF", "finetune_E", "finetune_lp_EF"],
    "training": {"epochs": 2, "steps": None, "batch_size": 4},
    "model": {"hidden": [16, 16]},
    "planner": {"target": 5.0},
    "md": {"equilibration_ps": 0.02, "production_ps": 0.1},
}


@pytest.mark.slow
def test_water_study_end_to_end(tmp_path):
    (tmp_path / "water.yaml").write_text(yaml.safe_dump({"molecules": {"water": WATER}}))
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", tmp_path / "water.yaml"]
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(tmp_path), "--cores", "2", "--set-threads"]
    cmd += ["molecule_pretrain=1", "molecule_train=1", "--configfile", *map(str, configs)]
    cmd += ["--", "results/molecules/water/card.md"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    from gmnn.export import load_ensemble, read_ensemble
    from gmnn.molecules.card import ERRORS

    out = tmp_path / "results/molecules/water"
    errors = ERRORS.read(out / "errors.csv")
    # 3 settings x 3 counts, the pre-trained model as it is, with its offset at 3 counts
    assert len(errors) == 9 + 1 + 3
    counts = errors.groupby("setting")["n_train"].apply(sorted).to_dict()
    assert counts["pretrained"] == [0] and counts["pretrained_offset"] == [2, 4, 8]
    assert counts["finetune_lp_EF"] == [2, 4, 8]
    assert errors["energy_mae"].notna().all() and errors["force_mae"].notna().all()
    # the offset re-fitted: far closer than the HF model as it is (HF vs MP2 energies)
    direct = errors.set_index(["setting", "n_train"])["energy_mae"]
    assert direct[("pretrained_offset", 8)] < direct[("pretrained", 0)]

    card = json.loads((out / "card.json").read_text())
    assert card["molecule"] == "water"
    assert card["levels"]["accurate"]["level_of_theory"] == "MP2/sto-3g"
    assert card["levels"]["accurate"]["cpu_s_per_label_mean"] > 0
    rec = card["recommendation"]
    assert rec["metric"] == "force_mae" and rec["n_train"] == 8
    best = pd.DataFrame(card["errors"]).query("n_train == 8")
    assert rec["setting"] == best.sort_values("force_mae_mean").iloc[0]["setting"]
    planner = card["planner"]
    assert planner["metric"] == "force_mae" and planner["target"] == 5.0
    assert set(planner["settings"]) >= {"scratch_EF", "finetune_E", "finetune_lp_EF"}
    assert planner["cpu_s_per_label"] == card["levels"]["accurate"]["cpu_s_per_label_mean"]

    export = tmp_path / "models/export/molecules/water"
    meta = read_ensemble(export)  # checksums verified
    assert card["export"]["name"] == meta["name"] == "water_finetuned"
    assert [m["weights_sha256"] for m in card["export"]["members"]] == [
        m["weights_sha256"] for m in meta["members"]
    ]
    assert len(load_ensemble(export)) == 1
    exported = json.loads((export / "card.json").read_text())
    assert exported["data"]["finetuning"]["level_of_theory"] == "MP2/sto-3g"
    assert exported["data"]["finetuning"]["n_train"] == 8
    assert exported["data"]["pretraining"]["n_train"] == 16  # 20 HF labels, 4 to validate

    # MD of the exported ensemble and of the best from-scratch setting (the only one here)
    runs = {r["run"]: r for r in card["md"]}
    assert runs["finetuned"]["setting"] in ("finetune_E", "finetune_lp_EF")
    assert runs["finetuned"]["setting"] in card["export"]["description"]
    assert runs["scratch"]["setting"] == "scratch_EF" and runs["scratch"]["members"] == 1
    for r in runs.values():
        assert r["requested_ps"] == 0.12 and 0 < r["simulated_ps"] <= 0.12
        assert r["max_forces_std_max_eV_A"] == 0.0  # one seed: one member, no spread
        assert set(r["peaks_cm1"]) == {"C-H", "O-H"}

    text = (out / "card.md").read_text()
    for heading in (
        "## Recommendation",
        "## MD stability and spectrum",
        "## Data budget (planner)",
        "## Exported ensemble",
    ):
        assert heading in text
    assert "models/export/molecules/water" in text
    assert "![Power spectra of the MD runs](spectra.png)" in text
    assert (out / "spectra.png").stat().st_size > 0
