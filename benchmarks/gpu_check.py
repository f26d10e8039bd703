#!/usr/bin/env python
"""GPU check (speed issue, item 3): gmnn's training and MD steps on an NVIDIA GPU, a short
real training, and GPU results against CPU results, in one JSON.

Run by ``benchmarks/gpu_check.sh`` (which finds or makes a Python with GPU TensorFlow);
alone:

    python benchmarks/gpu_check.py                      # needs a GPU; ~3-5 min on an H100
    python benchmarks/gpu_check.py --cpu-smoke          # CPU dry run of every part, < 60 s
    python benchmarks/gpu_check.py --json out.json

Parts (each timed with ``time.perf_counter`` medians, gmnn interleaved with its floor):

* ``training``: the compiled E+F training step (``Trainer.train_step``) on batches of 32
  rMD17 aspirins (``--data``, default ``$GMNN_SHARED_DATA`` or ``../shared/data``; else
  aspirin-like stand-ins) beside the bare-network floor of ``bench_gmnn.py``;
* ``ani``: the same at the ANI batch of 2,048 random CHNO molecules
  (``ani_throughput.py``'s stand-ins), with a validation batch;
* ``md``: ASE Langevin steps of aspirin (one model) and of a 2,384-atom periodic water
  box standing in for the solvated Ala10 (one model and five members in one
  ``EnsembleCalculator``);
* ``real_training``: ``gmnn.train.fit`` for ``--train-steps`` (300) optimiser steps on
  aspirin, validated every 100: wall time, steps/s and the validation errors;
* ``gpu_vs_cpu``: energies and forces of one model (the real training's, else an
  untrained one with the aspirin data's scale and shift) on 8 aspirins and the water box, by ``GMNN.predict`` (TensorFlow graph) and by the
  calculator's XLA-compiled ``Predictor``, here and in a subprocess with
  ``CUDA_VISIBLE_DEVICES=-1`` (the CPU); on a GPU also with TensorFloat-32 matmuls off.
  Passes when every energy agrees within 2e-5 eV per atom and every force component
  within 1e-4 of the largest force (+1e-5 eV/Å): float32 round-off, not TF32's.

``--cpu-smoke`` runs every part on the CPU with small sizes (batch 8 ANI-like
molecules, a 375-atom box, 10 training steps; the "GPU" side is this process on the
CPU) so that a test checks the script; its JSON says ``"mode": "cpu-smoke"``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DEFAULT_JSON = HERE / "results" / "gpu_check.json"
SMOKE_JSON = HERE / "results" / "gpu_check_cpu_smoke.json"
ENERGY_TOL_PER_ATOM = 2e-5  # eV
_TRAINED = []  # the model of the real training (realistic forces for the comparison)
FORCE_TOL_REL = 1e-4  # of the largest force component
FORCE_TOL_ABS = 1e-5  # eV/Å


def sizes(smoke: bool) -> dict:
    if smoke:
        return {
            "batch": 32,
            "n_batches": 2,
            "rounds": 2,
            "warmup": 1,
            "ani_batch": 8,
            "box_atoms": 375,
            "md_steps": 3,
            "md_steps_box": 2,
            "train_steps": 10,
            "valid_every": 5,
        }
    return {
        "batch": 32,
        "n_batches": 4,
        "rounds": 20,
        "warmup": 3,
        "ani_batch": 2048,
        "box_atoms": 2384,
        "md_steps": 100,
        "md_steps_box": 10,
        "train_steps": 300,
        "valid_every": 100,
    }


# ----------------------------------------------------------------------------- device
def environment() -> dict:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    out = {
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "gpus": [g.name for g in gpus],
        "cuda_build": bool(tf.test.is_built_with_cuda()),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "measured": time.strftime("%Y-%m-%d"),
        "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
    }
    try:
        details = [tf.config.experimental.get_device_details(g) for g in gpus]
        out["gpu_details"] = [{k: str(v) for k, v in d.items()} for d in details]
    except Exception as err:  # noqa: BLE001  (only informative)
        out["gpu_details"] = str(err)
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        out["nvidia_smi"] = smi.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out["nvidia_smi"] = None
    return out


# ----------------------------------------------------------------------------- parts
def part_training(s: dict, args, log) -> dict:
    from bench_gmnn import CUTOFF_MOLECULE, load_aspirin, step_results, time_train_steps

    from gmnn.model import GMNN
    from gmnn.train.config import TrainConfig
    from gmnn.train.trainer import Trainer

    bs, nb = s["batch"], s["n_batches"]
    structures, source = load_aspirin(args.data, bs * nb)
    model = GMNN(species=sorted(set(structures.numbers.tolist())), cutoff=CUTOFF_MOLECULE)
    model.init_scale_shift(structures)
    config = TrainConfig(epochs=1, batch_size=bs, progress=False, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, structures, structures[np.arange(2)], config, tmp)
    raw = [trainer.train_data.batch(np.arange(k * bs, (k + 1) * bs)) for k in range(nb)]
    first, times = time_train_steps(
        trainer, raw, argparse.Namespace(rounds=s["rounds"], warmup=s["warmup"])
    )
    res = {"data": source, "batch_structures": bs, "first_call_s": first}
    res.update(step_results(times, bs))
    log(
        f"  training step (batch {bs}): gmnn {1e3 * res['gmnn']['step_s_median']:.1f} ms, "
        f"floor {1e3 * res['floor']['step_s_median']:.1f} ms"
    )
    return res


def part_ani(s: dict, args, log) -> dict:
    import ani_throughput

    ns = argparse.Namespace(batch=s["ani_batch"], seed=0, rounds=max(3, s["rounds"] // 4), warmup=1)
    res = ani_throughput.bench(ns, log)
    res.pop("inputs_s_all", None)
    log(
        f"  ANI step (batch {s['ani_batch']}): gmnn {res['gmnn']['step_s_median']:.3f} s, "
        f"floor {res['floor']['step_s_median']:.3f} s"
    )
    return res


def part_md(s: dict, args, log) -> dict:
    from ase import units
    from ase.md.verlet import VelocityVerlet
    from bench_gmnn import (
        CUTOFF_MOLECULE,
        CUTOFF_WATER,
        interleaved,
        load_aspirin,
        med,
        run_md,
        solvated_atoms,
    )

    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.model import GMNN

    structures, _ = load_aspirin(args.data, 1)
    aspirin = structures.atoms(0)
    model = GMNN(sorted(set(aspirin.numbers.tolist())), cutoff=CUTOFF_MOLECULE)
    model.init_scale_shift(structures)
    t0 = time.perf_counter()
    times = run_md(aspirin, GMNNCalculator(model), warmup=5, steps=s["md_steps"])
    res = {
        "aspirin": {
            "atoms": len(aspirin),
            "ms_per_step": 1e3 * med(times),
            "steps": len(times),
            "wall_s": time.perf_counter() - t0,
        }
    }
    log(f"  MD aspirin: {res['aspirin']['ms_per_step']:.2f} ms per step")
    box = solvated_atoms(s["box_atoms"])
    species = sorted(set(box.numbers.tolist()))
    models = [GMNN(species, cutoff=CUTOFF_WATER, seed=k) for k in range(5)]
    for m in models:
        m.energy_scale.assign(0.01)  # untrained networks: small forces
    dyn, first = {}, {}
    for label, calc in (("1", GMNNCalculator(models[0])), ("5", EnsembleCalculator(models))):
        a = box.copy()
        a.calc = calc
        dyn[label] = VelocityVerlet(a, 0.5 * units.fs)
        t0 = time.perf_counter()
        dyn[label].run(1)  # compile
        first[label] = time.perf_counter() - t0
    times = interleaved({k: (lambda d=d: d.run(1)) for k, d in dyn.items()}, s["md_steps_box"], 1)
    res["water_box"] = {
        "atoms": len(box),
        "one_ms_per_step": 1e3 * med(times["1"]),
        "five_ms_per_step": 1e3 * med(times["5"]),
        "ratio_5_vs_1": med(times["5"]) / med(times["1"]),
        "first_step_s": first,
    }
    wb = res["water_box"]
    log(
        f"  MD water {len(box)}: 1 member {wb['one_ms_per_step']:.1f} ms, 5 members "
        f"{wb['five_ms_per_step']:.1f} ms per step ({wb['ratio_5_vs_1']:.2f}x)"
    )
    return res


def part_real_training(s: dict, args, log) -> dict:
    from bench_gmnn import CUTOFF_MOLECULE, load_aspirin

    from gmnn.model import GMNN
    from gmnn.train import TrainConfig, fit

    structures, source = load_aspirin(args.data, 1050)
    n = len(structures)
    n_valid = min(50, n // 5)
    train = structures[np.arange(n_valid, n)]
    valid = structures[np.arange(n_valid)]
    model = GMNN(sorted(set(structures.numbers.tolist())), cutoff=CUTOFF_MOLECULE)
    model.init_scale_shift(train)
    config = TrainConfig(
        steps=s["train_steps"],
        valid_every=s["valid_every"],
        batch_size=32,
        progress=False,
        seed=0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        trained = fit(train, valid, tmp, config=config, model=model, resume=False)
        _TRAINED.append(trained)  # the GPU-vs-CPU comparison uses its weights
        wall = time.perf_counter() - t0
        lines = (Path(tmp) / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    history = [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[1:]]
    res = {
        "data": source,
        "n_train": len(train),
        "n_valid": len(valid),
        "steps": s["train_steps"],
        "wall_s": wall,
        "steps_per_s": s["train_steps"] / wall,
        "history": history,
    }
    last = history[-1]
    log(
        f"  real training: {s['train_steps']} steps in {wall:.1f} s; validation energy "
        f"RMSE {last['valid_energy_rmse']:.3g}, force RMSE {last['valid_force_rmse']:.3g} "
        "kcal/mol(/Å)"
    )
    return res


# ----------------------------------------------------------------------------- GPU vs CPU
def _systems(args, s):
    """(name, inputs) of the comparison: a batch of 8 aspirins and the water box."""
    from bench_gmnn import load_aspirin, solvated_atoms

    structures, _ = load_aspirin(args.data, 8)
    return structures, solvated_atoms(s["box_atoms"])


def predictions(model_dir: str, args, s, tag: str) -> dict:
    """Energies (M,) and forces (A, 3) of the model by the graph (GMNN.predict) and by
    the XLA-compiled Predictor of the calculator, for the comparison's systems."""
    from gmnn.io import load_model
    from gmnn.model.batch import GraphData, atoms_inputs
    from gmnn.model.inference import Predictor

    model = load_model(model_dir)
    aspirins, box = _systems(args, s)
    out = {}
    data = GraphData(aspirins, model.cutoff, model.species)
    batch = data.batch(np.arange(len(aspirins)), model.dtype.as_numpy_dtype)
    box_inputs = atoms_inputs(model, box)
    for how, jit in (("graph", False), ("xla", True)):
        predictor = Predictor(model, jit=jit, frozen=(how == "xla"))
        for name, inputs in (("aspirin", batch), ("water", box_inputs)):
            p = predictor.predict(inputs)
            out[f"{tag}{how}/{name}/energy"] = np.asarray(p["energy"][0], np.float64)
            out[f"{tag}{how}/{name}/forces"] = np.asarray(p["forces"][0], np.float64)
    out["n_atoms/aspirin"] = np.asarray(aspirins.n_atoms)
    out["n_atoms/water"] = np.asarray([len(box)])
    return out


def compare(a: dict, b: dict, n_atoms: np.ndarray) -> dict:
    de = np.abs(a["energy"] - b["energy"]) / n_atoms
    df = np.abs(a["forces"] - b["forces"])
    scale = float(np.abs(b["forces"]).max())
    tol_f = FORCE_TOL_REL * scale + FORCE_TOL_ABS
    return {
        "energy_max_dev_per_atom_eV": float(de.max()),
        "forces_max_dev_eV_A": float(df.max()),
        "forces_max_abs_eV_A": scale,
        "forces_max_dev_relative": float(df.max()) / max(scale, 1e-30),
        "passed": bool(de.max() <= ENERGY_TOL_PER_ATOM and df.max() <= tol_f),
    }


def part_gpu_vs_cpu(s: dict, args, log, gpu: bool) -> dict:
    import tensorflow as tf
    from bench_gmnn import CUTOFF_MOLECULE, load_aspirin

    from gmnn.io import save_model
    from gmnn.model import GMNN

    structures, _ = load_aspirin(args.data, 64)
    with tempfile.TemporaryDirectory() as tmp:
        if _TRAINED:  # the real training's model (H, C, O: aspirin and water)
            model = _TRAINED[-1]
        else:  # an untrained one with the data's scale and shift
            model = GMNN(sorted(set(structures.numbers.tolist())), cutoff=CUTOFF_MOLECULE)
            model.init_scale_shift(structures)
        model_dir = save_model(model, Path(tmp) / "model")
        here = predictions(str(model_dir), args, s, "")
        tf32 = tf.config.experimental.tensor_float_32_execution_enabled()
        if gpu and tf32:
            tf.config.experimental.enable_tensor_float_32_execution(False)
            here.update(predictions(str(model_dir), args, s, "no_tf32/"))
            tf.config.experimental.enable_tensor_float_32_execution(True)
        ref_path = Path(tmp) / "cpu.npz"
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        cmd = [sys.executable, __file__, "--child-predict", str(model_dir), str(ref_path)]
        cmd += ["--cpu-smoke"] if args.cpu_smoke else []
        cmd += ["--data", str(args.data)] if args.data else []
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the CPU reference failed:\n{proc.stderr[-3000:]}")
        with np.load(ref_path) as ref:
            cpu = {k: ref[k] for k in ref.files}
        cpu_wall = time.perf_counter() - t0
    res = {"tf32_default": bool(tf32), "cpu_reference_wall_s": cpu_wall, "comparisons": {}}
    prefixes = [""] + (["no_tf32/"] if gpu and tf32 else [])
    for prefix in prefixes:
        for how in ("graph", "xla"):
            for name in ("aspirin", "water"):
                key = f"{prefix}{how}/{name}"
                got = {q: here[f"{key}/{q}"] for q in ("energy", "forces")}
                want = {q: cpu[f"{how}/{name}/{q}"] for q in ("energy", "forces")}
                res["comparisons"][key] = compare(got, want, cpu[f"n_atoms/{name}"])
    # the graph and XLA paths against each other on the CPU (sanity of the reference)
    for name in ("aspirin", "water"):
        got = {q: cpu[f"xla/{name}/{q}"] for q in ("energy", "forces")}
        want = {q: cpu[f"graph/{name}/{q}"] for q in ("energy", "forces")}
        res["comparisons"][f"cpu xla vs graph/{name}"] = compare(got, want, cpu[f"n_atoms/{name}"])
    default = [v["passed"] for k, v in res["comparisons"].items() if not k.startswith("no_tf32")]
    res["passed"] = all(default)
    if gpu and tf32:
        res["passed_without_tf32"] = all(
            v["passed"] for k, v in res["comparisons"].items() if k.startswith("no_tf32")
        )
    for key, c in res["comparisons"].items():
        log(
            f"  {key:28s} dE {c['energy_max_dev_per_atom_eV']:.1e} eV/atom, dF "
            f"{c['forces_max_dev_eV_A']:.1e} eV/Å (max |F| {c['forces_max_abs_eV_A']:.2g}): "
            + ("ok" if c["passed"] else "NOT within float32 tolerance")
        )
    return res


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu-smoke", action="store_true", help="small CPU dry run (< 60 s)")
    p.add_argument("--json", help=f"output (default {DEFAULT_JSON}; smoke: {SMOKE_JSON})")
    p.add_argument("--data", help="rMD17 aspirin npz (default: the shared data, else stand-ins)")
    p.add_argument("--train-steps", type=int, help="steps of the real training (default 300)")
    p.add_argument(
        "--parts",
        default="training,ani,md,real_training,gpu_vs_cpu",
        help="comma-separated parts to run (default: all)",
    )
    p.add_argument("--child-predict", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.data is None:
        from bench_gmnn import default_data

        args.data = default_data() if default_data().is_file() else None
    s = sizes(args.cpu_smoke)
    if args.train_steps:
        s["train_steps"] = args.train_steps
    if args.child_predict:
        model_dir, out = args.child_predict
        np.savez(out, **predictions(model_dir, args, s, ""))
        return 0
    import tensorflow as tf

    gpu = bool(tf.config.list_physical_devices("GPU"))
    if not gpu and not args.cpu_smoke:
        print(
            "gpu_check.py: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is "
            "empty: no NVIDIA GPU, or a TensorFlow without CUDA); use --cpu-smoke for a CPU "
            "dry run",
            file=sys.stderr,
        )
        return 2
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", flush=True)

    res = {
        "mode": "cpu-smoke" if args.cpu_smoke else "gpu",
        "environment": environment(),
        "sizes": s,
        "tolerance": {
            "energy_eV_per_atom": ENERGY_TOL_PER_ATOM,
            "forces_relative_to_max": FORCE_TOL_REL,
            "forces_abs_eV_A": FORCE_TOL_ABS,
        },
    }
    log(f"device: {res['environment']['gpus'] or 'CPU only'} ({res['mode']})")
    parts = {
        "training": lambda: part_training(s, args, log),
        "ani": lambda: part_ani(s, args, log),
        "md": lambda: part_md(s, args, log),
        "real_training": lambda: part_real_training(s, args, log),
        "gpu_vs_cpu": lambda: part_gpu_vs_cpu(s, args, log, gpu),
    }
    failed = []
    for name in args.parts.split(","):
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            res[name] = parts[name]()
        except Exception as err:  # noqa: BLE001  (one part's failure does not lose the rest)
            res[name] = {"error": f"{type(err).__name__}: {err}"}
            failed.append(name)
            log(f"  {name} FAILED: {type(err).__name__}: {err}")
        res[name]["part_wall_s"] = time.perf_counter() - t0
    res["total_wall_s"] = time.perf_counter() - t_start
    out = Path(args.json) if args.json else (SMOKE_JSON if args.cpu_smoke else DEFAULT_JSON)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=float) + "\n")
    verdict = res.get("gpu_vs_cpu", {}).get("passed")
    log(f"wrote {out}; GPU vs CPU within float32 tolerance: {verdict}; failed parts: {failed}")
    return 1 if failed or verdict is False else 0


if __name__ == "__main__":
    sys.exit(main())
