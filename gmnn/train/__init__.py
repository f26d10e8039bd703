"""Training GM-NN models (paper, Section 2.1).

Names are imported on first use, so that the settings (:class:`TrainConfig`) can be read
and checked without loading TensorFlow (the pipeline does so at start-up).
"""

from gmnn._lazy import lazy_names

__getattr__ = lazy_names(
    __name__,
    {
        "gmnn.train.api": ("fit",),
        "gmnn.train.config": ("TrainConfig",),
        "gmnn.train.trainer": ("Trainer", "TrainingInterrupted", "GroupAdam"),
    },
)
__all__ = __getattr__.names
