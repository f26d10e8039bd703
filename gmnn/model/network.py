"""The atomic network of GM-NN: NTK-parameterised dense layers and the scaled SiLU.

    h' = W h / sqrt(d_in) + 0.1 b,   W ~ N(0, 1), b = 0 at initialisation,
    φ(x) = 1.6765 · x · sigmoid(x)   (variance preserving: E[φ(z)^2] ≈ 1 for z ~ N(0, 1))

Used by the model (:mod:`gmnn.model.potential`) and by the compiled inference
(:mod:`gmnn.model.inference`, which folds the constant factors into the weights).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

ACTIVATION_SCALE = 1.6765324703310907  # E[φ(z)^2] ≈ 1 for z ~ N(0, 1)
BIAS_FACTOR = 0.1


class NTKDense(tf.Module):
    """Dense layer in neural-tangent parameterisation."""

    def __init__(self, d_in: int, d_out: int, rng, dtype, name: str):
        super().__init__(name=name)
        self.w = tf.Variable(rng.standard_normal((d_in, d_out)).astype(dtype), name="w")
        self.b = tf.Variable(np.zeros(d_out, dtype=dtype), name="b")
        self.w_factor = 1.0 / math.sqrt(d_in)

    def __call__(self, x, input_scale: float = 1.0):
        """W x / sqrt(d_in) + 0.1 b, for inputs given as ``input_scale`` · x.

        The constant factors multiply the (small) weight matrix instead of the
        (atoms × width) activations.
        """
        return tf.matmul(x, self.w * (self.w_factor * input_scale)) + BIAS_FACTOR * self.b


def activation(x):
    """The scaled SiLU φ(x) = 1.6765 · x · sigmoid(x)."""
    return ACTIVATION_SCALE * x * tf.sigmoid(x)


def silu(x):
    """x · sigmoid(x): :func:`activation` without its constant scale."""
    return x * tf.sigmoid(x)
