"""Memory of the ANI data path at paper scale: convert, split, batch (no network).

Phases, each in a fresh Python process so that its peak resident memory
(``resource.getrusage(...).ru_maxrss``) is its own:

``write``    a synthetic file in the layout of ``ani1x-release.h5``: groups named by
             formula with ``atomic_numbers``, ``coordinates`` (float32, Å),
             ``wb97x_dz.energy``, ``wb97x_dz.forces`` (float32) and
             ``ccsd(t)_cbs.energy`` (NaN except for about 10% of the conformers, as in
             the release); ``--n`` conformers (default 524,288) of 2-30 C/H/N/O atoms,
             geometries grown bond by bond (1.1-1.5 Å) and jittered (0.02 Å), no two
             atoms closer than 0.9 Å; group sizes log-normal, at least one group larger
             than a conversion chunk so that groups are sliced;
``convert``  :func:`gmnn.data.ani.convert_ani`, level ``dft`` then ``cc`` (streaming);
``split``    :func:`gmnn.data.splits.make_ani_split` from the converted file's ids
             (``n_valid = n/16``, training sizes: powers of two up to the rest), saved;
``batch``    what a training job holds: :func:`gmnn.data.read_h5` of the converted
             file, the training and validation subsets, their
             :class:`gmnn.model.batch.GraphData` (per-batch neighbour lists, cutoff
             5 Å) and one epoch of ``GraphData.batch`` at ``--batch`` (2048) structures.

Printed per phase: peak RSS, RSS after the imports (the baseline), wall time and, for
``batch``, bytes per structure held (RSS with the data, its training/validation subsets
and their GraphData, minus the baseline, over the structures in the file), the batching
working memory (tracemalloc peak during the epoch) and the projection to the paper's
largest training set, 4,194,304 ANI-1x structures: baseline + the per-structure cost
times 4,956,005 (the whole ANI-1x file is read, of which 4,194,304 train) + the batching
memory, or the loading peak (before the epoch) scaled the same way if larger, to be
compared with the target of 32 GB. Small ``--n`` cache the neighbour lists (GraphData
does below ~1.25 M atoms), which inflates their per-structure cost. The
training-throughput part (steps per second at batch 2048) is not measured here.

Run::

    nice -n 10 .venv/bin/python benchmarks/ani_memory.py            # 524,288, minutes
    nice -n 10 .venv/bin/python benchmarks/ani_memory.py --n 20000  # quick

``--workdir`` keeps the files (default: a temporary directory, removed afterwards);
``--json`` writes all phase results to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ANI1X_CONFORMERS = 4_956_005
"""Conformers in ani1x-release.h5 (the whole file is read by a training job)."""
PAPER_TRAIN = 4_194_304
TARGET_GB = 32.0
CUTOFF = 5.0

SELF_ENERGY = {1: -0.60095298, 6: -38.08316124, 7: -54.7077577, 8: -75.19446356}  # Hartree
SYMBOL = {1: "H", 6: "C", 7: "N", 8: "O"}


def _rss_mb() -> float:
    """Current resident memory (MB) from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ---------------------------------------------------------------------- synthetic data


def _base_geometry(rng: np.random.Generator, n: int) -> np.ndarray:
    """A connected (n, 3) geometry: each atom bonded (1.1-1.5 Å) to an earlier one,
    never closer than 1.1 Å to any other."""
    xyz = np.zeros((n, 3))
    for k in range(1, n):
        for _ in range(1000):
            direction = rng.normal(size=3)
            candidate = xyz[rng.integers(k)] + direction / np.linalg.norm(direction) * rng.uniform(
                1.1, 1.5
            )
            if np.min(np.linalg.norm(xyz[:k] - candidate, axis=1)) >= 1.1:
                xyz[k] = candidate
                break
        else:
            raise RuntimeError("could not place an atom")
    return xyz


def _conformers(rng: np.random.Generator, base: np.ndarray, k: int) -> np.ndarray:
    """(k, n, 3) float32 jittered copies of ``base``, none with atoms closer than 0.9 Å."""
    out = np.empty((k, *base.shape), dtype=np.float32)
    n = base.shape[0]
    iu = np.triu_indices(n, 1)
    for start in range(0, k, 4096):
        stop = min(start + 4096, k)
        todo = np.arange(start, stop)
        while todo.size:
            xyz = (base + rng.normal(scale=0.02, size=(todo.size, *base.shape))).astype(np.float32)
            d = np.linalg.norm(xyz[:, iu[0]] - xyz[:, iu[1]], axis=-1) if n > 1 else None
            ok = np.ones(todo.size, bool) if d is None else d.min(axis=1) >= 0.9
            out[todo[ok]] = xyz[ok]
            todo = todo[~ok]
    return out


def write_synthetic(path: Path, n: int, seed: int, big_group: int) -> dict:
    """Write the synthetic ANI-1x-format file of ``n`` conformers (see module docstring)."""
    import h5py

    rng = np.random.default_rng(seed)
    written, n_groups, n_atoms_total, n_cc = 0, 0, 0, 0
    names: set[str] = set()
    with h5py.File(path, "w") as f:
        while written < n:
            size = big_group if n_groups == 0 else int(np.clip(rng.lognormal(6.5, 1.3), 1, 60000))
            size = min(size, n - written)
            while True:
                n_at = int(rng.integers(2, 31))
                heavy = int(rng.integers(1, max(2, n_at // 2 + 1)))
                numbers = np.concatenate(
                    [rng.choice([6, 7, 8], size=heavy, p=[0.6, 0.2, 0.2]), np.ones(n_at - heavy)]
                ).astype(np.uint8)
                counts = {z: int((numbers == z).sum()) for z in (6, 1, 7, 8)}
                name = "".join(f"{SYMBOL[z]}{c}" for z, c in counts.items())
                if name not in names:
                    names.add(name)
                    break
            g = f.create_group(name)
            g["atomic_numbers"] = numbers
            g["coordinates"] = _conformers(rng, _base_geometry(rng, n_at), size)
            e0 = sum(SELF_ENERGY[int(z)] for z in numbers)
            g["wb97x_dz.energy"] = e0 + rng.normal(scale=0.05, size=size)
            g["wb97x_dz.forces"] = rng.normal(scale=0.02, size=(size, n_at, 3)).astype(np.float32)
            cc = np.full(size, np.nan)
            has = rng.random(size) < 0.1
            cc[has] = e0 + 0.01 + rng.normal(scale=0.05, size=int(has.sum()))
            g["ccsd(t)_cbs.energy"] = cc
            written += size
            n_groups += 1
            n_atoms_total += size * n_at
            n_cc += int(has.sum())
    return {
        "n_conformers": written,
        "n_groups": n_groups,
        "n_atoms_total": n_atoms_total,
        "mean_atoms": n_atoms_total / written,
        "n_cc": n_cc,
        "file_mb": path.stat().st_size / 2**20,
    }


# ---------------------------------------------------------------------- phases


def phase(name: str, work: Path, args: argparse.Namespace) -> dict:
    """Run one phase in this process; returns its measurements."""
    raw, dft, cc, split_path = (
        work / "ani1x-synthetic.h5",
        work / "ani1x.h5",
        work / "ani1ccx.h5",
        work / "split.json",
    )
    if name == "write":
        baseline = _rss_mb()
        t0 = time.perf_counter()
        info = write_synthetic(raw, args.n, args.seed, args.big_group)
    elif name == "convert":
        from gmnn.data.ani import convert_ani

        baseline = _rss_mb()
        t0 = time.perf_counter()
        s_dft = convert_ani(raw, dft, "dft", chunk_conformers=args.chunk_conformers)
        t_dft = time.perf_counter() - t0
        s_cc = convert_ani(raw, cc, "cc", chunk_conformers=args.chunk_conformers)
        info = {
            "dft_structures": s_dft.n_structures,
            "dft_seconds": t_dft,
            "dft_file_mb": dft.stat().st_size / 2**20,
            "cc_structures": s_cc.n_structures,
            "cc_dropped": s_cc.n_dropped_nan_energy,
            "chunk_conformers": args.chunk_conformers,
        }
    elif name == "split":
        from gmnn.data import save_split
        from gmnn.data.h5 import read_h5_ids
        from gmnn.data.splits import make_ani_split

        baseline = _rss_mb()
        t0 = time.perf_counter()
        ids = read_h5_ids(dft)
        n_valid = len(ids) // 16
        rest = len(ids) - n_valid
        sizes = [2**k for k in range(5, int(np.log2(rest)) + 1)] + [rest]
        split = make_ani_split(ids, sizes, n_valid, n_test=0, seed=args.seed)
        save_split(split, split_path)
        info = {"n_train": len(split.train), "n_valid": len(split.valid), "sizes": len(sizes)}
    elif name == "batch":
        from gmnn.data import load_split, read_h5
        from gmnn.model.batch import GraphData

        baseline = _rss_mb()
        t0 = time.perf_counter()
        data = read_h5(dft)
        t_read = time.perf_counter() - t0
        rss_data = _rss_mb()
        split = load_split(split_path)
        train, valid = data[split.train], data[split.valid]
        species = [1, 6, 7, 8]
        train_data = GraphData(train, CUTOFF, species)
        valid_data = GraphData(valid, CUTOFF, species)
        rss_sets = _rss_mb()
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(len(train))
        n_batches = -(-len(order) // args.batch)
        if args.max_batches:
            n_batches = min(n_batches, args.max_batches)
        peak_before_epoch = _peak_mb()
        tracemalloc.start()  # NumPy reports its allocations to tracemalloc
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        n_pairs = 0
        for b in range(n_batches):
            n_pairs += len(train_data.batch(order[b * args.batch : (b + 1) * args.batch])["pair_i"])
        t_epoch = time.perf_counter() - t1
        cpu_epoch = time.process_time() - cpu1
        batching_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        for b in range(0, len(valid), args.batch):
            valid_data.batch(np.arange(b, min(b + args.batch, len(valid))))
        arrays = {
            name: getattr(data, name).nbytes
            for name in ("numbers", "positions", "forces", "n_atoms", "energy", "cell", "pbc")
        }
        arrays.update(ids=data.ids.nbytes, groups=data.groups.nbytes, offsets=data.offsets.nbytes)
        info = {
            "n_structures": len(data),
            "n_atoms_total": data.n_total_atoms,
            "positions_dtype": str(data.positions.dtype),
            "forces_dtype": str(data.forces.dtype),
            "read_seconds": t_read,
            "rss_after_read_mb": rss_data,
            "rss_after_sets_mb": rss_sets,
            "peak_before_epoch_mb": peak_before_epoch,
            "batching_mb": batching_mb,
            "cached_pairs": train_data.cached,
            "n_batches": n_batches,
            "epoch_seconds": t_epoch,
            "epoch_cpu_seconds": cpu_epoch,
            "ms_per_batch": 1e3 * t_epoch / max(n_batches, 1),
            "pairs_per_structure": n_pairs / max(min(len(order), n_batches * args.batch), 1),
            "array_bytes_per_structure": sum(arrays.values()) / len(data),
            "array_bytes": arrays,
        }
    else:
        raise ValueError(f"unknown phase {name!r}")
    return {
        "phase": name,
        "seconds": time.perf_counter() - t0,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _peak_mb(),
        **info,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=524_288, help="conformers (default 524,288)")
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--max-batches", type=int, default=0, help="0: one whole epoch")
    parser.add_argument("--chunk-conformers", type=int, default=None)
    parser.add_argument("--big-group", type=int, default=None, help="size of the first group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.chunk_conformers is None:
        from gmnn.data.ani import DEFAULT_CHUNK_CONFORMERS

        args.chunk_conformers = DEFAULT_CHUNK_CONFORMERS
    if args.big_group is None:  # larger than a chunk: the slicing path is exercised
        args.big_group = min(args.n, int(1.5 * args.chunk_conformers))

    if args.phase is not None:  # child process
        print(json.dumps(phase(args.phase, args.workdir, args)))
        return 0

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ani_memory_"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for name in ("write", "convert", "split", "batch"):
            command = [sys.executable, __file__, "--phase", name, "--workdir", str(work)]
            command += ["--n", str(args.n), "--batch", str(args.batch), "--seed", str(args.seed)]
            command += ["--max-batches", str(args.max_batches)]
            command += ["--chunk-conformers", str(args.chunk_conformers)]
            command += ["--big-group", str(args.big_group)]
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if done.returncode:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"phase {name} failed (exit {done.returncode})")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(
                f"{name:8s} peak RSS {result['peak_rss_mb']:8.1f} MB  "
                f"(after imports {result['baseline_rss_mb']:6.1f} MB)  {result['seconds']:7.1f} s"
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    write, convert, _, batch = results
    print(
        f"synthetic file: {write['n_conformers']:,} conformers in {write['n_groups']} groups, "
        f"{write['mean_atoms']:.2f} atoms on average, {write['file_mb']:.0f} MB; "
        f"converted (gzip) {convert['dft_file_mb']:.0f} MB; ANI-1ccx subset "
        f"{convert['cc_structures']:,} ({convert['cc_dropped']:,} NaN dropped)"
    )
    mb, scale = 2**20, ANI1X_CONFORMERS / batch["n_structures"]
    base = batch["baseline_rss_mb"]
    per_structure = (batch["rss_after_sets_mb"] - base) * mb / batch["n_structures"]
    peak_per_structure = (batch["peak_before_epoch_mb"] - base) * mb / batch["n_structures"]
    working = batch["batching_mb"] * mb  # tracemalloc peak of one epoch of batches
    projected = (
        max(
            base * mb + per_structure * ANI1X_CONFORMERS + working,  # held + batching
            (base + (batch["peak_before_epoch_mb"] - base) * scale) * mb,  # loading transients
        )
        / 2**30
    )
    print(
        f"batch: positions {batch['positions_dtype']}, forces {batch['forces_dtype']}; arrays "
        f"{batch['array_bytes_per_structure']:.0f} B/structure; "
        f"read {batch['read_seconds']:.1f} s; "
        f"{batch['n_batches']} batches of {args.batch}: {batch['ms_per_batch']:.1f} ms each "
        f"(wall; {batch['pairs_per_structure']:.0f} pairs per structure; neighbour lists "
        f"{'cached' if batch['cached_pairs'] else 'per batch'})"
    )
    print(
        f"training job: {per_structure:.0f} B per structure in the file held (data, subsets, "
        f"GraphData; {peak_per_structure:.0f} B at the loading peak) + {working / mb:.0f} MB "
        f"batching; projected for {PAPER_TRAIN:,} training "
        f"structures ({ANI1X_CONFORMERS:,} read): {projected:.2f} GB (target < {TARGET_GB:g} GB)"
    )
    summary = {
        "n": args.n,
        "phases": results,
        "bytes_per_structure": per_structure,
        "peak_bytes_per_structure": peak_per_structure,
        "batching_mb": working / mb,
        "projected_gb": projected,
    }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
