"""Staged MD protocols: one stage after another, each a resumable run from the last state
of the one before.

The paper's deca-alanine runs (Section 3.2) are protocols of this kind:

- gas phase: one stage, Langevin NVT at 300 K for 1.1 ns (the first 100 ps discarded);
- in water: 10 ps Langevin, then 10 ps Nose-Hoover NVT, then 510 ps isobaric-isothermal
  Nose-Hoover (Melchionna) at 1 bar (the first 10 ps of it discarded).

A stage is a mapping ``{"integrator": ..., "time_ps": ..., <any other MDConfig key>}``
over a common base (:class:`~gmnn.md.config.MDConfig` settings shared by all stages):
:func:`stage_configs` turns the list into one :class:`MDConfig` per stage (``steps`` from
``time_ps`` and the time step; the stages after the first keep the momenta of the state
they start from instead of drawing new ones). :func:`stage_start` is that state: the last
frame of the previous stage's trajectory (positions, momenta and cell).

:func:`run_stage` runs one stage into its trajectory (:func:`gmnn.md.run_md`: checkpointed,
resumed after a kill) or, when an earlier stage diverged, records it as skipped without
running it; :func:`run_protocol` runs every stage in turn. The pipeline runs one job per
stage (``rules/ala10.smk``), each one :func:`run_stage` call, so that a cluster job limit
applies per stage and a finished stage is never rerun.

What is carried from one stage to the next: positions, momenta and the cell. What is not:
the thermostat and barostat variables (each stage's integrator starts from its own rest
state, as when the paper ran its stages one after another in ASE) and the random-number
stream (each stage seeds its own from ``seed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from gmnn.md.config import MDConfig
from gmnn.settings import SettingsError

__all__ = [
    "SKIPPED_REASON",
    "read_stage_summary",
    "run_protocol",
    "run_stage",
    "stage_configs",
    "stage_start",
    "stage_times",
]

#: ``reason`` of a stage not run because an earlier one diverged.
SKIPPED_REASON = "not run: an earlier stage diverged"


def stage_configs(
    stages: Sequence[Mapping], base: Mapping | None = None, where: str = "stages"
) -> list[MDConfig]:
    """One :class:`MDConfig` per stage: ``base`` updated with the stage's keys, ``steps``
    from ``time_ps`` (which must be a whole number of ``write_interval`` steps), and
    ``initialise_velocities`` false after the first stage.

    Errors name the stage and key at fault as ``<where>[k].<key>``.
    """
    if not stages:
        raise SettingsError(where, "a protocol needs at least one stage")
    base = dict(base or {})
    out = []
    for k, stage in enumerate(stages):
        at = f"{where}[{k}]"
        if not isinstance(stage, Mapping):
            raise SettingsError(
                at, f"a stage is a mapping with integrator and time_ps, got {stage!r}"
            )
        stage = dict(stage)
        if "time_ps" not in stage:
            raise SettingsError(f"{at}.time_ps", "missing: the length of the stage, ps")
        if "steps" in stage:
            raise SettingsError(f"{at}.steps", "give the stage's length as time_ps, not steps")
        time_ps = stage.pop("time_ps")
        if not isinstance(time_ps, (int, float)) or isinstance(time_ps, bool) or time_ps <= 0:
            raise SettingsError(f"{at}.time_ps", f"must be a number > 0, got {time_ps!r}")
        merged = {**base, **stage}
        if k > 0:
            merged["initialise_velocities"] = False
        probe = _config({**merged, "steps": merged.get("write_interval", 2)}, at)
        exact = float(time_ps) * 1000.0 / probe.timestep_fs
        steps = int(round(exact))
        if abs(exact - steps) > 1e-6 * max(1.0, exact) or steps % probe.write_interval:
            raise SettingsError(
                f"{at}.time_ps",
                f"{time_ps} ps is not a whole number of write intervals "
                f"({probe.write_interval} steps of {probe.timestep_fs} fs)",
            )
        out.append(_config({**merged, "steps": steps}, at))
    return out


def _config(values: dict, at: str) -> MDConfig:
    try:
        return MDConfig.from_dict(values)
    except SettingsError as err:
        key = err.key.removeprefix(MDConfig.section + ".")
        raise SettingsError(f"{at}.{key}", err.problem) from None


def stage_times(configs: Sequence[MDConfig]) -> list[tuple[float, float]]:
    """``(start_ps, end_ps)`` of each stage in protocol time, as planned."""
    times, t = [], 0.0
    for cfg in configs:
        length = cfg.steps * cfg.timestep_fs / 1000.0
        times.append((t, t + length))
        t += length
    return times


def stage_start(trajectory, template=None):
    """The state a stage starts from: the last frame of the previous stage's
    ``trajectory`` (positions, momenta, cell, pbc), as :class:`ase.Atoms` without a
    calculator. ``template`` (the protocol's start structure) supplies per-atom arrays
    (e.g. PDB names) and must have the same atoms in the same order."""
    from gmnn.io import TrajectoryFrames

    trajectory = Path(trajectory)
    with TrajectoryFrames(trajectory) as traj:
        if len(traj) == 0:
            raise ValueError(f"{trajectory} has no frames: no state to continue from")
        last = traj[-1]
    if last.get_momenta() is None or not np.any(last.get_momenta()):
        raise ValueError(f"{trajectory}: the last frame has no momenta to continue from")
    atoms = last.copy()
    atoms.calc = None
    if template is not None:
        if not np.array_equal(template.numbers, atoms.numbers):
            raise ValueError(
                f"{trajectory}: its atoms ({atoms.get_chemical_formula()}) are not those of "
                f"the protocol's start structure ({template.get_chemical_formula()})"
            )
        for key, value in template.arrays.items():
            if key not in atoms.arrays:
                atoms.arrays[key] = value.copy()
    return atoms


def read_stage_summary(path) -> dict:
    """A stage's summary (JSON), with an error naming the file when it is not one."""
    import json

    path = Path(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable stage summary ({err})") from None
    if not isinstance(summary, dict) or "diverged" not in summary:
        raise ValueError(f"{path}: not a stage summary (no 'diverged' key)")
    return summary


def _skipped_summary(config: MDConfig, start_ps: float) -> dict:
    return {
        "steps_requested": config.steps,
        "steps_done": 0,
        "diverged": False,
        "skipped": True,
        "reason": SKIPPED_REASON,
        "diverged_at_ps": None,
        "time_ps": 0.0,
        "start_ps": start_ps,
        "integrator": config.integrator,
        "temperature_K": config.temperature_K,
        "timestep_fs": config.timestep_fs,
        "interval": config.write_interval,
        "seed": config.seed,
        "frames": 0,
        "wall_seconds": 0.0,
        "seconds_per_step": None,
    }


def trajectory_spread(trajectory) -> dict:
    """The largest ensemble spread over the frames of ``trajectory`` (None: not an
    ensemble run)."""
    from gmnn.io import TrajectoryFrames
    from gmnn.md.run import SPREAD_KEYS

    best: dict = {key: None for key in SPREAD_KEYS}
    with TrajectoryFrames(trajectory) as traj:
        for frame in traj:
            for key in SPREAD_KEYS:
                value = frame.info.get(key)
                if value is not None and np.isfinite(value):
                    best[key] = value if best[key] is None else max(best[key], value)
    return {f"max_{key}": value for key, value in best.items()}


def run_stage(
    atoms,
    calculator,
    config: MDConfig,
    trajectory,
    *,
    start_ps: float = 0.0,
    previous: Mapping | None = None,
    log=None,
    on_mismatch: str = "restart",
) -> dict:
    """One stage: :func:`gmnn.md.run_md` of ``atoms`` into ``trajectory`` (resumable),
    unless the ``previous`` stage's summary says it diverged or was skipped; then nothing
    runs, an empty trajectory is written and the summary says ``skipped``.

    The summary is :func:`run_md`'s plus ``skipped``, ``start_ps`` (the stage's start in
    protocol time), ``failed_at_ps`` (protocol time of a divergence, else None) and the
    largest ensemble spread over the frames (``max_energy_std``, ``max_forces_std_max``;
    None for a single model).
    """
    from ase.io import Trajectory

    from gmnn.io import atomic_path
    from gmnn.md.run import run_md

    trajectory = Path(trajectory)
    if previous is not None and (previous.get("diverged") or previous.get("skipped")):
        if log:
            log.warning("stage not run (%s): %s", trajectory, SKIPPED_REASON)
        trajectory.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(trajectory) as tmp:
            Trajectory(str(tmp), "w").close()
        return {
            **_skipped_summary(config, start_ps),
            "failed_at_ps": None,
            "trajectory": str(trajectory),
        }
    summary = run_md(atoms, calculator, config, trajectory, log=log, on_mismatch=on_mismatch)
    summary["skipped"] = False
    summary["start_ps"] = float(start_ps)
    summary["failed_at_ps"] = start_ps + summary["diverged_at_ps"] if summary["diverged"] else None
    summary.update(trajectory_spread(trajectory))
    if log and summary.get("max_forces_std_max") is not None:
        log.info(
            "ensemble spread over the stage: max force std %.3f eV/Å, max energy std %.4f eV",
            summary["max_forces_std_max"],
            summary["max_energy_std"],
        )
    return summary


def run_protocol(
    atoms, calculator, stages: Sequence[Mapping], directory, base: Mapping | None = None, log=None
) -> list[dict]:
    """Every stage of a protocol in turn, stage ``k`` into ``directory/stage<k>/md.traj``
    (each resumable: calling again after a kill continues where it stopped; finished
    stages are not rerun); returns the stages' summaries. A stage that diverges ends the
    protocol: the later ones are recorded as skipped."""
    import json

    from gmnn.io import atomic_write_json

    configs = stage_configs(stages, base)
    directory = Path(directory)
    summaries: list[dict] = []
    previous = None
    for k, ((start_ps, _), cfg) in enumerate(zip(stage_times(configs), configs, strict=True)):
        traj = directory / f"stage{k}" / "md.traj"
        done = traj.with_name("summary.json")
        if done.exists() and traj.exists():
            summary = json.loads(done.read_text(encoding="utf-8"))
        else:
            start = atoms
            if k > 0 and not (previous.get("diverged") or previous.get("skipped")):
                start = stage_start(directory / f"stage{k - 1}" / "md.traj", atoms)
            summary = run_stage(
                start, calculator, cfg, traj, start_ps=start_ps, previous=previous, log=log
            )
            atomic_write_json(done, summary)
        summaries.append(summary)
        previous = summary
    return summaries
