"""The tidy tables of the MD runs (Figs. 4, S3-S5): one row per run, spectra, fitted peaks.

- :data:`RUNS` (``results/md17/md_runs.csv``): one row per Langevin run, from its
  ``summary.json`` (:func:`gmnn.md.run_langevin`), with the production time of its spectrum;
- :data:`SPECTRA` (``results/md17/spectra.csv``): every run's power spectrum on the common
  grid; one run's file (``spectrum.csv``) is :data:`RUN_SPECTRUM`, the same columns;
- :data:`PEAKS` (``results/md17/spectra_peaks.csv``): the fitted C-H and O-H stretch
  peaks of every run; one run's file (``peaks.csv``) is :data:`RUN_PEAKS`.

:func:`run_spectrum` is the job of one run (rule ``power_spectrum``), :func:`collect_md`
joins the runs (rule ``collect_md``). The numerics are in :mod:`gmnn.analysis.spectra`,
imported only when a spectrum is computed, so reading these tables (the figures) stays
light.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gmnn.analysis.tables import Table, read_json_object

RUN_KEYS = ("molecule", "setting", "n_train", "temperature_K", "seed")
"""The columns that identify an MD run (model, temperature, seed)."""

TABLE_SUMMARY_KEYS = (
    *RUN_KEYS,
    "steps_requested",
    "steps_done",
    "time_ps",
    "diverged",
    "reason",
    "diverged_at_ps",
    "seconds_per_step",
)
"""The keys of a run's summary.json that :func:`collect_md` reads."""

RUNS = Table(
    "MD runs",
    columns=(*TABLE_SUMMARY_KEYS, "production_ps"),
    comments=(
        "Langevin NVT runs: time_ps simulated; diverged 1 = stopped early (reason); "
        "seconds_per_step = wall time per MD step (force call and trajectory writing "
        "included); production_ps = time used for the spectrum",
    ),
    keys=RUN_KEYS,
    text=("molecule", "setting", "reason"),
    blank=("diverged_at_ps",),  # empty for a run that did not diverge
)

SPECTRA = Table(
    "power spectra",
    columns=(*RUN_KEYS, "wavenumber_cm1", "intensity"),
    comments=(
        "Vibrational power spectra: Fourier transform of the mass-weighted VACF "
        "(Hann window), intensity normalised to unit area over the grid (1/cm^-1)",
    ),
    keys=(*RUN_KEYS, "wavenumber_cm1"),
    text=("molecule", "setting"),
)

PEAKS = Table(
    "spectral peaks",
    columns=(*RUN_KEYS, "band", "center_cm1", "fwhm_cm1", "method", "production_ps"),
    comments=("Fitted stretch-band peaks (Lorentzian fit, parabola fallback), cm^-1",),
    keys=(*RUN_KEYS, "band"),
    text=("molecule", "setting", "band", "method"),
)

RUN_SPECTRUM = SPECTRA.with_comments(name="power spectrum of one MD run")
"""One run's ``spectrum.csv`` (its comment, stating the production time, comes with
:func:`run_spectrum`); header only when the run had too little production data."""

RUN_PEAKS = PEAKS.with_comments(
    "strongest peak in each stretch band (gmnn.analysis.spectra.STRETCH_BANDS), cm^-1",
    name="peaks of one MD run",
)

_log = logging.getLogger(__name__)


class RunSpectrum(NamedTuple):
    """Result of :func:`run_spectrum`: :data:`RUN_SPECTRUM` rows, :data:`RUN_PEAKS` rows
    and the comment lines of the spectrum file."""

    spectrum: pd.DataFrame
    peaks: pd.DataFrame
    comments: tuple[str, ...]


class MDTables(NamedTuple):
    """Result of :func:`collect_md`: the :data:`RUNS`, :data:`SPECTRA`, :data:`PEAKS` tables."""

    runs: pd.DataFrame
    spectra: pd.DataFrame
    peaks: pd.DataFrame


def run_spectrum(summary, trajectory, spectra=None) -> RunSpectrum:
    """Rule ``power_spectrum``: spectrum and stretch-band peaks of one MD run.

    ``summary``: the run's ``summary.json`` (path or dict: molecule, setting, n_train,
    temperature_K, seed, timestep_fs, interval, equilibration_ps, diverged); ``trajectory``:
    its ASE trajectory; ``spectra``: a :class:`~gmnn.analysis.spectra.SpectraConfig` or the
    config section that maps onto it. The first ``equilibration_ps`` are dropped, the rest is the
    production part (:func:`gmnn.analysis.spectra.trajectory_spectrum`). A run with less than
    two VACF windows of production data gets no spectrum rows and NaN peaks.
    """
    from gmnn.analysis.spectra import SpectraConfig, trajectory_spectrum

    if not isinstance(spectra, SpectraConfig):
        spectra = SpectraConfig.from_dict(dict(spectra or {}))
    run = _json(summary, SPECTRUM_SUMMARY_KEYS)
    keys = {k: run[k] for k in RUN_KEYS}
    grid = spectra.grid()
    result = trajectory_spectrum(
        trajectory,
        frame_dt_fs=run["timestep_fs"] * run["interval"],
        skip_ps=run["equilibration_ps"],
        grid=grid,
        max_lag_ps=spectra.max_lag_ps,
        window=spectra.window,
        pad_factor=spectra.pad_factor,
    )
    production_ps = result["production_ps"]
    if result["intensity"] is None:
        _log.warning(
            "%s: %.2f ps of production data (diverged: %s), less than twice max_lag_ps=%s: "
            "no spectrum",
            trajectory,
            production_ps,
            run["diverged"],
            spectra.max_lag_ps,
        )
        spectrum = RUN_SPECTRUM.frame()
    else:
        spectrum = RUN_SPECTRUM.frame(
            pd.DataFrame({**keys, "wavenumber_cm1": grid, "intensity": result["intensity"]})
        )
    peaks = RUN_PEAKS.frame(
        {
            **keys,
            "band": band,
            "center_cm1": fit["center"],
            "fwhm_cm1": fit["fwhm"],
            "method": fit["method"],
            "production_ps": production_ps,
        }
        for band, fit in result["peaks"].items()
    )
    comments = (
        f"power spectrum of {production_ps:.3f} ps of production MD; intensity normalised "
        f"to unit area on the grid (1/cm^-1); VACF window {spectra.window} over "
        f"{spectra.max_lag_ps} ps",
    )
    _log.info("%s: %.2f ps production; peaks %s", trajectory, production_ps, result["peaks"])
    return RunSpectrum(spectrum, peaks, comments)


def collect_md(
    summaries: Sequence, spectra: Sequence[str | Path], peaks: Sequence[str | Path]
) -> MDTables:
    """Rule ``collect_md``: per-run summaries (``summary.json``), spectra
    (:data:`RUN_SPECTRUM` files) and peaks (:data:`RUN_PEAKS` files), one of each per run
    in the same order -> the :data:`RUNS`, :data:`SPECTRA` and :data:`PEAKS` tables (runs in
    the given order). A run's ``production_ps`` is that of its peaks file (0 without
    peaks); the peaks file of a run must be that run's (same keys)."""
    if not len(summaries) == len(spectra) == len(peaks):
        raise ValueError(
            f"{len(summaries)} summaries, {len(spectra)} spectra and {len(peaks)} peak "
            "files: need one of each per run"
        )
    rows, spectrum_tables, peak_tables = [], [], []
    for summary, spectrum_path, peaks_path in zip(summaries, spectra, peaks, strict=True):
        s = _json(summary, TABLE_SUMMARY_KEYS)
        run_peaks = RUN_PEAKS.read(peaks_path)
        spectrum = RUN_SPECTRUM.read(spectrum_path)
        key = tuple(s[k] for k in RUN_KEYS)
        for path, table in ((peaks_path, run_peaks), (spectrum_path, spectrum)):
            other = {tuple(r) for r in table[list(RUN_KEYS)].itertuples(index=False)}
            if other - {key}:
                raise ValueError(
                    f"{path}: rows of run(s) {sorted(other - {key})}, not of the run "
                    f"{dict(zip(RUN_KEYS, key, strict=True))} of {_name(summary)}"
                )
        rows.append(
            {
                **dict(zip(RUN_KEYS, key, strict=True)),
                "steps_requested": s["steps_requested"],
                "steps_done": s["steps_done"],
                "time_ps": s["time_ps"],
                "diverged": int(bool(s["diverged"])),
                "reason": s["reason"] or "",
                "diverged_at_ps": s["diverged_at_ps"] if s["diverged"] else np.nan,
                "seconds_per_step": s["seconds_per_step"],
                "production_ps": run_peaks["production_ps"].iloc[0] if len(run_peaks) else 0.0,
            }
        )
        spectrum_tables.append(spectrum)
        peak_tables.append(run_peaks)
    tables = MDTables(
        RUNS.frame(rows), _concat(SPECTRA, spectrum_tables), _concat(PEAKS, peak_tables)
    )
    _log.info(
        "%d runs, %d spectrum rows, %d peaks",
        len(tables.runs),
        len(tables.spectra),
        len(tables.peaks),
    )
    return tables


def _concat(table: Table, frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return table.frame(pd.concat(frames, ignore_index=True)) if frames else table.frame()


SPECTRUM_SUMMARY_KEYS = (*RUN_KEYS, "timestep_fs", "interval", "equilibration_ps", "diverged")
"""The keys of a run's summary.json that :func:`run_spectrum` reads."""


def _json(summary, required: Sequence[str] = ()) -> dict:
    """A run's summary (path or mapping); an unreadable or garbage file, or one that
    lacks a key in ``required``, is a ValueError naming the file and what is wrong."""
    if isinstance(summary, Mapping):
        run = dict(summary)
    else:
        run = read_json_object(summary, "MD run summary (summary.json)")
    missing = [k for k in required if k not in run]
    if missing:
        raise ValueError(
            f"{_name(summary)}: the MD run summary lacks key(s) {missing}; delete it to have "
            "the md job that writes it rerun"
        )
    return run


def _name(summary) -> str:
    return "the summary" if isinstance(summary, Mapping) else str(summary)


__all__ = [
    "PEAKS",
    "RUNS",
    "RUN_KEYS",
    "RUN_PEAKS",
    "RUN_SPECTRUM",
    "SPECTRA",
    "MDTables",
    "RunSpectrum",
    "collect_md",
    "run_spectrum",
]
