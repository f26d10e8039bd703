"""The GM-NN model: Gaussian-moment descriptor, atomic network, scale and shift.

Names are imported on first use, so that :class:`ModelConfig` can be read and checked
without loading TensorFlow.
"""

from gmnn._lazy import lazy_names

__getattr__ = lazy_names(
    __name__,
    {
        "gmnn.model.potential": ("GMNN",),
        "gmnn.model.descriptor": ("GaussianMoments", "n_features"),
        "gmnn.model.config": ("ModelConfig",),
    },
)
__all__ = __getattr__.names
