"""gmnn.md.protocol: staged runs (Langevin -> Nose-Hoover -> NPT), each stage continuing
from the last state of the one before, resumable after a kill; a diverged stage ends the
protocol (the later ones recorded as skipped); the optional stop on ensemble
disagreement. EMT on a 32-atom Cu box keeps every run to a few seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.io import Trajectory
from test_npt import TermEMT, copper

from gmnn.md import MDConfig, MDInterrupted
from gmnn.md.checks import ForceSpreadCheck, build_checks
from gmnn.md.config import DivergenceConfig
from gmnn.md.protocol import (
    SKIPPED_REASON,
    run_protocol,
    run_stage,
    stage_configs,
    stage_start,
    stage_times,
)
from gmnn.settings import SettingsError

BASE = dict(
    timestep_fs=2.0,
    write_interval=10,
    checkpoint_interval=40,
    thermostat_time_fs=50.0,
    barostat_time_fs=100.0,
    bulk_modulus_GPa=140.0,
    seed=3,
    divergence={"bond_factor": None},
)
STAGES = [
    {"integrator": "langevin", "time_ps": 0.2},
    {"integrator": "nose_hoover", "time_ps": 0.2},
    {"integrator": "npt_melchionna", "time_ps": 0.4},
]


def frames(path):
    with Trajectory(str(path)) as traj:
        return [a.copy() for a in traj]


def test_stage_configs_steps_velocities_and_times():
    configs = stage_configs(STAGES, BASE)
    assert [c.integrator for c in configs] == ["langevin", "nose_hoover", "npt_melchionna"]
    assert [c.steps for c in configs] == [100, 100, 200]
    assert [c.initialise_velocities for c in configs] == [True, False, False]
    assert all(c.timestep_fs == 2.0 and c.seed == 3 for c in configs)
    assert stage_times(configs) == [(0.0, 0.2), (0.2, 0.4), (0.4, 0.8)]
    # a stage's own keys override the base for it only
    other = stage_configs([STAGES[0], {**STAGES[1], "thermostat_time_fs": 20.0}], BASE)
    assert other[1].thermostat_time_fs == 20.0 and other[0].friction_per_fs == 0.002


@pytest.mark.parametrize(
    "stages, key",
    [
        ([], "ala10.water.stages"),
        ([{"integrator": "langevin"}], "ala10.water.stages[0].time_ps"),
        ([{"integrator": "langevin", "time_ps": -1}], "ala10.water.stages[0].time_ps"),
        ([{"integrator": "langevin", "time_ps": 0.205}], "ala10.water.stages[0].time_ps"),
        ([STAGES[0], {"integrator": "npt", "time_ps": 1}], "ala10.water.stages[1].integrator"),
        ([{"integrator": "langevin", "time_ps": 1, "steps": 5}], "ala10.water.stages[0].steps"),
        ([{"integrator": "langevin", "time_ps": 1, "frcton": 1}], "ala10.water.stages[0].frcton"),
    ],
)
def test_bad_stages_name_the_stage_and_key(stages, key):
    with pytest.raises(SettingsError) as err:
        stage_configs(stages, BASE, "ala10.water.stages")
    assert err.value.key == key


def test_a_protocol_continues_each_stage_from_the_last_state(tmp_path):
    summaries = run_protocol(copper(1.03), TermEMT(), STAGES, tmp_path, base=BASE)
    assert [s["steps_done"] for s in summaries] == [100, 100, 200]
    assert [s["start_ps"] for s in summaries] == pytest.approx([0.0, 0.2, 0.4])
    assert not any(s["diverged"] or s["skipped"] for s in summaries)
    trajs = [frames(tmp_path / f"stage{k}" / "md.traj") for k in range(3)]
    assert [len(t) for t in trajs] == [11, 11, 21]
    for before, after in zip(
        trajs, trajs[1:], strict=False
    ):  # positions, momenta, cell carried over
        np.testing.assert_array_equal(after[0].positions, before[-1].positions)
        # (the integrators' constructors remove the net momentum again: round-off)
        np.testing.assert_allclose(after[0].get_momenta(), before[-1].get_momenta(), atol=1e-12)
        np.testing.assert_array_equal(after[0].cell.array, before[-1].cell.array)
    cells = np.array([f.cell.array for f in trajs[2]])
    assert np.all(cells[:, ~np.eye(3, dtype=bool)] == 0)  # angles stay 90 degrees
    assert np.ptp(cells[:, 0, 0]) > 0 and np.all(cells[0] == trajs[1][-1].cell.array)
    # NVT stages keep the start cell
    assert all(np.array_equal(f.cell.array, trajs[0][0].cell.array) for f in trajs[1])
    # calling again does not rerun finished stages
    again = run_protocol(copper(1.03), TermEMT(), STAGES, tmp_path, base=BASE)
    assert again == summaries


def test_a_killed_npt_stage_resumes_to_the_same_complete_trajectory(tmp_path):
    whole = run_protocol(copper(1.03), TermEMT(), STAGES, tmp_path / "whole", base=BASE)
    configs = stage_configs(STAGES, BASE)
    run_protocol(copper(1.03), TermEMT(), STAGES[:2], tmp_path / "killed", base=BASE)
    start = stage_start(tmp_path / "killed" / "stage1" / "md.traj")
    traj = tmp_path / "killed" / "stage2" / "md.traj"
    with pytest.raises(MDInterrupted):  # SIGTERM at the 97th force call (step ~95)
        run_stage(start, TermEMT(term_at=97), configs[2], traj, start_ps=0.4)
    assert not traj.exists() and traj.with_name("md.ckpt.npz").exists()
    summary = run_stage(start, TermEMT(), configs[2], traj, start_ps=0.4)
    assert summary["resumed_from_step"] > 0 and summary["steps_done"] == 200
    assert summary["failed_at_ps"] is None and summary["skipped"] is False
    a, b = frames(traj), frames(tmp_path / "whole" / "stage2" / "md.traj")
    assert len(a) == len(b) == 21
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.positions, y.positions)
        np.testing.assert_array_equal(x.cell.array, y.cell.array)
    assert whole[2]["steps_done"] == 200


def test_a_diverged_stage_ends_the_protocol_and_the_rest_are_skipped(tmp_path):
    base = {**BASE, "divergence": {"bond_factor": None, "max_force": 0.05}}  # fails at once
    summaries = run_protocol(copper(1.1), TermEMT(), STAGES, tmp_path, base=base)
    first, *rest = summaries
    assert first["diverged"] and first["failed_at_ps"] == pytest.approx(first["diverged_at_ps"])
    assert "force" in first["reason"]
    for s in rest:
        assert s["skipped"] and s["reason"] == SKIPPED_REASON and s["steps_done"] == 0
    assert frames(tmp_path / "stage2" / "md.traj") == []
    on_disk = json.loads((tmp_path / "stage1" / "summary.json").read_text())
    assert on_disk["skipped"] is True


def test_stage_start_needs_frames_with_momenta(tmp_path):
    empty = tmp_path / "empty.traj"
    Trajectory(str(empty), "w").close()
    with pytest.raises(ValueError, match="no frames"):
        stage_start(empty)
    still = tmp_path / "still.traj"
    with Trajectory(str(still), "w") as t:
        t.write(copper())
    with pytest.raises(ValueError, match="no momenta"):
        stage_start(still)


class Spread:
    def __init__(self, value):
        self.results = {"forces_std_max": value}


class FakeAtoms:
    def __init__(self, value):
        self.calc = Spread(value)

    def get_forces(self):
        return np.zeros((1, 3))


def test_the_stop_on_ensemble_disagreement_is_off_by_default_and_named():
    assert DivergenceConfig().max_force_spread is None
    names = [c.name for c in build_checks(copper(), DivergenceConfig())]
    assert "force_spread" not in names
    on = build_checks(copper(), DivergenceConfig(max_force_spread=0.5))
    assert on[-1].name == "force_spread"
    check = ForceSpreadCheck(0.5)
    assert check.check(FakeAtoms(0.4)) is None
    assert "0.70 eV/Å above 0.5" in check.check(FakeAtoms(0.7))
    assert check.check(type("A", (), {"calc": EMT(), "get_forces": lambda self: None})()) is None
    # off, it leaves the identity of existing runs as it was
    identity = MDConfig(steps=10).identity()
    assert "max_force_spread" not in identity["divergence"]
    assert (
        MDConfig(steps=10, divergence={"max_force_spread": 1.0}).identity()["divergence"][
            "max_force_spread"
        ]
        == 1.0
    )
