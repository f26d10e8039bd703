"""Vibrational power spectra of MD runs (Fig. 4, Figs. S3-S5) and their fitted peaks.

Reads the tidy tables of :mod:`gmnn.analysis.md` (DataFrames, or CSV paths):

- ``spectra``: :data:`~gmnn.analysis.md.SPECTRA`, each run's spectrum normalised to unit
  area on a common grid;
- ``runs``: :data:`~gmnn.analysis.md.RUNS`, one row per MD run (a run that diverged before
  its production period has no spectrum);
- ``peaks`` (optional): :data:`~gmnn.analysis.md.PEAKS`, the fitted C-H and O-H peaks.

A diverged run is shown, never dropped: its legend entry says when and why it diverged,
and without a spectrum it is a legend entry without a curve. The helpers for model labels
and table cells here are shared by the other MD figures (:mod:`gmnn.plots.bonds`); the
colours per model are :func:`gmnn.plots.style.model_colours`.
Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gmnn.analysis.aggregate import mean_sem
from gmnn.analysis.md import PEAKS, RUNS, SPECTRA
from gmnn.plots.style import model_colours, panel_grid

# Characteristic stretch regions (cm^-1), shaded lightly: (label, low, high, colour).
BANDS = (
    ("C–H", 2600.0, 3400.0, "#7f8c8d"),
    ("O–H", 3300.0, 4200.0, "#b7950b"),
)
BAND_ORDER = ("C-H", "O-H")

# Order of models in legends and tables: pre-trained, then the paper's settings.
SETTING_ORDER = ("pretrain", "scratch_EF", "finetune_EF", "finetune_E", "scratch_E")
SEED_STYLES = ("-", "--", ":", "-.")

_PREFIX = {"scratch": "from scratch", "finetune": "fine-tuned"}
_SUFFIX = {"E": "(E)", "EF": "(E+F)", "F": "(F)"}


# --- helpers shared by the MD figures -------------------------------------------------------


def model_label(setting: str, n_train) -> str:
    """Legend label of a model: ``fine-tuned, 128 (E+F)``, ``pre-trained (DFT)``."""
    if setting == "pretrain":
        return "pre-trained (DFT)"
    kind, _, labels = setting.partition("_")
    if kind in _PREFIX and labels in _SUFFIX:
        return f"{_PREFIX[kind]}, {int(n_train)} {_SUFFIX[labels]}"
    return f"{setting}, {n_train}"


def model_sort_key(model: tuple) -> tuple:
    setting, n_train = model
    rank = SETTING_ORDER.index(setting) if setting in SETTING_ORDER else len(SETTING_ORDER)
    return rank, setting, int(n_train)


def truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def at_temperature(values: pd.Series, temperature) -> pd.Series:
    """Mask of the rows at ``temperature`` (within 1e-6 K)."""
    return (values.astype(float) - float(temperature)).abs() <= 1e-6


def pick_molecule(rows: pd.DataFrame, molecule: str | None, source: str) -> str:
    """``molecule``, or the only molecule of ``rows`` (ValueError when ambiguous or absent)."""
    names = sorted({str(m) for m in rows["molecule"]})
    if molecule is not None:
        if molecule not in names:
            raise ValueError(f"{source}: no rows for molecule {molecule!r} (has {names})")
        return molecule
    if len(names) != 1:
        raise ValueError(f"{source}: {len(names) or 'no'} molecules {names}; pass molecule=")
    return names[0]


def pretty_bond(bond: str) -> str:
    return str(bond).replace("-", "–")


def _fmt(value, digits: int = 0) -> str:
    return f"{float(value):.{digits}f}" if finite(value) else "n/a"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- spectra ---------------------------------------------------------------------------------


def _normalise_panels(panels) -> list[list[tuple[str, int]]]:
    out = []
    for panel in panels:
        models = [(str(setting), int(n_train)) for setting, n_train in panel]
        if not models:
            raise ValueError("every panel needs at least one (setting, n_train) model")
        out.append(models)
    if not out:
        raise ValueError("no panels to plot")
    return out


def _divergence_note(run: dict) -> str:
    note = f"diverged at {float(run['time_ps']):.1f} ps"
    reason = str(run.get("reason", "") or "").strip()
    if reason and reason.lower() != "nan":
        # on lines of its own, so that a long reason does not widen the figure
        note += ":\n" + textwrap.fill(reason, width=60)
    return note


def plot_spectra(
    spectra,
    runs,
    panels,
    temperature_K: float,
    xlim: tuple[float, float] = (0, 4200),
    *,
    peaks=None,
    molecule: str | None = None,
    title: str | None = None,
    average_seeds: bool = False,
    bands=BANDS,
    panel_size: tuple[float, float] = (6.4, 2.4),
) -> Figure:
    """Fig. 4 / S3-S5: power spectra at ``temperature_K``, one panel per entry of ``panels``.

    ``panels`` lists the models to overlay per panel, each a (setting, n_train) pair, e.g.
    Fig. 4 = ``[[("scratch_EF", 950), ("finetune_EF", 128)], [("scratch_E", 950),
    ("finetune_E", 950)]]``. Every MD run of a model is a curve (line style per seed when
    there are several); with ``average_seeds`` the runs that did not diverge are averaged
    into one curve. Diverged runs keep their own entry, "diverged at X ps (reason)", without
    a curve when they have no spectrum. ``peaks`` marks fitted peak centres with ticks at
    the bottom of the panel. ``molecule`` defaults to the only one in ``runs``.
    """
    panels = _normalise_panels(panels)
    run_rows, run_src = RUNS.load(runs), RUNS.source(runs)
    spec_rows, spec_src = SPECTRA.load(spectra), SPECTRA.source(spectra)
    peak_rows = PEAKS.load(peaks)
    if run_rows.empty:
        raise ValueError(f"{run_src}: no MD runs")
    molecule = pick_molecule(run_rows, molecule, run_src)

    def here(df):
        return df[(df["molecule"] == molecule) & at_temperature(df["temperature_K"], temperature_K)]

    run_rows = here(run_rows).to_dict("records")
    curves = {}
    for (setting, n_train, seed), rows in here(spec_rows).groupby(
        ["setting", "n_train", "seed"], sort=False
    ):
        xy = rows[["wavenumber_cm1", "intensity"]].to_numpy(float)
        curves[setting, int(n_train), seed] = xy[np.lexsort((xy[:, 1], xy[:, 0]))].T
    peak_rows = here(peak_rows)
    peak_rows = peak_rows[np.isfinite(peak_rows["center_cm1"].to_numpy(float))]
    peak_rows = peak_rows.to_dict("records")

    colours = model_colours([m for panel in panels for m in panel])
    fig, axes = panel_grid(len(panels), 1, panel_size, (0.0, 0.5))
    axes = axes[:, 0]
    for ax, models in zip(axes, panels, strict=True):
        handles, labels, ymax = [], [], 0.0
        for model in models:
            setting, n_train = model
            colour = colours[model]
            base = model_label(setting, n_train)
            model_runs = sorted(
                (r for r in run_rows if r["setting"] == setting and int(r["n_train"]) == n_train),
                key=lambda r: r["seed"],
            )
            if not model_runs:
                raise ValueError(
                    f"{run_src}: no MD run of {molecule} {setting} n_train={n_train} "
                    f"at {temperature_K:g} K"
                )
            drawn = []  # (run, label, linestyle, spectrum, diverged)
            for i, run in enumerate(model_runs):
                diverged = truthy(run["diverged"])
                spectrum = curves.get((setting, n_train, run["seed"]))
                if spectrum is None and not diverged and float(run["production_ps"]) > 0:
                    raise ValueError(
                        f"{spec_src}: no spectrum of {molecule} {setting} n_train={n_train} "
                        f"seed={run['seed']} at {temperature_K:g} K (the run did not diverge)"
                    )
                label = base + (f", seed {run['seed']}" if len(model_runs) > 1 else "")
                if diverged:
                    label += ": " + _divergence_note(run)
                if spectrum is None:
                    label += ", no spectrum" if diverged else ": no spectrum (no production)"
                    handles.append(Line2D([], [], color=colour, linestyle="none", marker="x"))
                    labels.append(label)
                    continue
                drawn.append((run, label, SEED_STYLES[i % len(SEED_STYLES)], spectrum, diverged))
            if average_seeds:
                good = [d for d in drawn if not d[4]]
                if good:
                    grid = good[0][3][0]
                    mean = np.mean([np.interp(grid, *d[3]) for d in good], axis=0)
                    label = base + (f" (mean of {len(good)} runs)" if len(good) > 1 else "")
                    (line,) = ax.plot(grid, mean, color=colour, lw=1.1, label=label)
                    handles.append(line)
                    labels.append(label)
                    ymax = max(ymax, _max_in(grid, mean, xlim))
                drawn = [(run, lab, ":", s, d) for run, lab, _, s, d in drawn if d]
            for _run, label, style, spectrum, _ in drawn:
                (line,) = ax.plot(
                    spectrum[0], spectrum[1], color=colour, lw=1.0, linestyle=style, label=label
                )
                handles.append(line)
                labels.append(label)
                ymax = max(ymax, _max_in(spectrum[0], spectrum[1], xlim))
            seeds = [d[0]["seed"] for d in drawn] + (
                [r["seed"] for r in model_runs if not truthy(r["diverged"])]
                if average_seeds
                else []
            )
            centres = [
                float(p["center_cm1"])
                for p in peak_rows
                if p["setting"] == setting and int(p["n_train"]) == n_train and p["seed"] in seeds
            ]
            if centres:
                ax.vlines(
                    centres, 0.0, 0.07, colors=colour, lw=1.4, transform=ax.get_xaxis_transform()
                )
        # headroom above the curves: band names, then the legend (one line per entry)
        line = 0.14 / max(panel_size[1] - 0.45, 0.5)
        data_top = max(0.35, 1.0 - line * len(labels) - 0.16)
        for name, lo, hi, colour in bands:
            if hi > xlim[0] and lo < xlim[1]:
                ax.axvspan(lo, hi, color=colour, alpha=0.08, lw=0, zorder=0)
                ax.text(
                    (max(lo, xlim[0]) + min(hi, xlim[1])) / 2,
                    data_top + 0.01,
                    name,
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color=colour,
                )
        ax.set_xlim(*xlim)
        ax.set_ylim(0, (ymax if ymax > 0 else 1.0) * 1.02 / data_top)
        ax.set_yticks([])
        ax.set_ylabel("Intensity [arb. units]")
        ax.legend(handles, labels, loc="upper left", fontsize=7.5, frameon=False)
    axes[-1].set_xlabel("Wavenumber [cm$^{-1}$]")
    fig.suptitle(title if title is not None else f"{molecule.capitalize()}, {temperature_K:g} K")
    return fig


def _max_in(x, y, xlim) -> float:
    inside = (x >= xlim[0]) & (x <= xlim[1]) & np.isfinite(y)
    return float(np.max(y[inside])) if np.any(inside) else 0.0


def peaks_table_markdown(
    peaks,
    *,
    molecule: str | None = None,
    models: Sequence[tuple] | None = None,
    temperatures: Sequence[float] | None = None,
) -> str:
    """Markdown table of fitted peak centres (cm^-1): one row per model, one column per
    (band, temperature); mean ± SEM (n) over seeds where there are several."""
    rows, source = PEAKS.load(peaks), PEAKS.source(peaks)
    if models is not None:
        wanted = {(str(s), int(n)) for s, n in models}
        model_of = zip(rows["setting"], rows["n_train"].astype(int), strict=True)
        rows = rows[[m in wanted for m in model_of]]
    if temperatures is not None:
        rows = rows[
            np.any([at_temperature(rows["temperature_K"], t) for t in temperatures], axis=0)
        ]
    if molecule is not None:
        rows = rows[rows["molecule"] == molecule]
    title = "Fitted peak centres [cm⁻¹]"
    if rows.empty:
        return f"{title}\n\n_No fitted peaks in {source}._\n"
    molecules = sorted(set(rows["molecule"]))
    bands = sorted(set(rows["band"]), key=lambda b: (b not in BAND_ORDER, str(b)))
    temps = sorted({float(t) for t in rows["temperature_K"]})
    columns = [(b, t) for t in temps for b in bands]
    header = (["Molecule"] if len(molecules) > 1 else []) + ["Model"]
    header += [f"{pretty_bond(b)}, {t:g} K" for b, t in columns]
    keys = ["molecule", "setting", "n_train", "band", "temperature_K"]
    fitted = rows[np.isfinite(rows["center_cm1"].to_numpy(float))]
    stats = {
        (r["molecule"], r["setting"], int(r["n_train"]), r["band"], float(r["temperature_K"])): r
        for r in mean_sem(fitted, keys, ["center_cm1"]).to_dict("records")
    }
    body = []
    for mol in molecules:
        mol_rows = rows[rows["molecule"] == mol]
        models_here = set(zip(mol_rows["setting"], mol_rows["n_train"].astype(int), strict=True))
        for model in sorted(models_here, key=model_sort_key):
            cells = []
            for band, temp in columns:
                cell = stats.get((mol, *model, band, temp))
                if cell is None:
                    cells.append("–")
                elif cell["n"] == 1:
                    cells.append(_fmt(cell["center_cm1_mean"]))
                else:
                    mean, sem = cell["center_cm1_mean"], cell["center_cm1_sem"]
                    cells.append(f"{_fmt(mean)} ± {_fmt(sem)} (n={cell['n']})")
            body.append(([mol] if len(molecules) > 1 else []) + [model_label(*model), *cells])
    methods = sorted(set(rows["method"].astype(str)) - {""})
    note = (
        f"\n\nPeak fit: {', '.join(methods)}; mean ± SEM over seeds where several."
        if methods
        else ""
    )
    return f"{title}{note}\n\n" + markdown_table(header, body)


__all__ = ["BANDS", "model_label", "peaks_table_markdown", "plot_spectra"]
