"""gmnn.md.MDRun: Langevin runs that checkpoint, resume after a kill, and record divergence."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _synthetic import PushLastAtom
from ase.build import molecule
from ase.io import Trajectory

from gmnn.md import BondStretchCheck, CheckpointMismatch, MDConfig, MDInterrupted, MDRun

SPRINGS = textwrap.dedent(
    """
    import os, signal
    import numpy as np
    from ase.calculators.calculator import Calculator, all_changes

    class Springs(Calculator):
        '''Harmonic springs between the atoms bonded in the start structure.

        ``signal_at``: send this process ``signum`` at that force call (a kill mid-run).
        ``nan_at``: return NaN forces from that call on (a broken potential).
        '''

        implemented_properties = ["energy", "forces"]

        def __init__(self, pairs, r0, k=30.0, signal_at=None, signum=9, nan_at=None):
            super().__init__()
            self.pairs, self.r0, self.k = np.asarray(pairs), np.asarray(r0), k
            self.calls, self.signal_at, self.signum, self.nan_at = 0, signal_at, signum, nan_at

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            self.calls += 1
            if self.signal_at is not None and self.calls == self.signal_at:
                os.kill(os.getpid(), self.signum)
            pos = self.atoms.positions
            d = pos[self.pairs[:, 1]] - pos[self.pairs[:, 0]]
            r = np.linalg.norm(d, axis=1)
            f_pair = (-self.k * (r - self.r0) / r)[:, None] * d
            forces = np.zeros_like(pos)
            np.add.at(forces, self.pairs[:, 1], f_pair)
            np.add.at(forces, self.pairs[:, 0], -f_pair)
            energy = 0.5 * self.k * np.sum((r - self.r0) ** 2)
            if self.nan_at is not None and self.calls >= self.nan_at:
                forces[:] = np.nan
            self.results = {"energy": energy, "forces": forces}
    """
)
namespace: dict = {}
exec(SPRINGS, namespace)  # the same class in this process and in the killed subprocess
Springs = namespace["Springs"]

RUN = dict(
    steps=300, temperature_K=300.0, timestep_fs=0.5, friction_per_fs=0.01, seed=3, write_interval=5
)

REPO = Path(__file__).resolve().parents[2]


def config(**changes) -> MDConfig:
    return MDConfig(**{**RUN, **changes})


def start():
    atoms = molecule("CH3OH")
    bonds = BondStretchCheck(atoms, 2.0).bonds
    r0 = np.linalg.norm(atoms.positions[bonds[:, 1]] - atoms.positions[bonds[:, 0]], axis=1)
    return atoms, bonds, r0


def frames(path):
    with Trajectory(str(path)) as traj:
        return [(a.get_positions(), a.get_momenta()) for a in traj]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its trajectory and summary."""
    out = tmp_path_factory.mktemp("ref")
    atoms, pairs, r0 = start()
    summary = MDRun(atoms, Springs(pairs, r0), config(), trajectory=out / "md.traj").run()
    return frames(out / "md.traj"), summary


def test_uninterrupted_run_writes_every_frame(reference):
    traj, summary = reference
    assert summary["steps_done"] == 300 and not summary["diverged"]
    assert len(traj) == 300 // 5 + 1 == summary["frames"]
    assert summary["seconds_per_step"] > 0


def test_killed_run_resumes_to_the_same_complete_trajectory(reference, tmp_path):
    """SIGKILL mid-run (after the checkpoint of step 200, at step ~235): the rerun cuts
    the trajectory back to the checkpoint and ends identical to the uninterrupted run."""
    script = tmp_path / "killed.py"
    script.write_text(
        SPRINGS
        + textwrap.dedent(
            f"""
            import sys
            sys.path[:0] = [{str(REPO)!r}, {str(REPO / "tests")!r}]
            from tests.md.test_md import start, config
            from gmnn.md import MDRun
            atoms, pairs, r0 = start()
            MDRun(atoms, Springs(pairs, r0, signal_at=237, signum=9),
                  config(checkpoint_interval=100),
                  trajectory={str(tmp_path / "md.traj")!r},
                  checkpoint={str(tmp_path / "md.ckpt.npz")!r}).run()
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    written = frames(tmp_path / "md.traj")
    assert 40 < len(written) < 61  # frames after the checkpoint (step 200) were written

    atoms, pairs, r0 = start()
    summary = MDRun(
        atoms,
        Springs(pairs, r0),
        config(checkpoint_interval=100),
        trajectory=tmp_path / "md.traj",
        checkpoint=tmp_path / "md.ckpt.npz",
    ).run()
    assert summary["resumed_from_step"] == 200
    assert summary["steps_done"] == 300 and summary["frames"] == 61
    resumed = frames(tmp_path / "md.traj")
    ref, _ = reference
    assert len(resumed) == len(ref)
    for (p, m), (p_ref, m_ref) in zip(resumed, ref, strict=True):
        np.testing.assert_array_equal(p, p_ref)
        np.testing.assert_array_equal(m, m_ref)


def test_sigterm_checkpoints_and_resumes(reference, tmp_path):
    import signal

    atoms, pairs, r0 = start()
    kwargs = dict(trajectory=tmp_path / "md.traj", checkpoint=tmp_path / "md.ckpt.npz")
    cfg = config(checkpoint_interval=1000)
    killer = Springs(pairs, r0, signal_at=123, signum=signal.SIGTERM)
    with pytest.raises(MDInterrupted, match="checkpoint"):
        MDRun(atoms, killer, cfg, **kwargs).run()
    assert (tmp_path / "md.ckpt.npz").exists()
    summary = MDRun(atoms, Springs(pairs, r0), cfg, **kwargs).run()
    assert 0 < summary["resumed_from_step"] < 300
    ref, _ = reference
    final, final_ref = frames(tmp_path / "md.traj")[-1], ref[-1]
    np.testing.assert_array_equal(final[0], final_ref[0])
    assert len(frames(tmp_path / "md.traj")) == 61


def test_checkpoint_of_other_settings_is_refused_or_restarted(tmp_path):
    """Another temperature: an error naming it (the default), or a fresh start with
    on_mismatch="restart"."""
    import signal

    atoms, pairs, r0 = start()
    kwargs = dict(trajectory=tmp_path / "md.traj", checkpoint=tmp_path / "c.npz")
    with pytest.raises(MDInterrupted):
        MDRun(
            atoms,
            Springs(pairs, r0, signal_at=150, signum=signal.SIGTERM),
            config(checkpoint_interval=50),
            **kwargs,
        ).run()
    other = config(checkpoint_interval=50, temperature_K=100.0)
    with pytest.raises(
        CheckpointMismatch, match=r"dynamics\.temperature_K: 300\.0 before, now 100\.0"
    ):
        MDRun(atoms, Springs(pairs, r0), other, **kwargs).run()
    assert (tmp_path / "c.npz").exists()  # an error leaves the files alone
    run = MDRun(atoms, Springs(pairs, r0), other, on_mismatch="restart", **kwargs)
    summary = run.run()
    assert summary["resumed_from_step"] == 0 and summary["frames"] == 61


@pytest.mark.parametrize(
    ("make_calc", "reason"),
    [
        (lambda pairs, r0: Springs(pairs, r0, nan_at=40), "non-finite"),
        (lambda pairs, r0: PushLastAtom(), "stretched|flew off"),
    ],
)
def test_broken_potential_stops_early_and_is_recorded(make_calc, reason, tmp_path):
    atoms, pairs, r0 = start()
    summary = MDRun(
        atoms,
        make_calc(pairs, r0),
        MDConfig(steps=20000, write_interval=5, friction_per_fs=0.01),
        trajectory=tmp_path / "md.traj",
        checkpoint=tmp_path / "c.npz",
    ).run()
    assert summary["diverged"]
    assert summary["steps_done"] < 20000
    assert summary["diverged_at_ps"] == pytest.approx(summary["steps_done"] * 0.5e-3)
    import re

    assert re.search(reason, summary["reason"]), summary["reason"]
    assert len(frames(tmp_path / "md.traj")) == summary["frames"] >= 2
