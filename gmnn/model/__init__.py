"""The GM-NN model: Gaussian-moment descriptor, atomic network, scale and shift."""

from gmnn.model.descriptor import GaussianMoments, n_features
from gmnn.model.potential import GMNN

__all__ = ["GMNN", "GaussianMoments", "n_features"]
