"""rules/molecules.smk through Snakemake (dry runs only): the data jobs of a `molecules:`
study (sampling, chunked labels, merge; an imported level), and a bad entry stopping the
run at start-up with one line naming molecules.<name>.<key> (issue 23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ETHANOL = "9\n\nC 0 0 0\nC 1.5 0 0\nO 2 1.2 0\nH 0 0 1\nH 0 1 0\nH -1 0 0\nH 1.5 0 1\nH 1.5 -1 0\nH 3 1.2 0\n"


def dry_run(tmp_path, molecules: dict, *targets):
    (tmp_path / "molecules.yaml").write_text(yaml.safe_dump({"molecules": molecules}))
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", tmp_path / "molecules.yaml"]
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n"]
    cmd += ["--configfile", *map(str, configs), "--", *targets]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    return result.returncode, result.stdout + result.stderr


WATER = {
    "ase_molecule": "H2O",
    "sampling": {"temperature_K": [300, 500], "n_equil": 10, "stride": 2},
    "pretraining": {"method": "PBE", "basis": "6-31G", "n_structures": 30},
    "accurate": {
        "method": "CCSD(T)",
        "basis": "6-31G",
        "frozen_core": True,
        "n_structures": 25,
        "forces": False,
    },
    "chunk_size": 10,
    "train_sizes": [4, 8],
    "n_valid": 4,
    "seeds": [0, 1],
}


def test_data_jobs_of_a_study(tmp_path):
    labels = tmp_path / "ethanol.extxyz"
    labels.write_text(ETHANOL)
    ethanol = {
        "smiles": "CCO",
        "pretrained": "models/export/ani1x_pretrained",
        "accurate": {
            "labels_file": str(labels),
            "energy_unit": "Hartree",
            "force_unit": "Hartree/Bohr",
        },
        "train_sizes": [4],
        "seeds": [0],
    }
    targets = [f"data/molecules/water/{lv}.h5" for lv in ("pretraining", "accurate")]
    code, text = dry_run(
        tmp_path,
        {"water": WATER, "ethanol": ethanol},
        *targets,
        "data/molecules/ethanol/accurate.h5",
    )
    assert code == 0, text[-3000:]
    stats = text[text.index("Job stats") :].split("total")[0]
    counts = dict(line.split() for line in stats.splitlines()[3:] if line.strip())
    # one sampling, 3 + 3 chunks of 10 (30 PBE, 25 CCSD(T)), two merges, one import
    assert counts == {
        "molecule_sample": "1",
        "molecule_label": "6",
        "molecule_merge": "2",
        "molecule_import": "1",
    }
    assert "data/molecules_work/water/accurate/chunk2.npz" in text
    assert "embedded_sample" not in text  # the committed methanol data stay as they are


def test_bad_entry_stops_the_dry_run(tmp_path):
    radical = {k: v for k, v in WATER.items() if k != "ase_molecule"}
    code, text = dry_run(tmp_path, {"radical": {**radical, "smiles": "[CH3]"}})
    assert code != 0 and "Invalid configuration:\n" in text, text[-3000:]
    assert "molecules.radical.spin: 0: CH3 with charge 0 has 9 electrons, an odd number" in text
    assert "Traceback" not in text and "Job stats" not in text


def test_comparison_jobs_of_a_study(tmp_path):
    """The card of water plans the whole comparison: per seed a split of each level and a
    pre-training; energies-only accurate labels, so the E settings of every kind (scratch,
    discriminative, non-discriminative, linear probe) at each count and seed; the
    pre-trained model as it is and with its offset at each count; one errors table, one
    export and one card."""
    code, text = dry_run(tmp_path, {"water": WATER}, "results/molecules/water/card.md")
    assert code == 0, text[-3000:]
    stats = text[text.index("Job stats") :].split("total")[0]
    counts = {
        k: int(v) for k, v in (line.split() for line in stats.splitlines()[3:] if line.strip())
    }
    sizes, seeds = len(WATER["train_sizes"]), len(WATER["seeds"])
    assert counts == {
        "molecule_sample": 1,
        "molecule_label": 6,
        "molecule_merge": 2,
        "molecule_split": 2 * seeds,
        "molecule_pretrain": seeds,
        "molecule_train": 4 * sizes * seeds,
        "molecule_evaluate_pretrained": (1 + sizes) * seeds,
        "molecule_errors": 1,
        "molecule_export": 1,
        "molecule_md": 2,  # the best fine-tuned and the best from-scratch ensemble
        "molecule_spectrum": 2,
        "molecule_card": 1,
    }
    for setting in ("scratch_E", "finetune_E", "finetune_nd_E", "finetune_lp_E"):
        assert f"models/molecules/water/{setting}/n8/seed1/model/model.json" in text
    assert "finetune_EF" not in text  # no accurate forces: no E+F settings
    assert "results/molecules/water/pretrained_offset/n4/seed0/metrics.json" in text
    assert "models/export/molecules/water" in text
    assert "results/molecules/water/md/scratch/peaks.csv" in text


def test_a_setting_that_needs_forces_stops_the_dry_run(tmp_path):
    code, text = dry_run(tmp_path, {"water": {**WATER, "settings": ["finetune_EF"]}})
    assert code != 0 and "Invalid configuration:\n" in text, text[-3000:]
    assert (
        "molecules.water.settings: finetune_EF needs accurate forces, but accurate.forces is false"
        in text
    )
    assert "Traceback" not in text


def test_the_worked_example_plans(tmp_path):
    """examples/molecules/formic_acid.yaml, as docs/molecules.md runs it, plans its study:
    one sampling, 8 + 4 labelling chunks, the E settings of every kind over 3 counts and 2
    seeds, two MD runs and their spectra, and the card (nothing runs here; planned in an
    empty directory, so the committed results of the example do not hide its jobs)."""
    example = REPO / "examples/molecules/formic_acid.yaml"
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", example]
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n"]
    cmd += ["--directory", str(tmp_path)]
    cmd += ["--configfile", *map(str, configs), "--", "results/molecules/formic_acid/card.md"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-3000:]
    stats = text[text.index("Job stats") :].split("total")[0]
    counts = {
        k: int(v) for k, v in (line.split() for line in stats.splitlines()[3:] if line.strip())
    }
    assert counts["molecule_label"] == 160 // 20 + 80 // 20
    assert counts["molecule_train"] == 4 * 3 * 2 and counts["molecule_pretrain"] == 2
    assert counts["molecule_md"] == 2 and counts["molecule_spectrum"] == 2
    assert counts["molecule_card"] == 1
