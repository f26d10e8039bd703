"""gmnn.analysis.ala10: RMSD to the initial helix (zero for rotated and translated copies,
the known value for a known displacement), the peptide made whole across periodic faces
before alignment, stages joined in protocol time, helicity, spread, density, runs rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import Trajectory
from scipy.spatial.transform import Rotation

from gmnn.analysis.ala10 import RUNS, SERIES, STRUCTURES, backbone_traces, collect, run_tables
from gmnn.analysis.structure import select_atoms
from gmnn.data.ala10 import NAME_KEY
from gmnn.refdata.peptide import build_ala10_helix


@pytest.fixture(scope="module")
def helix():
    pytest.importorskip("PeptideBuilder")
    pytest.importorskip("rdkit")
    return build_ala10_helix(relax_hydrogens=False)


def write(path: Path, frames):
    path.parent.mkdir(parents=True, exist_ok=True)
    with Trajectory(str(path), "w") as traj:
        for atoms, info in frames:
            atoms = atoms.copy()
            atoms.info.update(info)
            atoms.calc = SinglePointCalculator(atoms, energy=0.0)
            traj.write(atoms)


def summary(start_ps, frames, interval=10, dt=0.5, integrator="langevin", **extra):
    steps = (frames - 1) * interval
    return {
        "start_ps": start_ps,
        "interval": interval,
        "timestep_fs": dt,
        "integrator": integrator,
        "steps_requested": steps,
        "steps_done": steps,
        "time_ps": steps * dt / 1000.0,
        "diverged": False,
        "reason": None,
        "failed_at_ps": None,
        "skipped": False,
        "seconds_per_step": 0.012,
        "max_forces_std_max": 0.3,
        "max_energy_std": 0.01,
        "n_atoms": 104,
        **extra,
    }


def tables(
    reference,
    paths,
    summaries,
    phase="gas",
    model="pretrained",
    equilibration_ps=0.0,
    window_ps=0.01,
    members=2,
):
    """:func:`run_tables` of one run with the stage files ``paths`` and their ``summaries``."""
    return run_tables(
        reference,
        paths,
        summaries,
        phase=phase,
        model=model,
        equilibration_ps=equilibration_ps,
        window_ps=window_ps,
        members=members,
    )


def moved(atoms, seed):
    """A rigidly rotated and translated copy of ``atoms``."""
    rot = Rotation.random(random_state=seed).as_matrix()
    out = atoms.copy()
    out.positions = atoms.positions @ rot.T + np.array([3.0, -2.0, 7.5]) * seed
    return out


def test_gas_rmsd_is_zero_for_rigid_copies_and_known_for_a_displacement(helix, tmp_path):
    copies = [
        (moved(helix, s), {"energy_std": 0.01 * s, "forces_std_max": 0.1 * s}) for s in range(5)
    ]
    shifted = helix.copy()
    heavy = select_atoms("heavy", helix.numbers)
    # one heavy side-chain atom 1 Angstrom out along the axis perpendicular to the helix: the
    # superposition hardly moves (its optimum spreads the offset), so the RMSD is
    # close to 1/sqrt(n_heavy) and at most that
    cb = int(np.flatnonzero(helix.arrays[NAME_KEY] == "CB")[4])  # a side chain: not backbone
    shifted.positions[cb] += [0.0, 0.0, 1.0]
    write(tmp_path / "s0.traj", copies + [(shifted, {})])
    series, runs, structures = tables(helix, [tmp_path / "s0.traj"], [summary(0.0, 6)])
    assert list(series.columns) == list(SERIES.columns) and len(series) == 6
    np.testing.assert_allclose(series["rmsd_heavy_A"][:5], 0.0, atol=1e-6)
    np.testing.assert_allclose(series["rmsd_all_A"][:5], 0.0, atol=1e-6)
    np.testing.assert_allclose(series["rmsd_backbone_A"], 0.0, atol=1e-6)  # not backbone
    last = series["rmsd_heavy_A"].iloc[-1]
    assert 0.95 / np.sqrt(len(heavy)) < last <= 1.0 / np.sqrt(len(heavy)) + 1e-9
    np.testing.assert_allclose(series["time_ps"], np.arange(6) * 0.005)
    np.testing.assert_allclose(series["helical_fraction"][:5], 1.0)
    np.testing.assert_allclose(series["energy_std_eV"][:5], 0.01 * np.arange(5))
    assert series["volume_A3"].isna().all() and series["density_g_cm3"].isna().all()
    (row,) = runs.to_dict("records")
    assert row["members"] == 2 and row["ms_per_step"] == pytest.approx(12.0)
    assert row["mean_helical_fraction"] == pytest.approx(1.0) and row["diverged"] == 0
    assert set(structures["frame"]) == {"initial", "late"}
    assert set(structures["name"]) == {"N", "CA", "C", "O"}
    (initial, late), *others = backbone_traces(structures, "gas").values()
    backbone = select_atoms("backbone", helix.numbers, helix.arrays[NAME_KEY])
    assert not others and initial.shape == late.shape == (len(backbone), 3)
    np.testing.assert_allclose(initial, helix.positions[backbone])
    assert backbone_traces(structures, "water") == {}


def test_a_peptide_split_across_periodic_faces_is_made_whole(helix, tmp_path):
    """In a box, a rotated copy wrapped into the cell (bonds cut across faces): made whole
    with the helix's bonds, its RMSD is zero; with waters after it, as solvated."""
    box = np.diag([22.0, 23.0, 30.0])
    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    frames = []
    for s in range(4):
        peptide = moved(helix, s + 1)
        system = peptide + water
        system.set_cell(box)
        system.pbc = True
        system.positions += [11.0, 11.5, 15.0]  # the helix crosses faces, then wrap
        system.wrap()
        frames.append((system, {}))
    cut = frames[0][0].positions[:104]
    assert np.ptp(cut[:, 2]) > 20 or np.ptp(cut[:, 0]) > 15  # really split
    # stage 0 in gas-like protocol time 0-0.015, stage 1 continues (first frame dropped)
    write(tmp_path / "s0.traj", frames[:2])
    write(tmp_path / "s1.traj", frames[1:])
    series, runs, _ = tables(
        helix,
        [tmp_path / "s0.traj", tmp_path / "s1.traj"],
        [summary(0.0, 2), summary(0.005, 3, integrator="npt_melchionna", volume_A3=15180.0)],
        phase="water",
        model="finetuned",
        equilibration_ps=0.005,
    )
    assert len(series) == 4
    np.testing.assert_allclose(series["time_ps"], [0.0, 0.005, 0.010, 0.015])
    assert list(series["stage"]) == [0, 0, 1, 1]
    np.testing.assert_allclose(series["rmsd_all_A"], 0.0, atol=1e-6)
    mass = (helix + water).get_masses().sum()
    np.testing.assert_allclose(
        series["density_g_cm3"], mass * 1.66053906660 / np.prod([22, 23, 30])
    )
    # production: the last stage after its equilibration (0.005 + 0.005 ps)
    assert list(series["production"]) == [0, 0, 1, 1]
    assert series["rmsd_heavy_avg_A"].isna().tolist() == [True, True, False, False]
    assert list(runs["final_volume_A3"].isna()) == [True, False]
    assert list(runs["planned_end_ps"]) == pytest.approx([0.005, 0.015])


def test_a_failed_stage_and_a_skipped_one_are_rows_and_collect_joins_runs(helix, tmp_path):
    write(tmp_path / "a.traj", [(helix, {}), (moved(helix, 1), {})])
    Trajectory(str(tmp_path / "b.traj"), "w").close()
    failed = summary(0.0, 2, diverged=True, reason="non-finite energy or forces")
    failed.update(failed_at_ps=0.005, steps_requested=100)
    skipped = summary(0.05, 1, skipped=True, reason="not run", seconds_per_step=None)
    skipped.update(steps_done=0, time_ps=0.0, steps_requested=100, max_forces_std_max=None)
    made = tables(
        helix,
        [tmp_path / "a.traj", tmp_path / "b.traj"],
        [failed, skipped],
        phase="water",
        model="scratch",
        window_ps=1.0,
    )
    rows = made.runs.to_dict("records")
    assert rows[0]["diverged"] == 1 and rows[0]["failed_at_ps"] == pytest.approx(0.005)
    assert rows[1]["skipped"] == 1 and np.isnan(rows[1]["ms_per_step"])
    assert len(made.series) == 2
    for name, table, df in (("s", SERIES, made.series), ("r", RUNS, made.runs)):
        table.write(df, tmp_path / f"{name}.csv")
    STRUCTURES.write(made.structures, tmp_path / "x.csv")
    joined = collect([tmp_path / "s.csv"], [tmp_path / "r.csv"], [tmp_path / "x.csv"])
    assert len(joined.runs) == 2 and len(joined.series) == 2
    assert joined.runs["reason"].tolist()[0] == "non-finite energy or forces"


def test_reference_needs_pdb_names(helix, tmp_path):
    bare = helix.copy()
    del bare.arrays[NAME_KEY]
    write(tmp_path / "a.traj", [(helix, {})])
    with pytest.raises(KeyError):
        tables(bare, [tmp_path / "a.traj"], [summary(0.0, 1)], model="x", window_ps=1, members=1)


GATE = {
    "reference": "GFN2-xTB forces of the helix relaxed with GFN2-xTB: 0 within fmax 0.0438 eV/A",
    "reference_tol_eV_A": 0.0253,
    "member_force_rmse_eV_A": [0.41, 0.52],
    "mean_force_rmse_eV_A": 0.44,
    "forces_std_max_eV_A": 0.9,
    "forces_std_mean_eV_A": 0.2,
}


def test_the_gate_goes_on_the_first_stage_row_and_round_trips(helix, tmp_path):
    """The gate of stage 0's summary fills the gate columns of the run's first row (the
    worst member's RMSE as a number, every member's as text); later rows stay empty; a
    run without a reference keeps its reason and leaves the RMSEs empty."""
    write(tmp_path / "a.traj", [(helix, {}), (moved(helix, 1), {})])
    write(tmp_path / "b.traj", [(moved(helix, 1), {}), (moved(helix, 2), {})])
    stages = [summary(0.0, 2, gate=GATE), summary(0.005, 2)]
    made = tables(helix, [tmp_path / "a.traj", tmp_path / "b.traj"], stages, phase="water")
    first, second = made.runs.to_dict("records")
    assert first["gate_force_rmse_members_eV_A"] == "0.41;0.52"
    assert first["gate_force_rmse_max_eV_A"] == pytest.approx(0.52)
    assert first["gate_mean_force_rmse_eV_A"] == pytest.approx(0.44)
    assert first["gate_forces_std_max_eV_A"] == pytest.approx(0.9)
    assert first["gate_reference"].startswith("GFN2-xTB")
    assert second["gate_reference"] == "" and np.isnan(second["gate_forces_std_max_eV_A"])
    RUNS.write(made.runs, tmp_path / "r.csv")
    back = RUNS.read(tmp_path / "r.csv")
    assert back["gate_force_rmse_members_eV_A"].tolist() == ["0.41;0.52", ""]
    assert back["gate_reference_tol_eV_A"].tolist()[0] == pytest.approx(0.0253)
    none = {**GATE, "reference": "none: not relaxed", "member_force_rmse_eV_A": None}
    none.update(mean_force_rmse_eV_A=None, reference_tol_eV_A=None)
    (row,) = tables(helix, [tmp_path / "a.traj"], [summary(0.0, 2, gate=none)]).runs.to_dict(
        "records"
    )
    assert (
        row["gate_reference"] == "none: not relaxed" and row["gate_force_rmse_members_eV_A"] == ""
    )
    assert np.isnan(row["gate_force_rmse_max_eV_A"]) and row["gate_forces_std_max_eV_A"] == 0.9


def test_relaxed_reference_reads_the_relaxation_record():
    import json

    from gmnn.analysis.ala10 import relaxed_reference

    relax = {"method": "GFN2-xTB", "converged": True, "fmax_reached_eV_A": 0.04}
    assert relaxed_reference(json.dumps({"relax": relax})) == {
        "reference_method": "GFN2-xTB",
        "reference_fmax_eV_A": 0.04,
    }
    assert relaxed_reference({"relax": {**relax, "converged": False}}) == {}
    assert relaxed_reference({"relax": None}) == relaxed_reference(None) == {}
    assert relaxed_reference("not json") == {}
