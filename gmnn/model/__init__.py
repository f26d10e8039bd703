"""The GM-NN model: Gaussian-moment descriptor, atomic network, scale and shift.

Names are imported on first use, so that :class:`ModelConfig` can be read and checked
without loading TensorFlow.
"""

from gmnn._lazy import lazy_names

_NAMES = {
    "GMNN": "gmnn.model.potential",
    "GaussianMoments": "gmnn.model.descriptor",
    "n_features": "gmnn.model.descriptor",
    "ModelConfig": "gmnn.model.config",
}

__all__ = list(_NAMES)


__getattr__ = lazy_names(__name__, _NAMES)
