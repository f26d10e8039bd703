"""Training GM-NN models (paper, Section 2.1).

Names are imported on first use, so that the settings (:class:`TrainConfig`) can be read
and checked without loading TensorFlow (the pipeline does so at start-up).
"""

from gmnn._lazy import lazy_names

_NAMES = {
    "fit": "gmnn.train.api",
    "TrainConfig": "gmnn.train.config",
    "Trainer": "gmnn.train.trainer",
    "TrainingInterrupted": "gmnn.train.trainer",
    "GroupAdam": "gmnn.train.trainer",
}

__all__ = list(_NAMES)


__getattr__ = lazy_names(__name__, _NAMES)
