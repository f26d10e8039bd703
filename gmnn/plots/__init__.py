"""Plots of the paper's figures, one function per kind of figure, reading tidy tables.

Figures are :class:`matplotlib.figure.Figure` objects (no pyplot state) in the look of
:mod:`gmnn.plots.style`; save them with :func:`save_figure`, which writes every requested
format atomically.
"""

from gmnn.plots.bonds import frequency_table_markdown, plot_bond_analysis
from gmnn.plots.learning_curves import plot_learning_curves
from gmnn.plots.pretrain_size import plot_pretrain_size
from gmnn.plots.spectra import peaks_table_markdown, plot_spectra
from gmnn.plots.style import save_figure

__all__ = [
    "frequency_table_markdown",
    "peaks_table_markdown",
    "plot_bond_analysis",
    "plot_learning_curves",
    "plot_pretrain_size",
    "plot_spectra",
    "save_figure",
]

# The ANI results of Sec. 3.2: Table 1 (Markdown, LaTeX), Figs. 5 and 6.
from gmnn.plots.ani import plot_fig5, plot_fig6, table1_latex, table1_markdown  # noqa: E402

__all__ += ["plot_fig5", "plot_fig6", "table1_latex", "table1_markdown"]

# The deca-alanine MD of Sec. 3.2: Figs. 7 and 8 (RMSD against time) and their numbers.
from gmnn.plots.ala10 import ala10_caption_numbers, plot_ala10_rmsd  # noqa: E402

__all__ += ["ala10_caption_numbers", "plot_ala10_rmsd"]
