"""gmnn: Gaussian-moment neural-network potentials with transfer learning.

Public API (imported lazily, so that ``gmnn.data`` works without TensorFlow):

- :class:`GMNN` the model; :func:`load_model` / :func:`save_model` model directories
- :func:`fit` train from scratch, :func:`finetune` transfer learning, :class:`TrainConfig`
- :func:`error_metrics` MAE/RMSE in kcal/mol and kcal/mol/Å
- :class:`GMNNCalculator`, :class:`EnsembleCalculator` ASE calculators
"""

__version__ = "0.1.0"

from gmnn._lazy import lazy_names  # noqa: E402

_LAZY = {
    "GMNN": "gmnn.model",
    "load_model": "gmnn.io",
    "save_model": "gmnn.io",
    "fit": "gmnn.train",
    "TrainConfig": "gmnn.train",
    "finetune": "gmnn.transfer",
    "finetune_learning_rates": "gmnn.transfer",
    "error_metrics": "gmnn.analysis",
    "predict": "gmnn.analysis",
    "GMNNCalculator": "gmnn.calculator",
    "EnsembleCalculator": "gmnn.calculator",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_names(__name__, _LAZY)
