"""The pipeline's experiment rules (rules/experiments.smk, pretrain_size.smk, md.smk,
figures.smk): the paper-scale job graph (dry run), and the embedded preset end to end on a
tiny grid with stand-in data, every figure included."""

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
from _pipeline import tiny_config
from _synthetic import emt_structures

from gmnn.analysis.aggregate import DFT_REFERENCE, LEARNING_CURVES, PRETRAIN_SIZE
from gmnn.analysis.bonds import FREQUENCIES, HISTOGRAMS, SCANS
from gmnn.analysis.md import PEAKS, RUNS, SPECTRA
from gmnn.data import Structures, write_h5


def rows_of(table, path) -> list[dict]:
    """The rows of a tidy table file, read (and checked) by its own Table."""
    return table.read(path).to_dict("records")


FIG2_CURVES = "results/md17/fig2_learning_curves.csv"

REPO = Path(__file__).resolve().parents[2]
FIGURES = ("fig2", "fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5")


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
        "train_cc": runs,  # evaluation on the coupled-cluster test set included
        "evaluate_pretrain": 2 * molecules * seeds,  # on the cc and on the dft test set
        "aggregate": 1,
        "fig2": 1,
    }


def expected_figure_jobs(config: dict) -> dict[str, int]:
    """Jobs of Figs. 3, 4 and S1-S5 on top of Fig. 2's."""
    fig3, md, seeds = config["pretrain_size"], config["md"], len(config["md17"]["seeds"])
    n_train = config["md17"]["dft"]["n_train"]
    new_sizes = len([n for n in fig3["sizes"] if n != n_train])  # n_train: Fig. 2's models
    molecules = len(fig3["molecules"])
    runs = 5 * len(md["temperatures_K"])  # five models
    return {
        "pretrain_size": molecules * new_sizes * seeds,
        "finetune_pretrain_size": molecules
        * new_sizes
        * len(fig3["settings"])
        * len(fig3["finetune_sizes"])
        * seeds,
        "aggregate_pretrain_size": 1,
        "fig3": 1,
        "md": runs,
        "power_spectrum": runs,
        "collect_md": 1,
        "spectra_figure": 4,
        "bond_analysis": 1,
        "bond_figure": 2,
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

    def dry_run_jobs(*targets):
        configs = (str(REPO / "config.yaml"), str(tmp_path / "override.yaml"))
        args = ("-n", "--quiet", "rules", "--configfile", *configs, "--", *targets)
        return job_stats(snakemake(tmp_path, *args).stdout)

    counts = dry_run_jobs("figures/fig2.pdf")
    expected = expected_experiment_jobs(config)
    assert {rule: counts.get(rule, 0) for rule in expected} == expected
    md17 = config["md17"]
    n_mol, n_seed = len(md17["molecules"]), len(md17["seeds"])
    assert counts["convert_md17"] == 2 * n_mol
    assert counts["split_md17"] == 2 * n_mol * n_seed
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
    n_experiment = sum(expected.values())
    print(f"config.yaml: {n_experiment} Fig. 2 jobs, {counts['total']} with data preparation")
    # 5 molecules x 4 settings x 6 sizes x 5 seeds = 600 training jobs (each evaluates its
    # model), 25 pre-training, 50 pre-trained evaluations, aggregation and figure
    assert n_experiment == expected["train_cc"] + 3 * expected["pretrain"] + 2 == 677

    # every figure: Fig. 3's grid (2 molecules x 8 new pre-training sizes x 2 settings x
    # 2 fine-tuning sizes x 5 seeds) and the ten MD runs come on top
    counts = dry_run_jobs()  # the default target
    expected.update(expected_figure_jobs(config))
    assert {rule: counts.get(rule, 0) for rule in expected} == expected
    assert expected["finetune_pretrain_size"] == 320 and expected["md"] == 10
    print(f"config.yaml: {counts['total']} jobs for every figure")


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


TINY = tiny_config(
    dft=(16, 8),
    cc_valid=8,
    structures=(36, 28),
    pretrain_size={"molecules": ["methanol"], "sizes": [8, 16], "finetune_sizes": [8]},
    md={
        "molecule": "methanol",
        "sizes": {"small": 4, "large": 8},
        "equilibration_ps": 0.05,
        "production_ps": 0.2,
        "dynamics": {"checkpoint_interval": 100},
    },
    spectra={"max_lag_ps": 0.05},
    bond_scan={"points": 21},
    ani=None,  # the ANI half: tests/pipeline/test_ani_pipeline.py
)
TINY_SETTINGS = ["scratch_E", "scratch_EF", "finetune_E", "finetune_EF"]


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
    rules = ("pretrain", "pretrain_size", "train_cc", "finetune_pretrain_size")
    threads = [f"{rule}=1" for rule in (*rules, "evaluate_pretrain")]
    args = ("--set-threads", *threads, "--configfile", *configfiles, "--")
    proc = snakemake(work, "--cores", "2", *args, timeout=900)  # the default target: all
    return work, args, proc


def test_embedded_end_to_end(embedded_run):
    work, _, proc = embedded_run
    counts = job_stats(proc.stdout + proc.stderr)
    config = {
        **TINY,
        "md17": {**TINY["md17"], "settings": TINY_SETTINGS},
        "pretrain_size": {**TINY["pretrain_size"], "settings": ["finetune_E", "finetune_EF"]},
        "md": {**TINY["md"], "temperatures_K": [100, 300]},
    }
    expected = expected_experiment_jobs(config)
    expected.update(expected_figure_jobs(config))
    assert {rule: counts.get(rule, 0) for rule in expected} == expected

    for name in FIGURES:
        pdf, png = work / f"figures/{name}.pdf", work / f"figures/{name}.png"
        assert pdf.read_bytes()[:4] == b"%PDF", name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name

    curves = rows_of(LEARNING_CURVES, work / "results/md17/fig2_learning_curves.csv")
    assert {r["setting"] for r in curves} == {
        "scratch_E",
        "scratch_EF",
        "finetune_E",
        "finetune_EF",
    }
    for row in curves:
        assert row["molecule"] == "methanol" and row["n_seeds"] == 1
        assert row["n_train"] in (4, 8)
        assert math.isfinite(row["energy_rmse_mean"]) and math.isfinite(row["force_rmse_mean"])
        assert math.isnan(row["energy_rmse_sem"])  # one seed: no standard error
    reference = rows_of(DFT_REFERENCE, work / "results/md17/fig2_dft_reference.csv")
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


def test_embedded_pretrain_size_table(embedded_run):
    """Fig. 3: pre-training on 8 (a new model) and 16 (Fig. 2's model) DFT structures."""
    work, _, _ = embedded_run
    rows = rows_of(PRETRAIN_SIZE, work / "results/md17/fig3_pretrain_size.csv")
    assert {(r["setting"], r["n_train"], r["n_pretrain"]) for r in rows} == {
        (s, 8, npre) for s in ("finetune_E", "finetune_EF") for npre in (8, 16)
    }
    assert all(math.isfinite(r["force_rmse_mean"]) for r in rows)
    # the point at md17.dft.n_train is the Fig. 2 run itself
    fig2 = {(r["setting"], r["n_train"]): r for r in rows_of(LEARNING_CURVES, work / FIG2_CURVES)}
    for r in rows:
        if r["n_pretrain"] == 16:
            assert r["force_rmse_mean"] == fig2[(r["setting"], 8)]["force_rmse_mean"]
    meta = json.loads(
        (
            work / "models/md17_pretrain_size/methanol/pre8/finetune_EF/n8/seed0/model/model.json"
        ).read_text()
    )
    assert meta["provenance"]["finetune"]["pretrained"] == (
        "models/md17_pretrain_size/methanol/pretrain/n8/seed0/model"
    )


def test_embedded_md_tables(embedded_run):
    """Ten runs (five models x two temperatures), each finished or recorded as diverged;
    spectra and peaks for the runs with production data; complete trajectories."""
    from ase.io import Trajectory

    work, _, _ = embedded_run
    runs = rows_of(RUNS, work / "results/md17/md_runs.csv")
    assert len(runs) == 10
    models = {(r["setting"], r["n_train"]) for r in runs}
    assert models == {
        ("scratch_EF", 8),
        ("finetune_EF", 4),
        ("scratch_E", 8),
        ("finetune_E", 8),
        ("finetune_EF", 8),
    }
    spectra = rows_of(SPECTRA, work / "results/md17/spectra.csv")
    peaks = rows_of(PEAKS, work / "results/md17/spectra_peaks.csv")
    assert len(peaks) == 2 * len(runs)  # C-H and O-H of every run (NaN without spectrum)
    for run in runs:
        key = (run["setting"], run["n_train"], run["temperature_K"])
        assert run["seconds_per_step"] > 0
        steps = 500  # (0.05 + 0.2) ps / 0.5 fs
        if run["diverged"]:
            assert run["steps_done"] < steps and run["reason"]
        else:
            assert run["steps_done"] == steps and run["production_ps"] == pytest.approx(0.2)
        d = f"trajectories/md17/methanol/{key[0]}/n{key[1]}/seed0/T{key[2]}K"
        with Trajectory(str(work / d / "md.traj")) as traj:
            assert len(traj) == run["steps_done"] // 2 + 1  # a frame every 2 steps
        assert not (work / d / "md.ckpt.npz").exists()
        rows = [r for r in spectra if (r["setting"], r["n_train"], r["temperature_K"]) == key]
        if run["production_ps"] >= 0.1:
            assert len(rows) == len(np.arange(0, 4501, 2.0))
            w = np.array([r["wavenumber_cm1"] for r in rows])
            y = np.array([r["intensity"] for r in rows])
            assert np.trapezoid(y, w) == pytest.approx(1.0, rel=1e-6)
        else:
            assert rows == []


def test_embedded_bond_tables(embedded_run):
    work, _, _ = embedded_run
    hist = rows_of(HISTOGRAMS, work / "results/md17/bond_histograms.csv")
    assert {r["bond"] for r in hist} == {"O-H", "C-H"}
    assert {r["n_bonds"] for r in hist if r["bond"] == "C-H"} == {3}
    assert sum(r["count"] for r in hist if r["bond"] == "O-H") == 28  # one O-H per structure
    freq = rows_of(FREQUENCIES, work / "results/md17/harmonic_frequencies.csv")
    assert {(r["setting"], r["n_train"]) for r in freq} == {
        ("pretrain", 16),
        ("scratch_EF", 8),
        ("finetune_EF", 4),
        ("finetune_E", 8),
    }
    assert len(freq) == 8
    scans = rows_of(SCANS, work / "results/md17/bond_scans.csv")
    assert len(scans) == 8 * 21
    assert min(r["energy_rel_kcal_mol"] for r in scans) == 0.0
    assert (work / "figures/figS1_frequencies.md").read_text().count("|") > 8
    assert "O–H, 300 K" in (work / "figures/fig4_peaks.md").read_text()


def test_rerun_is_a_no_op_and_figures_need_only_results(embedded_run):
    work, args, _ = embedded_run
    proc = snakemake(work, "-n", *args)
    assert "Nothing to be done" in proc.stdout + proc.stderr

    # cached results only: every figure is redrawn without models, data or trajectories,
    # even when the per-model results look newer than the tables (a fresh clone's file
    # times follow git's checkout order)
    for directory in ("models", "data", "trajectories", "figures"):
        shutil.rmtree(work / directory)
    for path in (work / "results").rglob("*.json"):
        os.utime(path)
    figures_only = ("--profile", str(REPO / "profiles/figures"))
    proc = snakemake(work, "-n", "--quiet", "rules", *figures_only, *args, "figures")
    assert job_stats(proc.stdout) == {
        "fig2": 1,
        "fig3": 1,
        "spectra_figure": 4,
        "bond_figure": 2,
        "claims": 1,  # the scorecard over the same tables
        "figures": 1,
        "total": 10,
    }
    snakemake(work, *figures_only, *args, "figures")
    for name in FIGURES:
        assert (work / f"figures/{name}.pdf").stat().st_size > 1000
    assert np.isfinite(
        rows_of(LEARNING_CURVES, work / "results/md17/fig2_learning_curves.csv")[0][
            "energy_rmse_mean"
        ]
    )
