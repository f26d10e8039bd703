"""Analysis: prediction errors, aggregation over seeds, and (later) spectra, bond scans, RMSD.

Imports are lazy so that table-only work (aggregation, figures) does not load TensorFlow.
"""

_LAZY = {"error_metrics": "gmnn.analysis.metrics", "predict": "gmnn.analysis.metrics"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gmnn.analysis' has no attribute {name!r}")
