"""The GM-NN potential: descriptor, NTK-parameterised atomic network, scale and shift.

    E = Σ_i E_i,   E_i = c (σ_{Z_i} y_i + μ_{Z_i})                      (paper, Eq. 3)

y_i is the output of a fully connected network (360-512-512-1 by default) with
weights shared across species, NTK parameterisation (h' = W h / sqrt(d_in) + 0.1 b,
W ~ N(0, 1), b = 0) and the variance-preserving SiLU 1.6765 · x · sigmoid(x).
c is the RMS per-atom deviation of the training energies from the mean atomic
energy; μ_Z starts from a ridge regression of the energies on the element counts
and σ_Z at 1.  Scale, shift and the energy sum are kept in float64 so that total
energies of large molecules keep sub-meV resolution with a float32 network.
Forces are -∂E/∂r by automatic differentiation, the stress (periodic cells) is
(1/V) ∂E/∂ε for a homogeneous strain ε of positions and cell.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from gmnn.model.descriptor import GaussianMoments

ACTIVATION_SCALE = 1.6765324703310907  # E[φ(z)^2] ≈ 1 for z ~ N(0, 1)
BIAS_FACTOR = 0.1

INPUT_SIGNATURE = {
    "positions": ((None, 3), "float"),
    "species": ((None,), tf.int32),
    "segment": ((None,), tf.int32),
    "pair_i": ((None,), tf.int32),
    "pair_j": ((None,), tf.int32),
    "shift": ((None, 3), "float"),
    "n_structures": ((), tf.int32),
}


def input_spec(dtype) -> dict:
    return {
        k: tf.TensorSpec(shape, dtype if t == "float" else t, name=k)
        for k, (shape, t) in INPUT_SIGNATURE.items()
    }


class NTKDense(tf.Module):
    """Dense layer in neural-tangent parameterisation."""

    def __init__(self, d_in: int, d_out: int, rng, dtype, name: str):
        super().__init__(name=name)
        self.w = tf.Variable(rng.standard_normal((d_in, d_out)).astype(dtype), name="w")
        self.b = tf.Variable(np.zeros(d_out, dtype=dtype), name="b")
        self.w_factor = 1.0 / math.sqrt(d_in)

    def __call__(self, x):
        return tf.matmul(x, self.w) * self.w_factor + BIAS_FACTOR * self.b


def activation(x):
    return ACTIVATION_SCALE * x * tf.sigmoid(x)


class GMNN(tf.Module):
    """Gaussian-moment neural-network potential (energies in eV, lengths in Å).

    Parameters
    ----------
    species:
        Atomic numbers the model handles (sorted internally).
    cutoff:
        Cutoff radius in Å (4.0 for MD17, 5.0 for ANI in the paper).
    n_basis, n_radial, r_min:
        Gaussian primitives, radial functions and the first Gaussian centre (Å).
    hidden:
        Widths of the hidden layers.
    dtype:
        ``"float32"`` (default) or ``"float64"`` for descriptor and network.
    energy_scale:
        The constant c of Eq. (3) in eV; set from data by :meth:`init_scale_shift`.
    """

    def __init__(
        self,
        species,
        cutoff: float = 4.0,
        n_basis: int = 7,
        n_radial: int = 5,
        r_min: float = 0.5,
        hidden=(512, 512),
        dtype: str = "float32",
        energy_scale: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(name="gmnn")
        self.species = np.array(sorted({int(z) for z in species}), dtype=np.int64)
        if len(self.species) == 0 or self.species[0] < 1 or self.species[-1] > 118:
            raise ValueError(f"invalid species list {list(species)}")
        self.config = {
            "species": [int(z) for z in self.species],
            "cutoff": float(cutoff),
            "n_basis": int(n_basis),
            "n_radial": int(n_radial),
            "r_min": float(r_min),
            "hidden": [int(h) for h in hidden],
            "dtype": str(tf.as_dtype(dtype).name),
            "seed": int(seed),
        }
        self.dtype = tf.as_dtype(dtype)
        self.cutoff = float(cutoff)
        n_s = len(self.species)
        self.descriptor = GaussianMoments(
            n_s, cutoff, n_basis, n_radial, r_min, dtype=self.dtype, seed=seed
        )
        rng = np.random.default_rng(seed + 1)
        widths = [self.descriptor.n_features, *self.config["hidden"], 1]
        np_dtype = self.dtype.as_numpy_dtype
        self.dense = [
            NTKDense(widths[k], widths[k + 1], rng, np_dtype, name=f"dense_{k}")
            for k in range(len(widths) - 1)
        ]
        self.scale = tf.Variable(np.ones(n_s), dtype=tf.float64, name="scale")
        self.shift = tf.Variable(np.zeros(n_s), dtype=tf.float64, name="shift")
        self.energy_scale = tf.Variable(float(energy_scale), dtype=tf.float64, trainable=False)
        self._compiled = {}

    # ------------------------------------------------------------------ parameters
    def variable_groups(self) -> dict[str, list[tf.Variable]]:
        """Trainable variables by learning-rate group (paper, Fig. 1)."""
        groups = {"embed": [self.descriptor.beta]}
        for layer in self.dense:
            groups[layer.name] = [layer.w, layer.b]
        groups["scale"] = [self.scale]
        groups["shift"] = [self.shift]
        return groups

    def named_variables(self) -> dict[str, tf.Variable]:
        out = {"descriptor/beta": self.descriptor.beta}
        for layer in self.dense:
            out[f"{layer.name}/w"] = layer.w
            out[f"{layer.name}/b"] = layer.b
        out["scale"] = self.scale
        out["shift"] = self.shift
        out["energy_scale"] = self.energy_scale
        return out

    def get_weights(self) -> dict[str, np.ndarray]:
        return {k: v.numpy().copy() for k, v in self.named_variables().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        variables = self.named_variables()
        missing = sorted(set(variables) - set(weights))
        if missing:
            raise KeyError(f"weights lack {missing}")
        for k, v in variables.items():
            value = np.asarray(weights[k])
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"weight {k}: shape {value.shape}, model expects {v.shape}")
            v.assign(value.astype(v.dtype.as_numpy_dtype))

    def init_scale_shift(self, structures, regularisation: float = 1.0, energy_scale=None):
        """Initialise σ = 1 and μ_Z by ridge regression on ``structures`` energies.

        ``energy_scale`` (c, eV) is recomputed from the data unless given.  With
        E_k the energies and N_k the atom counts: ē = Σ E_k / Σ N_k,
        c = sqrt(Σ_k (E_k - ē N_k)^2 / N_k / Σ_k N_k), and μ_Z = (w_Z + ē)/c where
        w solves (XᵀX + λ I) w = Xᵀ(E - ē N) with X the element counts.
        """
        if structures.energy is None:
            raise ValueError("scale/shift initialisation needs energy labels")
        energy = np.asarray(structures.energy, dtype=np.float64)
        n_at = structures.n_atoms.astype(np.float64)
        mean_atomic = energy.sum() / n_at.sum()
        resid = energy - mean_atomic * n_at
        if energy_scale is None:
            energy_scale = math.sqrt(np.sum(resid**2 / n_at) / n_at.sum())
            energy_scale = max(energy_scale, 1e-6)
        counts = np.zeros((len(structures), len(self.species)))
        seg = np.repeat(np.arange(len(structures)), structures.n_atoms)
        col = np.searchsorted(self.species, structures.numbers)
        np.add.at(counts, (seg, col), 1.0)
        lhs = counts.T @ counts + regularisation * np.eye(len(self.species))
        w = np.linalg.solve(lhs, counts.T @ resid)
        self.energy_scale.assign(float(energy_scale))
        self.shift.assign((w + mean_atomic) / energy_scale)
        self.scale.assign(np.ones(len(self.species)))

    # ------------------------------------------------------------------ forward
    def atomic_outputs(self, inputs, positions=None, shift=None):
        """Network outputs y_i (A,) before scale and shift."""
        pos = inputs["positions"] if positions is None else positions
        sh = inputs["shift"] if shift is None else shift
        pi, pj = inputs["pair_i"], inputs["pair_j"]
        r_ij = tf.gather(pos, pj) - tf.gather(pos, pi) + sh
        species = inputs["species"]
        x = self.descriptor(
            r_ij, pi, tf.gather(species, pi), tf.gather(species, pj), tf.shape(pos)[0]
        )
        for layer in self.dense[:-1]:
            x = activation(layer(x))
        return self.dense[-1](x)[:, 0]

    def energy(self, inputs, positions=None, shift=None):
        """Total energies (M,) in eV, float64."""
        y = tf.cast(self.atomic_outputs(inputs, positions, shift), tf.float64)
        sp = inputs["species"]
        e_i = self.energy_scale * (tf.gather(self.scale, sp) * y + tf.gather(self.shift, sp))
        return tf.math.unsorted_segment_sum(e_i, inputs["segment"], inputs["n_structures"])

    def energy_and_forces(self, inputs, stress: bool = False):
        """Energies (M,), forces (A, 3) and, with ``stress``, dE/dε (M, 3, 3)."""
        pos = inputs["positions"]
        sh = inputs["shift"]
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(pos)
            if stress:
                strain = tf.zeros((inputs["n_structures"], 3, 3), dtype=self.dtype)
                tape.watch(strain)
                sym = 0.5 * (strain + tf.linalg.matrix_transpose(strain))
                pos_s = pos + tf.einsum("ai,aij->aj", pos, tf.gather(sym, inputs["segment"]))
                pair_seg = tf.gather(inputs["segment"], inputs["pair_i"])
                sh_s = sh + tf.einsum("pi,pij->pj", sh, tf.gather(sym, pair_seg))
                energy = self.energy(inputs, pos_s, sh_s)
            else:
                energy = self.energy(inputs, pos)
        if stress:
            g_pos, g_strain = tape.gradient(energy, [pos, strain])
            return energy, -tf.convert_to_tensor(g_pos), g_strain
        return energy, -tf.convert_to_tensor(tape.gradient(energy, pos)), None

    # ------------------------------------------------------------------ inference
    def _fn(self, kind: str):
        if kind not in self._compiled:
            spec = input_spec(self.dtype)
            if kind == "energy":
                fn = tf.function(lambda x: self.energy(x), input_signature=[spec])
            else:
                with_stress = kind == "stress"

                def run(x):
                    e, f, s = self.energy_and_forces(x, stress=with_stress)
                    return (e, f, s) if with_stress else (e, f)

                fn = tf.function(run, input_signature=[spec])
            self._compiled[kind] = fn
        return self._compiled[kind]

    def predict(self, inputs: dict, forces: bool = True, stress: bool = False) -> dict:
        """Numpy predictions for a batch from :mod:`gmnn.model.batch`.

        Returns ``energy`` (M,) eV, ``forces`` (A, 3) eV/Å and ``virial_derivative``
        dE/dε (M, 3, 3) in eV (divide by the cell volume for the stress).
        """
        feed = {k: inputs[k] for k in INPUT_SIGNATURE}
        feed["positions"] = np.asarray(feed["positions"], self.dtype.as_numpy_dtype)
        feed["shift"] = np.asarray(feed["shift"], self.dtype.as_numpy_dtype)
        if not forces and not stress:
            return {"energy": self._fn("energy")(feed).numpy()}
        if stress:
            e, f, s = self._fn("stress")(feed)
            return {"energy": e.numpy(), "forces": f.numpy(), "dE_dstrain": s.numpy()}
        e, f = self._fn("forces")(feed)
        return {"energy": e.numpy(), "forces": f.numpy()}
