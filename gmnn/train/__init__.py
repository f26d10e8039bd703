"""Training GM-NN models (paper, Section 2.1)."""

from gmnn.train.api import fit
from gmnn.train.config import DEFAULT_LEARNING_RATES, TrainConfig
from gmnn.train.trainer import GroupAdam, Trainer, TrainingInterrupted

__all__ = [
    "fit",
    "TrainConfig",
    "DEFAULT_LEARNING_RATES",
    "Trainer",
    "TrainingInterrupted",
    "GroupAdam",
]
