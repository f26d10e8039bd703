"""Molecular dynamics with ASE: Langevin NVT, checkpoint/resume, divergence detection.

A run writes an ASE trajectory (``.traj``: positions, momenta and the potential energy of
every ``interval``-th step) while it goes. With ``checkpoint`` set, the dynamical state
(positions, momenta, the thermostat's random-number generator, the step) is saved
atomically every ``checkpoint_interval`` steps and when the process receives SIGTERM or
SIGINT; calling :func:`run_langevin` again with the same arguments continues from there,
cutting the trajectory back to the checkpoint's frame if frames were written after it, so
that a killed job ends with one complete, gap-free trajectory.

A run that goes wrong (non-finite energy or forces, a force above ``max_force``, an atom
flying away from the rest, a covalent bond stretched beyond ``bond_factor`` times its
initial length) stops early, and the returned summary records when and why instead of
raising, so that a workflow of many runs goes on.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
from ase import units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixCom
from ase.data import covalent_radii
from ase.io import Trajectory
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, ZeroRotation
from scipy.spatial import cKDTree

from gmnn.io import atomic_save_npz

try:  # ASE >= 3.28
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:  # pragma: no cover - older ASE
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta


class MDInterrupted(RuntimeError):
    """Raised after a checkpoint was written because the process was asked to stop."""


class DivergenceMonitor:
    """Checks a running structure for signs of an unstable potential."""

    def __init__(self, atoms, max_force=50.0, bond_factor=2.0, escape_distance=10.0):
        self.max_force = float(max_force)
        self.bond_factor = float(bond_factor)
        self.escape_distance = float(escape_distance)
        self.molecular = not np.any(atoms.pbc)
        self.bonds = np.zeros((0, 2), int)
        if self.molecular and len(atoms) > 1:
            # k-d tree pairs, not an all-pairs matrix: a large cluster stays O(N log N)
            pos, radii = atoms.positions, covalent_radii[atoms.numbers]
            pairs = np.array(sorted(cKDTree(pos).query_pairs(1.2 * 2 * radii.max())), int)
            if len(pairs):
                d = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
                self.bonds = pairs[d < 1.2 * (radii[pairs[:, 0]] + radii[pairs[:, 1]])]
        self.bond_length = np.linalg.norm(
            atoms.positions[self.bonds[:, 0]] - atoms.positions[self.bonds[:, 1]], axis=1
        )

    def settings(self) -> dict:
        return {
            "max_force": self.max_force,
            "bond_factor": self.bond_factor,
            "escape_distance": self.escape_distance,
        }

    def check(self, atoms) -> str | None:
        """A reason string if ``atoms`` looks diverged, else None."""
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            return "non-finite energy or forces"
        if not np.all(np.isfinite(atoms.positions)):
            return "non-finite positions"
        fmax = float(np.linalg.norm(forces, axis=1).max())
        if fmax > self.max_force:
            return f"force {fmax:.1f} eV/Å above {self.max_force} eV/Å"
        if self.molecular:
            pos = atoms.positions
            if len(self.bonds):
                length = np.linalg.norm(pos[self.bonds[:, 0]] - pos[self.bonds[:, 1]], axis=1)
                ratio = length / self.bond_length
                k = int(np.argmax(ratio))
                if ratio[k] > self.bond_factor:
                    a, b = self.bonds[k]
                    return (
                        f"bond {a}-{b} ({atoms.get_chemical_symbols()[a]}-"
                        f"{atoms.get_chemical_symbols()[b]}) stretched to {length[k]:.2f} Å "
                        f"({ratio[k]:.1f}x its initial length)"
                    )
            if len(atoms) > 1:
                nearest = cKDTree(pos).query(pos, k=2)[0][:, 1]
                k = int(np.argmax(nearest))
                if nearest[k] > self.escape_distance:
                    return f"atom {k} flew off: {nearest[k]:.1f} Å from its nearest neighbour"
        return None


def _frame(atoms) -> object:
    """What goes into the trajectory: positions, momenta, cell and energy (not forces)."""
    snap = atoms.copy()
    snap.set_constraint()
    try:
        energy = atoms.get_potential_energy()
    except Exception:  # noqa: BLE001 - a broken potential: keep the geometry anyway
        energy = np.nan
    snap.calc = SinglePointCalculator(snap, energy=energy)
    return snap


def _count_frames(path: Path) -> int:
    try:
        with Trajectory(str(path), "r") as traj:
            return len(traj)
    except Exception:  # noqa: BLE001 - unreadable (e.g. empty) file: no frames
        return 0


def _truncate_trajectory(path: Path, n_frames: int) -> None:
    """Keep the first ``n_frames`` frames of ``path`` (rewritten, then renamed into place)."""
    tmp = path.with_name(f".{path.name}.truncate")
    with Trajectory(str(path), "r") as src, Trajectory(str(tmp), "w") as dst:
        for i in range(n_frames):
            dst.write(src[i])
    os.replace(tmp, path)


def _resume_state(checkpoint: Path, run_key: dict, trajectory: Path | None):
    """The checkpoint's state if it belongs to this run and its trajectory is intact."""
    if not checkpoint.exists():
        return None
    with np.load(checkpoint, allow_pickle=False) as ck:
        state = {k: ck[k] for k in ck.files}
    if json.loads(str(state["run_key"])) != run_key:
        return None
    n_frames = int(state["frames"])
    if trajectory is not None:
        have = _count_frames(trajectory) if trajectory.exists() else 0
        if have < n_frames:
            return None  # the trajectory lost frames: start over
        if have > n_frames:
            _truncate_trajectory(trajectory, n_frames)
    return state


def run_langevin(
    atoms,
    calculator,
    steps: int,
    temperature_K: float = 300.0,
    timestep_fs: float = 0.5,
    friction_per_fs: float = 0.01,
    seed: int = 0,
    trajectory=None,
    interval: int = 10,
    monitor: DivergenceMonitor | None = None,
    initialise_velocities: bool = True,
    checkpoint=None,
    checkpoint_interval: int = 1000,
    log=None,
) -> dict:
    """Langevin NVT dynamics; returns a summary dict (steps done, divergence, timing).

    Parameters
    ----------
    atoms, calculator
        Start structure (copied, not changed) and the ASE calculator that drives it.
    steps
        Total number of time steps (a resumed run counts the steps done before).
    friction_per_fs
        Langevin friction in 1/fs.
    trajectory
        ASE ``.traj`` file; a frame (positions, momenta, energy) is written at step 0 and
        every ``interval`` steps, so a complete run has ``steps // interval + 1`` frames.
    monitor
        Divergence checks, run every ``interval`` steps (default :class:`DivergenceMonitor`
        of the start structure).
    checkpoint
        File (``.npz``) of the resumable state, written atomically every
        ``checkpoint_interval`` steps (rounded to a multiple of ``interval``) and on
        SIGTERM/SIGINT (then :class:`MDInterrupted` is raised). If it exists and was
        written for the same arguments, the run continues from it.
    log
        Optional :class:`logging.Logger` for progress messages.

    Returns
    -------
    dict
        ``steps_requested``, ``steps_done``, ``time_ps``, ``diverged`` and ``reason``
        (with ``diverged_at_ps``), ``frames``, ``wall_seconds`` and ``seconds_per_step``
        (wall time per MD step, force call and trajectory writing included),
        ``resumed_from_step``.
    """
    interval = max(1, int(interval))
    steps = int(steps)
    trajectory = Path(trajectory) if trajectory is not None else None
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    checkpoint_every = max(interval, (int(checkpoint_interval) // interval) * interval)

    atoms = atoms.copy()
    atoms.calc = calculator
    monitor = monitor or DivergenceMonitor(atoms)
    run_key = {
        "numbers": atoms.numbers.tolist(),
        "start_positions": np.round(atoms.positions, 8).tolist(),
        "steps": steps,
        "temperature_K": float(temperature_K),
        "timestep_fs": float(timestep_fs),
        "friction_per_fs": float(friction_per_fs),
        "seed": int(seed),
        "interval": interval,
        "initialise_velocities": bool(initialise_velocities),
        "monitor": monitor.settings(),
    }
    run_key = json.loads(json.dumps(run_key))
    rng = np.random.default_rng(seed)
    state = _resume_state(checkpoint, run_key, trajectory) if checkpoint else None
    if state is not None:
        atoms.set_positions(state["positions"])
        atoms.set_momenta(state["momenta"])
        rng.bit_generator.state = json.loads(str(state["rng"]))
        done = int(state["step"])
        frames = int(state["frames"])
        wall_before = float(state["wall_seconds"])
        steps_before = int(state["steps_timed"])
        if log:
            log.info("resuming MD at step %d (%d frames) from %s", done, frames, checkpoint)
    else:
        if initialise_velocities:
            thermalize_momenta(atoms, temperature_K=temperature_K, rng=rng)
            Stationary(atoms)
            if not np.any(atoms.pbc) and len(atoms) > 2:  # (a diatomic's inertia is singular)
                ZeroRotation(atoms)
        done, frames, wall_before, steps_before = 0, 0, 0.0, 0
    resumed_from = done
    atoms.set_constraint(FixCom())  # the centre of mass stays put (ASE's recommended way)
    dyn = Langevin(
        atoms,
        timestep_fs * units.fs,
        temperature_K=temperature_K,
        friction=friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    dyn.nsteps = done

    writer = None
    if trajectory is not None:
        trajectory.parent.mkdir(parents=True, exist_ok=True)
        writer = Trajectory(str(trajectory), "a" if frames else "w")

    def save_checkpoint(wall_now):
        if checkpoint is None:
            return
        atomic_save_npz(
            checkpoint,
            {
                "run_key": np.array(json.dumps(run_key)),
                "positions": atoms.get_positions(),
                "momenta": atoms.get_momenta(),
                "rng": np.array(json.dumps(rng.bit_generator.state)),
                "step": np.array(done),
                "frames": np.array(frames),
                "wall_seconds": np.array(wall_before + wall_now),
                "steps_timed": np.array(steps_before + done - resumed_from),
            },
        )

    stop = {"signal": None}

    def on_signal(signum, frame):
        stop["signal"] = signum

    handlers = {}
    if checkpoint is not None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                handlers[sig] = signal.signal(sig, on_signal)
            except ValueError:  # not the main thread: no signal handling
                pass

    summary = {
        "steps_requested": steps,
        "steps_done": 0,
        "diverged": False,
        "reason": None,
        "diverged_at_ps": None,
        "time_ps": 0.0,
        "temperature_K": float(temperature_K),
        "timestep_fs": float(timestep_fs),
        "friction_per_fs": float(friction_per_fs),
        "interval": interval,
        "seed": int(seed),
        "resumed_from_step": resumed_from,
    }
    t0 = time.perf_counter()
    try:
        reason = monitor.check(atoms) if done == 0 else None
        if writer is not None and frames == 0:
            writer.write(_frame(atoms))
            frames = 1
        while reason is None and done < steps:
            n = min(interval, steps - done)
            dyn.run(n)
            done += n
            reason = monitor.check(atoms)
            if writer is not None and (done % interval == 0 or done == steps):
                writer.write(_frame(atoms))
                frames += 1
            if reason is None and done < steps:
                if stop["signal"] is not None:
                    save_checkpoint(time.perf_counter() - t0)
                    raise MDInterrupted(
                        f"stopped by signal {stop['signal']} at step {done}; "
                        f"checkpoint {checkpoint}"
                    )
                if done % checkpoint_every == 0:
                    save_checkpoint(time.perf_counter() - t0)
        if reason is not None:
            summary.update(diverged=True, reason=reason, diverged_at_ps=done * timestep_fs / 1000.0)
            if log:
                log.warning("MD diverged at step %d: %s", done, reason)
    finally:
        if writer is not None:
            writer.close()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    wall = wall_before + time.perf_counter() - t0
    timed = steps_before + done - resumed_from
    summary["steps_done"] = int(done)
    summary["time_ps"] = done * timestep_fs / 1000.0
    summary["frames"] = int(frames)
    summary["wall_seconds"] = wall
    summary["seconds_per_step"] = wall / max(timed, 1)
    return summary
