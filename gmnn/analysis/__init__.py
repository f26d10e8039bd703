"""Analysis: prediction errors, aggregation over seeds, power spectra, bond scans.

Each tidy table is a :class:`gmnn.analysis.tables.Table` defined next to the code that
makes it: :mod:`gmnn.analysis.aggregate` (Figs. 2, 3), :mod:`gmnn.analysis.md` (MD runs,
spectra, peaks), :mod:`gmnn.analysis.bonds` (histograms, scans, harmonic frequencies).

Imports are lazy so that table-only work (aggregation, figures) does not load TensorFlow.
"""

_LAZY = {"error_metrics": "gmnn.analysis.metrics", "predict": "gmnn.analysis.metrics"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gmnn.analysis' has no attribute {name!r}")


# The ANI analysis of Sec. 3.2 (COMP6 Table 1, Figs. 5 and 6): gmnn.analysis.ani.
_LAZY.update(
    dict.fromkeys(
        ("comp6_errors", "offset_corrected_errors", "table1", "fig5_table", "fig6_table"),
        "gmnn.analysis.ani",
    )
)
__all__ = sorted(_LAZY)
