"""gmnn: Gaussian-moment neural-network potentials with transfer learning.

Public API (imported lazily, so that ``gmnn.data`` works without TensorFlow):

- :class:`GMNN` the model; :func:`load_model` / :func:`save_model` model directories
- :func:`fit` train from scratch, :func:`finetune` transfer learning, :class:`TrainConfig`
- :func:`error_metrics` MAE/RMSE in kcal/mol and kcal/mol/Å
- :class:`GMNNCalculator`, :class:`EnsembleCalculator` ASE calculators
"""

__version__ = "0.1.0"

from gmnn._lazy import (  # noqa: E402
    lazy_names,
    skip_keras_at_tensorflow_import,
    use_persistent_xla_cache,
)

skip_keras_at_tensorflow_import()
use_persistent_xla_cache()

__getattr__ = lazy_names(
    __name__,
    {
        "gmnn.model": ("GMNN",),
        "gmnn.io": ("load_model", "save_model"),
        "gmnn.train": ("fit", "TrainConfig"),
        "gmnn.transfer": ("finetune", "finetune_learning_rates"),
        "gmnn.analysis": ("error_metrics", "predict"),
        "gmnn.calculator": ("GMNNCalculator", "EnsembleCalculator"),
    },
)
__all__ = __getattr__.names
