"""Real-data check of the fine-tuning defaults (issue 10, "What it must show", the table).

Pre-train on rMD17 ethanol (DFT, energies and forces), then train from scratch and
fine-tune on the CCSD(T) ethanol subset of ``md17_ccsd``, for the defaults before and
after issue 10 and for the two fine-tuning options on top of the new defaults:

================  =======================  ===============================================
variant           TrainConfig.loss_units   FinetuneConfig
================  =======================  ===============================================
before            eV                       energy_scale=keep, shift_init=offset_free
after             energy_scale             energy_scale=recompute, shift_init=regression
after+keep_c      energy_scale             energy_scale=keep, shift_init=regression
after+offset_free energy_scale             energy_scale=recompute, shift_init=offset_free
================  =======================  ===============================================

``before`` and ``after`` each pre-train their own model per seed (with their own
TrainConfig, loss EF) and run scratch_E, scratch_EF, finetune_E and finetune_EF for every
training size; the two option variants only fine-tune (E and EF) from ``after``'s
pre-trained model. ``E`` runs have the forces removed from their training and validation
sets. Every run uses the same number of epochs (``--epochs``; pre-training
``--pretrain-epochs``), batch size 32 and the paper's model (``ModelConfig()``).

Splits, per seed ``s`` (:func:`gmnn.data.make_split` with ``seed=s``): DFT
``n_pretrain`` train / ``n_pretrain_valid`` validation / the rest as the DFT test set (the
pre-trained model's errors on it are recorded); coupled cluster ``n_cc_train`` (512)
train / ``n_cc_valid`` (100) validation / the rest (88 of the 700) as the test set that
every CC run is evaluated on, training sets being the nested prefixes ``train[:n]``.

Output (``--out``): one directory per run (``runs/<variant>/seed<s>/...``, with its
``checkpoint.npz``, ``metrics.csv``, ``model/`` and ``log.txt``) and one JSON line per
finished run in ``runs.jsonl``. Rerunning the same command skips the runs in
``runs.jsonl`` and resumes an interrupted training from its checkpoint (checkpoints are
written every epoch). ``--table`` prints (and writes to ``table.md``) the Markdown table
of test RMSEs, mean ± standard error over the seeds (ddof = 1).

Examples::

    .venv/bin/python benchmarks/finetune_defaults.py                 # full run
    .venv/bin/python benchmarks/finetune_defaults.py --list          # what is done / to do
    .venv/bin/python benchmarks/finetune_defaults.py --table         # the table so far
    .venv/bin/python benchmarks/finetune_defaults.py --n-pretrain 64 --n-pretrain-valid 16 \\
        --sizes 16 --seeds 0 --pretrain-epochs 1 --epochs 1 --jobs 1 --hidden 16 16 \\
        --out /tmp/ftd_smoke                                          # smoke test

The main process never imports TensorFlow; each run is a fresh process (spawned) that
sets TensorFlow's thread counts before importing it.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

CC_FILE = "md17_ccsd/ethanol_ccsd_t-train-subset700.npz"
RMD17_DIR = "rmd17"
MOLECULE = "ethanol"

# variant -> (TrainConfig.loss_units, FinetuneConfig.energy_scale, .shift_init,
#             variant whose pre-trained model it fine-tunes, whether it trains from scratch)
VARIANTS = {
    "before": ("eV", "keep", "offset_free", "before", True),
    "after": ("energy_scale", "recompute", "regression", "after", True),
    "after+keep_c": ("energy_scale", "keep", "regression", "after", False),
    "after+offset_free": ("energy_scale", "recompute", "offset_free", "after", False),
}
SETTINGS = ("scratch_E", "scratch_EF", "finetune_E", "finetune_EF")
RECORD_KEYS = ("variant", "setting", "n", "seed")


# ------------------------------------------------------------------------------ arguments


def default_shared() -> Path:
    root = os.environ.get("GMNN_SHARED_DATA")
    return Path(root) if root else REPO.parent / "shared" / "data"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--shared",
        type=Path,
        default=default_shared(),
        help=f"shared data directory holding {RMD17_DIR}/ and {CC_FILE} "
        "(default: $GMNN_SHARED_DATA, else <repo>/../shared/data)",
    )
    p.add_argument(
        "--cc", type=Path, default=None, help=f"CCSD(T) ethanol npz (default: <shared>/{CC_FILE})"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "finetune_defaults",
        help="output directory: runs/, runs.jsonl, table.md (default: %(default)s)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds of the splits and the weights (default: %(default)s)",
    )
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[64, 512],
        help="CC training set sizes n (default: %(default)s)",
    )
    p.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        help="variants to run (default: all); choosing an option variant adds 'after', "
        "whose pre-trained model it fine-tunes",
    )
    p.add_argument(
        "--n-pretrain",
        type=int,
        default=8192,
        help="DFT pre-training structures (default: %(default)s)",
    )
    p.add_argument(
        "--n-pretrain-valid",
        type=int,
        default=500,
        help="DFT validation structures (default: %(default)s)",
    )
    p.add_argument(
        "--n-cc-train",
        type=int,
        default=512,
        help="CC training pool, >= the largest size (default: %(default)s)",
    )
    p.add_argument(
        "--n-cc-valid",
        type=int,
        default=100,
        help="CC validation structures (default: %(default)s)",
    )
    p.add_argument(
        "--pretrain-epochs",
        type=int,
        default=10,
        help="epochs of pre-training (default: %(default)s)",
    )
    p.add_argument(
        "--epochs", type=int, default=30, help="epochs of every CC run (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size", type=int, default=32, help="structures per step (default: %(default)s)"
    )
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        help="hidden layer widths (default: the paper's 512 512; smaller only for smoke tests)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow intra-op threads per run (default: %(default)s)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="runs in parallel, separate processes (default: %(default)s)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--table",
        action="store_true",
        help="only print the Markdown table from runs.jsonl (and write <out>/table.md)",
    )
    mode.add_argument("--list", action="store_true", help="only list the runs, done or to do")
    args = p.parse_args(argv)
    if args.cc is None:
        args.cc = args.shared / CC_FILE
    if max(args.sizes) > args.n_cc_train:
        p.error(f"--sizes {args.sizes} must not exceed --n-cc-train {args.n_cc_train}")
    if min(args.sizes) < 1 or args.jobs < 1 or args.threads < 1:
        p.error("--sizes, --jobs and --threads must be positive")
    if set(args.variants) & {"after+keep_c", "after+offset_free"} and "after" not in args.variants:
        args.variants = ["after", *args.variants]  # they fine-tune after's pre-trained model
    return args


RESULT_OPTIONS = ("n_pretrain", "n_pretrain_valid", "n_cc_train", "n_cc_valid")
RESULT_OPTIONS += ("pretrain_epochs", "epochs", "batch_size")


def settings_of(args) -> dict:
    """The options that determine the results (recorded with every run)."""
    settings = {name: getattr(args, name) for name in RESULT_OPTIONS}
    settings["hidden"] = None if args.hidden is None else list(args.hidden)
    settings["rmd17"] = str((args.shared / RMD17_DIR).resolve())
    settings["cc"] = str(args.cc.resolve())
    return settings


# ------------------------------------------------------------------------------ the runs


def run_dir(out: Path, variant: str, setting: str, n: int, seed: int) -> Path:
    base = out / "runs" / variant.replace("+", "_") / f"seed{seed}"
    return base / "pretrain" if setting == "pretrain" else base / f"n{n}" / setting


def plan(args) -> list[dict]:
    """Every run, pre-training first; a fine-tuning run names the pre-training it needs."""
    jobs = []
    for seed in args.seeds:
        for variant in args.variants:
            if VARIANTS[variant][4]:
                jobs.append(
                    {"variant": variant, "setting": "pretrain", "n": args.n_pretrain, "seed": seed}
                )
    for seed in args.seeds:
        for n in sorted(args.sizes, reverse=True):
            for variant in args.variants:
                scratch = VARIANTS[variant][4]
                for setting in SETTINGS:
                    if setting.startswith("scratch") and not scratch:
                        continue
                    job = {"variant": variant, "setting": setting, "n": n, "seed": seed}
                    if setting.startswith("finetune"):
                        job["needs"] = key_of(
                            {
                                "variant": VARIANTS[variant][3],
                                "setting": "pretrain",
                                "n": args.n_pretrain,
                                "seed": seed,
                            }
                        )
                    jobs.append(job)
    return jobs


def key_of(record: dict) -> tuple:
    return tuple(record[k] for k in RECORD_KEYS)


def read_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a kill: the run reruns
                print(f"warning: {path}:{i} is not JSON; ignored", file=sys.stderr)
    return records


def finished(args) -> dict[tuple, dict]:
    """The finished runs of ``runs.jsonl``; an error if it holds runs of other settings."""
    mine = settings_of(args)
    done = {}
    for r in read_records(args.out / "runs.jsonl"):
        if r.get("settings") != mine:
            diff = {
                k: (r.get("settings", {}).get(k), v)
                for k, v in mine.items()
                if r.get("settings", {}).get(k) != v
            }
            raise SystemExit(
                f"{args.out / 'runs.jsonl'} holds runs made with other settings "
                f"(recorded, now): {diff}; use another --out or the same options"
            )
        done[key_of(r)] = r
    return done


# ------------------------------------------------------------------------------ one run (worker)


def _load_data(settings: dict):
    from gmnn.data import read
    from gmnn.data.sources import load_rmd17

    dft = load_rmd17(settings["rmd17"], MOLECULE)
    cc = read(settings["cc"])
    return dft, cc


class RunFailed(RuntimeError):
    """A run's error, as text (unpickling gmnn's own exceptions would import TensorFlow
    into the main process)."""


def execute(job: dict, settings: dict, out: str, threads: int) -> dict:
    """Train (or resume) one run in this (fresh) process and evaluate it."""
    try:
        return _execute(job, settings, out, threads)
    except BaseException as error:  # noqa: BLE001 (passed on as text)
        traceback.print_exc()
        raise RunFailed(f"{type(error).__name__}: {error}") from None


def _execute(job: dict, settings: dict, out: str, threads: int) -> dict:
    t0 = time.time()
    out = Path(out)
    variant, setting, n, seed = key_of(job)
    directory = run_dir(out, variant, setting, n, seed)
    directory.mkdir(parents=True, exist_ok=True)
    log = open(directory / "log.txt", "a", buffering=1)  # noqa: SIM115 (for the process)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    print(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {job}", flush=True)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from gmnn.analysis.metrics import error_metrics
    from gmnn.data import make_split
    from gmnn.model.config import ModelConfig
    from gmnn.train import TrainConfig
    from gmnn.train.api import fit
    from gmnn.transfer import FinetuneConfig, finetune

    loss_units, energy_scale, shift_init, source, _ = VARIANTS[variant]
    model_config = (
        ModelConfig() if settings["hidden"] is None else ModelConfig(hidden=settings["hidden"])
    )
    dft, cc = _load_data(settings)
    pretraining = setting == "pretrain"
    loss = "EF" if pretraining else setting.split("_")[1]
    config = TrainConfig(
        epochs=settings["pretrain_epochs" if pretraining else "epochs"],
        batch_size=settings["batch_size"],
        loss=loss,
        loss_units=loss_units,
        seed=seed,
        progress=False,
        checkpoint_every=1,
    )
    if pretraining:
        split = make_split(
            len(dft), settings["n_pretrain"], settings["n_pretrain_valid"], None, seed=seed
        )
        train, valid, test = dft[split.train], dft[split.valid], dft[split.test]
    else:
        split = make_split(len(cc), settings["n_cc_train"], settings["n_cc_valid"], None, seed=seed)
        train, valid, test = cc[split.train[:n]], cc[split.valid], cc[split.test]
    if loss == "E":
        train = train.without_labels(forces=True)
        valid = valid.without_labels(forces=True)
    provenance = {"finetune_defaults": {"job": job, "settings": settings}}
    resumed = (directory / "checkpoint.npz").is_file()
    if setting.startswith("finetune"):
        pretrained = run_dir(out, source, "pretrain", settings["n_pretrain"], seed) / "model"
        if not pretrained.is_dir():
            raise FileNotFoundError(f"pre-trained model {pretrained} is missing")
        ft = FinetuneConfig(energy_scale=energy_scale, shift_init=shift_init)
        model = finetune(
            str(pretrained), train, valid, directory, config=config, finetune_config=ft,
            provenance=provenance,
        )  # fmt: skip
    else:
        model = fit(
            train, valid, directory, config, model_config=model_config, provenance=provenance
        )
    metrics = error_metrics(model, test)
    with open(directory / "metrics.csv") as f:
        history = list(csv.DictReader(f))
    best = [int(h["epoch"]) for h in history if h.get("best") == "1"]
    record = {
        **{k: job[k] for k in RECORD_KEYS},
        "energy_rmse": metrics["energy_rmse"],
        "force_rmse": metrics.get("force_rmse"),
        "energy_mae": metrics["energy_mae"],
        "force_mae": metrics.get("force_mae"),
        "n_test": metrics["n_structures"],
        "test_set": "rmd17_rest" if pretraining else "ccsd_t_rest",
        "epochs": config.epochs,
        "epochs_run": len(history),
        "best_epoch": best[-1] if best else None,
        "loss_units": loss_units,
        "energy_scale": energy_scale if setting.startswith("finetune") else None,
        "shift_init": shift_init if setting.startswith("finetune") else None,
        "energy_scale_c_eV": float(model.energy_scale.numpy()),
        "wall_seconds": time.time() - t0,
        "train_seconds": sum(float(h.get("seconds") or 0.0) for h in history),
        "resumed": resumed,
        "threads": threads,
        "settings": settings,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(f"--- done: {json.dumps(record)}", flush=True)
    return record


# ------------------------------------------------------------------------------ scheduling


def check_data(args) -> None:
    rmd17 = args.shared / RMD17_DIR
    missing = []
    if not sorted(rmd17.glob(f"rmd17_{MOLECULE}*.npz")):
        missing.append(f"rMD17 {MOLECULE} files (rmd17_{MOLECULE}*.npz) in {rmd17}")
    if not args.cc.is_file():
        missing.append(f"the CCSD(T) ethanol file {args.cc}")
    if missing:
        raise SystemExit(
            "missing data: " + "; ".join(missing) + " (set --shared / --cc or $GMNN_SHARED_DATA)"
        )


def describe(job: dict) -> str:
    return f"{job['variant']:<17} {job['setting']:<11} n={job['n']:<5} seed={job['seed']}"


def run_all(args) -> int:
    check_data(args)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = settings_of(args)
    done = finished(args)
    jobs = plan(args)
    todo = [j for j in jobs if key_of(j) not in done]
    print(
        f"{len(jobs)} runs, {len(jobs) - len(todo)} already in {args.out / 'runs.jsonl'}; "
        f"{len(todo)} to run, {args.jobs} at a time with {args.threads} thread(s) each",
        flush=True,
    )
    if not todo:
        print(render_table(args, list(done.values())))
        return 0
    failed: set[tuple] = set()
    running: dict = {}
    pending = list(todo)
    t_start = time.time()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    pool = ProcessPoolExecutor(
        max_workers=args.jobs,
        mp_context=multiprocessing.get_context("spawn"),
        max_tasks_per_child=1,  # a fresh TensorFlow per run
    )
    try:
        while pending or running:
            for job in list(pending):
                if len(running) >= args.jobs:
                    break
                need = job.get("needs")
                if need is not None and need in failed:
                    print(f"skipped  {describe(job)}: its pre-training failed", flush=True)
                    failed.add(key_of(job))
                    pending.remove(job)
                    continue
                if need is not None and need not in done:
                    continue  # its pre-training is still to finish
                pending.remove(job)
                future = pool.submit(execute, job, settings, str(args.out), args.threads)
                running[future] = job
                print(f"started  {describe(job)}", flush=True)
            if not running:
                break
            finished_now, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished_now:
                job = running.pop(future)
                try:
                    record = future.result()
                except Exception as error:  # noqa: BLE001 (report, continue with the rest)
                    failed.add(key_of(job))
                    where = run_dir(args.out, job["variant"], job["setting"], job["n"], job["seed"])
                    print(
                        f"FAILED   {describe(job)}: {error!r} (log: {where / 'log.txt'})",
                        flush=True,
                    )
                    continue
                with open(args.out / "runs.jsonl", "a") as f:
                    f.write(json.dumps(record) + "\n")
                done[key_of(job)] = record
                f_rmse = record["force_rmse"]
                print(
                    f"finished {describe(job)}: E RMSE {record['energy_rmse']:.3f} kcal/mol, "
                    f"F RMSE {'-' if f_rmse is None else f'{f_rmse:.3f}'} kcal/mol/Å, "
                    f"{record['wall_seconds']:.0f} s "
                    f"[{len(done)}/{len(jobs)} done, {time.time() - t_start:.0f} s elapsed]",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted: stopping the runs (they checkpoint on SIGTERM)", flush=True)
        for process in list(getattr(pool, "_processes", {}).values()):  # no public handle
            if process.is_alive():
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        print("rerun the same command to resume", flush=True)
        return 130
    pool.shutdown(wait=True)
    print(render_table(args, list(done.values())))
    if failed:
        print(f"{len(failed)} run(s) failed or were skipped; rerun to retry them", flush=True)
        return 1
    return 0


def list_runs(args) -> int:
    done = finished(args)
    for job in plan(args):
        r = done.get(key_of(job))
        state = "done" if r else "todo"
        extra = f"  E {r['energy_rmse']:.3f}  {r['wall_seconds']:.0f} s" if r else ""
        print(f"{state}  {describe(job)}{extra}")
    return 0


# ------------------------------------------------------------------------------ the table


def mean_se(values: list[float]) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.3f} (1 seed)"
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return f"{mean:.3f} ± {math.sqrt(var / len(values)):.3f}"


def render_table(args, records: list[dict]) -> str:
    cc = [r for r in records if r["setting"] != "pretrain"]
    pre = [r for r in records if r["setting"] == "pretrain"]
    settings = records[0]["settings"] if records else settings_of(args)
    sizes = sorted({r["n"] for r in cc}) or sorted(args.sizes)
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"Test RMSE on the CCSD(T) ethanol structures outside train/validation "
        f"(energies kcal/mol, forces kcal/mol/Å), mean ± standard error over seeds {seeds} "
        f"(ddof = 1). Pre-training: rMD17 ethanol, {settings['n_pretrain']} train / "
        f"{settings['n_pretrain_valid']} validation, epochs {settings['pretrain_epochs']}, "
        f"loss EF; CC runs: epochs {settings['epochs']}, batch {settings['batch_size']}, "
        f"validation {settings['n_cc_valid']}; model hidden "
        f"{settings['hidden'] or [512, 512]}.",
        "",
    ]
    header = ["variant", "setting"]
    for n in sizes:
        header += [f"E RMSE n={n}", f"F RMSE n={n}"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant in VARIANTS:
        for setting in SETTINGS:
            rows = [r for r in cc if r["variant"] == variant and r["setting"] == setting]
            if not rows:
                continue
            cells = [variant, setting.replace("_", " ").replace("EF", "E+F")]
            for n in sizes:
                at_n = [r for r in rows if r["n"] == n]
                cells += [
                    mean_se([r["energy_rmse"] for r in at_n]),
                    mean_se([r["force_rmse"] for r in at_n]),
                ]
            lines.append("| " + " | ".join(cells) + " |")
    if pre:
        lines += [
            "",
            "Pre-trained models on the rMD17 ethanol structures outside their train/validation:",
            "",
            "| variant | E RMSE | F RMSE | seeds |",
            "|---|---|---|---|",
        ]
        for variant in VARIANTS:
            rows = [r for r in pre if r["variant"] == variant]
            if rows:
                e = mean_se([r["energy_rmse"] for r in rows])
                f = mean_se([r["force_rmse"] for r in rows])
                lines.append(f"| {variant} | {e} | {f} | {len(rows)} |")
    return "\n".join(lines) + "\n"


def table(args) -> int:
    """The table of ``runs.jsonl``, whatever other options this call got (one --out
    never mixes settings; a file that does is an error unless this call's options match)."""
    records = read_records(args.out / "runs.jsonl")
    if not records:
        raise SystemExit(f"no finished runs in {args.out / 'runs.jsonl'}")
    kinds = {json.dumps(r.get("settings"), sort_keys=True) for r in records}
    if len(kinds) > 1:
        records = list(finished(args).values())
    records = list({key_of(r): r for r in records}.values())
    text = render_table(args, records)
    (args.out / "table.md").write_text(text)
    print(text)
    print(f"(written to {args.out / 'table.md'})")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.table:
        return table(args)
    if args.list:
        return list_runs(args)
    code = run_all(args)
    if (args.out / "runs.jsonl").is_file():
        text = render_table(args, list(finished(args).values()))
        (args.out / "table.md").write_text(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
