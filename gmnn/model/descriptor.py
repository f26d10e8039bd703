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

The maths is written once, here, as public pieces of :class:`GaussianMoments` that the
model (:class:`gmnn.model.potential.GMNN`) and the compiled inference
(:class:`gmnn.model.inference.Predictor`, another pair layout) both use:
:meth:`~GaussianMoments.primitives` (φ_k without its constant), :attr:`~GaussianMoments.norm`,
:meth:`~GaussianMoments.cutoff_function`, :meth:`~GaussianMoments.radial`,
:meth:`~GaussianMoments.angular` (the monomials of u) and
:meth:`~GaussianMoments.invariants` (from the moments).

Implementation notes (performance):

* The moments are accumulated in symmetric storage: the 1 + 3 + 6 + 10 = 20 distinct
  monomials of u up to degree 3 instead of the 1 + 3 + 9 + 27 = 40 Cartesian components,
  which halves the per-pair work; the full tensors are recovered per atom (cheap).
* The per-pair outer product R_n(r) · u^{⊗L} and its scatter onto the centre atom are one
  operation with hand-written derivatives (:func:`pair_moments`) whose derivatives are
  again such operations, to any order.  Training differentiates the forces, i.e. takes
  second derivatives of the descriptor; autodiff of the plain TensorFlow ops would
  materialise and reduce several (pairs × N_r × 40) broadcast tensors per pass.
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


def _multiset_indices(n: int) -> np.ndarray:
    """Flat indices (into n×n×n) of each multiset {r, s, t} once (family 4)."""
    seen, out = set(), []
    for r, s, t in itertools.product(range(n), repeat=3):
        key = tuple(sorted((r, s, t)))
        if key not in seen:
            seen.add(key)
            out.append(key[0] * n * n + key[1] * n + key[2])
    return np.array(out, dtype=np.int32)


# Monomials of u = (x, y, z) up to degree 3, each once (sorted index tuples), and the
# Cartesian components (all index tuples, row-major per degree) they stand for.
_MONOMIALS = [m for L in range(4) for m in itertools.combinations_with_replacement(range(3), L)]
# Cartesian components ordered so that the moments reshape into the matrices used by
# GaussianMoments.invariants: rank 2 as (b, a), rank 3 as (c, (a, b)).
_CARTESIAN = (
    [()]
    + [(a,) for a in range(3)]
    + [(a, b) for b in range(3) for a in range(3)]
    + [(a, b, c) for c in range(3) for a in range(3) for b in range(3)]
)
N_MONOMIALS = len(_MONOMIALS)  # 20
N_CARTESIAN = len(_CARTESIAN)  # 40


def _monomial_factor_matrices() -> np.ndarray:
    """(3, 4, 20) 0/1 matrices S_f with monomial_m = Π_f (v @ S_f)_m for v = (1, x, y, z)."""
    out = np.zeros((3, 4, N_MONOMIALS))
    for m, idx in enumerate(_MONOMIALS):
        padded = [0] * (3 - len(idx)) + [a + 1 for a in idx]
        for f, a in enumerate(padded):
            out[f, a, m] = 1.0
    return out


def _expansion_matrix() -> np.ndarray:
    """(20, 40) 0/1 matrix copying each monomial moment into its Cartesian components."""
    where = {m: k for k, m in enumerate(_MONOMIALS)}
    out = np.zeros((N_MONOMIALS, N_CARTESIAN))
    for c, idx in enumerate(_CARTESIAN):
        out[where[tuple(sorted(idx))], c] = 1.0
    return out


def _contraction_index(n: int) -> np.ndarray:
    """Positions of families 1..6 (in order) in the flattened array G (3, n, n, n + 1) of
    GaussianMoments.invariants, where G[L, r, s, t] is family 5, 4, 6 (L = 0, 1, 2) for
    t < n and family 1, 2, 3 for t = n."""

    def g(block, r, s, t):
        return block * n * n * (n + 1) + (r * n + s) * (n + 1) + t

    pairs = [(r, s) for r in range(n) for s in range(r, n)]
    sel = []
    for block in range(3):
        sel += [g(block, r, s, n) for r, s in pairs]
    sel += [g(1, k // (n * n), (k // n) % n, k % n) for k in _multiset_indices(n)]
    sel += [g(0, r, s, t) for r, s in pairs for t in range(n)]
    sel += [g(2, r, s, t) for r, s in pairs for t in range(n)]
    return np.array(sel, dtype=np.int32)


# --------------------------------------------------------------------------- layouts
# Pairs arrive as a flat list (P,) with their centre atom ``pair_i``.  The moments are
# per-atom matrix products over the neighbours, so the pair arrays are moved into a dense
# (A, K) neighbour layout (K = the largest neighbour count, unused slots padded): slot
# ``q_p = i_p K + rank of p among the pairs of i_p`` holds pair p, ``dense_pair[s]`` is
# the pair in slot s (P for a padding slot).  Both moves are gathers, and each is the
# other's derivative (custom gradients), so no scatter appears in any derivative.


def dense_layout(pair_i, n_atoms):
    """(K, q, dense_pair) for pairs with centre atoms ``pair_i`` (see above)."""
    n_pairs = tf.shape(pair_i)[0]
    counts = tf.math.bincount(pair_i, minlength=n_atoms, maxlength=n_atoms, dtype=tf.int32)
    k = tf.maximum(tf.reduce_max(counts), 1)
    first = tf.cumsum(counts, exclusive=True)
    is_sorted = tf.reduce_all(pair_i[1:] >= pair_i[:-1])
    rank = tf.cond(
        is_sorted,
        lambda: tf.range(n_pairs),
        lambda: tf.math.invert_permutation(tf.argsort(pair_i, stable=True)),
    )
    q = pair_i * k + rank - tf.gather(first, pair_i)
    dense_pair = tf.tensor_scatter_nd_update(
        tf.fill([n_atoms * k], n_pairs), q[:, None], tf.range(n_pairs)
    )
    return k, q, dense_pair


@tf.custom_gradient
def _to_dense(x, q, dense_pair):
    """Rows of ``x`` (P, c) in the dense slots (A*K, c); padding slots are 0."""
    out = tf.gather(tf.pad(x, [[0, 1], [0, 0]]), dense_pair)

    def grad(dy):
        return _to_pairs(dy, q, dense_pair), None, None

    return out, grad


@tf.custom_gradient
def _to_pairs(y, q, dense_pair):
    """Rows of the dense slots ``y`` (A*K, c) in pair order (P, c)."""
    out = tf.gather(y, q)

    def grad(dx):
        return _to_dense(dx, q, dense_pair), None, None

    return out, grad


def pair_moments(radial, angular, pair_i, n_atoms):
    """Σ_{p: pair_i[p] = i} radial_p ⊗ angular_p for every atom i: (A, n, c)."""
    pair_i = tf.convert_to_tensor(pair_i, tf.int32)
    n_atoms = tf.convert_to_tensor(n_atoms, tf.int32)
    k, q, dense_pair = dense_layout(pair_i, n_atoms)
    rad = tf.reshape(_to_dense(radial, q, dense_pair), (n_atoms, k, radial.shape[-1]))
    ang = tf.reshape(_to_dense(angular, q, dense_pair), (n_atoms, k, angular.shape[-1]))
    return tf.matmul(rad, ang, transpose_a=True)


class GaussianMoments(tf.Module):
    """Trainable Gaussian-moment descriptor with species-pair radial coefficients."""

    def __init__(
        self,
        n_species: int,
        cutoff: float,
        n_basis: int,
        n_radial: int,
        r_min: float,
        dtype=tf.float32,
        seed: int = 0,
        name: str = "descriptor",
    ):
        super().__init__(name=name)
        self.n_species, self.cutoff = int(n_species), float(cutoff)
        self.n_basis, self.n_radial, self.r_min = int(n_basis), int(n_radial), float(r_min)
        self.dtype = tf.as_dtype(dtype)
        k = np.arange(self.n_basis)
        #: centres s_k = r_min + k (r_c - r_min)/K of the Gaussian primitives (K,)
        self.centres = tf.constant(
            self.r_min + (self.cutoff - self.r_min) / self.n_basis * k, dtype=self.dtype
        )
        #: shared width w = K^2 / r_c^2 of the Gaussian primitives (1/Å²)
        self.width = self.n_basis**2 / self.cutoff**2
        #: constant factor (2w/π)^(1/4) K^(-1/2) of the radial functions R_n
        self.norm = (2.0 * self.width / math.pi) ** 0.25 / math.sqrt(self.n_basis)
        rng = np.random.default_rng(seed)
        init = rng.uniform(-1.0, 1.0, (n_species * n_species, n_radial, n_basis))
        self.beta = tf.Variable(init.astype(self.dtype.as_numpy_dtype), name="beta")
        self._factors = tf.constant(_monomial_factor_matrices(), dtype=self.dtype)
        self._expand = tf.constant(_expansion_matrix(), dtype=self.dtype)
        identity = np.zeros((9, n_radial + 1))
        identity[[0, 4, 8], n_radial] = 1.0
        self._identity = tf.constant(identity, dtype=self.dtype)
        self._select = tf.constant(_contraction_index(n_radial))
        self.n_features = n_features(n_radial)

    def primitives(self, r):
        """Gaussian primitives exp(-w (r - s_k)^2) for distances ``r`` of any shape:
        (..., n_basis).  Without the constant :attr:`norm`, which the radial functions
        apply."""
        return tf.exp(-self.width * tf.square(r[..., None] - self.centres))

    def cutoff_function(self, r):
        """Cosine cutoff f_c(r) = (cos(π r / r_c) + 1)/2 for r < r_c, else 0 (the shape
        of ``r``)."""
        # via min(r, r_c) = r_c - relu(r_c - r): exactly 0 (and flat) beyond r_c
        r_cut = self.cutoff - tf.nn.relu(self.cutoff - r)
        return 0.5 * (tf.cos((math.pi / self.cutoff) * r_cut) + 1.0)

    def radial(self, r, species_i, species_j):
        """R_n(r) for every pair: (P, n_radial)."""
        nr, n_sp = self.n_radial, self.n_species
        phi = self.primitives(r)
        fc = self.cutoff_function(r)
        # all species pairs at once (one matmul), then each pair's own block
        beta = tf.reshape(tf.transpose(self.beta, (2, 0, 1)), (self.n_basis, n_sp * n_sp * nr))
        every = tf.reshape(tf.matmul(phi, beta), (-1, n_sp * n_sp, nr))
        pair = tf.one_hot(species_i * n_sp + species_j, n_sp * n_sp, dtype=self.dtype)
        return tf.reduce_sum(every * pair[:, :, None], axis=1) * (fc * self.norm)[:, None]

    def angular(self, u):
        """The 20 monomials 1, u_a, u_a u_b (a<=b), u_a u_b u_c (a<=b<=c) of the unit
        vectors ``u`` (P, 3): (P, 20), in the order of the moments' monomial storage."""
        v = tf.concat([tf.ones_like(u[:, :1]), u], axis=1)  # (P, 4)
        f = self._factors
        return tf.matmul(v, f[0]) * tf.matmul(v, f[1]) * tf.matmul(v, f[2])

    def __call__(self, r_ij, pair_i, species_i, species_j, n_atoms):
        """Invariants (A, n_features) from pair vectors ``r_ij`` (P, 3)."""
        r_ij = tf.convert_to_tensor(r_ij, self.dtype)
        with tf.name_scope("pairs"):
            r = tf.sqrt(tf.reduce_sum(tf.square(r_ij), axis=-1))
            u = r_ij / r[:, None]
            radial = self.radial(r, species_i, species_j)
            angular = self.angular(u)
        with tf.name_scope("moments"):
            sym = pair_moments(radial, angular, pair_i, n_atoms)  # (A, nr, 20)
        with tf.name_scope("invariants"):
            return self.invariants(sym)

    def invariants(self, sym):
        """The n_features invariants from moments in monomial storage (A, nr, 20).

        With the Cartesian components ordered as in :func:`_expansion_matrix`, the rank-1,
        -2, -3 moments reshape without copies into X_L (A, nr·3, 3^(L-1)) with rows (n, c)
        and columns the remaining indices.  The Gram matrices K_L = X_L X_Lᵀ, rearranged to
        rows (n, n') and columns (c, d), contracted with [Ψ²_{n''} | δ] give families
        5, 4, 6 (and with δ the traces 1, 2, 3); family 7 is two more products.
        """
        nr = self.n_radial
        full = tf.reshape(
            tf.matmul(tf.reshape(sym, (-1, N_MONOMIALS)), self._expand), (-1, nr, N_CARTESIAN)
        )
        m0, m1, m2, m3 = tf.split(full, [1, 3, 9, 27], axis=2)
        x1 = tf.reshape(m1, (-1, 3 * nr, 1))
        x2 = tf.reshape(m2, (-1, 3 * nr, 3))
        x3 = tf.reshape(m3, (-1, 3 * nr, 9))
        gram = tf.stack(
            [
                tf.matmul(x1, x1, transpose_b=True),
                tf.matmul(x2, x2, transpose_b=True),
                tf.matmul(x3, x3, transpose_b=True),
            ],
            axis=1,
        )  # (A, 3, (n, c), (n', d))
        gram = tf.transpose(tf.reshape(gram, (-1, 3, nr, 3, nr, 3)), (0, 1, 2, 4, 3, 5))
        gram = tf.reshape(gram, (-1, 3 * nr * nr, 9))
        m2t = tf.transpose(m2, (0, 2, 1))  # (A, (c, d), n'')
        contract = tf.concat([m2t, tf.zeros_like(m2t[:, :, :1])], axis=2) + self._identity
        c456 = tf.matmul(gram, contract)  # (A, 3 nr nr, nr + 1)
        m32 = tf.reshape(tf.matmul(x3, m2t), (-1, nr, 3, nr))  # (A, n, c, n')
        m32 = tf.reshape(tf.transpose(m32, (0, 1, 3, 2)), (-1, nr * nr, 3))
        c7 = tf.matmul(m32, m1, transpose_b=True)  # (A, (n, n'), n'')
        c123456 = tf.gather(tf.reshape(c456, (-1, 3 * nr * nr * (nr + 1))), self._select, axis=1)
        return tf.concat([m0[:, :, 0], c123456, tf.reshape(c7, (-1, nr**3))], axis=1)
