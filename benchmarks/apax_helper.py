"""Time apax (JAX) configured as GM-NN; run by bench_gmnn.py with benchmarks/.venv-apax.

    python apax_helper.py INPUT.npz SETTINGS.json OUTPUT.json

This script imports only apax, jax, optax, numpy, ase and vesin (never gmnn), builds the
apax GM-NN model through apax's public configuration and builder
(``GMNNConfig`` -> ``GMNNBuilder.build_energy_derivative_model``) and times

* an energy+forces training step (``jax.value_and_grad`` of the loss through the
  vmapped model, Adam update, all under one ``jax.jit``) on the batch given in INPUT;
* ASE Langevin MD with a thin ASE calculator around the jitted model: vesin neighbour
  list every step (padded to a fixed length, as apax's own calculator does for its
  vesin path), fractional positions and Cartesian image offsets.

Timings go to OUTPUT as JSON; a failing part is reported there as an ``error`` string.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import traceback


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def build_model(cutoff: float, init_box):
    import numpy as np
    from apax.config.model_config import GMNNConfig
    from apax.nn.builder import GMNNBuilder

    config = GMNNConfig(
        basis={"name": "gaussian", "n_basis": 7, "r_min": 0.5, "r_max": float(cutoff)},
        n_radial=5,
        nn=[512, 512],
        use_ntk=True,
        w_init="normal",
        b_init="normal",
        activation_fn="variance_preserving_swish",
        descriptor_dtype="fp32",
        readout_dtype="fp32",
        scale_shift_dtype="fp64",
    )
    builder = GMNNBuilder(config.model_dump())
    return config, builder.build_energy_derivative_model(
        scale=1.0, shift=0.0, apply_mask=True, init_box=np.asarray(init_box, dtype=np.float64)
    )


def molecule_pairs(positions, cutoff):
    import numpy as np

    d = positions[None, :, :] - positions[:, None, :]
    mask = np.einsum("ijk,ijk->ij", d, d) < cutoff * cutoff
    np.fill_diagonal(mask, False)
    i, j = np.nonzero(mask)
    return i.astype(np.int32), j.astype(np.int32)


def bench_train(data, settings) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    cutoff = settings["cutoff_train"]
    pos = np.asarray(data["train_positions"], np.float64)  # (B, N, 3)
    numbers = np.asarray(data["train_numbers"], np.int32)  # (N,)
    n_struct, n_atoms = pos.shape[:2]
    pairs = [molecule_pairs(p, cutoff) for p in pos]
    p_max = max(len(i) for i, _ in pairs)
    idx = np.zeros((n_struct, 2, p_max), np.int32)  # padding pairs (0, 0) are masked
    for k, (i, j) in enumerate(pairs):
        idx[k, 0, : len(i)], idx[k, 1, : len(j)] = i, j
    z = np.broadcast_to(numbers, (n_struct, n_atoms)).copy()
    box = np.zeros((n_struct, 3))
    offsets = np.zeros((n_struct, p_max, 3))
    e_ref = np.asarray(data["train_energy"], np.float64)
    f_ref = np.asarray(data["train_forces"], np.float64)

    _, model = build_model(cutoff, np.zeros(3))
    params = model.init(jax.random.PRNGKey(0), pos[0], z[0], idx[0], box[0], offsets[0])
    batched = jax.vmap(model.apply, in_axes=(None, 0, 0, 0, 0, 0))
    lam_f = settings.get("force_weight", 4.0)

    def loss_fn(params, inputs):
        r, zz, ii, bb, oo, e, f = inputs
        pred = batched(params, r, zz, ii, bb, oo)
        e_loss = jnp.mean((pred["energy"] - e) ** 2)
        f_loss = jnp.mean(jnp.sum((pred["forces"] - f) ** 2, axis=(1, 2)))
        return e_loss + lam_f * f_loss

    tx = optax.adam(1e-3)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, inputs):
        loss, grads = jax.value_and_grad(loss_fn)(params, inputs)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    inputs = tuple(jnp.asarray(a) for a in (pos, z, idx, box, offsets, e_ref, f_ref))
    t0 = time.perf_counter()
    params, opt_state, loss = step(params, opt_state, inputs)
    jax.block_until_ready(loss)
    compile_s = time.perf_counter() - t0
    for _ in range(settings["warmup"]):
        params, opt_state, loss = step(params, opt_state, inputs)
    jax.block_until_ready(loss)
    times = []
    for _ in range(settings["rounds"]):
        t0 = time.perf_counter()
        params, opt_state, loss = step(params, opt_state, inputs)
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - t0)
    med = _median(times)
    return {
        "step_s_median": med,
        "step_s_min": min(times),
        "step_s_all": times,
        "compile_s": compile_s,
        "structures_per_s": n_struct / med,
        "n_structures": int(n_struct),
        "n_atoms": int(n_struct * n_atoms),
        "n_pairs_padded": int(n_struct * p_max),
    }


class ApaxModelCalculator:
    """Factory for an ASE calculator around the jitted apax model (see module doc)."""

    @staticmethod
    def make(atoms, cutoff: float, padding: float = 1.2):
        import jax
        import jax.numpy as jnp
        import numpy as np
        from ase.calculators.calculator import Calculator, all_changes
        from vesin import NeighborList

        periodic = bool(np.any(atoms.pbc))
        cell = np.asarray(atoms.cell.array, np.float64)
        _, model = build_model(cutoff, cell.T if periodic else np.zeros(3))
        numbers = jnp.asarray(atoms.numbers, jnp.int32)
        nl = NeighborList(cutoff=float(cutoff), full_list=True)

        def neighbours(positions):
            i, j, s = nl.compute(
                points=np.ascontiguousarray(positions, np.float64),
                box=cell if periodic else np.zeros((3, 3)),
                periodic=periodic,
                quantities="ijS",
            )
            return i.astype(np.int32), j.astype(np.int32), s.astype(np.float64) @ cell

        i, j, off = neighbours(atoms.positions)
        length = int(len(i) * padding) + 1
        box = jnp.asarray(cell)
        inv = np.linalg.inv(cell) if periodic else None
        params = model.init(
            jax.random.PRNGKey(0),
            jnp.asarray(atoms.positions @ inv if periodic else atoms.positions),
            numbers,
            jnp.zeros((2, length), jnp.int32),
            box,
            jnp.zeros((length, 3)),
        )

        @jax.jit
        def evaluate(positions, idx, offsets):
            return model.apply(params, positions, numbers, idx, box, offsets)

        class Calc(Calculator):
            implemented_properties = ["energy", "forces"]

            def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
                nonlocal length
                super().calculate(atoms, properties, system_changes)
                i, j, off = neighbours(self.atoms.positions)
                if len(i) > length:  # overflow: re-pad (and recompile), as apax does
                    length = int(len(i) * padding) + 1
                idx = np.zeros((2, length), np.int32)
                idx[0, : len(i)], idx[1, : len(j)] = i, j
                offsets = np.zeros((length, 3))
                offsets[: len(i)] = off
                pos = self.atoms.positions @ inv if periodic else self.atoms.positions
                res = evaluate(jnp.asarray(pos), jnp.asarray(idx), jnp.asarray(offsets))
                self.results = {
                    "energy": float(res["energy"]),
                    "forces": np.asarray(res["forces"], np.float64),
                }
                self.results["free_energy"] = self.results["energy"]

        return Calc()


def bench_md(data, settings) -> list:
    import numpy as np
    from ase import Atoms, units
    from ase.md.langevin import Langevin

    out = []
    for k, spec in enumerate(settings["md_systems"]):
        row = {"name": spec["name"], "n_atoms": spec["n_atoms"]}
        try:
            atoms = Atoms(
                numbers=data[f"md{k}_numbers"],
                positions=data[f"md{k}_positions"],
                cell=data[f"md{k}_cell"],
                pbc=data[f"md{k}_pbc"],
            )
            rng = np.random.default_rng(0)
            atoms.set_velocities(rng.normal(scale=0.01, size=(len(atoms), 3)))
            atoms.calc = ApaxModelCalculator.make(atoms, spec["cutoff"])
            kwargs = dict(temperature_K=300, friction=0.01 / units.fs, rng=rng)
            try:
                dyn = Langevin(atoms, 0.5 * units.fs, fixcm=False, **kwargs)
            except TypeError:  # ASE without the fixcm option
                dyn = Langevin(atoms, 0.5 * units.fs, **kwargs)
            t0 = time.perf_counter()
            dyn.run(spec["warmup"])
            row["warmup_s"] = time.perf_counter() - t0
            times = []
            for _ in range(spec["steps"]):
                t0 = time.perf_counter()
                dyn.run(1)
                times.append(time.perf_counter() - t0)
            med = _median(times)
            row.update(
                {
                    "s_per_step_median": med,
                    "s_per_step_all": times,
                    "steps_per_s": 1.0 / med,
                    "us_per_atom_step": med / spec["n_atoms"] * 1e6,
                }
            )
        except Exception as exc:  # report and go on with the next system
            row["error"] = f"{type(exc).__name__}: {exc}"
        out.append(row)
    return out


def main(argv) -> int:
    import numpy as np

    inp, settings_path, out_path = argv[1:4]
    settings = json.loads(open(settings_path).read())
    data = dict(np.load(inp))
    result = {}
    try:
        import apax
        import jax

        result["versions"] = {
            "apax": apax.__version__,
            "jax": jax.__version__,
            "python": platform.python_version(),
            "jax_devices": [str(d) for d in jax.devices()],
            "x64": bool(jax.config.jax_enable_x64),
        }
    except Exception as exc:
        result["error"] = f"cannot import apax/jax: {type(exc).__name__}: {exc}"
        open(out_path, "w").write(json.dumps(result))
        return 0
    for part, fn in (("train", bench_train), ("md", bench_md)):
        if part == "md" and not settings.get("md_systems"):
            continue
        try:
            result[part] = fn(data, settings)
        except Exception as exc:
            result[part] = {"error": f"{type(exc).__name__}: {exc}"}
            result[part + "_traceback"] = traceback.format_exc()
        open(out_path, "w").write(json.dumps(result))  # partial results survive a kill
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
