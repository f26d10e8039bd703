"""Fig. 3: test RMSE of fine-tuned models against the pre-training set size.

Reads two tidy tables of :mod:`gmnn.analysis.aggregate` (DataFrames, or CSV paths):

- ``table``: :data:`~gmnn.analysis.aggregate.PRETRAIN_SIZE` (setting finetune_E |
  finetune_EF, n_train = fine-tuning set size, n_pretrain = pre-training set size);
- ``fig2_curves``: :data:`~gmnn.analysis.aggregate.LEARNING_CURVES` of Fig. 2, whose
  ``scratch_EF`` rows at the fine-tuning sizes are the from-scratch reference lines.

The look (colours, sizes, the two-row panel grid) is :mod:`gmnn.plots.style`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from gmnn.analysis.aggregate import LEARNING_CURVES, PRETRAIN_SIZE
from gmnn.plots.style import (
    ROWS,
    SETTING_STYLE,
    SIZE_COLOURS,
    SIZE_REFERENCE_COLOURS,
    data_line,
    finish_quantity_panel,
    ordered,
    quantity_grid,
    reference_line,
    sem_band,
    setting_style,
    shared_legend,
)

# Columns of Fig. 3 (the paper: aspirin and malonaldehyde); others follow, sorted.
MOLECULE_ORDER = ("aspirin", "malonaldehyde")
REFERENCE_SETTING = "scratch_EF"


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
    present = ordered(rows["molecule"], MOLECULE_ORDER)
    molecules = list(molecules) if molecules else present
    absent = [m for m in molecules if m not in present]
    if absent:
        raise ValueError(f"{source}: no rows for molecule(s) {absent}")
    settings = list(settings) if settings else ordered(rows["setting"], SETTING_STYLE)
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

    fig, axes, panels = quantity_grid(molecules, metric, panel_size, extra_height=1.0)
    for panel in panels:
        ax, column = panel.ax, panel.column
        for setting in settings:
            label0, _, style, marker = setting_style(setting)
            for k, n_train in enumerate(sizes):
                pts = rows[
                    (rows["molecule"] == panel.molecule)
                    & (rows["setting"] == setting)
                    & (rows["n_train"] == n_train)
                ]
                if pts.empty:
                    continue
                pts = pts.sort_values("n_pretrain", kind="stable")
                colour = SIZE_COLOURS[k % len(SIZE_COLOURS)]
                x = pts["n_pretrain"].to_numpy(float)
                y = pts[f"{column}_mean"].to_numpy(float)
                label = f"{label0}, {n_train}"
                data_line(ax, x, y, label=label, colour=colour, linestyle=style, marker=marker)
                sem_band(ax, x, y, pts[f"{column}_sem"].to_numpy(float), colour, alpha=0.2)
        for k, n_train in enumerate(sizes):
            ref = reference.get((panel.molecule, n_train))
            if ref is None:
                continue
            reference_line(
                ax,
                float(ref[f"{column}_mean"]),
                float(ref[f"{column}_sem"]),
                colour=SIZE_REFERENCE_COLOURS[k % len(SIZE_REFERENCE_COLOURS)],
                label=f"from scratch (E+F), {n_train}",
            )
        finish_quantity_panel(panel, pretrain_sizes, "Pre-training set size", 3, base=2)
    shared_legend(fig, axes, lambda n: min(n, 3 if len(molecules) > 1 else 2), fontsize=8)
    return fig


__all__ = ["plot_pretrain_size"]
