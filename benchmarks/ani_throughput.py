#!/usr/bin/env python
"""Training throughput at the paper's ANI settings: E+F steps on batches of 2048 mixed-size
CHNO molecules (2-30 atoms, cutoff 5.0 Å, λ_E = 1/N_at, λ_F = 0.01 Å²), beside the
bare-network floor of ``bench_gmnn.py`` and the input building (``GraphData.batch``).

    python benchmarks/ani_throughput.py            # default run (~1-2 min on 2 cores)
    python benchmarks/ani_throughput.py --quick    # smoke run (batch 256)
    python benchmarks/ani_throughput.py --json out.json

Timings are wall-clock (``time.perf_counter``) medians over repeats after warm-up; the
gmnn step and the floor step alternate in one process (``bench_gmnn.time_train_steps``).
See benchmarks/README.md ("ANI throughput").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_gmnn import environment, med, step_results, time_train_steps  # noqa: E402

CUTOFF_ANI = 5.0  # Å, the paper's cutoff for ANI (Sec. 3.2)
SPECIES = (1, 6, 7, 8)
# ANI-1x self energies (Ha; torchmd-net ani.py, /work/shared/reference/ani_facts.md)
SELF_ENERGY_HA = {1: -0.60095298, 6: -38.08316124, 7: -54.7077577, 8: -75.19446356}
HARTREE_EV = 27.211386245988
PAPER_ANI_TRAIN = 4_194_304  # largest ANI-1x pre-training set of the paper


# ----------------------------------------------------------------------------- molecules
def random_molecule(n_atoms: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, positions Å) of a random CHNO molecule with ``n_atoms`` atoms.

    About 40 % heavy atoms (C : N : O = 6 : 2 : 2, at least one), grown as a tree: each
    heavy atom bonded to an earlier one at 1.2-1.55 Å, each H to a heavy atom at
    1.0-1.1 Å, in random directions, and a candidate closer than 1.1 Å (heavy) or
    0.95 Å (H) to any placed atom is redrawn; molecules stay compact like ANI-1x's
    (GDB-style, mostly within a 5 Å cutoff of each other).
    """
    n_heavy = int(np.clip(round(n_atoms * rng.uniform(0.3, 0.5)), 1, n_atoms))
    heavy = rng.choice([6, 7, 8], size=n_heavy, p=[0.6, 0.2, 0.2])
    numbers = np.concatenate([heavy, np.ones(n_atoms - n_heavy, np.int64)])
    pos = np.zeros((n_atoms, 3))
    for k in range(1, n_atoms):
        is_h = numbers[k] == 1
        lo, hi, d_min = (1.0, 1.1, 0.95) if is_h else (1.2, 1.55, 1.1)
        for attempt in range(50):
            anchor = pos[rng.integers(0, min(k, n_heavy))]
            u = rng.normal(size=3)
            cand = anchor + rng.uniform(lo, hi) * u / np.linalg.norm(u)
            if np.min(np.linalg.norm(pos[:k] - cand, axis=1)) > d_min * (1 - attempt / 100):
                break
        pos[k] = cand
    return numbers, pos


def random_molecules(n: int, seed: int = 0, min_atoms: int = 2, max_atoms: int = 30):
    """``n`` random CHNO molecules (sizes uniform in [min_atoms, max_atoms]) as Structures,
    with energies = self energies + N(0, 0.3 eV·sqrt(N_at)) and forces N(0, 1 eV/Å)."""
    from gmnn.data import Structures

    rng = np.random.default_rng(seed)
    sizes = rng.integers(min_atoms, max_atoms + 1, size=n)
    mols = [random_molecule(int(s), rng) for s in sizes]
    numbers = np.concatenate([m[0] for m in mols])
    self_e = np.array([SELF_ENERGY_HA[int(z)] for z in numbers]) * HARTREE_EV
    seg = np.repeat(np.arange(n), sizes)
    energy = np.bincount(seg, weights=self_e, minlength=n) + rng.normal(0, 0.3, n) * np.sqrt(sizes)
    return Structures(
        positions=np.concatenate([m[1] for m in mols]),
        numbers=numbers,
        n_atoms=sizes,
        energy=energy,
        forces=rng.normal(scale=1.0, size=(int(sizes.sum()), 3)),
        meta={"source": f"random CHNO molecules ({min_atoms}-{max_atoms} atoms)"},
    )


# ----------------------------------------------------------------------------- benchmark
def bench(args, log) -> dict:

    from gmnn.model import GMNN
    from gmnn.model.batch import GraphData
    from gmnn.train.config import TrainConfig
    from gmnn.train.trainer import Trainer

    bs, n_batches = args.batch, 2
    t0 = time.perf_counter()
    pool = random_molecules(bs * n_batches, seed=args.seed)
    log(f"  {len(pool)} molecules, {pool.n_atoms.sum()} atoms in {time.perf_counter() - t0:.1f} s")
    model = GMNN(species=list(SPECIES), cutoff=CUTOFF_ANI)
    model.init_scale_shift(pool)
    config = TrainConfig(steps=1, batch_size=bs, progress=False, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        trainer = Trainer(model, pool, pool[np.arange(2)], config, tmp)
        setup = time.perf_counter() - t0
    lam = (trainer.lam_e, trainer.lam_f)
    log(f"  trainer set-up {setup:.1f} s (cached pairs: {trainer.train_data.cached}); λ = {lam}")
    dtype = model.dtype.as_numpy_dtype
    ranges = [np.arange(k * bs, (k + 1) * bs) for k in range(n_batches)]
    # input building: from the cache (small sets) and with neighbour lists per batch (ANI
    # scale: GraphData does not cache above ~1.2 M atoms)
    uncached = GraphData(pool, model.cutoff, model.species, cache=False)
    batch_times = {"cached": [], "per_batch": []}
    for _ in range(args.rounds):
        for idx in ranges:
            for name, data in (("cached", trainer.train_data), ("per_batch", uncached)):
                t0 = time.perf_counter()
                data.batch(idx, dtype)
                batch_times[name].append(time.perf_counter() - t0)
    raw = [trainer.train_data.batch(idx, dtype) for idx in ranges]
    first, times = time_train_steps(trainer, raw, args, valid=True)
    log(
        f"  first calls (trace + run): gmnn {first['gmnn']:.1f} s, floor {first['floor']:.1f} s, "
        f"validation {first['valid']:.1f} s"
    )
    res = {
        "batch_structures": bs,
        "batch_atoms_mean": float(np.mean([b["n_atoms"].sum() for b in raw])),
        "batch_pairs_mean": float(np.mean([len(b["pair_i"]) for b in raw])),
        "loss_weights": {"energy": lam[0], "forces": lam[1], "per_atom_energy": True},
        "trainer_setup_s": setup,
        "compile_s": first,
        "inputs_s": {k: med(v) for k, v in batch_times.items()},
        "inputs_s_all": batch_times,
        **step_results(times, bs),
    }
    g = res["gmnn"]["step_s_median"]
    res["ratio_inputs_step"] = res["inputs_s"]["per_batch"] / g
    res["ratio_valid_step"] = res["valid"]["step_s_median"] / g
    res["train_loop_step_s"] = g + res["inputs_s"]["per_batch"]  # step + per-batch inputs
    return res


def report(res: dict) -> str:
    env, r = res["environment"], res["training"]
    w = 100
    lines = ["=" * w]
    lines.append(
        f"ANI throughput  |  TF {env['tensorflow']}, numpy {env['numpy']}, vesin {env['vesin']}; "
        f"{env['cpu_count']} CPUs, TF intra/inter-op {env['tf_intra_op_threads']}/"
        f"{env['tf_inter_op_threads']}; load average at start {env['load_average'][0]:.2f}"
    )
    lines.append(
        f"E+F step, batch of {r['batch_structures']} random CHNO molecules (2-30 atoms; "
        f"{r['batch_atoms_mean']:.0f} atoms, {r['batch_pairs_mean']:.0f} pairs), cutoff "
        f"{CUTOFF_ANI} Å, λ_E = {r['loss_weights']['energy']:g}/N_at, "
        f"λ_F = {r['loss_weights']['forces']:g} Å²"
    )
    lines.append("=" * w)
    lines.append(
        f"  {'':44s} {'ms (median)':>12s} {'min':>9s} {'steps/s':>9s} {'structures/s':>13s}"
    )
    for name, key in (
        ("gmnn (Trainer train_step)", "gmnn"),
        ("bare network floor", "floor"),
        ("validation batch (Trainer eval_step)", "valid"),
    ):
        x = r[key]
        lines.append(
            f"  {name:44s} {x['step_s_median'] * 1e3:12.0f} {x['step_s_min'] * 1e3:9.0f} "
            f"{x['steps_per_s']:9.3f} {x['structures_per_s']:13.0f}"
        )
    for name, key in (
        ("inputs, GraphData.batch (cached pairs)", "cached"),
        ("inputs, GraphData.batch (pairs per batch)", "per_batch"),
    ):
        lines.append(f"  {name:44s} {r['inputs_s'][key] * 1e3:12.0f}")
    loop = r["train_loop_step_s"]
    lines.append(
        f"  {'training loop step (step + pairs per batch)':44s} {loop * 1e3:12.0f} {'':9s} "
        f"{1 / loop:9.3f} {r['batch_structures'] / loop:13.0f}"
    )
    lines.append("-" * w)
    lines.append(
        f"RATIOS  gmnn/floor {r['ratio_gmnn_floor']:.2f} (paired {r['ratio_gmnn_floor_paired']:.2f});"
        f"  inputs per batch / step {r['ratio_inputs_step']:.2f};"
        f"  validation batch / step {r['ratio_valid_step']:.2f}"
    )
    lines.append(
        f"first calls (trace + run): gmnn {r['compile_s']['gmnn']:.1f} s, floor "
        f"{r['compile_s']['floor']:.1f} s, validation {r['compile_s']['valid']:.1f} s; "
        f"trainer set-up {r['trainer_setup_s']:.1f} s"
    )
    if r["batch_structures"] == 2048:
        steps_epoch = PAPER_ANI_TRAIN // 2048
        lines.append(
            f"at this rate: 2000 steps {2000 * loop / 3600:.1f} h; 2000 epochs of "
            f"{PAPER_ANI_TRAIN:,} structures ({steps_epoch} steps each) "
            f"{2000 * steps_epoch * loop / 86400 / 365:.1f} years"
        )
    lines.append("=" * w)
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: batch 256, 2 rounds")
    p.add_argument("--batch", type=int, default=None, help="structures per batch (2048)")
    p.add_argument("--rounds", type=int, default=None, help="timed steps per variant (3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    p.add_argument("--seed", type=int, default=0, help="seed of the molecules")
    p.add_argument("--json", type=Path, help="write all numbers to this file")
    args = p.parse_args(argv)
    args.batch = args.batch or (256 if args.quick else 2048)
    args.rounds = args.rounds or (2 if args.quick else 3)
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    res = {"environment": environment()}
    log(f"ANI throughput, batch {args.batch}")
    res["training"] = bench(args, log)
    res["total_s"] = time.perf_counter() - t_start
    print(report(res))
    print(f"total benchmark time {res['total_s']:.0f} s")
    if args.json:
        from gmnn.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
