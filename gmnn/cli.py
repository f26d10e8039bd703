"""Command-line interface: ``gmnn train | finetune | evaluate | md | info``.

Data files are anything :func:`gmnn.data.read` understands (sGDML/rMD17 npz,
ANI HDF5, gmnn HDF5, extxyz, ...).  Errors are reported in kcal/mol and
kcal/mol/Å, as in the paper.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _add_data_args(p, required=True):
    p.add_argument("--data", required=required, help="labelled structures (any gmnn.data format)")
    p.add_argument("--format", default=None, help="force the reader (sgdml, rmd17, ani, ...)")
    p.add_argument("--split", default=None, help="split JSON (gmnn.data.save_split)")
    p.add_argument("--n-train", type=int, default=None, help="training structures")
    p.add_argument("--n-valid", type=int, default=None, help="validation structures")
    p.add_argument("--valid-data", default=None, help="separate validation file")


def _add_train_args(p):
    p.add_argument("--out", required=True, help="output directory (model/, metrics.csv)")
    p.add_argument("--loss", choices=["E", "EF"], default="EF")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--patience", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--energy-weight", type=float, default=None)
    p.add_argument("--force-weight", type=float, default=None)
    p.add_argument("--checkpoint-every", type=int, default=10)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")


def _load_train_valid(args):
    import numpy as np

    from gmnn.data import load_split, make_split, read

    data = read(args.data, format=args.format)
    if args.valid_data:
        valid = read(args.valid_data, format=args.format)
        train_idx = np.random.default_rng(args.seed).permutation(len(data))
        if args.n_train is not None:
            train_idx = train_idx[: args.n_train]
        return data[train_idx], valid
    if args.split:
        split = load_split(args.split)
        train_idx = split.train if args.n_train is None else split.train[: args.n_train]
        if args.n_train is not None and args.n_train > len(split.train):
            raise SystemExit(
                f"--n-train {args.n_train} exceeds the {len(split.train)} training "
                f"structures of {args.split}"
            )
        return data[train_idx], data[split.valid]
    if args.n_train is None or args.n_valid is None:
        raise SystemExit("give --split, --valid-data, or both --n-train and --n-valid")
    split = make_split(len(data), args.n_train, args.n_valid, n_test=0, seed=args.seed)
    return data[split.train], data[split.valid]


def _train_config(args, lrs=None):
    from gmnn.train import TrainConfig

    kw = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "loss": args.loss,
        "patience": args.patience,
        "seed": args.seed,
        "energy_weight": args.energy_weight,
        "force_weight": args.force_weight,
        "checkpoint_every": args.checkpoint_every,
        "progress": not args.no_progress,
    }
    if lrs:
        kw["learning_rates"] = lrs
    return TrainConfig(**kw)


def _parse_lrs(items):
    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            raise SystemExit(f"--lr expects GROUP=VALUE, got {item!r}") from None
    return out


def cmd_train(args):
    from gmnn.train import TrainConfig, fit

    train, valid = _load_train_valid(args)
    lrs = {**TrainConfig().learning_rates, **_parse_lrs(args.lr)}
    model_cfg = {
        "cutoff": args.cutoff,
        "n_basis": args.n_basis,
        "n_radial": args.n_radial,
        "hidden": args.hidden,
        "dtype": args.dtype,
    }
    fit(
        train,
        valid,
        args.out,
        _train_config(args, lrs),
        model_config=model_cfg,
        provenance={"data": str(args.data), "command": " ".join(sys.argv)},
        resume=not args.restart,
    )
    print(f"model written to {Path(args.out) / 'model'}")


def cmd_finetune(args):
    from gmnn.transfer import finetune

    train, valid = _load_train_valid(args)
    finetune(
        args.pretrained,
        train,
        valid,
        args.out,
        _train_config(args),
        mode=args.mode,
        lr_last=args.lr_last,
        lr_factor=args.lr_factor,
        keep_energy_scale=not args.recompute_energy_scale,
        provenance={"data": str(args.data), "command": " ".join(sys.argv)},
        resume=not args.restart,
    )
    print(f"model written to {Path(args.out) / 'model'}")


def cmd_evaluate(args):
    from gmnn.analysis import error_metrics
    from gmnn.data import load_split, read
    from gmnn.io import atomic_write_json, load_model

    data = read(args.data, format=args.format)
    if args.split:
        part = args.subset
        data = data[getattr(load_split(args.split), part)]
    results = {}
    for path in args.model:
        results[path] = error_metrics(load_model(path, dtype=args.dtype), data)
    out = results[args.model[0]] if len(args.model) == 1 else results
    text = json.dumps(out, indent=2)
    if args.out:
        atomic_write_json(args.out, out)
    print(text)


def cmd_md(args):
    from ase.io import read as ase_read

    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.io import atomic_write_json
    from gmnn.md import run_langevin

    atoms = ase_read(args.structure)
    calc = GMNNCalculator(args.model[0]) if len(args.model) == 1 else EnsembleCalculator(args.model)
    summary = run_langevin(
        atoms,
        calc,
        steps=args.steps,
        temperature_K=args.temperature,
        timestep_fs=args.timestep,
        friction_per_fs=args.friction,
        seed=args.seed,
        trajectory=args.trajectory,
        interval=args.interval,
        checkpoint=args.checkpoint,
        checkpoint_interval=args.checkpoint_interval,
    )
    if args.summary:
        atomic_write_json(args.summary, summary)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_info(args):
    from gmnn.io import read_model_meta

    print(json.dumps(read_model_meta(args.model), indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gmnn", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model from scratch")
    _add_data_args(p)
    _add_train_args(p)
    p.add_argument("--cutoff", type=float, default=4.0, help="cutoff radius in Å")
    p.add_argument("--n-basis", type=int, default=7)
    p.add_argument("--n-radial", type=int, default=5)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--lr", action="append", help="GROUP=RATE (nn, embed, scale, shift, dense_K)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("finetune", help="fine-tune a pre-trained model (transfer learning)")
    p.add_argument("--pretrained", required=True, help="pre-trained model directory")
    _add_data_args(p)
    _add_train_args(p)
    p.add_argument(
        "--mode",
        choices=["discriminative", "non_discriminative", "linear_probe"],
        default="discriminative",
    )
    p.add_argument("--lr-last", type=float, default=0.01, help="rate of the last layer")
    p.add_argument("--lr-factor", type=float, default=5.0, help="rate ratio between layers")
    p.add_argument("--recompute-energy-scale", action="store_true")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help="MAE/RMSE of energies and forces as JSON")
    p.add_argument("--model", required=True, nargs="+", help="model directory (or several)")
    p.add_argument("--data", required=True)
    p.add_argument("--format", default=None)
    p.add_argument("--split", default=None, help="split JSON to select a subset")
    p.add_argument("--subset", choices=["train", "valid", "test"], default="test")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None)
    p.add_argument("--out", default=None, help="write the JSON here too")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("md", help="Langevin NVT molecular dynamics (ASE)")
    p.add_argument("--model", required=True, nargs="+", help="model dir; several = ensemble")
    p.add_argument("--structure", required=True, help="start geometry (any ASE format)")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--temperature", type=float, default=300.0, help="K")
    p.add_argument("--timestep", type=float, default=0.5, help="fs")
    p.add_argument("--friction", type=float, default=0.01, help="1/fs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--interval", type=int, default=10, help="steps between frames")
    p.add_argument("--trajectory", default=None, help="ASE .traj output")
    p.add_argument("--summary", default=None, help="JSON summary output")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="resumable state (.npz): rerunning the same command continues from it",
    )
    p.add_argument("--checkpoint-interval", type=int, default=1000, help="steps")
    p.set_defaults(func=cmd_md)

    p = sub.add_parser("info", help="print a model's metadata")
    p.add_argument("model")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> int:
    from gmnn.train.trainer import TrainingInterrupted

    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except TrainingInterrupted as exc:
        print(f"gmnn {args.command}: {exc}", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"gmnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
