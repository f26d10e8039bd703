"""Fig. 3: test RMSE of fine-tuned models against the pre-training set size.

Reads two tidy tables of :mod:`gmnn.analysis.aggregate` (DataFrames, or CSV paths):

- ``table``: :data:`~gmnn.analysis.aggregate.PRETRAIN_SIZE` (setting finetune_E |
  finetune_EF, n_train = fine-tuning set size, n_pretrain = pre-training set size);
- ``fig2_curves``: :data:`~gmnn.analysis.aggregate.LEARNING_CURVES` of Fig. 2, whose
  ``scratch_EF`` rows at the fine-tuning sizes are the from-scratch reference lines.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from gmnn.analysis.aggregate import LEARNING_CURVES, PRETRAIN_SIZE
from gmnn.plots.learning_curves import (
    ROWS,
    SETTING_STYLE,
    _ordered,
    label_panel,
    shared_legend,
    size_ticks,
)

# Columns of Fig. 3 (the paper: aspirin and malonaldehyde); others follow, sorted.
MOLECULE_ORDER = ("aspirin", "malonaldehyde")
# Curve colour per fine-tuning set size (ascending) and colour of its from-scratch line
# (the paper: black for 128, red for 950).
CURVE_COLOURS = ("#1f4e9c", "#2ca02c", "#8e44ad", "#e6862b")
REFERENCE_COLOURS = ("black", "red", "#7f8c8d", "#8c564b")
REFERENCE_SETTING = "scratch_EF"


def _positive_band(y, sem):
    """Lower/upper edges of y ± sem, NaN SEM -> no width; lower edge kept positive (log)."""
    sem = np.where(np.isfinite(sem), sem, 0.0)
    return np.maximum(y - sem, y * 0.05), y + sem


def plot_pretrain_size(
    table,
    fig2_curves,
    metric: str = "rmse",
    *,
    molecules: Sequence[str] | None = None,
    settings: Sequence[str] | None = None,
    panel_size: tuple[float, float] = (3.1, 2.5),
) -> Figure:
    """Fig. 3: columns = molecules, rows = energy / force ``metric`` (rmse or mae), against
    the pre-training set size (log2 axis, log y). One line per (setting, n_train), E+F solid
    and E dashed, colour per fine-tuning size, with a ±1 SEM band (none for one seed).
    Horizontal lines: from-scratch E+F models of Fig. 2 at each fine-tuning size, with
    their SEM as a light band. A missing reference row is a ValueError naming it.
    """
    if metric not in ("rmse", "mae"):
        raise ValueError(f"metric must be 'rmse' or 'mae', got {metric!r}")
    columns = [f"{c.format(metric=metric)}_{s}" for c, _ in ROWS.values() for s in ("mean", "sem")]
    rows, source = PRETRAIN_SIZE.load(table), PRETRAIN_SIZE.source(table)
    refs, ref_source = LEARNING_CURVES.load(fig2_curves), LEARNING_CURVES.source(fig2_curves)
    if rows.empty:
        raise ValueError(f"{source}: no rows to plot")
    present = _ordered(rows["molecule"], MOLECULE_ORDER)
    molecules = list(molecules) if molecules else present
    absent = [m for m in molecules if m not in present]
    if absent:
        raise ValueError(f"{source}: no rows for molecule(s) {absent}")
    settings = list(settings) if settings else _ordered(rows["setting"], SETTING_STYLE)
    sizes = sorted({int(n) for n in rows["n_train"]})
    pretrain_sizes = sorted({int(n) for n in rows["n_pretrain"]})

    reference = {}
    means = [c for c in columns if c.endswith("_mean")]
    for molecule in molecules:
        for n_train in sorted({int(n) for n in rows.loc[rows["molecule"] == molecule, "n_train"]}):
            match = refs[
                (refs["molecule"] == molecule)
                & (refs["setting"] == REFERENCE_SETTING)
                & (refs["n_train"] == n_train)
            ]
            if match.empty or not np.isfinite(match.iloc[0][means].to_numpy(float)).all():
                raise ValueError(
                    f"{ref_source}: no {REFERENCE_SETTING} reference for "
                    f"(molecule, n_train) = ({molecule!r}, {n_train}) with finite {metric} means"
                )
            reference[molecule, n_train] = match.iloc[0]

    ncol = len(molecules)
    fig = Figure(
        figsize=(panel_size[0] * ncol + 0.6, panel_size[1] * 2 + 1.0), layout="constrained"
    )
    axes = fig.subplots(2, ncol, squeeze=False, sharex=True)
    for col, molecule in enumerate(molecules):
        for row_i, (column, ylabel) in enumerate(ROWS.values()):
            ax = axes[row_i, col]
            column = column.format(metric=metric)
            for setting in settings:
                label0, _, style, marker = SETTING_STYLE.get(setting, (setting, None, "-", "^"))
                for k, n_train in enumerate(sizes):
                    pts = rows[
                        (rows["molecule"] == molecule)
                        & (rows["setting"] == setting)
                        & (rows["n_train"] == n_train)
                    ]
                    if pts.empty:
                        continue
                    pts = pts.sort_values("n_pretrain", kind="stable")
                    colour = CURVE_COLOURS[k % len(CURVE_COLOURS)]
                    x = pts["n_pretrain"].to_numpy(float)
                    y = pts[f"{column}_mean"].to_numpy(float)
                    sem = pts[f"{column}_sem"].to_numpy(float)
                    ax.plot(
                        x,
                        y,
                        linestyle=style,
                        marker=marker,
                        markersize=3.5,
                        color=colour,
                        label=f"{label0}, {n_train}",
                    )
                    if np.any(np.isfinite(sem) & (sem > 0)):
                        ax.fill_between(x, *_positive_band(y, sem), color=colour, alpha=0.2, lw=0)
            for k, n_train in enumerate(sizes):
                ref = reference.get((molecule, n_train))
                if ref is None:
                    continue
                colour = REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)]
                value, sem = float(ref[f"{column}_mean"]), float(ref[f"{column}_sem"])
                ax.axhline(value, color=colour, lw=1.2, label=f"from scratch (E+F), {n_train}")
                if np.isfinite(sem) and sem > 0:
                    ax.axhspan(*_positive_band(value, sem), color=colour, alpha=0.1, lw=0)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            label_panel(ax, row_i, col, molecule, ylabel.format(METRIC=metric.upper()))
            size_ticks(
                ax, pretrain_sizes, "Pre-training set size", rotate_above=3, bottom=row_i > 0
            )
    shared_legend(fig, axes, lambda n: min(n, 3 if ncol > 1 else 2), fontsize=8)
    return fig


__all__ = ["plot_pretrain_size"]
