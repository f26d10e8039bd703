"""gmnn: Gaussian-moment neural-network potentials with transfer learning."""

__version__ = "0.1.0"
