"""Compiled inference for one GM-NN model or an ensemble evaluated as one computation.

:class:`Predictor` evaluates the energies, forces and strain derivatives of K models
(K = 1 for a single model) that share the cutoff, species and architecture, in one call:

* **one neighbour list** for all members, in a dense neighbour layout (A, N): slot
  ``(i, n)`` holds the n-th neighbour of atom i, unused slots are masked;
* **one batched computation**: every member's radial coefficients β, network weights,
  scale and shift are stacked along a leading member axis (K, ...); the pair geometry
  (distances, Gaussian primitives, angular monomials) is computed once, the species-pair
  radial functions and the moments of all members are two per-atom batched matrix
  products, the invariants and the networks run on (K, A, ·) arrays;
* **compiled for fixed shapes**: with ``jit=True`` the function is compiled by XLA for the
  padded shape (atoms, neighbour slots: 1.25 times the largest neighbour count rounded
  up to a multiple of ``NEIGHBOUR_BUCKET``, kept while the counts fit,
  :meth:`Predictor.neighbour_width`); in molecular dynamics the shape changes only when
  the largest neighbour count outgrows that headroom, so one or two compilations serve
  a whole trajectory.  ``jit=False`` runs the
  same function as a TensorFlow graph with dynamic shapes (evaluation of data sets with
  many different sizes);
* **frozen weights**: the parameters are copied (as constants, with the NTK factors and the
  activation's constant scale folded into the weight matrices) when the predictor is
  built; a predictor never sees later changes of the models' variables.

The per-member forces come from one backward pass: every member reads its own copy of
the pair vectors, so ∂(Σ_k E_k)/∂r_ij^(k) = ∂E_k/∂r_ij.  Forces and dE/dε follow from
the pair-vector gradient g_ij: F_i = Σ_j g_ij - Σ_{(a, n): neighbour a→i} g_an and
dE/dε = sym(Σ_pairs r_ij ⊗ g_ij) (the strain derivative of :meth:`GMNN.energy_and_forces`).

The descriptor's pieces (Gaussian primitives and their constant, cutoff function,
angular monomials, invariants) are those of :class:`gmnn.model.descriptor.GaussianMoments`,
called on the dense layout; the network is that of :mod:`gmnn.model.network` with its
constants folded (tested against :class:`gmnn.model.potential.GMNN` and against a
committed reference of an earlier implementation).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from gmnn._lazy import reset_xla_cache
from gmnn.model.descriptor import N_MONOMIALS
from gmnn.model.network import ACTIVATION_SCALE, BIAS_FACTOR, silu

# Neighbour slots per atom are rounded up to a multiple of this (fewer recompilations).
NEIGHBOUR_BUCKET = 8
# An XLA-compiled predictor lays out this many times the largest neighbour count (rounded
# up to NEIGHBOUR_BUCKET) and keeps that width until a count exceeds it: an MD run
# recompiles only when its neighbour counts grow by more than the headroom.
NEIGHBOUR_HEADROOM = 1.25
# jit="auto" compiles with XLA up to this many centre atoms per call, and runs larger
# calls as a TensorFlow graph (benchmarks/bench_gmnn.py measures both).
JIT_MAX_ATOMS = 1024
# Above this many atoms the predictor evaluates centre atoms in chunks of about this many
# (the working set of a chunk stays in cache; cost per atom flat in the system size).
CHUNK_ATOMS = 2048


def _same(models, what: str, get) -> object:
    values = [get(m) for m in models]
    for k, v in enumerate(values):
        if v != values[0]:
            raise ValueError(
                f"ensemble members disagree on the {what}: member {k} has {v}, member 0 "
                f"{values[0]} (all: {values})"
            )
    return values[0]


def _round_up(n: int, bucket: int) -> int:
    return -(-int(n) // bucket) * bucket


def dense_neighbours(
    pair_i,
    pair_j,
    shift,
    n_atoms: int,
    bucket: int = NEIGHBOUR_BUCKET,
    pad=0.0,
    dtype=np.float64,
    min_width: int = 0,
):
    """Dense neighbour layout of a directed pair list.

    Returns ``(neighbour (A, N) int32, shift (A, N, 3), mask (A, N))`` with N the
    largest neighbour count rounded up to ``bucket``, or ``min_width`` if that is more;
    unused slots point at the atom itself with mask 0 and the shift ``(pad, 0, 0)``.
    Pairs keep their order within a centre atom.
    """
    pair_i = np.asarray(pair_i)
    n_pairs = len(pair_i)
    counts = np.bincount(pair_i, minlength=n_atoms)
    width = max(int(counts.max(initial=0)), 1)
    width = max(_round_up(width, bucket), int(min_width))
    if n_pairs and np.any(pair_i[1:] < pair_i[:-1]):
        order = np.argsort(pair_i, kind="stable")
        pair_i, pair_j, shift = pair_i[order], np.asarray(pair_j)[order], np.asarray(shift)[order]
    first = np.cumsum(counts) - counts
    slot = pair_i.astype(np.int64) * width + (np.arange(n_pairs) - first[pair_i])
    neighbour = np.repeat(np.arange(n_atoms, dtype=np.int32), width)
    neighbour[slot] = pair_j
    dense_shift = np.zeros((n_atoms * width, 3), dtype=dtype)
    dense_shift[:, 0] = pad
    dense_shift[slot] = shift
    mask = np.zeros(n_atoms * width, dtype=dtype)
    mask[slot] = 1.0
    return (
        neighbour.reshape(n_atoms, width),
        dense_shift.reshape(n_atoms, width, 3),
        mask.reshape(n_atoms, width),
    )


class Predictor:
    """Energies and forces of one model or an ensemble, as one compiled computation.

    Parameters
    ----------
    models:
        A :class:`~gmnn.model.potential.GMNN` or a sequence of them with the same species,
        descriptor settings, hidden widths and dtype (the members of an ensemble).
    jit:
        ``True``: compile with XLA for each padded shape (MD); ``False``: one TensorFlow
        graph for every shape; ``"auto"``: XLA for calls of up to ``JIT_MAX_ATOMS``
        centre atoms, the graph above.
    frozen:
        Copy the parameters when the predictor is built (the calculators: MD never changes
        them); ``False``: read the models' variables in every call (``GMNN.predict``, used
        on a model that is being trained).
    """

    def __init__(self, models, jit: bool | str = "auto", frozen: bool = True):
        models = list(models) if isinstance(models, (list, tuple)) else [models]
        if not models:
            raise ValueError("a predictor needs at least one model")
        self.n_members = len(models)
        ref = models[0]
        self.species = ref.species
        _same(models, "species", lambda m: [int(z) for z in m.species])
        _same(models, "cutoff", lambda m: m.cutoff)
        _same(models, "dtype", lambda m: m.dtype.name)
        _same(
            models,
            "descriptor settings (n_basis, n_radial, r_min)",
            lambda m: (m.descriptor.n_basis, m.descriptor.n_radial, m.descriptor.r_min),
        )
        _same(models, "hidden widths", lambda m: [int(d.w.shape[1]) for d in m.dense])
        self.cutoff = ref.cutoff
        self.dtype = ref.dtype
        if jit not in (True, False, "auto"):
            raise ValueError(f"jit must be True, False or 'auto', got {jit!r}")
        self.jit = jit
        d = ref.descriptor
        self._descriptor = d
        self.n_species, self.n_radial, self.n_basis = d.n_species, d.n_radial, d.n_basis
        self._models = models
        self.frozen = bool(frozen)
        # frozen: the parameters once, as constants of the compiled functions; live: read
        # from the models' variables inside every call
        self._frozen_parameters = self._parameters() if self.frozen else None
        self._functions: dict = {}
        self._static = None  # (key, tensors) of _static_inputs
        self._widths: dict[int, int] = {}  # atoms -> neighbour slots of the compiled calls

    def _parameters(self) -> dict:
        """Every member's parameters, folded for inference (lists over the members).

        β (S, S', n, b) becomes (S'·b, S·n): rows (neighbour species, basis), columns
        (centre species, radial function), so that one matmul of the neighbours'
        one-hot-weighted primitives gives the radial functions for every centre species
        (the centre's own block is then selected).  The NTK factors 1/sqrt(d_in), the
        activation's constant scale and the bias factor are folded into the weights;
        c σ_Z and c μ_Z into one scale and shift (K, S).
        """
        models, d = self._models, self._descriptor
        s, nr, nb = self.n_species, self.n_radial, self.n_basis
        betas = []
        for m in models:
            beta = tf.reshape(m.descriptor.beta * d.norm, (s, s, nr, nb))
            betas.append(tf.reshape(tf.transpose(beta, (1, 3, 0, 2)), (s * nb, s * nr)))
        layers = []
        for m in models:
            members = []
            for index, layer in enumerate(m.dense):
                factor = layer.w_factor * (1.0 if index == 0 else ACTIVATION_SCALE)
                members.append((layer.w * factor, layer.b * BIAS_FACTOR))
            layers.append(members)
        scale = tf.stack([m.energy_scale * m.scale for m in models])
        shift = tf.stack([m.energy_scale * m.shift for m in models])
        return {"beta": betas, "layers": layers, "scale": scale, "shift": shift}

    # ----------------------------------------------------------------- the computation
    def _energies_one(self, beta, layers, pair_vectors, species, neighbour_species, mask):
        """Atomic network outputs (C,) of one member for pair vectors (C, N, 3)."""
        d = self._descriptor
        s, nr, nb = self.n_species, self.n_radial, self.n_basis
        n_centres, width = tf.shape(neighbour_species)[0], tf.shape(neighbour_species)[1]
        with tf.name_scope("geometry"):
            r = tf.sqrt(tf.reduce_sum(tf.square(pair_vectors), axis=-1))  # (C, N)
            u = pair_vectors / r[..., None]
            phi = d.primitives(r)  # (C, N, b)
            fc = d.cutoff_function(r) * mask
        with tf.name_scope("radial"):
            # primitives sorted by the neighbour's species (C·N, S'·b) -> radial functions
            # for every centre species (one matmul), then the centre's own block
            onehot = tf.one_hot(neighbour_species, s, dtype=self.dtype)  # (C, N, S')
            prim = tf.reshape((phi * fc[..., None])[..., None, :] * onehot[..., None], (-1, s * nb))
            every = tf.reshape(tf.matmul(prim, beta), (n_centres, width, s, nr))
            centre = tf.one_hot(species, s, dtype=self.dtype)[:, None, :, None]  # (C, 1, S, 1)
            rad = tf.reduce_sum(every * centre, axis=2)  # (C, N, n)
        with tf.name_scope("moments"):
            # angular monomials and the moments Σ_j R_n(r_ij) u_ij^⊗L
            ang = tf.reshape(d.angular(tf.reshape(u, (-1, 3))), (n_centres, width, N_MONOMIALS))
            moments = tf.matmul(rad, ang, transpose_a=True)  # (C, n, 20)
        with tf.name_scope("invariants"):
            x = d.invariants(moments)
        with tf.name_scope("network"):
            for w, b in layers[:-1]:
                x = silu(tf.matmul(x, w) + b)
            w, b = layers[-1]
            return tf.cast((tf.matmul(x, w) + b)[:, 0], tf.float64)

    def _member_energies(self, p, pair_vectors, species, neighbour_species, mask, segment, m):
        """Energies (K, M) of the centre atoms with pair vectors (K of (C, N, 3)), species (C,),
        neighbour species (C, N), structure index ``segment`` (C,) and M = ``m``.

        The members are independent computations in one graph (not batched matrix
        products over a member axis, which XLA runs slowly on CPUs)."""
        y = tf.stack(
            [
                self._energies_one(beta, layers, pair_vectors[k], species, neighbour_species, mask)
                for k, (beta, layers) in enumerate(zip(p["beta"], p["layers"], strict=True))
            ]
        )  # (K, C)
        e = tf.gather(p["scale"], species, axis=1) * y + tf.gather(p["shift"], species, axis=1)
        return tf.transpose(tf.math.unsorted_segment_sum(tf.transpose(e), segment, m))

    def _compute(self, positions, species, centre, neighbour, shift, mask, segment, m, kind):
        """Energies (K, M), forces (K, A, 3) and dE/dε (K, M, 3, 3) of the centre atoms
        ``centre`` (C,) with neighbour rows (C, N) (all atoms, or a chunk of them);
        ``kind``: "energy", "forces" or "stress" (what is computed)."""
        k = self.n_members
        n_atoms = tf.shape(positions)[0]
        p = self._frozen_parameters or self._parameters()
        r_ij = tf.gather(positions, neighbour) - tf.gather(positions, centre)[:, None] + shift
        # one copy of the pair vectors per member (its gradient is that member's alone);
        # separate tensors, not slices of a (K, C, N, 3) stack, whose gradients would be
        # K zero-padded (K, C, N, 3) arrays summed
        pair_vectors = [tf.identity(r_ij) for _ in range(k)]
        segment_c = tf.gather(segment, centre)

        def energies():
            return self._member_energies(
                p,
                pair_vectors,
                tf.gather(species, centre),
                tf.gather(species, neighbour),
                mask,
                segment_c,
                m,
            )

        if kind == "energy":
            return (energies(),)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(pair_vectors)
            energy = energies()
        g = tf.stack(tape.gradient(energy, pair_vectors))  # (K, C, N, 3) = ∂E_k/∂r_ij
        # F_i = Σ_j g_ij (i as centre) - Σ g_ai (i as neighbour)
        g_rows = tf.transpose(g, (1, 2, 0, 3))  # (C, N, K, 3)
        outgoing = tf.math.unsorted_segment_sum(tf.reduce_sum(g_rows, axis=1), centre, n_atoms)
        incoming = tf.math.unsorted_segment_sum(
            tf.reshape(g_rows, (-1, k, 3)), tf.reshape(neighbour, (-1,)), n_atoms
        )
        forces = tf.transpose(outgoing - incoming, (1, 0, 2))
        if kind == "forces":
            return energy, forces
        virial = tf.einsum("anx,anky->akxy", r_ij, g_rows)  # (C, K, 3, 3)
        virial = tf.math.unsorted_segment_sum(virial, segment_c, m)  # (M, K, 3, 3)
        virial = tf.transpose(virial, (1, 0, 2, 3))
        return energy, forces, 0.5 * (virial + tf.linalg.matrix_transpose(virial))

    def _function(self, kind: str, jit: bool):
        if (kind, jit) not in self._functions:

            def run(positions, species, centre, neighbour, shift, mask, segment, m):
                return self._compute(
                    positions, species, centre, neighbour, shift, mask, segment, m, kind
                )

            float_spec = self.dtype
            signature = [
                tf.TensorSpec((None, 3), float_spec),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((None, None), tf.int32),
                tf.TensorSpec((None, None, 3), float_spec),
                tf.TensorSpec((None, None), float_spec),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((), tf.int32),
            ]
            fn = tf.function(run, input_signature=signature, jit_compile=jit, autograph=False)
            # one concrete function of the shape-free signature: calling it skips
            # tf.function's argument binding (1-3 ms per call, most of a small molecule's
            # MD step); with XLA it still compiles once per concrete input shape
            self._functions[kind, jit] = fn.get_concrete_function()
        return self._functions[kind, jit]

    # ----------------------------------------------------------------- entry points
    def _chunks_and_jit(self, n_atoms: int) -> tuple[int, bool]:
        """(number of chunks of centre atoms, XLA or not) of a call on ``n_atoms`` atoms."""
        n_chunks = max(1, n_atoms // CHUNK_ATOMS) if n_atoms > 2 * CHUNK_ATOMS else 1
        jit = self.jit if self.jit != "auto" else -(-n_atoms // n_chunks) <= JIT_MAX_ATOMS
        return n_chunks, bool(jit)

    def neighbour_width(self, pair_i, shift, n_atoms: int) -> int:
        """The neighbour slots of the dense layout of a call (at least the largest
        neighbour count, rounded up to ``NEIGHBOUR_BUCKET``).

        XLA compiles one program per width, so a compiled predictor keeps the width of
        its previous call on as many atoms while the counts fit, and on growth takes
        ``NEIGHBOUR_HEADROOM`` times the largest count (rounded up; for a structure
        without periodic images at most the atom count minus one, rounded up): an MD run
        whose largest count crosses a multiple of ``NEIGHBOUR_BUCKET`` does not
        recompile.  A TensorFlow graph (no XLA) takes any shape and gets no headroom."""
        counts = np.bincount(np.asarray(pair_i), minlength=n_atoms)
        largest = max(int(counts.max(initial=0)), 1)
        needed = _round_up(largest, NEIGHBOUR_BUCKET)
        if not self._chunks_and_jit(n_atoms)[1]:
            return needed
        width = self._widths.get(n_atoms, 0)
        if needed > width:
            width = _round_up(math.ceil(NEIGHBOUR_HEADROOM * largest), NEIGHBOUR_BUCKET)
            if not np.any(shift):  # no periodic images: at most n_atoms - 1 neighbours
                width = max(min(width, _round_up(max(n_atoms - 1, 1), NEIGHBOUR_BUCKET)), needed)
            self._widths[n_atoms] = width
        return width

    def dense_inputs(self, inputs: dict) -> dict:
        """The dense neighbour layout of model inputs from :mod:`gmnn.model.batch`
        (:meth:`neighbour_width` slots per atom); masked slots get a finite pair vector
        beyond the cutoff."""
        n_atoms = len(inputs["positions"])
        np_dtype = self.dtype.as_numpy_dtype
        neighbour, shift, mask = dense_neighbours(
            inputs["pair_i"],
            inputs["pair_j"],
            inputs["shift"],
            n_atoms,
            pad=2.0 * self.cutoff,
            dtype=np_dtype,
            min_width=self.neighbour_width(inputs["pair_i"], inputs["shift"], n_atoms),
        )
        return {
            "positions": np.asarray(inputs["positions"], np_dtype),
            "species": np.asarray(inputs["species"], np.int32),
            "neighbour": neighbour,
            "shift": shift,
            "mask": mask,
            "segment": np.asarray(inputs["segment"], np.int32),
            "n_structures": np.int32(inputs["n_structures"]),
        }

    def predict(self, inputs: dict, forces: bool = True, stress: bool = False) -> dict:
        """Per-member predictions for inputs from :mod:`gmnn.model.batch`.

        Returns ``energy`` (K, M) eV (float64), ``forces`` (K, A, 3) eV/Å (unless
        ``forces=False`` and no ``stress``) and, with ``stress``, ``dE_dstrain``
        (K, M, 3, 3) eV.
        """
        return self.predict_dense(self.dense_inputs(inputs), forces, stress)

    def predict_dense(self, dense: dict, forces: bool = True, stress: bool = False) -> dict:
        """Per-member predictions (see :meth:`predict`) for inputs in the dense layout.

        Above ``2 * CHUNK_ATOMS`` atoms the centre atoms are evaluated in chunks of about
        ``CHUNK_ATOMS`` (equal sizes, so that one compiled shape serves all chunks) whose
        energies and derivatives are summed.
        """
        kind = "stress" if stress else "forces" if forces else "energy"
        n_atoms = len(dense["positions"])
        n_chunks, jit = self._chunks_and_jit(n_atoms)
        fn = self._function(kind, jit)
        species, segment, m, chunks = self._static_inputs(dense, n_chunks)
        positions = tf.convert_to_tensor(dense["positions"])
        total = None
        for (lo, hi), rows in chunks:
            part = [
                tf.convert_to_tensor(dense[key][lo:hi]) for key in ("neighbour", "shift", "mask")
            ]
            try:
                out = [t.numpy() for t in fn(positions, species, rows, *part, segment, m)]
            except tf.errors.OpError as err:
                # a damaged entry of the persistent XLA cache fails the compiled call (and
                # TensorFlow keeps that failure for the shape): remove the cache (later
                # jobs compile anew) and evaluate this predictor as a graph from now on
                if not (jit and reset_xla_cache(err)):
                    raise
                self.jit = jit = False
                fn = self._function(kind, False)
                out = [t.numpy() for t in fn(positions, species, rows, *part, segment, m)]
            total = out if total is None else [a + b for a, b in zip(total, out, strict=True)]
        res = {"energy": total[0]}
        if kind != "energy":
            res["forces"] = total[1]
        if stress:
            res["dE_dstrain"] = total[2]
        return res

    def _static_inputs(self, dense: dict, n_chunks: int):
        """Species, segments, structure count and chunk rows as tensors, kept from the
        previous call when they are the same (MD: every step)."""
        key = (
            dense["species"].tobytes(),
            dense["segment"].tobytes(),
            int(dense["n_structures"]),
            n_chunks,
        )
        if self._static is None or self._static[0] != key:
            n_atoms = len(dense["species"])
            chunks = []
            for rows in np.array_split(np.arange(n_atoms, dtype=np.int32), n_chunks):
                lo, hi = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)
                chunks.append(((lo, hi), tf.constant(rows)))
            tensors = (
                tf.constant(dense["species"], tf.int32),
                tf.constant(dense["segment"], tf.int32),
                tf.constant(int(dense["n_structures"]), tf.int32),
                chunks,
            )
            self._static = (key, tensors)
        return self._static[1]
