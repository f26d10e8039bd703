"""Training GM-NN models (paper, Section 2.1)."""

from gmnn.train.api import fit
from gmnn.train.config import TrainConfig
from gmnn.train.trainer import GroupAdam, Trainer, TrainingInterrupted

__all__ = [
    "fit",
    "TrainConfig",
    "Trainer",
    "TrainingInterrupted",
    "GroupAdam",
]
