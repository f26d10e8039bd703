"""Command-line interface: ``gmnn train | finetune | evaluate | md | info | cost``.

Data files are anything :func:`gmnn.data.read` understands (sGDML/rMD17 npz,
ANI HDF5, gmnn HDF5, extxyz, ...).  Errors are reported in kcal/mol and
kcal/mol/Å, as in the paper.

Exported ensembles (:mod:`gmnn.export`, e.g. the ANI-1x models): ``gmnn finetune
--pretrained <ensemble>`` fine-tunes every member (or ``--member K``) and exports the
result with a model card to ``<out>/ensemble``; ``md``, ``evaluate`` and ``info`` accept
an ensemble directory wherever they take a model directory (docs/models.md).

Failures: :func:`main` is the one error boundary of every command. A bad option, a
file that cannot be read (missing, truncated, damaged, of the wrong kind), a checkpoint
of another run: one line ``gmnn <command>: error: <file or option>: <what is wrong>``
on stderr and exit code 2 (3: interrupted, with a checkpoint to resume from; 1: an
unexpected error). ``gmnn --debug <command> ...`` (or ``GMNN_DEBUG=1``) shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


class UsageError(ValueError):
    """Options that do not fit together (or do not fit the data); exit code 2."""


def _add_data_args(p, required=True):
    p.add_argument("--data", required=required, help="labelled structures (any gmnn.data format)")
    p.add_argument("--format", default=None, help="force the reader (sgdml, rmd17, ani, ...)")
    p.add_argument("--split", default=None, help="split JSON (gmnn.data.save_split)")
    p.add_argument("--n-train", type=int, default=None, help="training structures")
    p.add_argument("--n-valid", type=int, default=None, help="validation structures")
    p.add_argument("--valid-data", default=None, help="separate validation file")


def _option(p, cls, name, flag=None, **kwargs):
    """An option whose default and meaning come from the settings class ``cls`` (the one
    place they are written); not given means the class default."""
    from gmnn.settings import cli_default

    flag = flag or "--" + name.replace("_", "-")
    doc = cls.docs().get(name, "")
    default = cli_default(cls, name) if name in cls.defaults() else None
    kwargs.setdefault("help", f"{doc} (default: {default})" if doc else f"default: {default}")
    p.add_argument(flag, dest=name, default=None, **kwargs)


def _given(args, names) -> dict:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


TRAIN_OPTIONS = ("epochs", "batch_size", "loss", "patience", "seed", "energy_weight")
TRAIN_OPTIONS += ("force_weight", "checkpoint_every", "steps", "valid_every")
MODEL_OPTIONS = ("cutoff", "n_basis", "n_radial", "hidden", "dtype")
FINETUNE_OPTIONS = ("mode", "lr_last", "lr_factor", "energy_scale", "shift_init")


def _add_train_args(p):
    from gmnn.train import TrainConfig

    p.add_argument("--out", required=True, help="output directory (model/, metrics.csv)")
    _option(p, TrainConfig, "loss", choices=["E", "EF"])
    _option(p, TrainConfig, "epochs", type=int)
    _option(p, TrainConfig, "steps", type=int)
    _option(p, TrainConfig, "valid_every", type=int)
    _option(p, TrainConfig, "batch_size", type=int)
    _option(p, TrainConfig, "patience", type=int)
    _option(p, TrainConfig, "seed", type=int)
    _option(p, TrainConfig, "energy_weight", type=float)
    _option(p, TrainConfig, "force_weight", type=float)
    _option(p, TrainConfig, "checkpoint_every", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--restart",
        action="store_true",
        help="start over, deleting a checkpoint in --out (without it, a checkpoint of "
        "another run is an error saying what differs)",
    )


def _seed(args) -> int:
    from gmnn.train import TrainConfig

    return TrainConfig().seed if args.seed is None else args.seed


def _load_train_valid(args):
    import numpy as np

    from gmnn.data import make_split, read

    data = read(args.data, format=args.format)
    if args.valid_data:
        valid = read(args.valid_data, format=args.format)
        train_idx = np.random.default_rng(_seed(args)).permutation(len(data))
        if args.n_train is not None:
            train_idx = train_idx[: args.n_train]
        return data[train_idx], valid
    if args.split:
        split = _load_split_for(args.split, data, args.data)
        train_idx = split.train if args.n_train is None else split.train[: args.n_train]
        if args.n_train is not None and args.n_train > len(split.train):
            raise UsageError(
                f"--n-train {args.n_train} exceeds the {len(split.train)} training "
                f"structures of {args.split}"
            )
        return data[train_idx], data[split.valid]
    if args.n_train is None or args.n_valid is None:
        raise UsageError("give --split, --valid-data, or both --n-train and --n-valid")
    split = make_split(len(data), args.n_train, args.n_valid, n_test=0, seed=_seed(args))
    return data[split.train], data[split.valid]


def _load_split_for(split_path, data, data_path):
    """The split at ``split_path``, which must index the structures ``data`` (read from
    ``data_path``)."""
    from gmnn.data import load_split

    split = load_split(split_path)
    if split.n_total != len(data):
        raise UsageError(
            f"{split_path}: a split of {split.n_total} structures, but {data_path} has "
            f"{len(data)}: not a split of this file"
        )
    return split


def _train_config(args, lrs=None):
    from gmnn.train import TrainConfig

    kw = _given(args, TRAIN_OPTIONS)
    kw["progress"] = not args.no_progress
    if lrs:
        kw["learning_rates"] = lrs
    return TrainConfig.from_dict(kw, where="")


def _parse_lrs(items):
    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            raise UsageError(f"--lr expects GROUP=VALUE, got {item!r}") from None
    return out


def cmd_train(args):
    from gmnn.model.config import ModelConfig
    from gmnn.train import TrainConfig, fit

    train, valid = _load_train_valid(args)
    lrs = {**TrainConfig().learning_rates, **_parse_lrs(args.lr)}
    model_config = ModelConfig.from_dict(_given(args, MODEL_OPTIONS), where="")
    config = _train_config(args, lrs)
    fit(
        train,
        valid,
        args.out,
        config,
        model_config=model_config,
        provenance={"data": str(args.data), "command": " ".join(sys.argv)},
        resume=not args.restart,
    )
    print(f"model written to {Path(args.out) / 'model'}")


def _finetune_sets(args):
    """Training and validation structures of ``gmnn finetune``: ``--split`` or
    ``--valid-data`` as for ``gmnn train``; otherwise a seeded split of ``--data`` with
    ``--n-valid`` or ``--valid-fraction`` validation structures and ``--n-train`` (default:
    all the others) training ones. Too little data is an error naming the file."""
    from gmnn.data import make_split, read

    if args.valid_fraction is not None and (
        args.n_valid is not None or args.valid_data or args.split
    ):
        raise UsageError("give either --valid-fraction or one of --n-valid, --valid-data, --split")
    if args.split or args.valid_data:
        return _load_train_valid(args)
    if args.n_valid is None and args.valid_fraction is None:
        raise UsageError("give --n-valid, --valid-fraction, --split or --valid-data")
    data = read(args.data, format=args.format)
    n = len(data)
    if n < 2:
        raise UsageError(
            f"{args.data}: {n} structure(s); fine-tuning needs at least 2 "
            "(one to train on, one to validate with)"
        )
    if args.valid_fraction is not None:
        if not 0.0 < args.valid_fraction < 1.0:
            raise UsageError(f"--valid-fraction must be in (0, 1), got {args.valid_fraction}")
        n_valid = min(n - 1, max(1, round(args.valid_fraction * n)))
    else:
        n_valid = args.n_valid
    if n_valid < 1:
        raise UsageError(f"--n-valid must be at least 1, got {n_valid}")
    n_train = n - n_valid if args.n_train is None else args.n_train
    if n_train < 1 or n_train + n_valid > n:
        raise UsageError(
            f"{args.data}: too little data: {n} structures, but {n_train} to train on and "
            f"{n_valid} to validate with were asked for"
        )
    split = make_split(n, n_train, n_valid, n_test=0, seed=_seed(args))
    return data[split.train], data[split.valid]


def _check_elements(data_path, sets, species, model_path) -> None:
    """The fine-tuning structures may hold only elements the pre-trained model knows."""
    from ase.data import chemical_symbols

    known = {int(z) for z in species}
    found = {int(z) for s in sets for z in s.species}
    missing = sorted(found - known)
    if missing:
        names = ", ".join(f"{chemical_symbols[z]} (Z={z})" for z in missing)
        elements = ", ".join(chemical_symbols[z] for z in sorted(known))
        raise UsageError(
            f"{data_path}: element(s) {names} absent from the pre-trained model "
            f"{model_path} (elements {elements}); it cannot be fine-tuned on them"
        )


def _check_labels(args, sets) -> str:
    """The loss of the run; ``EF`` needs forces in the data (the error names the file)."""
    from gmnn.data.structures import forces_missing
    from gmnn.train import TrainConfig

    loss = args.loss or TrainConfig().loss
    lacking = [s for s in sets if s.forces is None]
    if loss == "EF" and lacking:
        raise UsageError(
            f"{args.data}: no forces in the fine-tuning data{forces_missing(lacking[0])}; "
            "fine-tune on energies alone with --loss E"
        )
    return loss


def cmd_finetune(args):
    """``gmnn finetune``: one model directory gives ``<out>/model``; an exported ensemble
    (gmnn.export) gives one fine-tuning run per member in ``<out>/runs/member<k>`` and the
    new exported ensemble ``<out>/ensemble``, whose card records the parent's."""
    from gmnn.export import is_ensemble
    from gmnn.io import read_model_meta
    from gmnn.transfer import FinetuneConfig, finetune

    ensemble = is_ensemble(args.pretrained) and not (Path(args.pretrained) / "model.json").is_file()
    if args.member is not None and not ensemble:
        raise UsageError(f"--member: {args.pretrained} is one model, not an exported ensemble")
    if not ensemble:
        species = read_model_meta(args.pretrained)["config"]["species"]
    else:
        from gmnn.export import read_ensemble

        species = read_ensemble(args.pretrained)["species"]
    train, valid = _finetune_sets(args)
    _check_elements(args.data, (train, valid), species, args.pretrained)
    loss = _check_labels(args, (train, valid))
    finetune_config = FinetuneConfig.from_dict(_given(args, FINETUNE_OPTIONS), where="")
    provenance = {"data": str(args.data), "command": " ".join(sys.argv)}
    on_mismatch = "restart" if args.restart else "error"
    if not ensemble:
        finetune(
            args.pretrained,
            train,
            valid,
            args.out,
            _train_config(args),
            finetune_config=finetune_config,
            provenance=provenance,
            on_mismatch=on_mismatch,
        )
        print(f"model written to {Path(args.out) / 'model'}")
        return
    out = _finetune_ensemble(args, train, valid, finetune_config, provenance, loss)
    print(f"ensemble written to {out}")


def _finetune_ensemble(args, train, valid, finetune_config, provenance, loss) -> Path:
    """Fine-tune the members of the exported ensemble ``args.pretrained`` (all, or
    ``--member``; member k with seed ``--seed`` + k) and export the result. Everything
    the export checks (the members' agreement, the parent's card, the new card) is
    checked before the first member trains."""
    from dataclasses import replace

    from gmnn.export import CARD_FILE, ModelCard, export_ensemble, read_card, read_ensemble
    from gmnn.io import FileError
    from gmnn.transfer import finetune

    source = Path(args.pretrained)
    meta = read_ensemble(source)  # verified, the members checked to agree
    n = len(meta["members"])
    if args.member is not None and not 0 <= args.member < n:
        raise UsageError(f"--member {args.member}: {source} has members 0 to {n - 1}")
    picked = [args.member] if args.member is not None else list(range(n))
    parent = read_card(source)
    pretraining = (parent.get("data") or {}).get("pretraining")
    if not isinstance(pretraining, dict):
        raise FileError(source / CARD_FILE, "key 'data.pretraining' is missing or not a mapping")
    base = _train_config(args)
    seeds = [base.seed + k for k in picked]
    out = Path(args.out)
    level = args.level_of_theory or (train.meta or {}).get("level_of_theory") or "not given"
    name = args.name or f"{parent.get('name', source.name)}, fine-tuned on {Path(args.data).name}"
    card = {
        "name": name,
        "description": (
            f"The exported ensemble {parent.get('name', source)} ({source}), members "
            f"{', '.join(map(str, picked))}, fine-tuned ({finetune_config.mode}) on "
            f"{len(train)} structures of {args.data} ({'energies' if loss == 'E' else 'energies and forces'}; "
            f"{len(valid)} for validation)."
        ),
        "pretraining": pretraining,
        "finetuning": {
            "data": str(args.data),
            "level_of_theory": str(level),
            "n_train": len(train),
            "labels": loss,
        },
        "seeds": seeds,
        "n_train": len(train),
        "parent": {**parent, "exported_from": str(source), "members_used": picked},
    }
    try:
        ModelCard.from_dict(dict(card))  # a bad card fails now, not after the training
    except ValueError as err:
        if "card.pretraining" in str(err) or "card.parent" in str(err):
            raise FileError(source / CARD_FILE, f"the parent's card: {err}") from err
        raise
    model_dirs = []
    for k, seed in zip(picked, seeds, strict=True):
        member = meta["members"][k]
        config = replace(base, seed=seed)
        record = {
            "ensemble": str(source),
            "name": meta.get("name"),
            "member": k,
            "weights_sha256": member.get("weights_sha256"),
        }
        print(f"fine-tuning member {k} of {source} (seed {config.seed})", file=sys.stderr)
        finetune(
            source / member["path"],
            train,
            valid,
            out / "runs" / f"member{k}",
            config,
            finetune_config=finetune_config,
            provenance={**provenance, "pretrained_ensemble": record},
            on_mismatch="restart" if args.restart else "error",
        )
        model_dirs.append(out / "runs" / f"member{k}" / "model")
    return export_ensemble(model_dirs, out / "ensemble", card)


def cmd_settings(args):
    """Every typed settings section with its defaults and meaning, as YAML comments."""
    from gmnn.analysis.spectra import SpectraConfig
    from gmnn.md import DivergenceConfig, MDConfig
    from gmnn.model.config import ModelConfig
    from gmnn.train import TrainConfig
    from gmnn.transfer import FinetuneConfig

    sections = [
        ("model", ModelConfig),
        ("training", TrainConfig),
        ("finetune", FinetuneConfig),
        ("md.dynamics", MDConfig),
        ("md.dynamics.divergence", DivergenceConfig),
        ("spectra", SpectraConfig),
    ]
    for name, cls in sections:
        if args.section and name != args.section:
            continue
        print(f"# {name}: {cls.__module__}.{cls.__name__}")
        defaults, docs = cls.defaults(), cls.docs()
        for key in docs:
            value = defaults.get(key, "(required)")
            if key == "divergence":
                value = "(see below)"
            elif not isinstance(value, str):
                value = json.dumps(value)  # YAML spelling: true, null, [512, 512]
            print(f"#   {key}: {value}" + (f"  # {docs[key]}" if docs[key] else ""))
    return 0


def cmd_evaluate(args):
    from gmnn.analysis import error_metrics
    from gmnn.data import read
    from gmnn.io import atomic_write_json, load_model

    data = read(args.data, format=args.format)
    if args.split:
        part = args.subset
        data = data[getattr(_load_split_for(args.split, data, args.data), part)]
    from gmnn.export import model_paths

    results = {}
    paths = model_paths(args.model)  # an exported ensemble: each of its members
    for path in paths:
        results[str(path)] = error_metrics(load_model(path, dtype=args.dtype), data)
    out = results[str(paths[0])] if len(paths) == 1 else results
    text = json.dumps(out, indent=2)
    if args.out:
        atomic_write_json(args.out, out)
    print(text)


def _md_options() -> dict:
    """MDConfig's fields that ``gmnn md`` sets, each as an option of the same name
    (``--temperature-K``), with its type (all but the nested ``divergence``)."""
    import typing

    from gmnn.md import MDConfig

    hints = typing.get_type_hints(MDConfig)
    return {name: hints[name] for name in MDConfig.docs() if name != "divergence"}


def _md_config(args):
    """The MDConfig of ``gmnn md``; a bad value is an error naming its option."""
    from gmnn.md import MDConfig

    return MDConfig.from_dict(_given(args, _md_options()), where="")


def _check_output_path(option: str, path) -> None:
    """An output file of a command must be writable where it is asked for: no existing
    directory in its place and no regular file among its parent folders (a UsageError
    naming the option and the file in the way)."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory, not a file")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option} {path}: {parent} is a file, not a directory")
            break


def cmd_md(args):
    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.data import read_structure
    from gmnn.export import model_paths
    from gmnn.io import atomic_write_json
    from gmnn.md import MDInterrupted, MDRun
    from gmnn.md.checks import check_start_structure

    config = _md_config(args)
    for option in ("trajectory", "checkpoint", "summary"):
        _check_output_path(f"--{option}", getattr(args, option))
    atoms = read_structure(args.structure)  # the data readers' checks (elements, NaN, overlaps)
    paths = model_paths(args.model)  # an exported ensemble: its members, verified
    calc = GMNNCalculator(paths[0]) if len(paths) == 1 else EnsembleCalculator(paths)
    model = calc.models[0]
    check_start_structure(atoms, model.cutoff, source=args.structure, species=model.species)
    run = MDRun(
        atoms,
        calc,
        config,
        trajectory=args.trajectory,
        checkpoint=args.checkpoint,
        on_mismatch="restart" if args.restart else "error",
    )
    try:
        summary = run.run()
    except MDInterrupted as exc:
        print(f"gmnn md: {exc}", file=sys.stderr)
        return 3
    if args.summary:
        atomic_write_json(args.summary, summary)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_info(args):
    from gmnn.export import is_ensemble, read_ensemble
    from gmnn.io import read_model_meta

    if is_ensemble(args.model) and not (Path(args.model) / "model.json").is_file():
        meta = read_ensemble(args.model)  # verified, the members checked to agree
        for member in meta["members"]:  # what each member holds, from its model.json
            member_meta = read_model_meta(Path(args.model) / member["path"])
            member["config"] = member_meta["config"]
            member["provenance"] = member_meta.get("provenance", {})
        print(json.dumps(meta, indent=2))
        return
    print(json.dumps(read_model_meta(args.model), indent=2))


def cmd_cost(args):
    """The expected cost of each figure from nothing: the pipeline's job graph (Snakemake
    DAG) with every job's expected seconds from the cost model (gmnn.workflow.resources)."""
    from gmnn.workflow.resources import format_costs, workflow_costs

    snakefile = Path(args.snakefile) if args.snakefile else Path("Snakefile")
    if args.snakefile is None and not snakefile.is_file():
        snakefile = Path(__file__).resolve().parents[1] / "Snakefile"
    if not snakefile.is_file():
        raise UsageError(f"--snakefile {snakefile}: no such file (the pipeline's Snakefile)")
    for path in args.configfile or []:
        if not Path(path).is_file():
            raise UsageError(f"--configfile {path}: no such file")
    report = workflow_costs(snakefile, args.configfile or [], args.targets)
    print(format_costs(report, by_rule=args.by_rule))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gmnn", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the traceback instead of one line (also: GMNN_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    from gmnn.model.config import ModelConfig
    from gmnn.transfer import MODES, FinetuneConfig

    p = sub.add_parser("train", help="train a model from scratch")
    _add_data_args(p)
    _add_train_args(p)
    _option(p, ModelConfig, "cutoff", type=float)
    _option(p, ModelConfig, "n_basis", type=int)
    _option(p, ModelConfig, "n_radial", type=int)
    _option(p, ModelConfig, "hidden", type=int, nargs="+")
    _option(p, ModelConfig, "dtype", choices=["float32", "float64"])
    p.add_argument("--lr", action="append", help="GROUP=RATE (nn, embed, scale, shift, dense_K)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("finetune", help="fine-tune a pre-trained model (transfer learning)")
    p.add_argument(
        "--pretrained",
        required=True,
        help="pre-trained model directory, or an exported ensemble (every member is "
        "fine-tuned; the result is exported to <out>/ensemble)",
    )
    p.add_argument(
        "--member", type=int, default=None, help="fine-tune only member K of the ensemble"
    )
    _add_data_args(p)
    p.add_argument(
        "--valid-fraction",
        type=float,
        default=None,
        help="validation structures as a fraction of --data (instead of --n-valid); "
        "without --n-train the others train",
    )
    p.add_argument("--name", default=None, help="name of the fine-tuned ensemble (its card)")
    p.add_argument(
        "--level-of-theory",
        default=None,
        help="method of the fine-tuning labels, for the card (default: from the data file)",
    )
    _add_train_args(p)
    _option(p, FinetuneConfig, "mode", choices=list(MODES))
    _option(p, FinetuneConfig, "lr_last", type=float)
    _option(p, FinetuneConfig, "lr_factor", type=float)
    _option(p, FinetuneConfig, "energy_scale", choices=["keep", "recompute"])
    _option(p, FinetuneConfig, "shift_init", choices=["offset_free", "regression"])
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("settings", help="print every setting with its default (YAML comments)")
    p.add_argument(
        "section",
        nargs="?",
        default=None,
        help="model, training, finetune, md.dynamics, md.dynamics.divergence or spectra",
    )
    p.set_defaults(func=cmd_settings)

    p = sub.add_parser("evaluate", help="MAE/RMSE of energies and forces as JSON")
    p.add_argument(
        "--model", required=True, nargs="+", help="model directory (or several, or an ensemble)"
    )
    p.add_argument("--data", required=True)
    p.add_argument("--format", default=None)
    p.add_argument("--split", default=None, help="split JSON to select a subset")
    p.add_argument("--subset", choices=["train", "valid", "test"], default="test")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None)
    p.add_argument("--out", default=None, help="write the JSON here too")
    p.set_defaults(func=cmd_evaluate)

    from gmnn.md import INTEGRATORS, MDConfig

    p = sub.add_parser(
        "md", help="molecular dynamics (ASE): Langevin or Nose-Hoover NVT, or NPT (--integrator)"
    )
    p.add_argument(
        "--model",
        required=True,
        nargs="+",
        help="model dir; several, or an exported ensemble dir = ensemble mean",
    )
    p.add_argument("--structure", required=True, help="start geometry (any ASE format)")
    for name, kind in _md_options().items():
        if kind is bool:
            _option(p, MDConfig, name, action=argparse.BooleanOptionalAction)
        elif name == "steps":
            _option(
                p, MDConfig, name, type=kind, required=True, help="a multiple of --write-interval"
            )
        elif name == "integrator":
            _option(p, MDConfig, name, choices=list(INTEGRATORS))
        else:
            _option(p, MDConfig, name, type=kind)
    p.add_argument("--trajectory", default=None, help="ASE .traj output")
    p.add_argument("--summary", default=None, help="JSON summary output")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="resumable state (.npz): rerunning the same command continues from it",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="start over if --checkpoint belongs to another run (default: an error)",
    )
    p.set_defaults(func=cmd_md)

    p = sub.add_parser("info", help="print a model's (or an exported ensemble's) metadata")
    p.add_argument("model")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "cost",
        help="expected core- and GPU-hours of each figure from nothing (the pipeline's DAG)",
    )
    p.add_argument(
        "targets",
        nargs="*",
        help="files or rules of the pipeline (default: every configured figure)",
    )
    p.add_argument(
        "--configfile",
        action="append",
        default=None,
        help="a config file over the Snakefile's config.yaml, e.g. presets/embedded.yaml "
        "(repeatable)",
    )
    p.add_argument("--snakefile", default=None, help="default: ./Snakefile, else this checkout's")
    p.add_argument("--by-rule", action="store_true", help="also the hours of each rule")
    p.set_defaults(func=cmd_cost)
    return parser


def _flag(key: str, options=()) -> str:
    """The option as the user types it for the setting ``key`` (``--cutoff``, ``--lr nn``);
    a setting that is no option of the command is named as a setting."""
    if not key:
        return "settings"
    if key.startswith("learning_rates."):
        return "--lr " + key.split(".", 1)[1]
    flag = "--" + key.replace("_", "-")
    if not options or flag in options:
        return flag
    last = "--" + key.rsplit(".", 1)[-1].replace("_", "-")  # card.name: --name
    if "." in key and last in options:
        return last
    return f"setting {key!r}"


def _failure(command: str, exc: Exception, options=()) -> tuple[int, str]:
    """Exit code and the line on stderr for an error of ``gmnn <command>`` (``options``:
    the command's option strings, to name a setting as the user types it)."""
    from gmnn.io import describe_error
    from gmnn.settings import SettingsError

    trainer = sys.modules.get("gmnn.train.trainer")  # (not imported: not a training error)
    if isinstance(exc, SettingsError):
        return 2, f"gmnn {command}: error: {_flag(exc.key, options)}: {exc.problem}"
    if trainer is not None and isinstance(exc, trainer.TrainingInterrupted):
        return 3, f"gmnn {command}: {exc}"
    if isinstance(exc, (ValueError, KeyError, OSError, EOFError)):
        return 2, f"gmnn {command}: error: {describe_error(exc)}"
    return 1, (
        f"gmnn {command}: error: unexpected {type(exc).__name__}: {describe_error(exc)} "
        f"(gmnn --debug {command} ... shows the traceback)"
    )


def _options(parser, command: str) -> set[str]:
    """The option strings of ``gmnn <command>``."""
    for action in parser._subparsers._group_actions:  # noqa: SLF001 - argparse's own
        if command in getattr(action, "choices", {}) or {}:
            return set(action.choices[command]._option_string_actions)  # noqa: SLF001
    return set()


def main(argv=None) -> int:
    """Run one command; every error ends here as one line on stderr and an exit code
    (see the module docstring), or, with ``--debug``, as the traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("GMNN_DEBUG", "") not in ("", "0")
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"gmnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        code, message = _failure(args.command, exc, _options(parser, args.command))
        print(message, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
