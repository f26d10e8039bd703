"""The look every figure of :mod:`gmnn.plots` shares, in one place.

- colours, line styles and markers per training setting and model (:data:`SETTING_STYLE`,
  :data:`NON_DISCRIMINATIVE_STYLE`, the palettes below), marker size, line widths, grid;
- figures: :func:`new_figure` (constrained layout) and :func:`panel_grid` (panels of a
  given size sharing the x axis); :func:`quantity_grid`, the two-row skeleton of Figs. 2
  and 3 (one column per molecule, energy errors on top, force errors below);
- the pieces drawn on a panel: :func:`data_line`, :func:`sem_band`,
  :func:`reference_line`, :func:`log_axes`, :func:`size_ticks`, :func:`shared_legend`;
- :func:`save_figure`, which writes every requested format atomically.

Figures are built with :class:`matplotlib.figure.Figure` directly, rendered with the Agg
(raster) and PDF canvases; pyplot and its global backend state are never touched, so this
works on headless nodes and in threads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from gmnn.io import atomic_path

# --- colours, line styles, markers ---------------------------------------------------------------

SETTING_STYLE = {
    "scratch_E": ("from scratch (E)", "#e6862b", "--", "s"),
    "scratch_EF": ("from scratch (E+F)", "#c0392b", "-", "s"),
    "finetune_E": ("fine-tuning (E)", "#5dade2", "--", "o"),
    "finetune_EF": ("fine-tuning (E+F)", "#1f4e9c", "-", "o"),
}
"""MD17 setting -> (label, colour, line style, marker): orange/red from scratch, blue
fine-tuned; E+F solid, E dashed. Every MD17 figure (Figs. 2-4, S1-S5) and Fig. 6."""

NON_DISCRIMINATIVE_STYLE = {
    "finetune_nd_E": ("fine-tuning, non-discr. (E)", "#7fcf7f", "--", "^"),
    "finetune_nd_EF": ("fine-tuning, non-discr. (E+F)", "#1e8c3a", "-", "^"),
}
"""Fine-tuning without discriminative learning rates (Fig. 6): green; E+F solid, E dashed."""

SCRATCH_STYLE = ("from scratch", SETTING_STYLE["scratch_E"][1], "--", "s")
"""The from-scratch line of Fig. 5 (ANI-1ccx: energies only, as ``scratch_E``)."""

DFT_PRETRAINED_COLOUR = "black"
"""The model pre-trained on DFT data (Fig. 2's reference line, the spectra)."""
ANI_PRETRAINED_COLOUR = "red"
"""The model pre-trained on ANI-1x (Fig. 6's horizontal line)."""
SCRATCH_REFERENCE_COLOUR = "black"
"""From-scratch horizontal reference lines of Fig. 6."""

SIZE_COLOURS = ("#1f4e9c", "#2ca02c", "#8e44ad", "#e6862b")
"""Fig. 3: a curve colour per fine-tuning set size (ascending) ..."""
SIZE_REFERENCE_COLOURS = ("black", "red", "#7f8c8d", "#8c564b")
"""... and the colour of its from-scratch line (the paper: black for 128, red for 950)."""

EXTRA_COLOURS = ("#2ca02c", "#8e44ad", "#e6862b", "#17becf", "#8c564b", "#bcbd22")
"""Colours for a further model of an already coloured setting (e.g. fine-tuned on 128 and
on 950 in one spectrum figure)."""

MARKER_SIZE = 3.5
REFERENCE_LW = 1.2
"""Line width of horizontal reference lines."""
GRID_ALPHA = 0.3


def setting_style(setting: str, marker: str = "^") -> tuple:
    """(label, colour, line style, marker) of ``setting``; an unknown one is labelled by its
    name, coloured by the axes' colour cycle, solid, with ``marker``."""
    return SETTING_STYLE.get(setting, (setting, None, "-", marker))


def model_colours(models: Sequence[tuple]) -> dict:
    """A colour per (setting, n_train) model: the setting's colour of Fig. 2, black for the
    pre-trained model (setting ``pretrain``); further models of an already coloured setting
    get :data:`EXTRA_COLOURS`."""
    colours, used, extra = {}, set(), iter(EXTRA_COLOURS * 4)
    for model in dict.fromkeys(models):
        setting = model[0]
        colour = (
            DFT_PRETRAINED_COLOUR
            if setting == "pretrain"
            else SETTING_STYLE.get(setting, (0, None))[1]
        )
        if colour is None or colour in used:
            colour = next(c for c in extra if c not in used)
        colours[model] = colour
        used.add(colour)
    return colours


def model_linestyle(setting: str) -> str:
    """The line style of ``setting`` (:data:`SETTING_STYLE`), solid for others."""
    return SETTING_STYLE[setting][2] if setting in SETTING_STYLE else "-"


def ordered(values, preferred) -> list:
    """The distinct ``values``: those in ``preferred`` first, in its order, then the rest
    sorted."""
    values = list(dict.fromkeys(values))
    first = [v for v in preferred if v in values]
    return first + sorted(v for v in values if v not in first)


# --- figures ----------------------------------------------------------------------------------

ROWS = {
    "energy": ("energy_{metric}", "Energy {METRIC} [kcal/mol]"),
    "force": ("force_{metric}", "Force {METRIC} [kcal/mol/Å]"),
}
"""Quantity -> (table column template, axis label template) of the error figures."""


def new_figure(figsize: tuple[float, float]) -> Figure:
    """An empty figure of ``figsize`` inches with the constrained layout."""
    return Figure(figsize=figsize, layout="constrained")


def panel_grid(
    nrow: int, ncol: int, panel_size: tuple[float, float], extra: tuple[float, float]
) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrow`` x ``ncol`` panels of ``panel_size`` inches sharing the x axis,
    ``extra`` = (width, height) inches more for labels and the legend; the axes as a 2D
    array."""
    fig = new_figure(
        (panel_size[0] * ncol + extra[0], panel_size[1] * nrow + extra[1]),
    )
    return fig, fig.subplots(nrow, ncol, squeeze=False, sharex=True)


@dataclass(frozen=True)
class Panel:
    """One panel of :func:`quantity_grid`."""

    ax: Axes
    row: int
    col: int
    molecule: str
    column: str
    """The table column it shows, e.g. ``energy_rmse``."""
    ylabel: str
    """e.g. ``Energy RMSE [kcal/mol]``."""


def quantity_grid(
    molecules: Sequence[str], metric: str, panel_size: tuple[float, float], extra_height: float
) -> tuple[Figure, np.ndarray, list[Panel]]:
    """The two-row skeleton of Figs. 2 and 3: one column per molecule, the energy ``metric``
    (rmse or mae) on top and the force ``metric`` below, sharing the x axis. Returns the
    figure, its axes and the panels, column by column."""
    fig, axes = panel_grid(2, len(molecules), panel_size, (0.6, extra_height))
    panels = [
        Panel(
            axes[row, col],
            row,
            col,
            molecule,
            template.format(metric=metric),
            ylabel.format(METRIC=metric.upper()),
        )
        for col, molecule in enumerate(molecules)
        for row, (template, ylabel) in enumerate(ROWS.values())
    ]
    return fig, axes, panels


def finish_quantity_panel(
    panel: Panel, sizes, xlabel: str, rotate_above: int, base: float = 10
) -> None:
    """Log axes, the molecule over the top row, the quantity left of the first column, one
    tick per set size with ``xlabel`` on the bottom row."""
    log_axes(panel.ax, base)
    if panel.col == 0:
        panel.ax.set_ylabel(panel.ylabel)
    if panel.row == 0:
        panel.ax.set_title(panel.molecule.capitalize())
    size_ticks(panel.ax, sizes, xlabel, rotate_above, bottom=panel.row > 0)


# --- on a panel -------------------------------------------------------------------------------


def data_line(ax, x, y, *, label: str, colour, linestyle: str, marker: str):
    """A line with markers through the points (x, y); returns the line."""
    (line,) = ax.plot(
        x, y, linestyle=linestyle, marker=marker, markersize=MARKER_SIZE, color=colour, label=label
    )
    return line


def positive_band(y, sem):
    """Lower/upper edges of y ± sem, NaN SEM -> no width; lower edge kept positive (log)."""
    sem = np.where(np.isfinite(sem), sem, 0.0)
    return np.maximum(y - sem, y * 0.05), y + sem


def sem_band(ax, x, y, sem, colour, alpha: float = 0.25) -> None:
    """A ±1 SEM band around (x, y) (:func:`positive_band`); none where no SEM is > 0."""
    if np.any(np.isfinite(sem) & (sem > 0)):
        ax.fill_between(x, *positive_band(y, sem), color=colour, alpha=alpha, lw=0)


def reference_line(
    ax,
    value: float,
    sem: float = math.nan,
    *,
    colour,
    label: str,
    linestyle: str = "-",
    band_alpha: float = 0.1,
) -> None:
    """A horizontal reference line at ``value`` (none if it is not finite) with its ±``sem``
    as a light band (none for a NaN or zero SEM)."""
    if not np.isfinite(value):
        return
    ax.axhline(value, color=colour, linestyle=linestyle, lw=REFERENCE_LW, label=label)
    if np.isfinite(sem) and sem > 0:
        ax.axhspan(*positive_band(value, sem), color=colour, alpha=band_alpha, lw=0)


def log_axes(ax, base: float = 10) -> None:
    """Log x (``base``) and log y axes with a light major grid."""
    ax.set_xscale("log", base=base)
    ax.set_yscale("log")
    ax.grid(True, which="major", alpha=GRID_ALPHA)


def size_ticks(ax, sizes, xlabel: str, rotate_above: int, bottom: bool) -> None:
    """One tick per set size (log axis, no minor ticks); the axis label on the bottom row."""
    if bottom:
        ax.set_xlabel(xlabel)
    ax.set_xticks(sizes, [str(s) for s in sizes], rotation=45 if len(sizes) > rotate_above else 0)
    ax.xaxis.set_minor_locator(NullLocator())


def shared_legend(fig: Figure, axes, columns: Callable[[int], int], **kwargs) -> None:
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


# --- saving -----------------------------------------------------------------------------------


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
