"""The Fig. 2 rules (rules/experiments.smk, rules/figures.smk): the paper-scale job graph
(dry run) and the embedded preset end to end on a tiny grid with stand-in data."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from _synthetic import emt_structures

from gmnn.analysis.aggregate import read_table
from gmnn.data import Structures, write_h5

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT_RULES = ("pretrain", "train_cc", "evaluate", "evaluate_pretrain", "aggregate", "fig2")


def snakemake(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (its own .snakemake, data, results)."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return proc


def job_stats(output: str) -> dict[str, int]:
    """The "Job stats" table of a (dry) run: rule -> number of jobs, and "total"."""
    _, _, table = output.rpartition("Job stats:")
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def expected_experiment_jobs(config: dict) -> dict[str, int]:
    md17 = config["md17"]
    molecules, seeds = len(md17["molecules"]), len(md17["seeds"])
    runs = molecules * len(md17["settings"]) * len(md17["cc"]["train_sizes"]) * seeds
    return {
        "pretrain": molecules * seeds,
        "train_cc": runs,
        "evaluate": runs,
        "evaluate_pretrain": 2 * molecules * seeds,  # on the cc and on the dft test set
        "aggregate": 1,
        "fig2": 1,
    }


def test_dry_run_paper_grid(tmp_path):
    """config.yaml: the whole Fig. 2 job graph, one job per grid point, no more, no less."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    local = tmp_path / "local"
    (local / "rmd17").mkdir(parents=True)
    override = {"sources": {"rmd17": {"local": str(local / "rmd17")}, "md17_ccsd": {}}}
    for molecule in config["md17"]["molecules"]:
        (local / "ccsd" / molecule).mkdir(parents=True)
        override["sources"]["md17_ccsd"][molecule] = {"local": str(local / "ccsd" / molecule)}
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(override))

    proc = snakemake(
        tmp_path,
        "-n",
        "--quiet",
        "rules",
        "--configfile",
        str(REPO / "config.yaml"),
        str(tmp_path / "override.yaml"),
        "--",
        "figures/fig2.pdf",
    )
    counts = job_stats(proc.stdout)
    expected = expected_experiment_jobs(config)
    assert {rule: counts.get(rule, 0) for rule in expected} == expected
    md17 = config["md17"]
    n_mol, n_seed = len(md17["molecules"]), len(md17["seeds"])
    assert counts["convert_md17"] == 2 * n_mol
    assert counts["split_md17"] == 2 * n_mol * n_seed
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
    n_experiment = sum(expected.values())
    print(f"config.yaml: {n_experiment} Fig. 2 jobs, {counts['total']} with data preparation")
    # 5 molecules x 4 settings x 6 sizes x 5 seeds = 600 training + 600 evaluation jobs,
    # 25 pre-training, 50 pre-trained evaluations, aggregation and figure
    assert n_experiment == 2 * expected["train_cc"] + 3 * expected["pretrain"] + 2


# ------------------------------------------------------------------------------ end to end


def stand_in(n: int, seed: int, energy_shift: float = 0.0, force_scale: float = 1.0):
    """EMT-labelled methanol (the embedded molecule), optionally relabelled as a
    "different level of theory"."""
    s = emt_structures("CH3OH", n, seed)
    return Structures(
        numbers=s.numbers,
        positions=s.positions,
        n_atoms=s.n_atoms,
        energy=s.energy * force_scale + energy_shift,
        forces=s.forces * force_scale,
        ids=s.ids,
        meta={"source": f"stand-in:{seed}", "level_of_theory": "EMT"},
    )


TINY = {
    "md17": {
        "molecules": ["methanol"],
        "dft": {"n_train": 16, "n_valid": 8},
        "cc": {"train_sizes": [8], "n_valid": 8},
        "seeds": [0],
    },
    "training": {"epochs": 2, "batch_size": 8},
    "model": {"hidden": [16, 16]},
    "embedded_data": {"dft": {"n_structures": 36}, "cc": {"n_structures": 28}},
}


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("fig2_embedded")
    # rules/data.smk reads the embedded data from data/embedded/ of the working directory
    (work / "data" / "embedded").mkdir(parents=True)
    write_h5(stand_in(36, seed=1), work / "data" / "embedded" / "methanol_dft.h5")
    write_h5(stand_in(28, 2, -0.3, 1.05), work / "data" / "embedded" / "methanol_cc.h5")
    (work / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    configfiles = [str(REPO / "config.yaml"), str(REPO / "presets/embedded.yaml")]
    configfiles.append(str(work / "tiny.yaml"))
    # one thread per job: these jobs are dominated by TensorFlow's start-up, so two at a
    # time on two cores beats one job with two threads
    threads = [f"{rule}=1" for rule in ("pretrain", "train_cc", "evaluate", "evaluate_pretrain")]
    args = ("--set-threads", *threads, "--configfile", *configfiles, "--")
    proc = snakemake(work, "--cores", "2", *args, "figures/fig2.pdf", timeout=600)
    return work, args, proc


def test_embedded_end_to_end(embedded_run):
    work, _, proc = embedded_run
    counts = job_stats(proc.stdout + proc.stderr)
    expected = expected_experiment_jobs(
        {
            "md17": {
                **TINY["md17"],
                "settings": ["scratch_E", "scratch_EF", "finetune_E", "finetune_EF"],
            }
        }
    )
    assert {rule: counts.get(rule, 0) for rule in expected} == expected

    pdf, png = work / "figures/fig2.pdf", work / "figures/fig2.png"
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    curves = read_table(work / "results/md17/fig2_learning_curves.csv")
    assert {r["setting"] for r in curves} == {
        "scratch_E",
        "scratch_EF",
        "finetune_E",
        "finetune_EF",
    }
    for row in curves:
        assert (row["molecule"], row["n_train"], row["n_seeds"]) == ("methanol", 8, 1)
        assert math.isfinite(row["energy_rmse_mean"]) and math.isfinite(row["force_rmse_mean"])
        assert math.isnan(row["energy_rmse_sem"])  # one seed: no standard error
    reference = read_table(work / "results/md17/fig2_dft_reference.csv")
    assert sorted(r["test_set"] for r in reference) == ["cc", "dft"]
    assert all(r["n_train"] == 16 for r in reference)

    # per-model records and models: E settings saw no forces, fine-tuning started from
    # the same seed's pre-trained model
    for setting in ("scratch_E", "scratch_EF", "finetune_E", "finetune_EF"):
        record = json.loads(
            (work / f"results/md17/methanol/{setting}/n8/seed0/metrics.json").read_text()
        )
        assert (record["setting"], record["n_train"], record["seed"]) == (setting, 8, 0)
        assert record["n_structures"] == 28 - 8 - 8  # the coupled-cluster test set
        meta = json.loads(
            (work / f"models/md17/methanol/{setting}/n8/seed0/model/model.json").read_text()
        )
        prov = meta["provenance"]
        assert prov["training"]["loss"] == setting.split("_")[1]
        assert (prov["n_train"], prov["n_valid"]) == (8, 8)
        if setting.endswith("_E"):
            assert prov["loss_weights"]["forces"] == 0.0
        if setting.startswith("finetune"):
            assert prov["finetune"]["pretrained"] == "models/md17/methanol/pretrain/seed0/model"
            assert prov["learning_rates"]["embed"] == 0.0
        # resume state is kept beside the declared outputs
        assert (work / f"models/md17/methanol/{setting}/n8/seed0/checkpoint.npz").is_file()


def test_rerun_is_a_no_op_and_figure_needs_only_results(embedded_run):
    work, args, _ = embedded_run
    proc = snakemake(work, "-n", *args, "figures/fig2.pdf")
    assert "Nothing to be done" in proc.stdout + proc.stderr

    # cached results only: the figure is redrawn without retraining or data
    shutil.rmtree(work / "models")
    shutil.rmtree(work / "data")
    for f in ("fig2.pdf", "fig2.png"):
        (work / "figures" / f).unlink()
    proc = snakemake(work, "-n", "--quiet", "rules", *args, "figures/fig2.pdf")
    assert job_stats(proc.stdout) == {"fig2": 1, "total": 1}
    snakemake(work, "--cores", "1", *args, "figures/fig2.pdf")
    assert (work / "figures/fig2.pdf").stat().st_size > 1000
    assert np.isfinite(
        read_table(work / "results/md17/fig2_learning_curves.csv")[0]["energy_rmse_mean"]
    )
