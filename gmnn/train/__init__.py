"""Training GM-NN models (paper, Section 2.1).

Names are imported on first use, so that the settings (:class:`TrainConfig`) can be read
and checked without loading TensorFlow (the pipeline does so at start-up).
"""

from importlib import import_module

_NAMES = {
    "fit": "gmnn.train.api",
    "TrainConfig": "gmnn.train.config",
    "Trainer": "gmnn.train.trainer",
    "TrainingInterrupted": "gmnn.train.trainer",
    "GroupAdam": "gmnn.train.trainer",
}

__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'gmnn.train' has no attribute {name!r}")
