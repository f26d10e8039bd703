"""The GM-NN model: Gaussian-moment descriptor, atomic network, scale and shift.

Names are imported on first use, so that :class:`ModelConfig` can be read and checked
without loading TensorFlow.
"""

from importlib import import_module

_NAMES = {
    "GMNN": "gmnn.model.potential",
    "GaussianMoments": "gmnn.model.descriptor",
    "n_features": "gmnn.model.descriptor",
    "ModelConfig": "gmnn.model.config",
}

__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'gmnn.model' has no attribute {name!r}")
