"""The deca-alanine rules (rules/ala10.smk): the paper-scale job graph of Figs. 7 and 8
(dry run: 3 gas-phase and 3 solvated ensemble runs, one job per stage, chained), the
config errors that name the key, and a tiny end-to-end run (stand-in ANI data with N,
packmol solvation, every stage, the tidy tables and both figures; marked slow: the job
itself is tested in tests/test_workflow_ala10.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml
from ase.io import Trajectory
from test_ani_pipeline import STAND_IN_MOLECULES, TINY_ANI, stand_in_ani
from test_experiments import REPO, job_stats, snakemake, stand_in

from gmnn.analysis.ala10 import RUNS, SERIES, STRUCTURES
from gmnn.data import write_h5

FIGURES = ("figures/fig7.pdf", "figures/fig8.pdf")


def test_dry_run_paper_scale(tmp_path):
    """config.yaml: three ensembles of five seeds, 1 gas stage and 3 water stages each."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    proc = snakemake(tmp_path, "-n", "--configfile", str(REPO / "config.yaml"), "--", *FIGURES)
    counts = job_stats(proc.stdout)
    assert counts["ala10_md"] == 3 * (1 + 3) and counts["ala10_analysis"] == 6
    assert counts["fig_ala10"] == 2 and counts["ala10_solvate"] == 1
    assert counts["ala10_helix"] == 1 and counts["download"] >= 1
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", proc.stdout)
    jobs = [b for b in blocks if b.startswith("rule ala10_md:")]
    assert len(jobs) == 12
    water2 = next(j for j in jobs if "water/finetuned/stage2/md.traj" in j.split("output:")[1])
    # the NPT stage starts from the Nose-Hoover stage of the same run, with all 5 members
    assert "trajectories/ani/ala10/water/finetuned/stage1/md.traj" in water2
    members = set(re.findall(r"pre4194304/finetune_E/n399360/seed(\d)/model/weights", water2))
    assert members == {str(s) for s in config["ani"]["seeds"]}
    gas = next(j for j in jobs if "gas/scratch/stage0/md.traj" in j)
    assert "ani1ccx/scratch_E/n399360/seed4/model" in gas and "data/ala10/helix.extxyz" in gas
    # the gate before each run is computed on the helix in vacuum, in water too (stage 0)
    water0 = next(j for j in jobs if "water/pretrained/stage0/md.traj" in j.split("output:")[1])
    assert "data/ala10/helix.extxyz" in water0.split("output:")[0]
    assert "data/ala10/helix.extxyz" not in water2.split("output:")[0]
    # the downloaded helix is checksummed
    assert "data/raw/ala10/download/deca-ala.pdb" in proc.stdout


# (the other config errors of the ala10 section: tests/workflow/test_design.py)
@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"gas": {"stages": [{"integrator": "npt_mtk", "time_ps": 1}]}},
            "NPT needs a periodic box",
        ),
    ],
)
def test_config_errors_name_the_key(tmp_path, change, message):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"ala10": change}))
    configs = (str(REPO / "config.yaml"), str(tmp_path / "bad.yaml"))
    cmd = ("-n", "--configfile", *configs, "--", *FIGURES)
    with pytest.raises(AssertionError) as err:
        snakemake(tmp_path, *cmd)
    assert message in str(err.value)


TINY_ALA10 = {
    **TINY_ANI,
    "ala10": {
        "source": "embedded",
        "dynamics": {
            "write_interval": 2,
            "checkpoint_interval": 4,
            "divergence": {"max_force": None, "bond_factor": None, "escape_distance": None},
        },
        "gas": {
            "stages": [{"integrator": "langevin", "time_ps": 0.004}],
            "equilibration_ps": 0.001,
            "window_ps": 0.002,
        },
        "water": {
            "solvation": {"n_water": 60},
            "stages": [
                {"integrator": "langevin", "time_ps": 0.002},
                {"integrator": "npt_melchionna", "time_ps": 0.004},
            ],
            "equilibration_ps": 0.001,
            "window_ps": 0.002,
        },
    },
}


@pytest.mark.slow  # about 2 minutes: six trainings and nine MD jobs
def test_ala10_end_to_end(tmp_path):
    """Tiny models (stand-in ANI data with H, C, N, O; two seeds, so two-member
    ensembles), the committed embedded helix, packmol, every stage, tables and figures."""
    pytest.importorskip("packmol")
    work = tmp_path
    (work / "data/embedded").mkdir(parents=True)
    write_h5(stand_in(20, seed=1), work / "data/embedded/methanol_dft.h5")
    write_h5(stand_in(20, 2, -0.3, 1.05), work / "data/embedded/methanol_cc.h5")
    stand_in_ani(work, (*STAND_IN_MOLECULES, "CH3CONH2"))
    (work / "data/embedded/ala10_helix.extxyz").write_bytes(
        (REPO / "data/embedded/ala10_helix.extxyz").read_bytes()
    )
    tiny = {**TINY_ALA10, "ani": {**TINY_ALA10["ani"], "seeds": [0, 1]}}
    (work / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    configs = [str(REPO / p) for p in ("config.yaml", "presets/embedded.yaml")]
    configs.append(str(work / "tiny.yaml"))
    threads = [f"{r}=1" for r in ("pretrain_ani", "train_ani1ccx", "finetune_ani1ccx", "ala10_md")]
    args = ("--cores", "2", "--set-threads", *threads, "--configfile", *configs, "--")
    proc = snakemake(work, *args, *FIGURES, "results/ani/md_runs.csv", timeout=900)
    counts = job_stats(proc.stdout + proc.stderr)
    assert counts["ala10_md"] == 3 * (1 + 2) and counts["fig_ala10"] == 2

    runs = RUNS.read(work / "results/ani/md_runs.csv")
    series = SERIES.read(work / "results/ani/ala10_rmsd.csv")
    assert len(runs) == 9 and set(runs["members"]) == {2}
    assert set(runs["n_atoms"]) == {104, 104 + 3 * 60}
    for (phase, model), rows in runs.groupby(["phase", "model"]):
        rows = rows.sort_values("stage")
        failed = rows["diverged"].to_numpy(bool)
        ran = ~rows["skipped"].to_numpy(bool)
        # a run goes on until a stage diverges; the stages after it are skipped
        first_bad = np.argmax(failed) if failed.any() else len(rows)
        assert ran[: first_bad + 1].all() and not ran[first_bad + 1 :].any()
        frames = series[(series["phase"] == phase) & (series["model"] == model)]
        assert np.all(np.diff(frames["time_ps"]) > 0)
        assert (frames["rmsd_heavy_A"].iloc[0]) < 1e-6  # the start is the helix
        if not failed.any():
            assert rows["steps_done"].tolist() == rows["steps_requested"].tolist()
    water = series[series["phase"] == "water"]
    assert water["density_g_cm3"].notna().all() and water["forces_std_max_eV_A"].notna().all()
    # each water stage starts from the last state of the one before
    summary = json.loads(
        (work / "results/ani/ala10/water/pretrained/stage1/summary.json").read_text()
    )
    if not summary["skipped"]:
        with Trajectory(str(work / "trajectories/ani/ala10/water/pretrained/stage0/md.traj")) as a:
            last = a[-1]
        with Trajectory(str(work / "trajectories/ani/ala10/water/pretrained/stage1/md.traj")) as b:
            first = b[0]
        np.testing.assert_array_equal(first.positions, last.positions)
        assert summary["integrator"] == "npt_melchionna" and summary["start_ps"] == 0.002
    # the gate on each run's first row: the embedded helix is relaxed with GFN2-xTB, so
    # every member has a force RMSE against it; the same models give the same gate in
    # both phases (computed on the helix in vacuum)
    first = runs[runs["stage"] == 0].set_index(["phase", "model"])
    assert first["gate_reference"].str.startswith("GFN2-xTB").all()
    assert (first["gate_force_rmse_members_eV_A"].str.count(";") == 1).all()
    assert (first["gate_force_rmse_max_eV_A"] > 0).all()
    for column in ("gate_mean_force_rmse_eV_A", "gate_forces_std_max_eV_A"):
        np.testing.assert_allclose(first.loc["gas", column], first.loc["water", column], rtol=1e-5)
    assert runs.loc[runs["stage"] > 0, "gate_forces_std_max_eV_A"].isna().all()
    structures = STRUCTURES.read(work / "results/ani/ala10_structures.csv")
    assert set(structures["frame"]) == {"initial", "late"}
    for figure in ("fig7", "fig8"):
        assert (work / f"figures/{figure}.png").stat().st_size > 1000
