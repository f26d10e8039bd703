"""Deca-alanine MD (Figs. 7, 8): RMSD to the initial helix, helicity and stability per run.

- :data:`SERIES` (``results/ani/ala10_rmsd.csv``; one run's file ``rmsd.csv`` has the same
  columns): one row per saved frame of a run's stages, in protocol time: the RMSD of the
  peptide to the initial helix after Kabsch superposition (proper rotations only) over the
  heavy atoms, the backbone (N, CA, C, O) and all atoms, the running average of the heavy-
  atom RMSD over the analysed (production) frames, the fraction of helical residues, the
  ensemble's spread and, in a periodic box, the volume and density.
- :data:`RUNS` (``results/ani/md_runs.csv``): one row per stage of every run: steps done,
  whether and when (protocol time) and why it diverged, whether it was skipped (an earlier
  stage diverged), ms per step, the largest force spread, mean RMSD and helicity; on the
  first stage's row the gate computed before the run (:func:`force_gate`): each member's
  force RMSE against the reference forces on the initial helix and the ensemble's force
  spread there.

:func:`run_tables` computes both for one run (rule ``ala10_analysis``); the peptide is
made whole across periodic faces (:func:`gmnn.analysis.structure.make_whole`, with the
bonds of the initial helix) before alignment. The first frame of every stage after the
first repeats the last one of the stage before (the state it starts from) and is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gmnn.analysis.tables import Table

RUN_KEYS = ("phase", "model")
"""The columns that identify a deca-alanine run: gas or water, and which ensemble."""

SERIES = Table(
    "Ala10 RMSD series",
    columns=(
        *RUN_KEYS,
        "stage",
        "integrator",
        "time_ps",
        "production",
        "rmsd_heavy_A",
        "rmsd_backbone_A",
        "rmsd_all_A",
        "rmsd_heavy_avg_A",
        "helical_fraction",
        "energy_std_eV",
        "forces_std_max_eV_A",
        "volume_A3",
        "density_g_cm3",
    ),
    comments=(
        "Deca-alanine MD: RMSD (Angstrom) of the peptide to the initial helix after Kabsch "
        "superposition (heavy atoms, backbone N/CA/C/O, all atoms); time_ps from the start "
        "of the protocol (stages concatenated); production 1 = analysed (after the "
        "equilibration); rmsd_heavy_avg_A = running average over the production frames "
        "(window in md_runs.csv); helical_fraction = residues with (phi, psi) in the alpha "
        "box; energy_std_eV / forces_std_max_eV_A = ensemble spread; volume and density in "
        "a periodic box (empty in the gas phase)",
    ),
    keys=(*RUN_KEYS, "time_ps"),
    text=(*RUN_KEYS, "integrator"),
    blank=(
        "rmsd_heavy_avg_A",
        "energy_std_eV",
        "forces_std_max_eV_A",
        "volume_A3",
        "density_g_cm3",
    ),
)

GATE_COLUMNS = (
    "gate_reference",
    "gate_reference_tol_eV_A",
    "gate_force_rmse_members_eV_A",
    "gate_force_rmse_max_eV_A",
    "gate_mean_force_rmse_eV_A",
    "gate_forces_std_max_eV_A",
    "gate_forces_std_mean_eV_A",
)
"""The columns of :data:`RUNS` that hold the gate before a run (:func:`force_gate`)."""

REFERENCE_METHOD_KEY = "reference_method"
REFERENCE_FMAX_KEY = "reference_fmax_eV_A"
"""``atoms.info`` keys of a structure relaxed at a level of theory (method, and the largest
per-atom force norm left by the relaxation, eV/Å): its reference forces are zero within
that fmax (:func:`relaxed_reference`, :func:`force_gate`)."""

NO_REFERENCE = (
    "none: the initial helix is not relaxed at a reference level of theory, so its "
    "reference forces are unknown without a quantum-chemistry call"
)
"""The ``gate_reference`` of a helix without reference forces (the paper's PDB)."""

RUNS = Table(
    "Ala10 MD runs",
    columns=(
        *RUN_KEYS,
        "stage",
        "integrator",
        "members",
        "n_atoms",
        "start_ps",
        "planned_end_ps",
        "end_ps",
        "steps_requested",
        "steps_done",
        "diverged",
        "reason",
        "failed_at_ps",
        "skipped",
        "ms_per_step",
        "max_forces_std_eV_A",
        "max_energy_std_eV",
        "equilibration_ps",
        "window_ps",
        "mean_rmsd_heavy_A",
        "mean_helical_fraction",
        "final_volume_A3",
        *GATE_COLUMNS,
    ),
    comments=(
        "Deca-alanine MD, one row per stage of every run: times in ps from the start of "
        "the protocol (planned_end_ps as requested, end_ps as reached); diverged 1 = "
        "stopped by a divergence check (reason, failed_at_ps); skipped 1 = not run because "
        "an earlier stage diverged; ms_per_step = wall time per MD step of the ensemble "
        "(force calls and trajectory writing included); max_forces_std_eV_A = largest "
        "per-atom force standard deviation of the ensemble over the stage's frames; "
        "equilibration_ps counted from the start of the last stage; mean RMSD (heavy "
        "atoms) and helical fraction over the stage's production frames",
        "Gate (first stage's row only; computed on the initial helix in vacuum before the "
        "run, gmnn.analysis.ala10.force_gate): gate_reference = the reference forces used "
        "(a helix relaxed at a level of theory has forces 0 within the relaxation's fmax; "
        "gate_reference_tol_eV_A = fmax/sqrt(3) bounds how far each RMSE can be from the "
        "RMSE against the exact reference forces), or why there is none (RMSEs empty); "
        "gate_force_rmse_members_eV_A = each member's force RMSE over all Cartesian "
        "components (';'-separated, member order), gate_force_rmse_max_eV_A = the worst "
        "member's, gate_mean_force_rmse_eV_A = that of the ensemble mean (the MD's force); "
        "gate_forces_std_max_eV_A / gate_forces_std_mean_eV_A = largest / mean per-atom "
        "norm of the members' force standard deviation (0 for one member)",
    ),
    keys=(*RUN_KEYS, "stage"),
    text=(*RUN_KEYS, "integrator", "reason", "gate_reference", "gate_force_rmse_members_eV_A"),
    blank=(
        "failed_at_ps",
        "ms_per_step",
        "max_forces_std_eV_A",
        "max_energy_std_eV",
        "mean_rmsd_heavy_A",
        "mean_helical_fraction",
        "final_volume_A3",
        *(c for c in GATE_COLUMNS if c not in ("gate_reference", "gate_force_rmse_members_eV_A")),
    ),
)

STRUCTURES = Table(
    "Ala10 backbone snapshots",
    columns=(*RUN_KEYS, "frame", "time_ps", "atom", "name", "residue", "x_A", "y_A", "z_A"),
    comments=(
        "Backbone atoms (N, CA, C, O) of the initial helix (frame initial) and of the last "
        "frame of each run (frame late, the peptide made whole; not aligned), Angstrom",
    ),
    keys=(*RUN_KEYS, "frame", "atom"),
    text=(*RUN_KEYS, "frame", "name"),
)


class RunTables(NamedTuple):
    """Result of :func:`run_tables`: :data:`SERIES`, :data:`RUNS` and :data:`STRUCTURES`
    rows of one run."""

    series: pd.DataFrame
    runs: pd.DataFrame
    structures: pd.DataFrame


_G_CM3_PER_AMU_A3 = 1.66053906660


def relaxed_reference(provenance) -> dict:
    """The :data:`REFERENCE_METHOD_KEY` and :data:`REFERENCE_FMAX_KEY` entries of a
    structure from its build record (``provenance``: a dict or its JSON text, with a
    ``relax`` entry as :func:`gmnn.refdata.peptide.relax_xtb` returns it: ``method``,
    ``converged``, ``fmax_reached_eV_A``); empty when it was not relaxed, the relaxation
    did not converge or the record is missing."""
    import json

    if isinstance(provenance, str):
        try:
            provenance = json.loads(provenance)
        except json.JSONDecodeError:
            return {}
    relax = (provenance or {}).get("relax") if isinstance(provenance, Mapping) else None
    if not relax or not relax.get("converged") or relax.get("fmax_reached_eV_A") is None:
        return {}
    return {
        REFERENCE_METHOD_KEY: str(relax["method"]),
        REFERENCE_FMAX_KEY: float(relax["fmax_reached_eV_A"]),
    }


def force_gate(calculator, atoms) -> dict:
    """The gate before an ensemble MD run on ``atoms`` (the initial helix): each member's
    force RMSE against the reference forces and the ensemble's force spread there.

    ``calculator`` is a :class:`gmnn.calculator.EnsembleCalculator` or
    :class:`~gmnn.calculator.GMNNCalculator` (all members in one call). The reference is
    known when ``atoms.info`` names a level of theory the structure was relaxed at
    (:data:`REFERENCE_METHOD_KEY`, :data:`REFERENCE_FMAX_KEY`, see
    :func:`relaxed_reference`): its forces are zero to within the relaxation's fmax (the
    largest per-atom force norm left), so the RMSE against zero differs from the RMSE
    against the exact reference by at most fmax/sqrt(3) (``reference_tol_eV_A``, the
    triangle inequality over the 3N components). Otherwise the RMSEs are None and
    ``reference`` says why (:data:`NO_REFERENCE`).

    Returns a JSON-serialisable dict: ``reference``, ``reference_tol_eV_A``,
    ``members``, ``n_atoms``, ``member_force_rmse_eV_A`` (list, member order),
    ``mean_force_rmse_eV_A`` (the ensemble mean's), ``forces_std_max_eV_A`` and
    ``forces_std_mean_eV_A`` (largest and mean per-atom norm of the members' force
    standard deviation, as :class:`~gmnn.calculator.EnsembleCalculator`'s
    ``forces_std_max``).
    """
    from gmnn.model.batch import atoms_inputs

    out = calculator.predictor.predict(atoms_inputs(calculator.models[0], atoms))
    forces = np.asarray(out["forces"], dtype=np.float64)  # (K, N, 3)
    spread = np.linalg.norm(forces.std(axis=0), axis=1)
    gate = {
        "members": int(forces.shape[0]),
        "n_atoms": len(atoms),
        "forces_std_max_eV_A": float(spread.max()),
        "forces_std_mean_eV_A": float(spread.mean()),
    }
    method, fmax = atoms.info.get(REFERENCE_METHOD_KEY), atoms.info.get(REFERENCE_FMAX_KEY)
    if method is None or fmax is None:
        return {
            **gate,
            "reference": NO_REFERENCE,
            "reference_tol_eV_A": None,
            "member_force_rmse_eV_A": None,
            "mean_force_rmse_eV_A": None,
        }
    fmax = float(fmax)
    return {
        **gate,
        "reference": f"{method} forces of the helix relaxed with {method}: 0 within "
        f"fmax {fmax:.3g} eV/A",
        "reference_tol_eV_A": fmax / np.sqrt(3.0),
        "member_force_rmse_eV_A": [float(x) for x in np.sqrt((forces**2).mean(axis=(1, 2)))],
        "mean_force_rmse_eV_A": float(np.sqrt((forces.mean(axis=0) ** 2).mean())),
    }


def gate_row(gate: Mapping | None) -> dict:
    """The :data:`GATE_COLUMNS` of a run's first stage from its :func:`force_gate` record
    (None: a run recorded before the gate, all empty)."""
    gate = gate or {}
    members = gate.get("member_force_rmse_eV_A")
    return {
        "gate_reference": gate.get("reference", ""),
        "gate_reference_tol_eV_A": gate.get("reference_tol_eV_A"),
        "gate_force_rmse_members_eV_A": ";".join(f"{x:.4g}" for x in members) if members else "",
        "gate_force_rmse_max_eV_A": max(members) if members else None,
        "gate_mean_force_rmse_eV_A": gate.get("mean_force_rmse_eV_A"),
        "gate_forces_std_max_eV_A": gate.get("forces_std_max_eV_A"),
        "gate_forces_std_mean_eV_A": gate.get("forces_std_mean_eV_A"),
    }


def _stage_frames(trajectory, n_peptide: int, drop_first: bool) -> dict:
    """Positions of the first ``n_peptide`` atoms, cells and per-frame values of one
    stage's trajectory."""
    from gmnn.io import TrajectoryFrames

    pos, cells, e_std, f_std, volume = [], [], [], [], []
    periodic = False
    mass = None
    with TrajectoryFrames(trajectory) as traj:
        for i, frame in enumerate(traj):
            if drop_first and i == 0:
                continue
            if mass is None:
                mass = float(frame.get_masses().sum())
            pos.append(frame.positions[:n_peptide])
            cells.append(frame.cell.array.copy())
            periodic = bool(np.all(frame.pbc))
            e_std.append(frame.info.get("energy_std", np.nan))
            f_std.append(frame.info.get("forces_std_max", np.nan))
            volume.append(frame.get_volume() if periodic else np.nan)
    return {
        "positions": np.array(pos).reshape(-1, n_peptide, 3),
        "cells": np.array(cells).reshape(-1, 3, 3),
        "periodic": periodic,
        "energy_std": np.asarray(e_std, float),
        "forces_std_max": np.asarray(f_std, float),
        "volume": np.asarray(volume, float),
        "mass": mass,
    }


def peptide_observables(reference, positions: np.ndarray) -> dict[str, np.ndarray]:
    """RMSD (Å) to ``reference`` after Kabsch superposition over heavy atoms, backbone and
    all atoms, and the helical fraction, of whole (unwrapped) peptide ``positions`` (F, N,
    3). ``reference`` carries PDB names and residue numbers (:mod:`gmnn.data.ala10`)."""
    from gmnn.analysis.structure import (
        backbone_dihedrals,
        backbone_indices,
        helical_fraction,
        kabsch_rmsd,
        select_atoms,
    )
    from gmnn.data.ala10 import NAME_KEY, RESIDUE_KEY

    names = reference.arrays[NAME_KEY]
    ref = reference.positions
    out = {}
    for kind in ("heavy", "backbone", "all"):
        sel = select_atoms(kind, reference.numbers, names)
        out[f"rmsd_{kind}_A"] = (
            np.atleast_1d(kabsch_rmsd(ref[sel], positions[:, sel]))
            if len(positions)
            else np.zeros(0)
        )
    residues = backbone_indices(names, reference.arrays[RESIDUE_KEY])
    if len(positions):
        phi, psi = backbone_dihedrals(positions, residues)
        out["helical_fraction"] = np.atleast_1d(helical_fraction(phi, psi))
    else:
        out["helical_fraction"] = np.zeros(0)
    return out


def run_tables(
    reference,
    trajectories: Sequence,
    summaries: Sequence[Mapping],
    *,
    phase: str,
    model: str,
    equilibration_ps: float,
    window_ps: float,
    members: int,
) -> RunTables:
    """The :data:`SERIES`, :data:`RUNS` and :data:`STRUCTURES` rows of one run from its stages' trajectories
    and summaries (:func:`gmnn.md.protocol.run_stage`), in stage order.

    ``reference`` is the initial helix (its atoms are the first ``len(reference)`` of
    every frame); ``equilibration_ps`` is counted from the start of the last stage (the
    earlier stages are pre-equilibration); ``window_ps`` is the running-average window.
    """
    from gmnn.analysis.structure import covalent_bonds, make_whole, running_average

    if len(trajectories) != len(summaries):
        raise ValueError(
            f"{len(trajectories)} trajectories but {len(summaries)} summaries for {phase}/{model}"
        )
    n = len(reference)
    bonds = covalent_bonds(reference.numbers, reference.positions)
    production_start = float(summaries[-1]["start_ps"]) + float(equilibration_ps)
    series, stage_rows = [], []
    late, late_t = None, None
    for k, (traj, summary) in enumerate(zip(trajectories, summaries, strict=True)):
        frames = _stage_frames(traj, n, drop_first=k > 0)
        pos = frames["positions"]
        if frames["periodic"] and len(pos):
            pos = make_whole(pos, frames["cells"], True, bonds)
        obs = peptide_observables(reference, pos)
        dt_ps = summary["interval"] * summary["timestep_fs"] / 1000.0
        first = 1 if k > 0 else 0
        t = summary["start_ps"] + dt_ps * (first + np.arange(len(pos)))
        if len(pos):
            late, late_t = pos[-1], float(t[-1])
        density = (
            frames["mass"] * _G_CM3_PER_AMU_A3 / frames["volume"]
            if frames["mass"] is not None
            else np.full(len(pos), np.nan)
        )
        series.append(
            pd.DataFrame(
                {
                    "phase": phase,
                    "model": model,
                    "stage": k,
                    "integrator": summary["integrator"],
                    "time_ps": t,
                    "production": (t >= production_start - 1e-9).astype(int),
                    **obs,
                    "energy_std_eV": frames["energy_std"],
                    "forces_std_max_eV_A": frames["forces_std_max"],
                    "volume_A3": frames["volume"],
                    "density_g_cm3": density,
                }
            )
        )
        steps_requested = int(summary["steps_requested"])
        ms = summary.get("seconds_per_step")
        stage_rows.append(
            {
                "phase": phase,
                "model": model,
                "stage": k,
                "integrator": summary["integrator"],
                "members": members,
                "n_atoms": summary.get("n_atoms"),
                "start_ps": float(summary["start_ps"]),
                "planned_end_ps": float(summary["start_ps"])
                + steps_requested * summary["timestep_fs"] / 1000.0,
                "end_ps": float(summary["start_ps"]) + float(summary["time_ps"]),
                "steps_requested": steps_requested,
                "steps_done": int(summary["steps_done"]),
                "diverged": int(bool(summary["diverged"])),
                "reason": summary.get("reason") or "",
                "failed_at_ps": summary.get("failed_at_ps"),
                "skipped": int(bool(summary.get("skipped"))),
                "ms_per_step": 1000.0 * ms if ms is not None and summary["steps_done"] else None,
                "max_forces_std_eV_A": summary.get("max_forces_std_max"),
                "max_energy_std_eV": summary.get("max_energy_std"),
                "equilibration_ps": float(equilibration_ps),
                "window_ps": float(window_ps),
                "final_volume_A3": summary.get("volume_A3"),
                **(gate_row(summary.get("gate")) if k == 0 else gate_row({})),
            }
        )
    df = pd.concat(series, ignore_index=True) if series else SERIES.frame()
    prod = df["production"].to_numpy(bool)
    avg = np.full(len(df), np.nan)
    if prod.any():
        avg[prod] = running_average(
            df["time_ps"].to_numpy()[prod], df["rmsd_heavy_A"].to_numpy()[prod], window_ps
        )
    df["rmsd_heavy_avg_A"] = avg
    for row in stage_rows:
        part = df[(df["stage"] == row["stage"]) & (df["production"] == 1)]
        row["mean_rmsd_heavy_A"] = float(part["rmsd_heavy_A"].mean()) if len(part) else None
        row["mean_helical_fraction"] = float(part["helical_fraction"].mean()) if len(part) else None
    return RunTables(
        SERIES.frame(df),
        RUNS.frame(stage_rows),
        STRUCTURES.frame(_snapshots(reference, late, late_t, phase, model)),
    )


def _snapshots(reference, late, late_t, phase: str, model: str) -> list[dict]:
    from gmnn.analysis.structure import select_atoms
    from gmnn.data.ala10 import NAME_KEY, RESIDUE_KEY

    names = reference.arrays[NAME_KEY]
    sel = select_atoms("backbone", reference.numbers, names)
    rows = []
    for frame, t, pos in (("initial", 0.0, reference.positions), ("late", late_t, late)):
        if pos is None:
            continue
        for i in sel:
            x, y, z = (float(v) for v in pos[i])
            rows.append(
                {
                    "phase": phase,
                    "model": model,
                    "frame": frame,
                    "time_ps": t,
                    "atom": int(i),
                    "name": str(names[i]),
                    "residue": int(reference.arrays[RESIDUE_KEY][i]),
                    "x_A": x,
                    "y_A": y,
                    "z_A": z,
                }
            )
    return rows


def backbone_traces(structures, phase: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """model -> (initial, late) backbone positions (N, 3) of ``phase`` from a
    :data:`STRUCTURES` table (DataFrame or CSV path), for the figures' insets; a run
    without a late frame is left out."""
    table = STRUCTURES.load(structures)
    table = table[table["phase"] == phase]
    traces = {}
    for model, rows in table.groupby("model", sort=False):
        frames = {
            frame: part.sort_values("atom")[["x_A", "y_A", "z_A"]].to_numpy()
            for frame, part in rows.groupby("frame")
        }
        if "initial" in frames and "late" in frames:
            traces[model] = (frames["initial"], frames["late"])
    return traces


def collect(series_files: Sequence, runs_files: Sequence, structures_files: Sequence) -> RunTables:
    """Every run's :data:`SERIES`, :data:`RUNS` and :data:`STRUCTURES` files joined (rule
    ``collect_ala10``)."""

    def join(table: Table, files: Sequence) -> pd.DataFrame:
        parts = [table.read(Path(p)) for p in files]
        return table.frame(pd.concat(parts, ignore_index=True)) if parts else table.frame()

    return RunTables(
        join(SERIES, series_files), join(RUNS, runs_files), join(STRUCTURES, structures_files)
    )
