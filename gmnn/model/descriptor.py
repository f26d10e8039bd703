"""Gaussian-moment descriptor (Zaverkin & Kästner, JCTC 2020; Zaverkin et al., JCTC 2021).

For every directed pair (i, j) with distance r and unit vector u = r_ij / r:

* Gaussian primitives   φ_k(r) = (2w/π)^(1/4) exp(-w (r - s_k)^2),
  centres s_k = r_min + k (r_c - r_min)/K, k = 0..K-1, shared width w = K^2 / r_c^2;
* radial functions      R_n(r) = f_c(r) K^(-1/2) Σ_k β[Z_i, Z_j, n, k] φ_k(r),
  with trainable species-pair coefficients β (first index: central atom) and the
  cosine cutoff f_c(r) = (cos(π r / r_c) + 1)/2 for r < r_c, else 0;
* Cartesian moments     Ψ^L_{i,n} = Σ_j R_n(r_ij) u^{⊗L},  L = 0..3;
* invariants: full contractions of the moments in eight families, with index
  duplicates removed (N_r radial functions give
  N_r + 3 N_r(N_r+1)/2 + C(N_r+2, 3) + 2 N_r^2 (N_r+1)/2 + N_r^3 features: 360 for N_r = 5).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import tensorflow as tf


def n_features(n_radial: int) -> int:
    """Number of Gaussian-moment invariants for ``n_radial`` radial functions."""
    n = n_radial
    return n + 3 * n * (n + 1) // 2 + n * (n + 1) * (n + 2) // 6 + n * n * (n + 1) + n**3


def _pair_indices(n: int) -> np.ndarray:
    """Flat indices (into an n×n array) of the pairs r <= s, row by row."""
    return np.array([r * n + s for r in range(n) for s in range(r, n)], dtype=np.int32)


def _multiset_indices(n: int) -> np.ndarray:
    """Flat indices (into n×n×n) of each multiset {r, s, t} once (family 4)."""
    seen, out = set(), []
    for r, s, t in itertools.product(range(n), repeat=3):
        key = tuple(sorted((r, s, t)))
        if key not in seen:
            seen.add(key)
            out.append(key[0] * n * n + key[1] * n + key[2])
    return np.array(out, dtype=np.int32)


def _pair_times_all_indices(n: int) -> np.ndarray:
    """Flat indices (into n×n×n) of (r <= s) × t, with t the fast index (families 5, 6)."""
    return np.array(
        [r * n * n + s * n + t for r in range(n) for s in range(r, n) for t in range(n)],
        dtype=np.int32,
    )


class GaussianMoments(tf.Module):
    """Trainable Gaussian-moment descriptor with species-pair radial coefficients."""

    def __init__(
        self,
        n_species: int,
        cutoff: float,
        n_basis: int = 7,
        n_radial: int = 5,
        r_min: float = 0.5,
        dtype=tf.float32,
        seed: int = 0,
        name: str = "descriptor",
    ):
        super().__init__(name=name)
        self.n_species, self.cutoff = int(n_species), float(cutoff)
        self.n_basis, self.n_radial, self.r_min = int(n_basis), int(n_radial), float(r_min)
        self.dtype = tf.as_dtype(dtype)
        k = np.arange(self.n_basis)
        self._centres = tf.constant(
            self.r_min + (self.cutoff - self.r_min) / self.n_basis * k, dtype=self.dtype
        )
        self._width = self.n_basis**2 / self.cutoff**2
        self._norm = (2.0 * self._width / math.pi) ** 0.25 / math.sqrt(self.n_basis)
        rng = np.random.default_rng(seed)
        init = rng.uniform(-1.0, 1.0, (n_species * n_species, n_radial, n_basis))
        self.beta = tf.Variable(init.astype(self.dtype.as_numpy_dtype), name="beta")
        self._i2 = tf.constant(_pair_indices(n_radial))
        self._i3sym = tf.constant(_multiset_indices(n_radial))
        self._i3pair = tf.constant(_pair_times_all_indices(n_radial))
        self.n_features = n_features(n_radial)

    def radial(self, r, species_i, species_j):
        """R_n(r) for every pair: (P, n_radial)."""
        phi = tf.exp(-self._width * tf.square(r[:, None] - self._centres[None, :]))
        fc = 0.5 * (tf.cos(math.pi * r / self.cutoff) + 1.0)
        fc = tf.where(r < self.cutoff, fc, tf.zeros_like(fc))
        coeff = tf.gather(self.beta, species_i * self.n_species + species_j)
        return tf.einsum("pnk,pk->pn", coeff, phi) * (fc * self._norm)[:, None]

    def __call__(self, r_ij, pair_i, species_i, species_j, n_atoms):
        """Invariants (A, n_features) from pair vectors ``r_ij`` (P, 3)."""
        r = tf.sqrt(tf.reduce_sum(tf.square(r_ij), axis=-1))
        u = r_ij / r[:, None]
        radial = self.radial(r, species_i, species_j)
        uu = u[:, :, None] * u[:, None, :]
        uuu = uu[:, :, :, None] * u[:, None, None, :]
        angular = tf.concat(
            [tf.ones_like(r)[:, None], u, tf.reshape(uu, (-1, 9)), tf.reshape(uuu, (-1, 27))],
            axis=1,
        )  # (P, 40)
        moments = tf.math.unsorted_segment_sum(
            radial[:, :, None] * angular[:, None, :], pair_i, n_atoms
        )  # (A, n_radial, 40)
        nr = self.n_radial
        m0 = moments[:, :, 0]
        m1 = moments[:, :, 1:4]
        m2 = tf.reshape(moments[:, :, 4:13], (-1, nr, 3, 3))
        m3 = tf.reshape(moments[:, :, 13:40], (-1, nr, 3, 3, 3))

        def take(x, idx, size):
            return tf.gather(tf.reshape(x, (-1, size)), idx, axis=1)

        c1 = take(tf.einsum("ira,isa->irs", m1, m1), self._i2, nr * nr)
        c2 = take(tf.einsum("irab,isab->irs", m2, m2), self._i2, nr * nr)
        c3 = take(tf.einsum("irabc,isabc->irs", m3, m3), self._i2, nr * nr)
        m22 = tf.einsum("irab,isac->irsbc", m2, m2)
        c4 = take(tf.einsum("irsbc,itbc->irst", m22, m2), self._i3sym, nr**3)
        m11 = tf.einsum("ira,isb->irsab", m1, m1)
        c5 = take(tf.einsum("irsab,itab->irst", m11, m2), self._i3pair, nr**3)
        m33 = tf.einsum("irabc,isabd->irscd", m3, m3)
        c6 = take(tf.einsum("irscd,itcd->irst", m33, m2), self._i3pair, nr**3)
        m32 = tf.einsum("irabc,isab->irsc", m3, m2)
        c7 = tf.reshape(tf.einsum("irsc,itc->irst", m32, m1), (-1, nr**3))
        return tf.concat([m0, c1, c2, c3, c4, c5, c6, c7], axis=1)
