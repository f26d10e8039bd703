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

from gmnn.model.config import ModelConfig
from gmnn.model.descriptor import GaussianMoments
from gmnn.model.inference import Predictor
from gmnn.model.network import ACTIVATION_SCALE, NTKDense, silu

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


class GMNN(tf.Module):
    """Gaussian-moment neural-network potential (energies in eV, lengths in Å).

    Parameters
    ----------
    species:
        Atomic numbers the model handles (sorted internally).
    config:
        :class:`gmnn.model.config.ModelConfig` (cutoff, basis, radial functions, hidden
        widths, dtype; its defaults are the paper's) or a mapping of its fields; single
        fields may also be given as keywords (``GMNN(species, cutoff=5.0)``).
    energy_scale:
        The constant c of Eq. (3) in eV; set from data by :meth:`init_scale_shift`.
    """

    def __init__(
        self,
        species,
        config: ModelConfig | dict | None = None,
        *,
        energy_scale: float = 1.0,
        seed: int = 0,
        **settings,
    ):
        super().__init__(name="gmnn")
        self.species = np.array(sorted({int(z) for z in species}), dtype=np.int64)
        if len(self.species) == 0 or self.species[0] < 1 or self.species[-1] > 118:
            raise ValueError(f"invalid species list {list(species)}")
        if isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        if settings:  # ModelConfig fields given one by one (as stored in model.json)
            config = ModelConfig.from_dict({**(config or ModelConfig()).to_dict(), **settings})
        self.settings = config = config or ModelConfig()
        cutoff, n_basis, n_radial = config.cutoff, config.n_basis, config.n_radial
        r_min, dtype = config.r_min, config.dtype
        self.config = {
            "species": [int(z) for z in self.species],
            **config.to_dict(),
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
        self._predictor = None

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

    def init_scale_shift(
        self, structures, regularisation: float = 1.0, energy_scale=None, add_to_shift=False
    ):
        """Initialise σ = 1 and μ_Z by ridge regression on ``structures`` energies.

        ``energy_scale`` (c, eV) is recomputed from the data unless given.  With
        E_k the energies and N_k the atom counts: ē = Σ E_k / Σ N_k,
        c = sqrt(Σ_k (E_k - ē N_k)^2 / N_k / Σ_k N_k), and μ_Z = (w_Z + ē)/c where
        w solves (XᵀX + λ I) w = Xᵀ(E - ē N) with X the element counts.
        """
        if structures.energy is None:
            source = (getattr(structures, "meta", None) or {}).get("source") or "the structures"
            raise ValueError(
                f"{source}: no energy labels, but the scale/shift initialisation needs them"
            )
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
        shift = (w + mean_atomic) / energy_scale
        self.shift.assign(self.shift.numpy() + shift if add_to_shift else shift)
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
        return self.network(x)

    def network(self, features):
        """The atomic network: outputs y_i (A,) from descriptor features (A, n_features).

        Equal to ``dense[-1](activation(... activation(dense[0](x))))``
        (:func:`gmnn.model.network.activation`); the activation's constant scale is
        folded into the next layer's weight factor.
        """
        with tf.name_scope("network"):
            x, scale = features, 1.0
            for layer in self.dense[:-1]:
                x, scale = silu(layer(x, scale)), ACTIVATION_SCALE
            return self.dense[-1](x, scale)[:, 0]

    def energy(self, inputs, positions=None, shift=None):
        """Total energies (M,) in eV, float64."""
        pos = inputs["positions"] if positions is None else positions
        sh = inputs["shift"] if shift is None else shift
        return self._energies(inputs, pos, sh)

    def _energies(self, inputs, pos, sh, centres=None):
        """Energies (M,) summed over the atoms ``centres = (lo, hi)`` (default: all).

        With a centre range only the pairs whose centre atom lies in it may be given
        (``inputs["pair_i"]`` still holds global indices); positions are all atoms'.
        """
        pi, pj = inputs["pair_i"], inputs["pair_j"]
        species, segment = inputs["species"], inputs["segment"]
        r_ij = tf.gather(pos, pj) - tf.gather(pos, pi) + sh
        sp_i, sp_j = tf.gather(species, pi), tf.gather(species, pj)
        if centres is None:
            x = self.descriptor(r_ij, pi, sp_i, sp_j, tf.shape(pos)[0])
        else:
            lo, hi = centres
            x = self.descriptor(r_ij, pi - lo, sp_i, sp_j, hi - lo)
            species, segment = species[lo:hi], segment[lo:hi]
        y = tf.cast(self.network(x), tf.float64)
        e_i = self.energy_scale * (
            tf.gather(self.scale, species) * y + tf.gather(self.shift, species)
        )
        return tf.math.unsorted_segment_sum(e_i, segment, inputs["n_structures"])

    def energy_and_forces(self, inputs, stress: bool = False):
        """Energies (M,), forces (A, 3) and, with ``stress``, dE/dε (M, 3, 3)."""
        return self._energy_and_derivatives(inputs, stress)

    def _energy_and_derivatives(self, inputs, stress: bool, centres=None):
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
                energy = self._energies(inputs, pos_s, sh_s, centres)
            else:
                energy = self._energies(inputs, pos, sh, centres)
        if stress:
            g_pos, g_strain = tape.gradient(energy, [pos, strain])
            return energy, -tf.convert_to_tensor(g_pos), g_strain
        return energy, -tf.convert_to_tensor(tape.gradient(energy, pos)), None

    # ------------------------------------------------------------------ inference
    def predict(self, inputs: dict, forces: bool = True, stress: bool = False) -> dict:
        """Numpy predictions for a batch from :mod:`gmnn.model.batch`.

        Returns ``energy`` (M,) eV, ``forces`` (A, 3) eV/Å and ``dE_dstrain``
        dE/dε (M, 3, 3) in eV (divide by the cell volume for the stress).

        Evaluated by a :class:`gmnn.model.inference.Predictor` that reads this model's
        variables in every call (so it follows training) as a TensorFlow graph for any
        shape; large inputs are evaluated in chunks of centre atoms.  The ASE calculators
        use frozen, XLA-compiled predictors instead.
        """
        if self._predictor is None:
            self._predictor = Predictor(self, jit=False, frozen=False)
        out = self._predictor.predict(inputs, forces=forces, stress=stress)
        res = {"energy": out["energy"][0]}
        if "forces" in out:
            res["forces"] = out["forces"][0]
        if stress:
            res["dE_dstrain"] = out["dE_dstrain"][0]
        return res
