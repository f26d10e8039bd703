"""Fixed cost per pipeline job: what a typical embedded job spends before its first
useful step (interpreter, TensorFlow import, gmnn import, set-up, tracing/compilation).

Each job runs in a fresh interpreter (as the pipeline runs it); the parent times the
interpreter's start, the child times its phases with ``time.perf_counter`` (wall) and
``time.process_time`` (CPU of all threads) and reports them as JSON:

* ``train``: the embedded default's ``train_cc`` job on MD17 methanol (coupled-cluster
  data of ``data/embedded/methanol_cc.h5``, 32 training and 32 validation structures,
  batches of 32, 100 epochs, E+F loss) followed by the evaluation on the rest (the test
  set), as ``gmnn.workflow.train_job`` runs it;
* ``evaluate``: ``gmnn evaluate`` of the model the ``train`` job saved, on the same data.

Fixed cost = everything before the first optimisation step starts, plus the extra time of
the first call of each compiled function (training step, validation step, prediction)
over its steady-state calls (tracing and compilation).  Its share of the job's CPU time
is the issue's "at most 20 %" quantity.

    .venv/bin/python benchmarks/startup.py                 # both jobs, ~30-60 s
    .venv/bin/python benchmarks/startup.py --epochs 10     # shorter training job
    .venv/bin/python benchmarks/startup.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "embedded" / "methanol_cc.h5"


# ------------------------------------------------------------------------------ child
class Clock:
    """Phase marks: (name, wall s since the child's first line, CPU s of the process)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.marks = [("start", 0.0, time.process_time())]

    def mark(self, name):
        self.marks.append((name, time.perf_counter() - self.t0, time.process_time()))

    def phases(self) -> dict:
        out = {}
        for (_, w0, c0), (name, w1, c1) in zip(self.marks, self.marks[1:], strict=False):
            out[name] = {"wall_s": w1 - w0, "cpu_s": c1 - c0}
        return out


def _record_calls(cls, name, log):
    """Wrap ``cls.name`` so that every call appends (wall s, CPU s) to ``log``."""
    original = getattr(cls, name)

    def wrapped(*args, **kwargs):
        w, c = time.perf_counter(), time.process_time()
        out = original(*args, **kwargs)
        log.append((time.perf_counter() - w, time.process_time() - c, w))
        return out

    setattr(cls, name, wrapped)


def _first_call_extra(calls) -> dict:
    """The first call's time above the median of the others (tracing, compilation)."""
    if not calls:
        return {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0}
    import statistics

    rest = calls[1:] or calls[:1]
    med_w = statistics.median(c[0] for c in rest)
    med_c = statistics.median(c[1] for c in rest)
    return {
        "wall_s": max(calls[0][0] - med_w, 0.0),
        "cpu_s": max(calls[0][1] - med_c, 0.0),
        "first_wall_s": calls[0][0],
        "steady_wall_s": med_w,
        "steady_cpu_s": med_c,
        "calls": len(calls),
    }


def child_train(args) -> dict:
    clock = Clock()
    import numpy as np

    import gmnn  # noqa: F401  (installs the Keras skip before TensorFlow loads)

    clock.mark("import numpy, gmnn")
    import tensorflow as tf

    threads = int(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    clock.mark("import tensorflow")
    from gmnn.analysis import error_metrics
    from gmnn.data import read_h5
    from gmnn.model.inference import Predictor
    from gmnn.train import TrainConfig, fit
    from gmnn.train.trainer import Trainer

    clock.mark("import gmnn.train, gmnn.data, gmnn.analysis")
    steps, evals, preds = [], [], []
    _record_calls(Trainer, "train_step", steps)
    _record_calls(Trainer, "eval_step", evals)
    _record_calls(Predictor, "predict_dense", preds)
    data = read_h5(str(args.data))
    n_train, n_valid = args.n_train, args.n_valid
    idx = np.random.default_rng(0).permutation(len(data))
    train = data[idx[:n_train]]
    valid = data[idx[n_train : n_train + n_valid]]
    test = data[idx[n_train + n_valid :]]
    config = TrainConfig.from_dict({"epochs": args.epochs, "loss": "EF", "progress": False})
    clock.mark("read data")
    first_step_at = {}

    # the set-up (model, scale/shift, GraphData, trainer) ends when the first step starts
    original = Trainer.train_step

    def first_marker(self, *a, **k):
        if not first_step_at:
            first_step_at["cpu"] = time.process_time()
            first_step_at["wall"] = time.perf_counter() - clock.t0
        return original(self, *a, **k)

    Trainer.train_step = first_marker
    model = fit(train, valid, Path(args.out) / "run", config=config, resume=False)
    clock.mark("training")
    metrics = error_metrics(model, test)
    clock.mark("evaluation (test set)")
    # a second evaluation: the steady cost of the same predictions (no tracing)
    t = time.process_time()
    error_metrics(model, test)
    eval_steady_cpu = time.process_time() - t
    phases = clock.phases()
    setup = {
        "wall_s": first_step_at["wall"] - clock.marks[4][1],
        "cpu_s": first_step_at["cpu"] - clock.marks[4][2],
    }
    return {
        "job": "train",
        "phases": phases,
        "setup_before_first_step": setup,
        "train_step": _first_call_extra(steps),
        "eval_step": _first_call_extra(evals),
        "predict": _first_call_extra(preds),
        "evaluation_steady_cpu_s": eval_steady_cpu,
        "evaluation_first_cpu_s": phases["evaluation (test set)"]["cpu_s"],
        "total_wall_s": clock.marks[-1][1],
        "total_cpu_s": clock.marks[-1][2],
        "n_steps": len(steps),
        "n_train": n_train,
        "n_valid": n_valid,
        "n_test": len(test),
        "energy_mae": metrics["energy"]["mae"] if "energy" in metrics else None,
        "model_dir": str(Path(args.out) / "run" / "model"),
    }


def child_evaluate(args) -> dict:
    clock = Clock()
    import gmnn.cli

    clock.mark("import gmnn.cli")
    import tensorflow  # noqa: F401  (what the command imports first; timed apart)

    clock.mark("import tensorflow")
    from gmnn.model.inference import Predictor

    preds = []
    _record_calls(Predictor, "predict_dense", preds)
    clock.mark("import gmnn.model")
    out = Path(args.out) / "evaluate.json"
    gmnn.cli.main(
        ["evaluate", "--model", str(args.model), "--data", str(args.data), "--out", str(out)]
    )
    clock.mark("gmnn evaluate")
    return {
        "job": "evaluate",
        "phases": clock.phases(),
        "predict": _first_call_extra(preds),
        "total_wall_s": clock.marks[-1][1],
        "total_cpu_s": clock.marks[-1][2],
    }


def child_md(args) -> dict:
    clock = Clock()
    import numpy as np

    import gmnn  # noqa: F401

    clock.mark("import numpy, gmnn")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(args.threads))
    tf.config.threading.set_inter_op_parallelism_threads(min(2, int(args.threads)))
    clock.mark("import tensorflow")
    from ase import units
    from ase.md.langevin import Langevin

    from gmnn.calculator import GMNNCalculator
    from gmnn.data import read_h5
    from gmnn.model.inference import Predictor

    clock.mark("import gmnn.calculator, ase.md")
    preds = []
    _record_calls(Predictor, "predict_dense", preds)
    atoms = read_h5(str(args.data)).atoms(0)
    atoms.calc = GMNNCalculator(str(args.model))
    dyn = Langevin(
        atoms,
        0.5 * units.fs,
        temperature_K=300,
        friction=0.01 / units.fs,
        rng=np.random.default_rng(0),
    )
    clock.mark("model + dynamics set-up")
    dyn.run(args.md_steps)
    clock.mark("md")
    return {
        "job": "md",
        "phases": clock.phases(),
        "predict": _first_call_extra(preds),
        "total_wall_s": clock.marks[-1][1],
        "total_cpu_s": clock.marks[-1][2],
        "xla_cache": os.environ.get("TF_XLA_FLAGS", ""),
        "steps": args.md_steps,
    }


# ------------------------------------------------------------------------------ parent
def run_child(mode: str, extra: list[str], env_extra: dict | None = None) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.NamedTemporaryFile(suffix=".json") as res:
        t = time.perf_counter()
        before = os.times()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--result", res.name, *extra],
            env=env,
            capture_output=True,
            text=True,
        )
        after = os.times()
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"startup.py: the {mode} child failed:\n{proc.stderr[-3000:]}")
        out = json.loads(Path(res.name).read_text())
    out["process_wall_s"] = wall
    out["process_cpu_s"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    # the interpreter's own start (and exit) is what the process spent outside the child's
    # own clock
    out["interpreter_wall_s"] = max(wall - out["total_wall_s"], 0.0)
    out["interpreter_cpu_s"] = max(out["process_cpu_s"] - out["total_cpu_s"], 0.0)
    return out


def interpreter_baseline() -> dict:
    t, before = time.perf_counter(), os.times()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    after = os.times()
    return {
        "wall_s": time.perf_counter() - t,
        "cpu_s": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
    }


def fixed_cost(res: dict, baseline: dict) -> dict:
    """CPU and wall s before the first useful step, and their shares of the job.

    The interpreter's start is that of ``python -c pass`` (``baseline``); the rest of the
    time the process spent outside the child's clock is its exit (after the last step:
    reported, not counted before the first step)."""
    ph = res["phases"]
    start = (
        min(baseline["wall_s"], res["interpreter_wall_s"]),
        min(baseline["cpu_s"], res["interpreter_cpu_s"]),
    )
    res["exit_wall_s"] = res["interpreter_wall_s"] - start[0]
    res["exit_cpu_s"] = res["interpreter_cpu_s"] - start[1]
    if res["job"] == "train":
        parts = {
            "interpreter start": start,
            "import numpy, gmnn": tuple(ph["import numpy, gmnn"].values()),
            "import tensorflow": tuple(ph["import tensorflow"].values()),
            "import gmnn.train etc.": tuple(
                ph["import gmnn.train, gmnn.data, gmnn.analysis"].values()
            ),
            "read data": tuple(ph["read data"].values()),
            "model + trainer set-up": tuple(res["setup_before_first_step"].values()),
            "trace training step": (res["train_step"]["wall_s"], res["train_step"]["cpu_s"]),
            "trace validation step": (res["eval_step"]["wall_s"], res["eval_step"]["cpu_s"]),
            "trace prediction": (
                res["predict"]["wall_s"],
                max(res["evaluation_first_cpu_s"] - res["evaluation_steady_cpu_s"], 0.0),
            ),
        }
    elif res["job"] == "md":
        parts = {
            "interpreter start": start,
            "import numpy, gmnn": tuple(ph["import numpy, gmnn"].values()),
            "import tensorflow": tuple(ph["import tensorflow"].values()),
            "import gmnn.calculator, ase.md": tuple(ph["import gmnn.calculator, ase.md"].values()),
            "model + dynamics set-up": tuple(ph["model + dynamics set-up"].values()),
            "trace + compile force call": (res["predict"]["wall_s"], res["predict"]["cpu_s"]),
        }
    else:
        parts = {
            "interpreter start": start,
            "import gmnn.cli": tuple(ph["import gmnn.cli"].values()),
            "import tensorflow": tuple(ph["import tensorflow"].values()),
            "import gmnn.model": tuple(ph["import gmnn.model"].values()),
            "trace prediction": (res["predict"]["wall_s"], res["predict"]["cpu_s"]),
        }
    wall = sum(p[0] for p in parts.values())
    cpu = sum(p[1] for p in parts.values())
    return {
        "parts": {k: {"wall_s": w, "cpu_s": c} for k, (w, c) in parts.items()},
        "wall_s": wall,
        "cpu_s": cpu,
        "job_wall_s": res["process_wall_s"],
        "job_cpu_s": res["process_cpu_s"],
        "share_wall": wall / res["process_wall_s"],
        "share_cpu": cpu / res["process_cpu_s"],
        "exit_wall_s": res["exit_wall_s"],
        "exit_cpu_s": res["exit_cpu_s"],
        "share_cpu_with_exit": (cpu + res["exit_cpu_s"]) / res["process_cpu_s"],
    }


def report(results: dict) -> str:
    lines = []
    for job in ("train", "evaluate", "md", "md_cached"):
        if job not in results:
            continue
        fc = results[job]["fixed_cost"]
        head = {
            "train": "train_cc-like job (methanol CC, "
            f"{results['train']['n_train']} train / {results['train']['n_valid']} valid, "
            f"{results['train']['n_steps']} steps, test {results['train']['n_test']})",
            "evaluate": "gmnn evaluate (the same model, all structures)",
            "md": f"MD (ASE Langevin, {results.get('md', {}).get('steps')} steps, the same "
            "model, one methanol), empty XLA cache",
            "md_cached": "the same MD job again: XLA programs from the persistent cache",
        }[job]
        lines.append(head)
        lines.append(f"  {'phase':32s} {'wall s':>8s} {'CPU s':>8s}")
        for name, p in fc["parts"].items():
            lines.append(f"  {name:32s} {p['wall_s']:8.2f} {p['cpu_s']:8.2f}")
        lines.append(
            f"  {'before the first useful step':32s} {fc['wall_s']:8.2f} {fc['cpu_s']:8.2f}"
        )
        lines.append(
            f"  {'exit (after the last step)':32s} {fc['exit_wall_s']:8.2f} {fc['exit_cpu_s']:8.2f}"
        )
        lines.append(f"  {'whole job':32s} {fc['job_wall_s']:8.2f} {fc['job_cpu_s']:8.2f}")
        lines.append(
            f"  share of the job: {100 * fc['share_wall']:.0f} % of wall, "
            f"{100 * fc['share_cpu']:.0f} % of CPU (target <= 20 % of CPU; "
            f"{100 * fc['share_cpu_with_exit']:.0f} % with the exit)"
        )
        if job == "train":
            r = results["train"]
            lines.append(
                f"  training step: first {1e3 * r['train_step']['first_wall_s']:.0f} ms, "
                f"then {1e3 * r['train_step']['steady_wall_s']:.1f} ms; validation step first "
                f"{1e3 * r['eval_step']['first_wall_s']:.0f} ms, then "
                f"{1e3 * r['eval_step']['steady_wall_s']:.1f} ms"
            )
    b = results["interpreter_baseline"]
    lines.append(f"(python -c pass: {b['wall_s']:.2f} s wall, {b['cpu_s']:.2f} s CPU)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", help="write all numbers to this file")
    p.add_argument("--data", default=str(DATA), help="gmnn HDF5 data (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--n-train", type=int, default=32)
    p.add_argument("--n-valid", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="TensorFlow threads (as the job)")
    p.add_argument("--jobs", default="train,evaluate,md")
    p.add_argument("--md-steps", type=int, default=200, help="MD steps of the md job")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child = {"train": child_train, "evaluate": child_evaluate, "md": child_md}[args.child]
        res = child(args)
        Path(args.result).write_text(json.dumps(res))
        return 0
    jobs = args.jobs.split(",")
    results = {
        "load_average": os.getloadavg()[0],
        "interpreter_baseline": interpreter_baseline(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        common = ["--data", args.data, "--out", tmp, "--threads", str(args.threads)]
        train_args = [
            *common,
            "--epochs",
            str(args.epochs),
            "--n-train",
            str(args.n_train),
            "--n-valid",
            str(args.n_valid),
        ]
        results["train"] = run_child("train", train_args)
        results["train"]["fixed_cost"] = fixed_cost(
            results["train"], results["interpreter_baseline"]
        )
        if "evaluate" in jobs:
            model = results["train"]["model_dir"]
            results["evaluate"] = run_child("evaluate", [*common, "--model", model])
            results["evaluate"]["fixed_cost"] = fixed_cost(
                results["evaluate"], results["interpreter_baseline"]
            )
        if "md" in jobs:
            # twice, each with its own XLA cache directory state: empty (the first job on a
            # machine) and filled by the first (every later job)
            md_args = [*common, "--model", results["train"]["model_dir"]]
            md_args += ["--md-steps", str(args.md_steps)]
            cache = str(Path(tmp) / "xla-cache")
            for name in ("md", "md_cached"):
                results[name] = run_child("md", md_args, {"GMNN_XLA_CACHE": cache})
                results[name]["fixed_cost"] = fixed_cost(
                    results[name], results["interpreter_baseline"]
                )
    print(f"start-up cost per job | load average at start {results['load_average']:.2f}")
    print(report(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
