"""Learning curves of Fig. 2: test RMSE against training-set size, per molecule and setting.

Reads the tidy tables :data:`gmnn.analysis.aggregate.LEARNING_CURVES` and
:data:`~gmnn.analysis.aggregate.DFT_REFERENCE` (DataFrames, or CSV paths). Figures are built
with :class:`matplotlib.figure.Figure` directly, rendered with the Agg (raster) and PDF
canvases; pyplot and its global backend state are never touched, so this works on headless
nodes and in threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from gmnn.analysis.aggregate import DFT_REFERENCE, LEARNING_CURVES
from gmnn.io import atomic_path

# Column order of Fig. 2 (the paper's order of the MD17 molecules); others follow, sorted.
MOLECULE_ORDER = ("ethanol", "malonaldehyde", "benzene", "toluene", "aspirin")

# setting -> (label, colour, line style, marker); E+F solid, E dashed.
SETTING_STYLE = {
    "scratch_E": ("from scratch (E)", "#e6862b", "--", "s"),
    "scratch_EF": ("from scratch (E+F)", "#c0392b", "-", "s"),
    "finetune_E": ("fine-tuning (E)", "#5dade2", "--", "o"),
    "finetune_EF": ("fine-tuning (E+F)", "#1f4e9c", "-", "o"),
}
REFERENCE_LABEL = "pre-trained on DFT only"

ROWS = {
    "energy": ("energy_{metric}", "Energy {METRIC} [kcal/mol]"),
    "force": ("force_{metric}", "Force {METRIC} [kcal/mol/Å]"),
}


def _ordered(values, preferred) -> list:
    values = list(dict.fromkeys(values))
    first = [v for v in preferred if v in values]
    return first + sorted(v for v in values if v not in first)


def plot_learning_curves(
    curves,
    reference=None,
    *,
    metric: str = "rmse",
    molecules: Sequence[str] | None = None,
    settings: Sequence[str] | None = None,
    panel_size: tuple[float, float] = (2.8, 2.4),
) -> Figure:
    """Fig. 2: log-log learning curves, columns = molecules, rows = energy / forces.

    ``curves``: the :data:`~gmnn.analysis.aggregate.LEARNING_CURVES` table (DataFrame or
    CSV path; :func:`gmnn.analysis.aggregate.learning_curves`); each setting is a line with
    a band of ±1 standard error (none where the SEM is NaN, i.e. one seed). ``reference``:
    optional :data:`~gmnn.analysis.aggregate.DFT_REFERENCE` table; its ``test_set == "cc"``
    rows are drawn as horizontal black lines (the DFT-only model evaluated on
    coupled-cluster labels). ``molecules``/``settings`` select and order the
    panels and lines (default: all in the table, in the paper's order).
    """
    if metric not in ("rmse", "mae"):
        raise ValueError(f"metric must be 'rmse' or 'mae', got {metric!r}")
    rows = LEARNING_CURVES.load(curves)
    if rows.empty:
        raise ValueError("no learning-curve rows to plot")
    refs = DFT_REFERENCE.load(reference)
    refs = refs[refs["test_set"] == "cc"]
    molecules = list(molecules) if molecules else _ordered(rows["molecule"], MOLECULE_ORDER)
    settings = list(settings) if settings else _ordered(rows["setting"], SETTING_STYLE)
    sizes = sorted({int(n) for n in rows["n_train"]})

    ncol = len(molecules)
    fig = Figure(
        figsize=(panel_size[0] * ncol + 0.6, panel_size[1] * 2 + 0.9), layout="constrained"
    )
    axes = fig.subplots(2, ncol, squeeze=False, sharex=True)
    for col, molecule in enumerate(molecules):
        for row_i, (column, ylabel) in enumerate(ROWS.values()):
            ax = axes[row_i, col]
            column = column.format(metric=metric)
            for setting in settings:
                pts = rows[(rows["molecule"] == molecule) & (rows["setting"] == setting)]
                if pts.empty:
                    continue
                pts = pts.sort_values("n_train", kind="stable")
                label, colour, style, marker = SETTING_STYLE.get(setting, (setting, None, "-", "^"))
                x = pts["n_train"].to_numpy(float)
                y = pts[f"{column}_mean"].to_numpy(float)
                sem = pts[f"{column}_sem"].to_numpy(float)
                (line,) = ax.plot(
                    x, y, linestyle=style, marker=marker, markersize=3.5, color=colour, label=label
                )
                if np.any(np.isfinite(sem)):
                    lower = np.where(np.isfinite(sem), y - sem, y)
                    upper = np.where(np.isfinite(sem), y + sem, y)
                    ax.fill_between(x, lower, upper, color=line.get_color(), alpha=0.25, lw=0)
            for value in refs.loc[refs["molecule"] == molecule, f"{column}_mean"].astype(float):
                if np.isfinite(value):
                    ax.axhline(value, color="black", lw=1.2, label=REFERENCE_LABEL)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            label_panel(ax, row_i, col, molecule, ylabel.format(METRIC=metric.upper()))
            size_ticks(ax, sizes, "Training set size", rotate_above=4, bottom=row_i > 0)
    shared_legend(fig, axes, lambda n: min(n, {1: 1, 2: 2, 3: 3}.get(ncol, 5)))
    return fig


def label_panel(ax, row: int, col: int, molecule: str, ylabel: str) -> None:
    """Molecule name over the top row, the quantity's label left of the first column."""
    if col == 0:
        ax.set_ylabel(ylabel)
    if row == 0:
        ax.set_title(molecule.capitalize())


def size_ticks(ax, sizes, xlabel: str, rotate_above: int, bottom: bool) -> None:
    """One tick per set size (log axis, no minor ticks); the axis label on the bottom row."""
    if bottom:
        ax.set_xlabel(xlabel)
    ax.set_xticks(sizes, [str(s) for s in sizes], rotation=45 if len(sizes) > rotate_above else 0)
    ax.xaxis.set_minor_locator(NullLocator())


def shared_legend(fig: Figure, axes, columns, **kwargs) -> None:
    """One legend below the panels with every distinct label of ``axes`` (first handle
    wins); ``columns(n_labels)`` gives the number of legend columns (fit to the width)."""
    handles, labels = {}, []
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    fig.legend(
        [handles[lab] for lab in labels],
        labels,
        loc="outside lower center",
        ncol=columns(len(labels)),
        frameon=False,
        **kwargs,
    )


def save_figure(fig: Figure, paths, dpi: int = 200) -> list[Path]:
    """Save ``fig`` to every path (format from the suffix), each written atomically
    (:func:`gmnn.io.atomic_path`) with the permissions of a plain ``open``.

    PDFs get no creation date, so that the same tables give the same bytes.
    """
    out = []
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower() or None
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=metadata)
        out.append(path)
    return out
