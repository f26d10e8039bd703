"""Plots of the paper's figures, one function per kind of figure, reading tidy tables.

Figures are :class:`matplotlib.figure.Figure` objects (no pyplot state); save them with
:func:`save_figure`, which writes every requested format atomically.
"""

from gmnn.plots.learning_curves import plot_learning_curves, save_figure

__all__ = ["plot_learning_curves", "save_figure"]
