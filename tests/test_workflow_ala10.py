"""gmnn.workflow's deca-alanine jobs without Snakemake: the structure and solvation jobs
(checked formula, packmol box), a stage job driven by a two-member ensemble (the mean of
the members, the spread in every frame) under NPT with gmnn's own stress, continued by
the next stage from its last state, a stage after a diverged one recorded as skipped, and
the gate before a run (each member's force RMSE against the relaxed helix's reference
forces, the ensemble's spread there) in the stage summary and the runs table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.io import Trajectory, read, write

from gmnn.workflow import ala10_structure_job, ensemble_md_stage_job, solvate_job

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "tests/model/reference/model"  # H, C, O; cutoff 5 A (random weights)
STAGES = [
    {"integrator": "langevin", "time_ps": 0.004},
    {"integrator": "npt_melchionna", "time_ps": 0.004},
]
BASE = {
    "write_interval": 2,
    "checkpoint_interval": 4,
    "barostat_time_fs": 50.0,
    "thermostat_time_fs": 20.0,
    "divergence": {"max_force": None, "bond_factor": None, "escape_distance": None},
}


def test_structure_job_checks_the_formula(tmp_path):
    out = tmp_path / "helix.extxyz"
    info = ala10_structure_job(
        source=REPO / "data/embedded/ala10_helix.extxyz", kind="embedded", output=out
    )
    helix = read(out)
    assert helix.get_chemical_formula(mode="hill") == "C30H53N11O10"
    assert len(info["source_sha256"]) == 64 and "atomtypes" in helix.arrays
    write(tmp_path / "water.extxyz", read(REPO / "data/embedded/ala10_helix.extxyz")[:30])
    with pytest.raises(ValueError, match="not the paper's Ala10"):
        ala10_structure_job(source=tmp_path / "water.extxyz", kind="embedded", output=out)
    with pytest.raises(ValueError, match="ala10.source"):
        ala10_structure_job(source=out, kind="xyz", output=out)


@pytest.fixture(scope="module")
def water_box(tmp_path_factory):
    """32 waters (H, O: species of the reference model) in a periodic box, by packmol."""
    pytest.importorskip("packmol")
    from ase.build import molecule

    work = tmp_path_factory.mktemp("box")
    write(work / "solute.extxyz", molecule("H2O"))
    box = work / "box.extxyz"
    info = solvate_job(
        helix=work / "solute.extxyz",
        output=box,
        solvation={"n_water": 31, "density_g_cm3": 0.8, "margin_A": 1.0, "tolerance_A": 2.0},
    )
    assert info["n_atoms"] == 96 and info["min_oo_A"] >= 1.8
    assert info["density_g_cm3"] == pytest.approx(0.8)
    return box


def next_stage(common: dict, trajectory, summary, out: Path) -> dict:
    """Stage 1 of ``common``'s protocol, continued from stage 0's ``trajectory`` and
    ``summary``, written to ``out``/md.traj and ``out``/summary.json."""
    return ensemble_md_stage_job(
        **common,
        stage=1,
        trajectory=out / "md.traj",
        summary=out / "summary.json",
        previous_summary=summary,
        previous_trajectory=trajectory,
    )


def test_an_ensemble_stage_and_the_next_under_npt(water_box, tmp_path):
    common = dict(models=[MODEL, MODEL], start=water_box, stages=STAGES, base=BASE)
    s0 = ensemble_md_stage_job(
        **common,
        stage=0,
        trajectory=tmp_path / "s0/md.traj",
        summary=tmp_path / "s0/summary.json",
        record={"phase": "water", "model": "test"},
    )
    assert s0["members"] == 2 and s0["steps_done"] == 8 and s0["phase"] == "water"
    # two identical members: the spread is zero, and written with every frame
    assert s0["max_forces_std_max"] == pytest.approx(0.0, abs=1e-6)
    s1 = next_stage(common, tmp_path / "s0/md.traj", tmp_path / "s0/summary.json", tmp_path / "s1")
    assert s1["integrator"] == "npt_melchionna" and s1["start_ps"] == pytest.approx(0.004)
    with (
        Trajectory(str(tmp_path / "s0/md.traj")) as a,
        Trajectory(str(tmp_path / "s1/md.traj")) as b,
    ):
        last, frames = a[-1], [f.copy() for f in b]
    np.testing.assert_array_equal(frames[0].positions, last.positions)
    cells = np.array([f.cell.array for f in frames])
    assert np.ptp(np.diag(cells[-1]) - np.diag(cells[0])) > 0  # the lengths change ...
    assert np.all(cells[:, ~np.eye(3, dtype=bool)] == 0)  # ... the angles do not
    assert all("forces_std_max" in f.info for f in frames)
    assert json.loads((tmp_path / "s1/summary.json").read_text())["start_structure"]["file"] == str(
        tmp_path / "s0/md.traj"
    )


def test_a_stage_after_a_diverged_one_is_skipped(water_box, tmp_path):
    bad = {**BASE, "divergence": {"max_force": 1e-6}}
    common = dict(models=[MODEL], start=water_box, stages=STAGES, base=bad)
    s0 = ensemble_md_stage_job(
        **common, stage=0, trajectory=tmp_path / "a.traj", summary=tmp_path / "a.json"
    )
    assert s0["diverged"] and s0["failed_at_ps"] == 0.0
    s1 = next_stage(common, tmp_path / "a.traj", tmp_path / "a.json", tmp_path / "b")
    assert s1["skipped"] and s1["steps_done"] == 0
    with Trajectory(str(tmp_path / "b/md.traj")) as traj:
        assert len(traj) == 0
    with pytest.raises(ValueError, match="no stage 2"):
        ensemble_md_stage_job(
            **common, stage=2, trajectory=tmp_path / "c.traj", summary=tmp_path / "c.json"
        )


KILLED = """
import sys
from gmnn.workflow import ensemble_md_stage_job
models, box, out = sys.argv[1], sys.argv[2], sys.argv[3]
ensemble_md_stage_job(models=[models, models], start=box, stages={stages!r}, base={base!r},
                      stage=0, trajectory=out + "/md.traj", summary=out + "/summary.json")
"""


@pytest.mark.slow  # ~30 s (a subprocess with its own TensorFlow start); the same resume is
# tested in-process in tests/md/test_protocol.py (a killed NPT stage, bit-identical)
def test_a_killed_npt_stage_job_resumes_to_a_complete_trajectory(water_box, tmp_path):
    """SIGTERM during an NPT stage job: the checkpoint and the partial trajectory stay,
    and the rerun continues from them to the whole stage, as an uninterrupted job."""
    import os
    import signal
    import subprocess
    import sys
    import time

    stages = [{"integrator": "npt_melchionna", "time_ps": 0.06}]  # 120 steps
    base = {**BASE, "checkpoint_interval": 20}
    script = KILLED.format(stages=stages, base=base)
    killed = tmp_path / "killed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    args = [sys.executable, "-c", script, str(MODEL), str(water_box), str(killed)]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    checkpoint = killed / "md.ckpt.npz"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "MDInterrupted" in err
    assert (killed / "md.partial.traj").exists() and not (killed / "md.traj").exists()

    common = dict(models=[MODEL, MODEL], start=water_box, stages=stages, base=base, stage=0)
    resumed = ensemble_md_stage_job(
        **common, trajectory=killed / "md.traj", summary=killed / "summary.json"
    )
    assert resumed["resumed_from_step"] > 0 and resumed["steps_done"] == 120
    assert not checkpoint.exists()
    whole = ensemble_md_stage_job(
        **common, trajectory=tmp_path / "whole/md.traj", summary=tmp_path / "whole/summary.json"
    )
    with Trajectory(str(killed / "md.traj")) as a, Trajectory(str(tmp_path / "whole/md.traj")) as b:
        assert len(a) == len(b) == 61
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x.positions, y.positions, atol=1e-9)
            np.testing.assert_allclose(x.cell.array, y.cell.array, atol=1e-9)
    assert whole["resumed_from_step"] == 0


@pytest.fixture(scope="module")
def two_members(tmp_path_factory):
    """Two small random GM-NN models of the species of Ala10 (H, C, N, O)."""
    from gmnn.io import save_model
    from gmnn.model import GMNN

    root = tmp_path_factory.mktemp("members")
    paths = []
    for seed in (0, 1):
        m = GMNN(species=[1, 6, 7, 8], hidden=(16, 16), seed=seed)
        m.energy_scale.assign(0.02)
        paths.append(save_model(m, root / f"m{seed}"))
    return paths


def test_the_gate_before_a_run_from_a_two_member_ensemble(two_members, tmp_path):
    """Stage 0 records the members' force RMSE against the relaxed helix's reference
    forces (zero within the relaxation's fmax, from the committed helix's record) and the
    ensemble's spread there, as the members' own forces give them; the analysis carries
    them into the runs table. A helix without a relaxation record (the PDB) gets the
    spread and no RMSE, with the reason."""
    from gmnn.analysis.ala10 import NO_REFERENCE, RUNS
    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.workflow import ala10_analysis_job

    helix = tmp_path / "helix.extxyz"
    ala10_structure_job(
        source=REPO / "data/embedded/ala10_helix.extxyz", kind="embedded", output=helix
    )
    atoms = read(helix)
    fmax = atoms.info["reference_fmax_eV_A"]
    assert atoms.info["reference_method"] == "GFN2-xTB" and 0 < fmax <= 0.05
    common = dict(models=two_members, start=helix, base=BASE, stage=0)
    common["stages"] = [{"integrator": "langevin", "time_ps": 0.002}]
    s0 = ensemble_md_stage_job(
        **common,
        trajectory=tmp_path / "s0/md.traj",
        summary=tmp_path / "s0/summary.json",
        record={"phase": "gas", "model": "pretrained"},
    )
    gate = s0["gate"]
    forces = []
    for m in two_members:
        a = atoms.copy()
        a.calc = GMNNCalculator(m)
        forces.append(a.get_forces())
    forces = np.array(forces)
    expected = np.sqrt((forces**2).mean(axis=(1, 2)))
    np.testing.assert_allclose(gate["member_force_rmse_eV_A"], expected, rtol=1e-5)
    assert expected[0] != pytest.approx(expected[1], rel=1e-3)  # two different members
    mean = np.sqrt((forces.mean(axis=0) ** 2).mean())
    assert gate["mean_force_rmse_eV_A"] == pytest.approx(mean, rel=1e-5)
    a = atoms.copy()
    a.calc = EnsembleCalculator(two_members)
    a.get_forces()
    assert gate["forces_std_max_eV_A"] == pytest.approx(a.calc.results["forces_std_max"], rel=1e-5)
    assert 0 < gate["forces_std_mean_eV_A"] < gate["forces_std_max_eV_A"]
    assert gate["reference_tol_eV_A"] == pytest.approx(fmax / np.sqrt(3))
    assert "GFN2-xTB" in gate["reference"] and gate["structure"] == str(helix)
    assert json.loads((tmp_path / "s0/summary.json").read_text())["gate"] == gate

    ala10_analysis_job(
        reference=helix,
        trajectories=[tmp_path / "s0/md.traj"],
        summaries=[tmp_path / "s0/summary.json"],
        series=tmp_path / "rmsd.csv",
        runs=tmp_path / "stages.csv",
        structures=tmp_path / "structures.csv",
        phase="gas",
        model="pretrained",
        equilibration_ps=0.0,
        window_ps=0.001,
    )
    (row,) = RUNS.read(tmp_path / "stages.csv").to_dict("records")
    assert row["gate_force_rmse_max_eV_A"] == pytest.approx(expected.max(), rel=1e-4)
    assert row["gate_mean_force_rmse_eV_A"] == pytest.approx(mean, rel=1e-4)
    assert len(row["gate_force_rmse_members_eV_A"].split(";")) == 2

    # no relaxation record (a PDB helix): the spread, no RMSE, and why
    bare = atoms.copy()
    bare.info = {}
    write(tmp_path / "pdb_like.extxyz", bare)
    s0 = ensemble_md_stage_job(
        **common,
        trajectory=tmp_path / "p/md.traj",
        summary=tmp_path / "p/summary.json",
        gate_structure=tmp_path / "pdb_like.extxyz",
    )
    assert s0["gate"]["reference"] == NO_REFERENCE
    assert s0["gate"]["member_force_rmse_eV_A"] is None is s0["gate"]["mean_force_rmse_eV_A"]
    assert s0["gate"]["forces_std_max_eV_A"] == pytest.approx(gate["forces_std_max_eV_A"], rel=1e-5)


def test_panel_titles_and_model_cards_name_the_embedded_stand_ins():
    """Figs. 7/8's panel titles and the exported models' cards name the data the models
    were trained on as gmnn.analysis.names does: the stand-ins of ani.source embedded by
    level of theory and role, the paper's data sets by their names."""
    from gmnn.analysis.names import ani_names
    from gmnn.workflow.ala10 import Ala10Design
    from gmnn.workflow.ani import AniDesign

    models = {"models": ["pretrained", "scratch", "finetuned"]}
    titles = Ala10Design(models, (0, 1), 8, 4, ani_names("embedded")).titles
    assert titles == {
        "pretrained": "pre-trained on GFN2-xTB (ANI-1x role)",
        "scratch": "from scratch on ωB97X/6-31G* (ANI-1ccx role)",
        "finetuned": "fine-tuned on ωB97X/6-31G* (ANI-1ccx role)",
    }
    paper = Ala10Design(models, (0, 1), 8, 4, ani_names("ani")).titles
    assert paper["finetuned"] == "fine-tuned on ANI-1ccx"
    section = {
        "seeds": [0, 1],
        "table1": {"sizes": [8]},
        "fig5": {"pretrain_sizes": [8], "settings": ["scratch_E", "finetune_E"]},
        "ani1ccx": {"train_sizes": [4]},
    }
    for source, pre, tuned in (
        ("embedded", "GFN2-xTB (ANI-1x role)", "ωB97X/6-31G* (ANI-1ccx role)"),
        ("ani", "ANI-1x", "ANI-1ccx"),
    ):
        exports = AniDesign({**section, "source": source}, {}, {}).exports
        card = exports["ani1ccx_finetuned"].card
        assert card["pretraining"]["data"] == pre and card["finetuning"]["data"] == tuned
        assert f"{pre}, fine-tuned on 4 {tuned} energies" in card["description"]
        assert (
            f"pre-trained on 8 {pre} structures" in exports["ani1x_pretrained"].card["description"]
        )
    assert card["finetuning"]["level_of_theory"] == "CCSD(T)*/CBS"
