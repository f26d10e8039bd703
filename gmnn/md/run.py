"""An MD run as a small object: restore, advance in blocks, checkpoint, finish.

:class:`MDRun` drives ASE dynamics (:class:`~gmnn.md.config.MDConfig`) of a structure
with a calculator, writes a trajectory, runs the divergence checks
(:mod:`gmnn.md.checks`) every ``write_interval`` steps, and saves its resumable state
to a checkpoint. The checkpoint carries the run's identity (:attr:`MDRun.identity`);
:func:`gmnn.runs.claim_checkpoint` lets a run resume only from its own checkpoint.
:func:`run_md` is the whole run into a final trajectory file, as the pipeline uses it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixCom
from ase.io import Trajectory
from ase.md.velocitydistribution import Stationary, ZeroRotation

from gmnn.fingerprints import arrays_fingerprint
from gmnn.io import atomic_path, atomic_save_npz
from gmnn.md.checks import build_checks, first_reason
from gmnn.md.config import MDConfig
from gmnn.md.integrators import get_integrator
from gmnn.runs import (
    IDENTITY_KEY,
    RESTART_HINT,
    CheckpointDamaged,
    CheckpointMismatch,
    StopSignals,
    claim_checkpoint,
    identity_array,
    normalise,
    read_checkpoint,
)

try:  # ASE >= 3.28
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:  # pragma: no cover - older ASE
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

__all__ = [
    "MDInterrupted",
    "MDResumeError",
    "MDRun",
    "calculator_fingerprint",
    "checkpoint_path",
    "partial_trajectory",
    "run_md",
    "structure_fingerprint",
]


class MDInterrupted(RuntimeError):
    """Raised after a checkpoint was written because the process was asked to stop."""


class MDResumeError(ValueError):
    """A checkpoint of this run whose trajectory cannot be continued (missing, shorter
    than the checkpoint says, or unreadable)."""


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def calculator_fingerprint(calculator) -> dict:
    """What identifies the potential of ``calculator``: its ``fingerprint()`` (gmnn's
    calculators: model settings and weights hash), else its class and ASE parameters."""
    fingerprint = getattr(calculator, "fingerprint", None)
    if callable(fingerprint):
        return normalise(fingerprint())
    cls = type(calculator)
    try:
        parameters = dict(calculator.todict())
    except (AttributeError, TypeError):
        parameters = {}
    parameters = json.loads(json.dumps(parameters, default=_plain, sort_keys=True))
    # the class name without its module: a script's class is __main__.X run, x.X imported
    return {"calculator": cls.__qualname__, "parameters": parameters}


def structure_fingerprint(atoms, momenta: bool = False) -> dict:
    """Formula, size and a sha256 of numbers, positions, cell, pbc and masses (and
    momenta) of ``atoms``."""
    arrays = {
        "numbers": atoms.numbers,
        "positions": atoms.positions,
        "cell": atoms.cell.array,
        "pbc": atoms.pbc,
        "masses": atoms.get_masses(),
    }
    if momenta:
        arrays["momenta"] = atoms.get_momenta()
    return {
        "formula": atoms.get_chemical_formula(),
        "n_atoms": len(atoms),
        "sha256": arrays_fingerprint(arrays),
    }


# Uncertainties an ensemble calculator (gmnn.calculator.EnsembleCalculator) reports with
# its results; written into each frame's info when present.
SPREAD_KEYS = ("energy_std", "forces_std_max")


def _frame(atoms) -> object:
    """What goes into the trajectory: positions, momenta, cell and energy (not forces),
    and, for an ensemble, its spread (``info["energy_std"]`` eV, ``info["forces_std_max"]``
    eV/Å: the largest per-atom norm of the members' force standard deviation)."""
    snap = atoms.copy()
    snap.set_constraint()
    try:
        energy = atoms.get_potential_energy()
    except Exception:  # noqa: BLE001 - a broken potential: keep the geometry anyway
        energy = np.nan
    results = getattr(atoms.calc, "results", None) or {}
    for key in SPREAD_KEYS:
        if key in results:
            snap.info[key] = float(results[key])
    snap.calc = SinglePointCalculator(snap, energy=energy)
    return snap


def _truncate_trajectory(path: Path, n_frames: int) -> None:
    """Keep the first ``n_frames`` frames of ``path`` (rewritten, then renamed into place)."""
    with atomic_path(path) as tmp, Trajectory(str(path), "r") as src:
        with Trajectory(str(tmp), "w") as dst:
            for i in range(n_frames):
                dst.write(src[i])


class MDRun:
    """One MD run of ``atoms`` (copied, not changed) with ``calculator``.

    Parameters
    ----------
    atoms, calculator
        Start structure and the ASE calculator that drives it.
    config
        :class:`MDConfig` (or a mapping for :meth:`MDConfig.from_dict`).
    trajectory
        ASE ``.traj`` file; a frame (positions, momenta, energy) is written at step 0 and
        every ``write_interval`` steps, so a complete run has
        ``steps // write_interval + 1`` frames.
    checkpoint
        File (``.npz``) of the resumable state (positions, momenta, the cell, the
        thermostat's random-number generator, the step, the frame count, and the internal
        state of the Nose-Hoover/NPT integrators: :attr:`Integrator.state
        <gmnn.md.integrators.Integrator.state>`, members
        ``integrator.<attribute>``), written atomically every
        ``checkpoint_interval`` steps and on SIGTERM/SIGINT (then :class:`MDInterrupted`
        is raised). A later run with the same :attr:`identity` continues from it,
        cutting the trajectory back to the checkpoint's frame count.
    log
        Optional :class:`logging.Logger` for progress messages.
    on_mismatch
        A checkpoint of another run: ``"error"`` raises
        :class:`gmnn.runs.CheckpointMismatch` listing what differs; ``"restart"`` deletes
        it and the trajectory and starts over. The same for a checkpoint of this run
        whose trajectory is missing, short or unreadable (:class:`MDResumeError`).

    :attr:`identity` is everything that determines the trajectory: the settings
    (:meth:`MDConfig.identity`: all but ``steps`` and ``checkpoint_interval``, so a
    run may be resumed with more steps), the start structure (numbers, positions, cell,
    pbc, masses; momenta when they are not drawn) and the potential
    (:func:`calculator_fingerprint`: for gmnn's calculators the model settings and a
    hash of the weights).

    Use :meth:`run`, or step by step: :meth:`restore`, :meth:`run_block` (repeatedly),
    :meth:`save_checkpoint`, :meth:`finish`.

    Resuming restores bit-exactly what the ASE integrator advances: positions, momenta,
    the cell and the integrator's variables (:mod:`gmnn.md.integrators`: thermostat and
    barostat chains, Melchionna's past/future positions, cell, strain rate and the
    ``pfact`` built from the start volume, MTK's start axis directions); its constants
    are rebuilt from the settings (the same bits) and Melchionna's ``inv_h = inv(h)``
    re-derived, so with a deterministic calculator a resumed Nose-Hoover or NPT run
    continues bit-identically. A checkpoint without a cell (written before NPT existed:
    Langevin runs, whose cell does not change) keeps the start structure's cell.

    NPT runs (``npt_melchionna``, ``npt_mtk``) need a start structure periodic in x, y
    and z (Melchionna: a triangular cell matrix, e.g. orthorhombic; ASE would raise
    NotImplementedError at the first step otherwise) and a calculator with stress: a
    ValueError naming ``md.dynamics.integrator`` otherwise. Their frames carry the cell
    of each step. Langevin runs keep the centre of mass with ASE's FixCom; the
    Nose-Hoover and NPT integrators run without constraints (``Integrator.fix_com``) and keep
    the zero net momentum of the start velocities. Bit-identical resuming needs a
    calculator whose results depend on the structure alone: ASE's EMT, for one, reuses
    its neighbour list while the atoms move less than its skin, so its forces depend on
    where the list was built, and a resumed run drifts from an uninterrupted one from
    ~1e-15 Å on (the tests use an EMT that rebuilds it at every call).
    """

    def __init__(
        self,
        atoms,
        calculator,
        config: MDConfig | dict,
        trajectory=None,
        checkpoint=None,
        log=None,
        on_mismatch: str = "error",
    ):
        if on_mismatch not in ("error", "restart"):
            raise ValueError(f"on_mismatch must be 'error' or 'restart', got {on_mismatch!r}")
        self.config = config if isinstance(config, MDConfig) else MDConfig.from_dict(config)
        self.trajectory = Path(trajectory) if trajectory is not None else None
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.log = log
        self.on_mismatch = on_mismatch
        self.atoms = atoms.copy()
        self.atoms.calc = calculator
        self.integrator = get_integrator(self.config.integrator)
        self.integrator.check_start(self.atoms, calculator)
        self.checks = build_checks(self.atoms, self.config.divergence)
        self.identity = {
            "dynamics": self.config.identity(),
            "start": structure_fingerprint(
                self.atoms, momenta=not self.config.initialise_velocities
            ),
            "model": calculator_fingerprint(calculator),
        }
        self.rng = np.random.default_rng(self.config.seed)
        self.step = 0  # time steps done
        self.frames = 0  # frames in the trajectory
        self.reason: str | None = None  # why the run diverged
        self.resumed_from = 0
        self.dynamics = None
        self._writer = None
        self._stop: StopSignals | None = None
        self._closed = False
        self._t0 = 0.0
        self._wall_before = 0.0  # wall time and steps timed before the resumed checkpoint
        self._steps_before = 0

    @property
    def finished(self) -> bool:
        """Diverged, or all steps done."""
        return self.reason is not None or self.step >= self.config.steps

    # ------------------------------------------------------------------ resuming
    def _delete_state(self) -> None:
        for path in (self.checkpoint, self.trajectory):
            if path is not None:
                path.unlink(missing_ok=True)

    def _trajectory_problem(self, n_frames: int) -> str | None:
        """Why the trajectory cannot be continued from the checkpoint's ``n_frames``
        frames (None: it can; longer ones are cut back to ``n_frames``)."""
        path = self.trajectory
        if n_frames == 0:
            return f"the checkpoint was written by a run without a trajectory, not {path}"
        if not path.exists():
            return f"{path} is missing (the checkpoint expects {n_frames} frames)"
        try:
            with Trajectory(str(path), "r") as traj:
                have = len(traj)
                if have < n_frames:
                    return f"{path} has {have} frames, fewer than the checkpoint's {n_frames}"
                traj[n_frames - 1]  # the last frame to keep must be readable
            if have > n_frames:
                _truncate_trajectory(path, n_frames)
        except Exception as err:  # noqa: BLE001 - any reader error: unreadable
            return f"{path} is unreadable ({type(err).__name__}: {err})"
        return None

    _STATE = {  # member of the checkpoint -> (shape, kind); "atoms": one row per atom
        "positions": ("atoms", "f"),
        "momenta": ("atoms", "f"),
        "rng": ((), "U"),
        "step": ((), "i"),
        "frames": ((), "i"),
        "wall_seconds": ((), "f"),
        "steps_timed": ((), "i"),
    }

    def _read_state(self) -> dict:
        """The checkpoint's arrays, checked to be a complete state of this structure (a
        :class:`CheckpointDamaged` naming the file and the member otherwise)."""
        state = read_checkpoint(self.checkpoint)
        for name, (shape, kind) in self._STATE.items():
            if name not in state:
                raise CheckpointDamaged(self.checkpoint, f"no member {name!r}")
            value = state[name]
            shape = (len(self.atoms), 3) if shape == "atoms" else shape
            ok_kind = value.dtype.kind in ("iu" if kind == "i" else "fiu" if kind == "f" else kind)
            if value.shape != shape or not ok_kind:
                raise CheckpointDamaged(
                    self.checkpoint,
                    f"member {name!r} is {value.dtype} {value.shape}, expected shape {shape}",
                )
        if "cell" in state and (state["cell"].shape != (3, 3) or state["cell"].dtype.kind != "f"):
            raise CheckpointDamaged(
                self.checkpoint, f"member 'cell' is {state['cell'].dtype} {state['cell'].shape}"
            )
        for key in self.integrator.state_keys:
            if key not in state or state[key].dtype.kind != "f":
                raise CheckpointDamaged(
                    self.checkpoint,
                    f"no float member {key!r} (state of integrator {self.config.integrator!r})",
                )
        if int(state["step"]) < 0 or int(state["frames"]) < 0:
            raise CheckpointDamaged(self.checkpoint, "negative step or frame count")
        try:
            rng = json.loads(str(state["rng"]))
            np.random.default_rng().bit_generator.state = rng
        except (ValueError, TypeError, KeyError) as err:
            raise CheckpointDamaged(
                self.checkpoint, f"member 'rng' is not a random-generator state ({err})"
            ) from err
        return state

    def _claim(self) -> dict | None:
        """The checkpoint's state if this run can continue from it, else None."""
        if self.checkpoint is None:
            return None
        companions = [self.trajectory] if self.trajectory is not None else []
        if not claim_checkpoint(self.checkpoint, self.identity, self.on_mismatch, companions):
            return None
        try:
            state = self._read_state()
        except CheckpointDamaged as err:
            if self.on_mismatch == "error":
                raise
            if self.log:
                self.log.warning("not resuming from %s: %s; starting over", err.source, err.damage)
            self._delete_state()
            return None
        step = int(state["step"])
        if step > self.config.steps:
            diff = f"steps: the checkpoint is at step {step}, beyond steps {self.config.steps}"
            if self.on_mismatch == "error":
                raise CheckpointMismatch(self.checkpoint, [diff])
            problem = diff
        elif self.trajectory is not None:
            problem = self._trajectory_problem(int(state["frames"]))
        else:
            problem = None
        if problem is None:
            return state
        if self.on_mismatch == "error":
            raise MDResumeError(
                f"cannot resume from {self.checkpoint}: {problem}. Delete {self.checkpoint}"
                + (f" and {self.trajectory}" if self.trajectory is not None else "")
                + f" {RESTART_HINT} to start over."
            )
        if self.log:
            self.log.warning("not resuming from %s: %s; starting over", self.checkpoint, problem)
        self._delete_state()
        return None

    def restore(self) -> bool:
        """Get ready to run: continue from the checkpoint if it belongs to this run
        (True), else start at step 0 (velocities drawn, checks run, first frame
        written). Called by :meth:`run` and :meth:`run_block`; only the first call acts."""
        if self.dynamics is not None:
            return self.resumed_from > 0
        cfg, atoms = self.config, self.atoms
        state = self._claim()
        if state is not None:
            if "cell" in state:  # (older checkpoints: Langevin runs, cell unchanged)
                atoms.set_cell(state["cell"], scale_atoms=False)
            atoms.set_positions(state["positions"])
            atoms.set_momenta(state["momenta"])
            self.rng.bit_generator.state = json.loads(str(state["rng"]))
            self.step = int(state["step"])
            self.frames = int(state["frames"])
            self._wall_before = float(state["wall_seconds"])
            self._steps_before = int(state["steps_timed"])
            if self.log:
                self.log.info(
                    "resuming MD at step %d (%d frames) from %s",
                    self.step,
                    self.frames,
                    self.checkpoint,
                )
        elif cfg.initialise_velocities:
            thermalize_momenta(atoms, temperature_K=cfg.temperature_K, rng=self.rng)
            Stationary(atoms)
            if not np.any(atoms.pbc) and len(atoms) > 2:  # (a diatomic's inertia is singular)
                ZeroRotation(atoms)
        self.resumed_from = self.step
        if self.integrator.fix_com:
            atoms.set_constraint(FixCom())  # the centre of mass stays put
        self.dynamics = self.integrator.build(atoms, cfg, self.rng)
        self.dynamics.nsteps = self.step
        if state is not None and self.integrator.state:
            self.integrator.restore_state(self.dynamics, state, self.checkpoint)
            # Melchionna's constructor removes the net momentum again (a round-off change)
            atoms.set_momenta(state["momenta"])
        if self.trajectory is not None:
            self.trajectory.parent.mkdir(parents=True, exist_ok=True)
            self._writer = Trajectory(str(self.trajectory), "a" if self.frames else "w")
        self._t0 = time.perf_counter()
        try:
            if self.step == 0:
                self.reason = first_reason(self.checks, atoms)
                if self._writer is not None and self.frames == 0:
                    self._writer.write(_frame(atoms))
                    self.frames = 1
        except BaseException:
            self.close()
            raise
        return state is not None

    # ------------------------------------------------------------------ running
    def run_block(self, n: int) -> str | None:
        """Advance by ``n`` steps (a multiple of ``write_interval``; fewer at the end of
        the run), running the checks and writing a frame every ``write_interval``
        steps. Stops early when the run diverges or (inside :meth:`run`) a stop signal
        arrived. Returns the divergence reason, or None."""
        if self._closed:
            raise RuntimeError("this MD run is finished (finish() was called)")
        self.restore()
        interval = self.config.write_interval
        if n < 0 or n % interval:
            raise ValueError(f"{n} steps is not a multiple of write_interval ({interval})")
        end = min(self.step + n, self.config.steps)
        while self.reason is None and self.step < end:
            self.dynamics.run(interval)
            self.step += interval
            self.reason = first_reason(self.checks, self.atoms)
            if self._writer is not None:
                self._writer.write(_frame(self.atoms))
                self.frames += 1
            if self._stop is not None and self._stop.received is not None:
                break
        return self.reason

    def save_checkpoint(self) -> None:
        """Write the resumable state to :attr:`checkpoint` atomically (nothing without
        one)."""
        if self.checkpoint is None:
            return
        atomic_save_npz(
            self.checkpoint,
            {
                IDENTITY_KEY: identity_array(self.identity),
                "positions": self.atoms.get_positions(),
                "momenta": self.atoms.get_momenta(),
                "cell": self.atoms.cell.array.copy(),
                **self.integrator.save_state(self.dynamics),
                "rng": np.array(json.dumps(self.rng.bit_generator.state)),
                "step": np.array(self.step),
                "frames": np.array(self.frames),
                "wall_seconds": np.array(self._wall_before + time.perf_counter() - self._t0),
                "steps_timed": np.array(self._steps_before + self.step - self.resumed_from),
            },
        )

    def run(self) -> dict:
        """The whole run (resumed if possible): blocks up to each checkpoint; returns
        :meth:`finish`'s summary. SIGTERM/SIGINT (with a checkpoint): the state is saved
        and :class:`MDInterrupted` raised."""
        cfg = self.config
        every = cfg.checkpoint_interval
        with StopSignals(enabled=self.checkpoint is not None) as stop:
            self._stop = stop
            try:
                self.restore()
                while not self.finished:
                    self.run_block(min((self.step // every + 1) * every, cfg.steps) - self.step)
                    if self.finished:
                        break
                    if stop.received is not None:
                        self.save_checkpoint()
                        raise MDInterrupted(
                            f"stopped by signal {stop.received} at step {self.step}; "
                            f"checkpoint {self.checkpoint}"
                        )
                    if self.step % every == 0:
                        self.save_checkpoint()
            finally:
                self._stop = None
                self.close()
        return self.finish()

    def close(self) -> None:
        """Close the trajectory (idempotent)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def finish(self) -> dict:
        """Close the trajectory; the summary of the run.

        ``steps_requested``, ``steps_done``, ``time_ps``, ``diverged`` and ``reason``
        (with ``diverged_at_ps``), ``frames``, ``wall_seconds`` and ``seconds_per_step``
        (wall time per MD step, force calls and trajectory writing included, over the
        resumed parts too), ``resumed_from_step``, and the settings
        ``temperature_K``, ``timestep_fs``, ``friction_per_fs``, ``interval`` (the write
        interval), ``seed``, ``integrator``, ``divergence_checks`` (thresholds, null:
        off); for the Nose-Hoover/NPT integrators also their settings
        (``thermostat_time_fs``, ...; :attr:`gmnn.md.integrators.Integrator.settings`) and
        ``volume_A3``, the cell volume at the end (Å^3, periodic structures only).
        """
        self.close()
        wall = self._wall_before + (time.perf_counter() - self._t0 if self._t0 else 0.0)
        if not self._closed and self.reason is not None and self.log:
            self.log.warning("MD diverged at step %d: %s", self.step, self.reason)
        self._closed = True
        cfg = self.config
        diverged = self.reason is not None
        timed = self._steps_before + self.step - self.resumed_from
        return {
            "steps_requested": cfg.steps,
            "steps_done": int(self.step),
            "diverged": diverged,
            "reason": self.reason,
            "diverged_at_ps": self.step * cfg.timestep_fs / 1000.0 if diverged else None,
            "time_ps": self.step * cfg.timestep_fs / 1000.0,
            "temperature_K": cfg.temperature_K,
            "timestep_fs": cfg.timestep_fs,
            "friction_per_fs": cfg.friction_per_fs,
            "interval": cfg.write_interval,
            "seed": cfg.seed,
            "integrator": cfg.integrator,
            "divergence_checks": cfg.divergence.to_dict(),
            "resumed_from_step": int(self.resumed_from),
            "frames": int(self.frames),
            "wall_seconds": wall,
            "seconds_per_step": wall / max(timed, 1),
            **self._integrator_summary(),
        }

    def _integrator_summary(self) -> dict:
        if not self.integrator.records_settings:  # (Langevin: its summary as before)
            return {}
        extra = self.config.integrator_settings()
        if np.all(self.atoms.pbc):
            extra["volume_A3"] = float(self.atoms.get_volume())
        return extra


def partial_trajectory(trajectory) -> Path:
    """Where :func:`run_md` grows ``trajectory`` (``md.traj`` -> ``md.partial.traj``)."""
    trajectory = Path(trajectory)
    return trajectory.with_name(f"{trajectory.stem}.partial{trajectory.suffix}")


def checkpoint_path(trajectory) -> Path:
    """The checkpoint :func:`run_md` keeps beside ``trajectory`` (``md.ckpt.npz``)."""
    trajectory = Path(trajectory)
    return trajectory.with_name(f"{trajectory.stem}.ckpt.npz")


def run_md(
    atoms, calculator, config: MDConfig | dict, trajectory, log=None, on_mismatch="error"
) -> dict:
    """A whole resumable run into ``trajectory``; returns :meth:`MDRun.finish`'s summary
    (plus ``trajectory``).

    The frames grow in :func:`partial_trajectory` with the checkpoint
    :func:`checkpoint_path` beside it; both survive a kill, and calling again continues
    from them. At the end (steps done or diverged) the partial trajectory is renamed onto
    ``trajectory`` and the checkpoint removed.
    """
    trajectory = Path(trajectory)
    partial, checkpoint = partial_trajectory(trajectory), checkpoint_path(trajectory)
    summary = MDRun(
        atoms,
        calculator,
        config,
        trajectory=partial,
        checkpoint=checkpoint,
        log=log,
        on_mismatch=on_mismatch,
    ).run()
    os.replace(partial, trajectory)
    checkpoint.unlink(missing_ok=True)
    summary["trajectory"] = str(trajectory)
    return summary
