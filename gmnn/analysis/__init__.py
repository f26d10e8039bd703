"""Analysis: prediction errors and, later, spectra, bond scans and RMSD."""

from gmnn.analysis.metrics import error_metrics, predict

__all__ = ["error_metrics", "predict"]
