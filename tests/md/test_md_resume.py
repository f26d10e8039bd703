"""gmnn.md.MDRun resuming: only its own checkpoint (settings, start structure, model
weights), only onto an intact trajectory; more steps continue, fewer are refused;
run_md moves the finished trajectory into place."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.io import Trajectory

from gmnn.md import (
    CheckpointMismatch,
    MDConfig,
    MDInterrupted,
    MDResumeError,
    MDRun,
    checkpoint_path,
    partial_trajectory,
    run_md,
)


class Free(Calculator):
    """No forces (the thermostat alone moves the atoms); ``term_at``: SIGTERM to this
    process at that force call."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, term_at=None):
        super().__init__()
        self.calls, self.term_at = 0, term_at

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        if self.calls == self.term_at:
            os.kill(os.getpid(), signal.SIGTERM)
        self.results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3))}


def config(steps=40, **changes):
    return MDConfig(steps=steps, write_interval=2, checkpoint_interval=20, seed=4, **changes)


def frames(path):
    with Trajectory(str(path)) as traj:
        return [(a.get_positions(), a.get_momenta()) for a in traj]


def assert_same_frames(a, b):
    assert len(a) == len(b)
    for (p, m), (p_ref, m_ref) in zip(a, b, strict=True):
        np.testing.assert_array_equal(p, p_ref)
        np.testing.assert_array_equal(m, m_ref)


@pytest.fixture
def checkpointed(tmp_path):
    """A finished 40-step run whose checkpoint (step 20, 11 frames) is still there."""
    traj, ck = tmp_path / "md.traj", tmp_path / "md.ckpt.npz"
    summary = MDRun(molecule("CH3OH"), Free(), config(), trajectory=traj, checkpoint=ck).run()
    assert summary["frames"] == 21 and ck.exists()
    return traj, ck


def test_checkpoint_of_another_model_is_refused_then_restarted(tmp_path):
    from gmnn.calculator import GMNNCalculator
    from gmnn.io import save_model
    from gmnn.model import GMNN

    paths = []
    for seed in (0, 1):
        m = GMNN(species=[1, 8], hidden=(8,), seed=seed)
        m.energy_scale.assign(0.02)
        paths.append(save_model(m, tmp_path / f"m{seed}"))
    cfg = MDConfig(steps=20, write_interval=2, checkpoint_interval=10, temperature_K=100.0)
    kw = dict(trajectory=tmp_path / "md.traj", checkpoint=tmp_path / "md.ckpt.npz")
    water = molecule("H2O")
    first = MDRun(water, GMNNCalculator(paths[0]), cfg, **kw).run()
    assert first["steps_done"] == 20 and (tmp_path / "md.ckpt.npz").exists()  # step 10
    # the same model loaded again: its checkpoint
    again = MDRun(water, GMNNCalculator(paths[0]), cfg, **kw).run()
    assert again["resumed_from_step"] == 10
    with pytest.raises(CheckpointMismatch) as err:
        MDRun(water, GMNNCalculator(paths[1]), cfg, **kw).run()
    message = str(err.value)
    assert "md.ckpt.npz" in message and "model.weights:" in message
    assert all(d.startswith("model.") for d in err.value.differences), message
    restarted = MDRun(water, GMNNCalculator(paths[1]), cfg, on_mismatch="restart", **kw).run()
    assert restarted["resumed_from_step"] == 0 and restarted["frames"] == 11


def test_checkpoint_of_another_start_structure_is_refused(checkpointed):
    traj, ck = checkpointed
    other = molecule("CH3OH")
    other.positions[0, 0] += 1e-6
    with pytest.raises(CheckpointMismatch, match=r"start\.sha256"):
        MDRun(other, Free(), config(), trajectory=traj, checkpoint=ck).run()


def _shorten(path):
    keep = frames(path)[:5]
    with Trajectory(str(path), "w") as out:
        for p, m in keep:
            a = molecule("CH3OH")
            a.positions, a.arrays["momenta"] = p, m
            out.write(a)


def _cut(path):
    os.truncate(path, os.path.getsize(path) // 4)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda p: p.unlink(), "is missing"),
        (_shorten, "has 5 frames, fewer than the checkpoint's 11"),
        (lambda p: p.write_bytes(b"garbage"), "is unreadable"),
        (_cut, "is unreadable"),
    ],
)
def test_a_damaged_trajectory_is_named_or_restarted(checkpointed, damage, problem):
    traj, ck = checkpointed
    damage(traj)
    with pytest.raises(MDResumeError) as err:
        MDRun(molecule("CH3OH"), Free(), config(), trajectory=traj, checkpoint=ck).run()
    message = str(err.value)
    assert f"{traj} {problem}" in message
    assert f"Delete {ck} and {traj}" in message
    summary = MDRun(
        molecule("CH3OH"), Free(), config(), trajectory=traj, checkpoint=ck, on_mismatch="restart"
    ).run()
    assert summary["resumed_from_step"] == 0 and summary["frames"] == len(frames(traj)) == 21


def test_more_steps_continue_bit_identically_fewer_are_refused(checkpointed, tmp_path):
    traj, ck = checkpointed
    longer = MDRun(molecule("CH3OH"), Free(), config(60), trajectory=traj, checkpoint=ck).run()
    assert longer["resumed_from_step"] == 20 and longer["steps_done"] == 60
    fresh = tmp_path / "fresh.traj"
    MDRun(molecule("CH3OH"), Free(), config(60), trajectory=fresh).run()
    assert_same_frames(frames(traj), frames(fresh))
    # the checkpoint is now at step 40
    with pytest.raises(CheckpointMismatch, match="step 40, beyond steps 20"):
        MDRun(molecule("CH3OH"), Free(), config(20), trajectory=traj, checkpoint=ck).run()
    summary = MDRun(
        molecule("CH3OH"), Free(), config(20), trajectory=traj, checkpoint=ck, on_mismatch="restart"
    ).run()
    assert summary["resumed_from_step"] == 0 and summary["frames"] == 11


def test_checkpoint_of_an_older_gmnn_is_refused(tmp_path):
    ck = tmp_path / "md.ckpt.npz"
    np.savez(ck, run_key=np.array("{}"), step=np.array(10))
    with pytest.raises(CheckpointMismatch, match="none stored"):
        MDRun(molecule("CH3OH"), Free(), config(), checkpoint=ck).run()


def test_run_md_resumes_after_sigterm_and_moves_the_trajectory_into_place(tmp_path):
    final = tmp_path / "run" / "md.traj"
    partial, ck = partial_trajectory(final), checkpoint_path(final)
    assert (partial.name, ck.name) == ("md.partial.traj", "md.ckpt.npz")
    with pytest.raises(MDInterrupted):
        run_md(molecule("CH3OH"), Free(term_at=15), config(), final)
    assert partial.exists() and ck.exists() and not final.exists()
    summary = run_md(molecule("CH3OH"), Free(), config(), final)
    assert summary["resumed_from_step"] == 14 and summary["trajectory"] == str(final)
    assert final.exists() and not partial.exists() and not ck.exists()
    reference = tmp_path / "reference.traj"
    MDRun(molecule("CH3OH"), Free(), config(), trajectory=reference).run()
    assert_same_frames(frames(final), frames(reference))
