"""Exported ensembles: the published form of a set of GM-NN models (paper, Sec. 3.2).

The paper publishes its ANI-1x pre-trained and ANI-1ccx fine-tuned potentials, each an
ensemble of five models (one per seed), for others to fine-tune and to run MD with.
:func:`export_ensemble` writes such an ensemble as one self-describing directory::

    <out>/
      ensemble.json    format, members (path, seeds, sha256 of weights.npz and model.json,
                       training set size), species, cutoff (Å), architecture, dtype,
                       gmnn version
      card.json        the model card as data (see :class:`ModelCard` and ``card_record``)
      MODEL_CARD.md    the same card for people: data, levels of theory, settings, test
                       errors (kcal/mol, kcal/mol/Å), intended use, limits, citation, usage
      member0/ ...     one ordinary model directory per member (:func:`gmnn.io.load_model`)

:func:`load_ensemble` loads the members back (checking the weights against their
checksums); :func:`model_paths` turns a list of model or ensemble directories into model
directories (the CLI's ``md`` and ``evaluate`` accept either);
:func:`gmnn.io.check_model_dir` is the clear error for an ensemble directory given where
one model is expected.

Units: lengths Å, energies of the models eV (as every gmnn model); the card's errors are
in kcal/mol and kcal/mol/Å, as in the paper.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from gmnn.io import (
    ENSEMBLE_FILE,
    FileError,
    MissingFile,
    atomic_path,
    read_format_json,
    read_model_meta,
    reading,
)
from gmnn.settings import Settings, SettingsError, option

__all__ = [
    "ENSEMBLE_FORMAT",
    "ENSEMBLE_FORMAT_VERSION",
    "ModelCard",
    "TrainingData",
    "card_record",
    "check_consistent",
    "error_rows",
    "export_ensemble",
    "is_ensemble",
    "load_ensemble",
    "member_conflict",
    "member_dirs",
    "model_paths",
    "read_card",
    "read_ensemble",
]

ENSEMBLE_FORMAT = "gmnn-ensemble"
ENSEMBLE_FORMAT_VERSION = 1
CARD_FILE = "card.json"
CARD_MD = "MODEL_CARD.md"

ARCHITECTURE_KEYS = ("n_basis", "n_radial", "r_min", "hidden")
"""Model settings (besides species, cutoff and dtype) that every member must share."""

ERROR_COLUMNS = ("subset", "quantity", "metric", "mean", "sem")
"""Columns a table of test errors must have (others, e.g. ``n_train``, may be present)."""

UNITS = {"energy": "kcal/mol", "force": "kcal/mol/Å"}

CITATION = (
    "V. Zaverkin, D. Holzmüller, L. Bonferraro and J. Kästner, "
    '"Transfer learning for chemically accurate interatomic neural network potentials", '
    "Phys. Chem. Chem. Phys. 25, 5383-5396 (2023), doi:10.1039/D2CP05793J "
    "(arXiv:2212.03916); the authors' models: doi:10.18419/darus-3299"
)
"""How to cite the method (the paper this repository reproduces)."""

LABELS = {"E": "energies", "EF": "energies and forces"}


class TrainingData(Settings):
    """One training stage of an exported model (``card.pretraining``/``card.finetuning``).

    ``data`` names the data set (``"ANI-1x"``), ``level_of_theory`` its labels'
    electronic-structure method (``"wB97X/6-31G(d)"``), ``labels`` which labels trained
    (``E`` or ``EF``) and ``n_train`` the training structures of this stage.
    """

    section: ClassVar[str] = "card.pretraining"

    data: str = option(doc="data set name (ANI-1x, ANI-1ccx, your file)")
    level_of_theory: str = option(doc="method of the labels, e.g. wB97X/6-31G(d)")
    n_train: int | None = option(None, ge=1, doc="training structures of this stage")
    labels: str = option("EF", choices=("E", "EF"), doc="E: energies; EF: energies and forces")


DEFAULT_USE = (
    "Energies and forces (eV, eV/Å) of organic molecules made of the elements of the model, "
    "e.g. molecular dynamics through the ASE calculator, and as the starting point for "
    "fine-tuning on a small data set at a higher level of theory (gmnn finetune --pretrained)."
)

DEFAULT_LIMITS = (
    "Only the elements listed under Model; a structure with any other element is refused.",
    "Trained on small organic molecules and their conformers (near-equilibrium and "
    "moderately distorted); charged species, radicals, transition states, bond breaking, "
    "condensed phases and long-range interactions beyond the cutoff are extrapolation.",
    "The predictions reproduce the level of theory of the last training stage, with its "
    "errors; they are no better than those labels.",
    "Local model: no interaction reaches further than the cutoff (no long-range "
    "electrostatics or dispersion beyond it).",
    "Check a new application against reference calculations (the ensemble's spread, "
    "energy_std/forces_std of gmnn.calculator.EnsembleCalculator, flags unfamiliar "
    "structures, but small spread does not prove accuracy).",
)


class ModelCard(Settings):
    """What a user is told about an exported ensemble (the ``card`` given to
    :func:`export_ensemble`; section ``card``).

    ``n_train`` and ``seeds`` are the members' training set size and seeds; when given,
    they must agree with what the members' provenance records (an error names both).
    ``parent`` is the card record (card.json) of the ensemble these models were fine-tuned
    from, if any. ``intended_use`` and ``limitations`` default to the texts for organic
    molecules above; ``citation`` to the paper.
    """

    section: ClassVar[str] = "card"

    name: str = option(doc="name of the ensemble, e.g. GM-NN ANI-1x (4,194,304)")
    pretraining: TrainingData = option(doc="the (pre-)training data")
    description: str = option("", doc="one paragraph: what the models are")
    finetuning: TrainingData | None = option(None, doc="fine-tuning data, if fine-tuned")
    n_train: int | None = option(None, ge=1, doc="the members' training structures")
    seeds: tuple[int, ...] | None = option(None, ge=0, doc="the members' training seeds")
    intended_use: str = option(DEFAULT_USE, doc="what the models are for")
    limitations: tuple[str, ...] = option(DEFAULT_LIMITS, doc="where they are not to be trusted")
    citation: str = option(CITATION, doc="how to cite")
    parent: dict[str, Any] | None = option(None, doc="card record of the parent ensemble")

    def check(self) -> None:
        if not self.name.strip():
            raise SettingsError("name", "must not be empty")

    @property
    def last_stage(self) -> TrainingData:
        """The stage whose data the members were trained on last."""
        return self.finetuning or self.pretraining


# ---------------------------------------------------------------------------- reading


def is_ensemble(path) -> bool:
    """Whether ``path`` is a directory holding an ``ensemble.json``."""
    return (Path(path) / ENSEMBLE_FILE).is_file()


def member_conflict(configs: Sequence[dict]) -> tuple[int, str] | None:
    """The first member whose model settings differ from member 0's: ``(k, key)``, or
    None when every member shares species, cutoff, architecture and dtype."""
    keys = ("species", "cutoff", *ARCHITECTURE_KEYS, "dtype")
    for k, config in enumerate(configs[1:], start=1):
        for key in keys:
            if _plain(configs[0].get(key)) != _plain(config.get(key)):
                return k, key
    return None


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def check_consistent(model_dirs: Sequence) -> list[dict]:
    """The metadata (``model.json``) of the models ``model_dirs`` that are to be
    evaluated together (an ensemble mean), checked to share species, cutoff,
    architecture and dtype: a member that differs is a :class:`FileError` naming its
    ``model.json``, the key and both values."""
    metas = [read_model_meta(p) for p in model_dirs]
    conflict = member_conflict([m["config"] for m in metas])
    if conflict is not None:
        k, key = conflict
        a, b = metas[0]["config"].get(key), metas[k]["config"].get(key)
        raise FileError(
            Path(model_dirs[k]) / "model.json",
            f"member {k} has {key} = {_plain(b)!r}, but member 0 ({model_dirs[0]}) has "
            f"{key} = {_plain(a)!r}; the members of an ensemble must share species, cutoff, "
            "architecture and dtype",
        )
    return metas


def read_ensemble(path, verify: bool = True) -> dict:
    """The checked ``ensemble.json`` of the exported ensemble ``path``: the one reader of
    exported ensembles (``gmnn md``, ``evaluate``, ``info``, ``finetune --pretrained``
    and the ASE calculators all come here before any work).

    Every member's ``model.json`` must load and the members must share species, cutoff,
    architecture and dtype with each other and with what ``ensemble.json`` says (a
    member that differs is a :class:`FileError` naming its file, the key and both
    values). With ``verify`` every member's ``weights.npz`` and ``model.json`` must
    still have the sha256 recorded at export (a changed, swapped or damaged member, or a
    member without its checksums, is a :class:`FileError` naming its file). A missing
    directory or file is a :class:`MissingFile`; a file of another format, a newer
    version or without members a :class:`FileError` naming the key.
    """
    from gmnn.fingerprints import file_sha256

    path = Path(path)
    meta_file = path / ENSEMBLE_FILE
    if not path.exists():
        raise MissingFile(path, "no such ensemble directory")
    if not meta_file.is_file():
        if (path / "model.json").is_file():
            raise FileError(
                path, f"a single model directory, not an exported ensemble (no {ENSEMBLE_FILE})"
            )
        raise MissingFile(path, f"not an exported gmnn ensemble (no {ENSEMBLE_FILE})")
    meta = read_format_json(
        meta_file, "ensemble metadata file", ENSEMBLE_FORMAT, ENSEMBLE_FORMAT_VERSION
    )
    members = meta.get("members")
    if not isinstance(members, list) or not members:
        raise FileError(meta_file, "key 'members' must be a non-empty list")
    dirs, seen = [], {}
    for k, member in enumerate(members):
        if not isinstance(member, dict) or not isinstance(member.get("path"), str):
            raise FileError(meta_file, f"members[{k}] lacks its 'path'")
        member_dir = path / member["path"]
        if Path(member["path"]).is_absolute() or ".." in Path(member["path"]).parts:
            raise FileError(meta_file, f"members[{k}].path {member['path']!r} leaves the ensemble")
        if member_dir.resolve() in seen:
            raise FileError(
                meta_file,
                f"members[{k}].path {member['path']!r} is also members[{seen[member_dir.resolve()]}]"
                ": the same model twice",
            )
        seen[member_dir.resolve()] = k
        dirs.append(member_dir)
        if not verify:
            continue
        same = [
            j for j in range(k) if members[j].get("weights_sha256") == member.get("weights_sha256")
        ]
        if same and member.get("weights_sha256"):
            raise FileError(
                meta_file,
                f"members[{k}] has the weights_sha256 of members[{same[0]}]: the same model twice",
            )
        for name, key in (("weights.npz", "weights_sha256"), ("model.json", "model_json_sha256")):
            file = member_dir / name
            if not member_dir.exists():
                raise MissingFile(
                    member_dir, f"no such member directory (members[{k}] of {meta_file})"
                )
            if not file.is_file():
                raise MissingFile(file, f"no such file (member {k} of the ensemble {path})")
            if not isinstance(member.get(key), str):
                raise FileError(
                    meta_file, f"members[{k}] lacks its {key}: the member cannot be verified"
                )
            if file_sha256(file) != member[key]:
                raise FileError(
                    file,
                    f"changed or damaged since export: sha256 differs from {key} of "
                    f"members[{k}] in {meta_file}",
                )
    configs = [m["config"] for m in check_consistent(dirs)]
    expected = {
        "species": meta.get("species"),
        "cutoff": meta.get("cutoff"),
        "dtype": meta.get("dtype"),
        **(meta.get("architecture") if isinstance(meta.get("architecture"), dict) else {}),
    }
    for key, value in expected.items():
        if value is not None and _plain(value) != _plain(configs[0].get(key)):
            raise FileError(
                meta_file,
                f"{key} = {_plain(value)!r}, but its members ({dirs[0]} ...) have {key} = "
                f"{_plain(configs[0].get(key))!r}",
            )
    return meta


def member_dirs(path, verify: bool = True) -> list[Path]:
    """The member model directories of the exported ensemble ``path``, in order, read
    and checked by :func:`read_ensemble` (``verify``: their checksums too)."""
    path = Path(path)
    return [path / m["path"] for m in read_ensemble(path, verify=verify)["members"]]


def load_ensemble(path, dtype: str | None = None) -> list:
    """The member models of the exported ensemble ``path`` (weights checked against
    their export checksums); ``dtype`` as for :func:`gmnn.io.load_model`."""
    from gmnn.io import load_model

    path = Path(path)
    meta = read_ensemble(path)
    return [load_model(path / m["path"], dtype=dtype) for m in meta["members"]]


def read_card(path) -> dict:
    """The card record (``card.json``) of the exported ensemble ``path``."""
    file = Path(path) / CARD_FILE
    with reading(file, "model card file"):
        card = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(card, dict):
        raise FileError(file, f"expected a JSON object, got {type(card).__name__}")
    return card


def model_paths(paths: Iterable) -> list[Path]:
    """Model directories from model or exported-ensemble directories: an ensemble gives
    its members (in order; verified and checked by :func:`read_ensemble`), a model
    directory itself."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        out += member_dirs(p) if is_ensemble(p) and not (p / "model.json").is_file() else [p]
    return out


# ---------------------------------------------------------------------------- errors


def _unit(quantity: str, source: str) -> str:
    q = str(quantity).strip().lower()
    for key, unit in UNITS.items():
        if q.startswith(key):
            return unit
    raise ValueError(
        f"{source}: quantity {quantity!r} is neither an energy nor a force "
        "(expected energy or force)"
    )


def error_rows(errors, n_train: int | None = None) -> list[dict]:
    """Test errors for a card, as rows ``subset, quantity, metric, mean, sem, unit``
    (kcal/mol for energies, kcal/mol/Å for forces; ``n_seeds`` too when given).

    ``errors``: a CSV path (``#`` comment lines allowed), a DataFrame or rows (mappings)
    with at least :data:`ERROR_COLUMNS`; None gives no rows. With ``n_train`` and an
    ``n_train`` column only the rows of that training set size are kept (none left is an
    error naming the sizes the table has). A missing column, a non-number or a quantity
    that is neither energy nor force is a ValueError naming the table.
    """
    import pandas as pd

    if errors is None:
        return []
    source = str(errors) if isinstance(errors, (str, Path)) else "the errors table"
    if isinstance(errors, (str, Path)):
        with reading(errors, "errors table (CSV)"):
            df = pd.read_csv(errors, comment="#")
    elif isinstance(errors, pd.DataFrame):
        df = errors
    else:
        rows = list(errors)
        df = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=ERROR_COLUMNS)
    missing = [c for c in ERROR_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing} (needs {list(ERROR_COLUMNS)})")
    if n_train is not None and "n_train" in df.columns:
        sizes = sorted({int(v) for v in df["n_train"].dropna()})
        df = df[df["n_train"] == n_train]
        if df.empty:
            raise ValueError(
                f"{source}: no rows with n_train = {n_train} (the table has n_train {sizes})"
            )
    out = []
    for _, row in df.iterrows():
        record = {"subset": str(row["subset"]), "quantity": str(row["quantity"])}
        record["metric"] = str(row["metric"])
        for key in ("mean", "sem"):
            try:
                record[key] = float(row[key])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{source}: column {key!r} holds a non-number, {row[key]!r}"
                ) from None
        record["unit"] = (
            str(row["unit"]) if "unit" in df.columns else _unit(row["quantity"], source)
        )
        if "n_seeds" in df.columns:
            record["n_seeds"] = int(row["n_seeds"])
        out.append(record)
    return out


# ---------------------------------------------------------------------------- export


def _member_info(k: int, path: Path) -> dict:
    """What export needs of member ``k`` at ``path``; an unloadable member is a
    :class:`FileError` naming it."""
    from gmnn.fingerprints import file_sha256
    from gmnn.io import load_model

    path = Path(path)
    if path.is_file() and path.name == "model.json":
        path = path.parent
    if is_ensemble(path) and not (path / "model.json").is_file():
        raise FileError(path, f"member {k}: an exported ensemble, not one model directory")
    try:
        load_model(path)  # the member loads: config, weights and their fit are checked
        meta = read_model_meta(path)  # plain JSON (a model's attributes are TF-tracked)
    except FileError as err:
        cls = MissingFile if isinstance(err, MissingFile) else FileError
        raise cls(
            err.source, f"member {k} of the ensemble is not a loadable gmnn model: {err.problem}"
        ) from err
    config, prov = meta["config"], dict(meta.get("provenance") or {})
    training = prov.get("training") or {}
    return {
        "source": path,
        "config": config,
        "provenance": prov,
        "seed": training.get("seed", config.get("seed")),
        "init_seed": config.get("seed"),
        "n_train": prov.get("n_train"),
        "n_valid": prov.get("n_valid"),
        "weights_sha256": file_sha256(path / "weights.npz"),
        "model_json_sha256": file_sha256(path / "model.json"),
    }


def _check_members(members: list[dict]) -> None:
    """Every member shares species, cutoff, architecture and dtype with member 0, and no
    two members are the same model; the error names the member that differs."""
    first = members[0]
    conflict = member_conflict([m["config"] for m in members])
    if conflict is not None:
        k, key = conflict
        m = members[k]
        a, b = _plain(first["config"].get(key)), _plain(m["config"].get(key))
        raise ValueError(
            f"{m['source']}: member {k} has {key} = {b!r}, but member 0 "
            f"({first['source']}) has {key} = {a!r}; the members of an ensemble "
            "must share species, cutoff, architecture and dtype"
        )
    for k, m in enumerate(members[1:], start=1):
        for j in range(k):
            if members[j]["weights_sha256"] == m["weights_sha256"]:
                raise ValueError(
                    f"{m['source']}: member {k} has the same weights as member {j} "
                    f"({members[j]['source']}): the same model given twice"
                )


def _shared_settings(members: list[dict]) -> dict:
    """The training settings recorded in the members' provenance: one value where they
    agree, ``{"per member": [...]}`` where they differ (the seed always differs)."""
    keys = ("training", "learning_rates", "loss_weights", "finetune")
    out: dict[str, Any] = {}
    for key in keys:
        values = [m["provenance"].get(key) for m in members]
        if all(v is None for v in values):
            continue
        if key == "training":
            # the seed differs by design; the configured rates are superseded by the
            # per-group rates actually used (learning_rates)
            skip = ("seed", "progress", "learning_rates")
            values = [
                {
                    k: v
                    for k, v in (x or {}).items()
                    # a run by steps ignores epochs (gmnn.train.TrainConfig)
                    if k not in skip and not (k == "epochs" and (x or {}).get("steps"))
                }
                for x in values
            ]
        if key == "finetune":  # the parent's own provenance is the parent card's business
            values = [
                {k: v for k, v in (x or {}).items() if k != "pretrained_provenance"} for x in values
            ]
        same = all(
            json.dumps(v, sort_keys=True) == json.dumps(values[0], sort_keys=True) for v in values
        )
        out[key] = values[0] if same else {"per member": values}
    epochs = [m["provenance"].get("epochs_run") for m in members]
    best = [m["provenance"].get("best_epoch") for m in members]
    if any(e is not None for e in epochs):
        out["epochs_run"] = epochs
        out["best_epoch"] = best
    return out


def _agree(card_value, found: list, what: str, key: str) -> None:
    known = [v for v in found if v is not None]
    if card_value is None or not known:
        return
    if isinstance(card_value, tuple):
        if list(card_value) != list(found):
            raise SettingsError(
                key, f"{list(card_value)} in the card, but the members have {what} {found}"
            )
    elif any(v != card_value for v in known):
        raise SettingsError(key, f"{card_value!r} in the card, but the members have {what} {found}")


def card_record(card: ModelCard, members: list[dict], errors: list[dict]) -> dict:
    """The JSON card (``card.json``) of an ensemble of ``members`` (:func:`_member_info`
    records) with test ``errors`` (:func:`error_rows`)."""
    from ase.data import chemical_symbols

    import gmnn

    config = members[0]["config"]
    species = [int(z) for z in config["species"]]
    n_train = [m["n_train"] for m in members]
    seeds = [m["seed"] for m in members]
    stages = {"pretraining": card.pretraining.to_dict()}
    if card.finetuning is not None:
        stages["finetuning"] = card.finetuning.to_dict()
    last = "finetuning" if card.finetuning is not None else "pretraining"
    if stages[last]["n_train"] is None and n_train[0] is not None:
        stages[last]["n_train"] = n_train[0]
    return {
        "format": "gmnn-model-card",
        "format_version": 1,
        "name": card.name,
        "description": card.description,
        "model": {
            "architecture": "GM-NN (Gaussian moment neural network)",
            "n_members": len(members),
            "species": species,
            "elements": [chemical_symbols[z] for z in species],
            "cutoff_angstrom": float(config["cutoff"]),
            **{k: config[k] for k in ARCHITECTURE_KEYS},
            "dtype": config["dtype"],
            "units": {"energy": "eV", "length": "Angstrom", "forces": "eV/Angstrom"},
        },
        "data": stages,
        "seeds": seeds,
        "n_train": n_train[0],
        "n_valid": [m["n_valid"] for m in members],
        "training_settings": _shared_settings(members),
        "errors": errors,
        "error_units": dict(UNITS),
        "intended_use": card.intended_use,
        "limitations": list(card.limitations),
        "citation": card.citation,
        "parent": card.parent,
        "gmnn_version": gmnn.__version__,
    }


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


def _usage(name: str, elements: list[str], cutoff: float) -> str:
    return f"""```bash
# fine-tune every member on your own data (extxyz, ANI HDF5, npz; energies, or energies and forces)
gmnn finetune --pretrained {name} --data my_molecule.extxyz --valid-fraction 0.1 \\
    --loss E --epochs 500 --out runs/my_molecule
# molecular dynamics with the mean of the members
gmnn md --model {name} --structure start.xyz --steps 20000 --temperature-K 300 \\
    --trajectory md.traj
```

```python
from gmnn.calculator import EnsembleCalculator
from gmnn.export import member_dirs

atoms.calc = EnsembleCalculator(member_dirs("{name}"))  # eV, eV/Å; energy_std, forces_std
```

Elements: {", ".join(elements)}; cutoff {cutoff:g} Å (kept when fine-tuning)."""


def card_markdown(record: dict, ensemble: dict, name: str = ".") -> str:
    """``MODEL_CARD.md``: the card ``record`` (card.json) for people."""
    m = record["model"]
    lines = [f"# {record['name']}", ""]
    if record["description"]:
        lines += [record["description"], ""]
    lines += [
        "## Model",
        "",
        f"- Architecture: {m['architecture']}; {m['n_basis']} Gaussian primitives, "
        f"{m['n_radial']} radial functions, first centre {_fmt(m['r_min'])} Å, hidden layers "
        f"{_fmt(m['hidden'])}, {m['dtype']}",
        f"- Cutoff: {m['cutoff_angstrom']:g} Å",
        f"- Elements: {', '.join(m['elements'])} (Z = {_fmt(m['species'])})",
        f"- Ensemble of {m['n_members']} models (member0 ... member{m['n_members'] - 1}), "
        f"training seeds {_fmt(record['seeds'])}; sha256 of each member's weights in "
        f"{ENSEMBLE_FILE}",
        "- Units of the models: energies eV, lengths Å, forces eV/Å",
        "",
        "## Training data",
        "",
        "| stage | data set | level of theory | labels | training structures |",
        "|---|---|---|---|---|",
    ]
    for stage, d in record["data"].items():
        lines.append(
            f"| {stage} | {d['data']} | {d['level_of_theory']} | {LABELS[d['labels']]} | "
            f"{_fmt(d['n_train'])} |"
        )
    lines += ["", f"Validation structures per member: {_fmt(record['n_valid'])}.", ""]
    lines += ["## Training settings", "", "From the members' provenance (model.json)."]
    lines.append("")
    for key, value in record["training_settings"].items():
        if isinstance(value, dict) and "per member" not in value:
            lines.append(f"- {key}: " + "; ".join(f"{k} = {_fmt(v)}" for k, v in value.items()))
        else:
            lines.append(f"- {key}: {_fmt(value)}")
    lines += ["", "## Test errors", ""]
    if record["errors"]:
        lines += [
            "Mean over the members (seeds) ± standard error of the mean; energies in "
            f"{UNITS['energy']} (total energies), forces in {UNITS['force']} (per Cartesian "
            "component).",
            "",
            "| subset | quantity | metric | mean | SEM | unit |",
            "|---|---|---|---|---|---|",
        ]
        for e in record["errors"]:
            lines.append(
                f"| {e['subset']} | {e['quantity']} | {e['metric']} | {e['mean']:.3f} | "
                f"{e['sem']:.3f} | {e['unit']} |"
            )
    else:
        lines.append("None recorded at export.")
    lines += ["", "## Intended use", "", record["intended_use"], "", "## Limitations", ""]
    lines += [f"- {text}" for text in record["limitations"]]
    lines += ["", "## Usage", "", _usage(name, m["elements"], m["cutoff_angstrom"]), ""]
    parent = record.get("parent")
    if parent:
        lines += ["## Fine-tuned from", ""]
        lines.append(
            f"- {parent.get('name', '(unnamed)')}"
            + (f" ({parent['exported_from']})" if parent.get("exported_from") else "")
        )
        for stage, d in (parent.get("data") or {}).items():
            lines.append(
                f"- its {stage}: {d.get('data')} ({d.get('level_of_theory')}), "
                f"{_fmt(d.get('n_train'))} structures"
            )
        if parent.get("members_used") is not None:
            lines.append(f"- members used: {_fmt(parent['members_used'])}")
        lines.append("")
    lines += ["## How to cite", "", record["citation"], ""]
    lines += [f"Exported with gmnn {ensemble['gmnn_version']}.", ""]
    return "\n".join(lines)


def export_ensemble(model_dirs: Sequence, out_dir, card: dict | ModelCard, errors=None) -> Path:
    """Write the models in ``model_dirs`` (one per seed) as the exported ensemble
    ``out_dir`` (replaced atomically) with its model card; returns ``out_dir``.

    ``card`` is a :class:`ModelCard` or a mapping of its fields (errors name the key,
    ``card.pretraining.level_of_theory: is required``). ``errors`` are test errors as
    :func:`error_rows` reads them (a CSV path, a DataFrame or rows with ``subset,
    quantity, metric, mean, sem``, in kcal/mol and kcal/mol/Å); rows of other training
    set sizes than the members' are left out.

    Raises:
        FileError: a member that is not a loadable model directory (naming it).
        ValueError: members that differ in species, cutoff, architecture or dtype, or the
            same model twice (naming the member); no members.
        SettingsError: a bad card, or ``card.n_train``/``card.seeds`` that disagree with
            the members' provenance.
    """
    import gmnn

    card = card if isinstance(card, ModelCard) else ModelCard.from_dict(dict(card))
    model_dirs = list(model_dirs)
    if not model_dirs:
        raise ValueError("an ensemble needs at least one member model directory")
    members = [_member_info(k, p) for k, p in enumerate(model_dirs)]
    _check_members(members)
    n_train = [m["n_train"] for m in members]
    if len({n for n in n_train if n is not None}) > 1:
        k = next(k for k, n in enumerate(n_train) if n != n_train[0])
        raise ValueError(
            f"{members[k]['source']}: member {k} was trained on {n_train[k]} structures, "
            f"member 0 ({members[0]['source']}) on {n_train[0]}: an ensemble's members share "
            "their training set size"
        )
    _agree(card.n_train, n_train, "training set sizes", "card.n_train")
    _agree(
        card.last_stage.n_train,
        n_train,
        "training set sizes",
        "card.finetuning.n_train" if card.finetuning else "card.pretraining.n_train",
    )
    _agree(card.seeds, [m["seed"] for m in members], "training seeds", "card.seeds")
    rows = error_rows(errors, n_train=n_train[0])
    record = card_record(card, members, rows)
    config = members[0]["config"]
    ensemble = {
        "format": ENSEMBLE_FORMAT,
        "format_version": ENSEMBLE_FORMAT_VERSION,
        "name": card.name,
        "species": [int(z) for z in config["species"]],
        "cutoff": float(config["cutoff"]),
        "dtype": config["dtype"],
        "architecture": {k: config[k] for k in ARCHITECTURE_KEYS},
        "gmnn_version": gmnn.__version__,
        "card": CARD_FILE,
        "members": [
            {
                "path": f"member{k}",
                "seed": m["seed"],
                "init_seed": m["init_seed"],
                "n_train": m["n_train"],
                "weights_sha256": m["weights_sha256"],
                "model_json_sha256": m["model_json_sha256"],
                "exported_from": str(m["source"]),
            }
            for k, m in enumerate(members)
        ],
    }
    out_dir = Path(out_dir)
    with atomic_path(out_dir, directory=True) as tmp:
        for k, m in enumerate(members):
            (tmp / f"member{k}").mkdir()
            for name in ("model.json", "weights.npz"):
                shutil.copyfile(m["source"] / name, tmp / f"member{k}" / name)
        (tmp / ENSEMBLE_FILE).write_text(
            json.dumps(ensemble, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        (tmp / CARD_FILE).write_text(
            json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        (tmp / CARD_MD).write_text(card_markdown(record, ensemble, out_dir.name), encoding="utf-8")
        read_ensemble(tmp)  # what was written verifies
    return out_dir
