"""Learning curves of Fig. 2: test RMSE against training-set size, per molecule and setting.

Reads the tidy tables :data:`gmnn.analysis.aggregate.LEARNING_CURVES` and
:data:`~gmnn.analysis.aggregate.DFT_REFERENCE` (DataFrames, or CSV paths). The look
(colours, sizes, the two-row panel grid) is :mod:`gmnn.plots.style`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from gmnn.analysis.aggregate import DFT_REFERENCE, LEARNING_CURVES
from gmnn.plots.style import (
    DFT_PRETRAINED_COLOUR,
    SETTING_STYLE,
    data_line,
    finish_quantity_panel,
    ordered,
    quantity_grid,
    reference_line,
    setting_style,
    shared_legend,
)

# Column order of Fig. 2 (the paper's order of the MD17 molecules); others follow, sorted.
MOLECULE_ORDER = ("ethanol", "malonaldehyde", "benzene", "toluene", "aspirin")

REFERENCE_LABEL = "pre-trained on DFT only"


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
    molecules = list(molecules) if molecules else ordered(rows["molecule"], MOLECULE_ORDER)
    settings = list(settings) if settings else ordered(rows["setting"], SETTING_STYLE)
    sizes = sorted({int(n) for n in rows["n_train"]})

    fig, axes, panels = quantity_grid(molecules, metric, panel_size, extra_height=0.9)
    for panel in panels:
        ax, column = panel.ax, panel.column
        for setting in settings:
            pts = rows[(rows["molecule"] == panel.molecule) & (rows["setting"] == setting)]
            if pts.empty:
                continue
            pts = pts.sort_values("n_train", kind="stable")
            label, colour, style, marker = setting_style(setting)
            x = pts["n_train"].to_numpy(float)
            y = pts[f"{column}_mean"].to_numpy(float)
            sem = pts[f"{column}_sem"].to_numpy(float)
            line = data_line(ax, x, y, label=label, colour=colour, linestyle=style, marker=marker)
            if np.any(np.isfinite(sem)):
                lower = np.where(np.isfinite(sem), y - sem, y)
                upper = np.where(np.isfinite(sem), y + sem, y)
                ax.fill_between(x, lower, upper, color=line.get_color(), alpha=0.25, lw=0)
        for value in refs.loc[refs["molecule"] == panel.molecule, f"{column}_mean"].astype(float):
            reference_line(ax, value, colour=DFT_PRETRAINED_COLOUR, label=REFERENCE_LABEL)
        finish_quantity_panel(panel, sizes, "Training set size", rotate_above=4)
    ncol = len(molecules)
    shared_legend(fig, axes, lambda n: min(n, {1: 1, 2: 2, 3: 3}.get(ncol, 5)))
    return fig


__all__ = ["plot_learning_curves"]
