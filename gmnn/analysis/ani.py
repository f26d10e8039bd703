"""The ANI analysis of Sec. 3.2: COMP6 errors (Table 1), ANI-1ccx learning curves (Fig. 5)
and the ANI-1x pre-training-size study on MD17 (Fig. 6).

COMP6 convention (COMP6 README, TorchANI's old ``tools/comp6.py``): energy errors are per
conformer on *total* energies (kcal/mol), force errors per Cartesian component pooled over
all atoms (kcal/mol/Å). The "COMP6" row pools every conformer of every subset, i.e. it is
computed from the summed absolute and squared errors of the subsets, not as a mean of the
subset values. :func:`comp6_errors` therefore stores the exact sums next to each subset's
MAE/RMSE and :func:`pool` combines them.

Fig. 6's red line is the ANI-1x pre-trained model itself on MD17 coupled-cluster data
(:func:`offset_corrected_errors`): its absolute energies belong to another level of theory
and differ by a constant for one molecule, which is fitted on training structures.

Tidy tables (:class:`~gmnn.analysis.tables.Table`): :data:`TABLE1`, :data:`FIG5`,
:data:`FIG6` (their header comments name the data sets as
:func:`gmnn.analysis.names.ani_names` does for a source: :func:`ani_tables`); every
statistic is the mean over seeds and the standard error of the mean (std(ddof=1)/sqrt(n_seeds),
NaN for one seed), as in :mod:`gmnn.analysis.aggregate`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gmnn.analysis.aggregate import (
    CONVERGENCE_COLUMNS,
    CONVERGENCE_COMMENT,
    STATISTICS_COMMENT,
    aggregate,
    convergence,
    load_records,
    stat_columns,
)
from gmnn.analysis.names import ANI_NAMES, AniNames
from gmnn.analysis.tables import Table

# --- COMP6 subsets and the paper's Table 1 ------------------------------------------------------

POOLED = "comp6"
"""Name of the pooled entry (all conformers of all subsets) in a COMP6 metrics record."""

COMP6_NAMES = {
    "ani_md": "ANI-MD",
    "drugbank": "DrugBank",
    "gdb07to09": "GDB07to09",
    "gdb10to13": "GDB10to13",
    "s66x8": "S66x8",
    "tripeptides": "Tripeptides",
    POOLED: "COMP6",
}
"""Subset name (as in ``ani.comp6_subsets`` of config.yaml) -> name in the paper, in the
paper's row order of Table 1."""

PAPER_TABLE1_SOURCE = (
    "Zaverkin et al. 2023, Table 1 (paper text, shared/paper/transfer_learning_gmnn.txt): "
    "GM-NN pre-trained on 524,288 and 4,194,304 ANI-1x structures, evaluated on COMP6 v1"
)

# Transcribed from the paper's Table 1, a row per subset: per pre-training set size of
# _PAPER_SIZES, (energy MAE, energy RMSE, force MAE, force RMSE).
_PAPER_SIZES = (524288, 4194304)
_PAPER = {
    "ani_md": ((3.83, 7.06, 1.43, 2.57), (3.48, 6.41, 1.32, 2.47)),
    "drugbank": ((2.78, 4.21, 1.69, 2.82), (2.57, 4.18, 2.61, 1.55)),
    "gdb07to09": ((1.22, 1.61, 1.41, 2.24), (1.09, 1.44, 1.24, 1.95)),
    "gdb10to13": ((2.29, 3.04, 2.25, 3.66), (2.08, 2.76, 2.02, 3.26)),
    "s66x8": ((2.95, 4.04, 0.93, 1.67), (2.71, 3.78, 0.86, 1.57)),
    "tripeptides": ((3.06, 4.35, 1.48, 4.46), (2.73, 3.65, 1.32, 2.61)),
    POOLED: ((2.03, 3.02, 1.85, 3.11), (1.83, 2.79, 1.65, 2.74)),
}
_PAPER_COLUMNS = (("energy", "MAE"), ("energy", "RMSE"), ("force", "MAE"), ("force", "RMSE"))

PAPER_TABLE1: dict[tuple[str, int, str, str], float] = {
    (subset, n_train, quantity, metric): value
    for k, n_train in enumerate(_PAPER_SIZES)
    for subset, row in _PAPER.items()
    for (quantity, metric), value in zip(_PAPER_COLUMNS, row[k], strict=True)
}
"""The paper's Table 1 (:data:`PAPER_TABLE1_SOURCE`): (subset, n_train, quantity energy |
force, metric MAE | RMSE) -> value in kcal/mol (energy, total) or kcal/mol/Å (force)."""

PAPER_TABLE1_NOTES = {
    ("drugbank", 4194304, "force"): (
        "as printed in the paper (MAE 2.61 > RMSE 1.55), which is impossible (an RMSE is "
        "never below the MAE of the same errors); the two cells may be swapped (MAE 1.55, "
        "RMSE 2.61 would be below the 524,288 values, as for the other subsets)"
    ),
}
"""Remarks on entries of :data:`PAPER_TABLE1`, by (subset, n_train, quantity)."""

# --- tidy tables --------------------------------------------------------------------------------


def _table1_comments(names: AniNames) -> tuple[str, ...]:
    return (
        f"Table 1: errors of models pre-trained on {names.pretraining} on {names.benchmark}; "
        f"n_train = {names.pretraining} training structures; subset comp6 pools all "
        "conformers of all subsets",
        *_TABLE1_COMMENTS,
    )


_TABLE1_COMMENTS = (
    "quantity energy: total energy per conformer in kcal/mol; force: per Cartesian "
    "component in kcal/mol/Angstrom",
    "mean: mean over seeds; sem: standard error of the mean, std(ddof=1)/sqrt(n_seeds), "
    "NaN when n_seeds = 1",
    f"paper: {PAPER_TABLE1_SOURCE} (NaN where none); DrugBank force at 4194304 as printed "
    "(MAE > RMSE, impossible)",
    f"{CONVERGENCE_COMMENT} (the pre-trainings)",
    "zero_force: the force error of a model that predicts zero force on the subset, i.e. "
    "the MAE and RMS of its force labels (kcal/mol/Angstrom; NaN for energies): a model "
    "with a force RMSE near it has learnt nothing of the subset's forces",
)

TABLE1 = Table(
    "Table 1 COMP6",
    columns=(
        "subset",
        "n_train",
        "quantity",
        "metric",
        "mean",
        "sem",
        "n_seeds",
        "paper",
        *CONVERGENCE_COLUMNS,
        "zero_force",
    ),
    comments=_table1_comments(ANI_NAMES["ani"]),
    keys=("subset", "n_train", "quantity", "metric"),
    text=("subset", "quantity", "metric"),
    optional=(*CONVERGENCE_COLUMNS, "zero_force"),
)
"""``results/ani/table1_comp6.csv``: one row per (subset, n_train, quantity, metric)."""

FIG5_METRICS = ("energy_rmse", "energy_mae")
"""ANI-1ccx has no force labels: Fig. 5 aggregates energy errors only."""


def _fig5_comments(names: AniNames) -> tuple[str, ...]:
    return (
        f"Fig. 5: test errors of total energies on {names.finetuning} (labels: "
        f"{names.finetuning_level}) by setting (scratch_E: from scratch; finetune_E: "
        f"fine-tuned from a model pre-trained on n_pretrain {names.pretraining} structures, "
        "empty for scratch) and training-set size n_train",
        *STATISTICS_COMMENT,
        CONVERGENCE_COMMENT,
    )


FIG5 = Table(
    "Fig. 5 ANI-1ccx learning curves",
    columns=(
        "setting",
        "n_pretrain",
        "n_train",
        "n_seeds",
        *stat_columns(FIG5_METRICS),
        *CONVERGENCE_COLUMNS,
    ),
    comments=_fig5_comments(ANI_NAMES["ani"]),
    keys=("setting", "n_pretrain", "n_train"),
    text=("setting",),
    blank=("n_pretrain",),
    optional=CONVERGENCE_COLUMNS,
)
"""``results/ani/fig5_learning_curves.csv``: one row per (setting, n_pretrain, n_train)."""

FIG6_ROLES = ("finetuned", "scratch", "pretrained")


def _fig6_comments(names: AniNames) -> tuple[str, ...]:
    return (
        f"Fig. 6: MD17 coupled-cluster test errors against the {names.pretraining} "
        "pre-training set size n_pretrain; role finetuned (settings finetune_E/_EF, "
        "discriminative; finetune_nd_E/_EF, non-discriminative), scratch (the Fig. 2 "
        "from-scratch models, n_pretrain empty), pretrained (the pre-trained model itself, "
        "energies shifted by a constant fitted on the n_train training structures)",
        *STATISTICS_COMMENT,
        f"{CONVERGENCE_COMMENT} (role pretrained: the pre-trainings)",
    )


FIG6 = Table(
    "Fig. 6 ANI-1x pre-training size",
    columns=(
        "role",
        "molecule",
        "setting",
        "n_pretrain",
        "n_train",
        "n_seeds",
        *stat_columns(),
        *CONVERGENCE_COLUMNS,
    ),
    comments=_fig6_comments(ANI_NAMES["ani"]),
    keys=("role", "molecule", "setting", "n_pretrain", "n_train"),
    text=("role", "molecule", "setting"),
    blank=("n_pretrain",),
    optional=CONVERGENCE_COLUMNS,
)
"""``results/ani/fig6_pretrain_size.csv``: one row per (role, molecule, setting,
n_pretrain, n_train)."""


class AniTables(NamedTuple):
    """:data:`TABLE1`, :data:`FIG5` and :data:`FIG6` with header comments that name one
    source's data sets (:func:`ani_tables`)."""

    table1: Table
    fig5: Table
    fig6: Table


def ani_tables(names: AniNames | Mapping | str | None = None) -> AniTables:
    """The ANI study's tidy tables as written for a source: the same columns, header
    comments naming its data sets (``names``: :class:`~gmnn.analysis.names.AniNames`, a
    mapping of its fields, an ``ani.source`` or None for the paper's;
    :func:`gmnn.analysis.names.ani_names`)."""
    names = AniNames.of(names)
    return AniTables(
        TABLE1.with_comments(*_table1_comments(names)),
        FIG5.with_comments(*_fig5_comments(names)),
        FIG6.with_comments(*_fig6_comments(names)),
    )


UNITS = {
    "energy": "kcal/mol",
    "forces": "kcal/mol/Angstrom",
    "sum_abs_energy_error": "kcal/mol",
    "sum_sq_energy_error": "(kcal/mol)^2",
    "sum_abs_force_error": "kcal/mol/Angstrom",
    "sum_sq_force_error": "(kcal/mol/Angstrom)^2",
}

# --- errors of a model ------------------------------------------------------------------------


def error_sums(energy_errors, force_errors=None) -> dict:
    """The exact sums from which errors are pooled: ``n_conformers``, ``sum_abs_energy_error``
    (Σ|ΔE|, kcal/mol), ``sum_sq_energy_error`` (ΣΔE²) and, with force errors,
    ``n_force_components``, ``sum_abs_force_error`` (Σ|ΔF|, kcal/mol/Å) and
    ``sum_sq_force_error`` (ΣΔF²), together with the MAE/RMSE they give
    (:func:`metrics_from_sums`)."""
    de = np.asarray(energy_errors, dtype=np.float64).ravel()
    sums = {
        "n_conformers": int(de.size),
        "sum_abs_energy_error": float(np.sum(np.abs(de))),
        "sum_sq_energy_error": float(np.sum(de**2)),
    }
    if force_errors is not None:
        df = np.asarray(force_errors, dtype=np.float64).ravel()
        sums.update(
            {
                "n_force_components": int(df.size),
                "sum_abs_force_error": float(np.sum(np.abs(df))),
                "sum_sq_force_error": float(np.sum(df**2)),
            }
        )
    return {**sums, **metrics_from_sums(sums)}


def metrics_from_sums(sums: Mapping) -> dict:
    """``energy_mae``/``energy_rmse`` (kcal/mol) and, where the sums have forces,
    ``force_mae``/``force_rmse`` (kcal/mol/Å) from the sums of :func:`error_sums`."""
    out = {}
    for quantity, count in (("energy", "n_conformers"), ("force", "n_force_components")):
        if sums.get(count) is None:
            continue
        n = int(sums[count])
        if n <= 0:
            raise ValueError(f"{count} is {n}: no errors to average")
        out[f"{quantity}_mae"] = float(sums[f"sum_abs_{quantity}_error"]) / n
        out[f"{quantity}_rmse"] = math.sqrt(float(sums[f"sum_sq_{quantity}_error"]) / n)
    return out


def pool(entries: Mapping[str, Mapping]) -> dict:
    """Pool subsets (name -> entry with the sums of :func:`error_sums`) into one entry:
    MAE = Σ Σ|Δ| / Σ n and RMSE = sqrt(Σ ΣΔ² / Σ n) over all conformers (energies) and
    all force components of all subsets, i.e. weighted by size, not a mean of the subset
    values. Force errors pool the subsets that have forces (listed in ``force_subsets``);
    ``subsets`` lists all.
    """
    if not entries:
        raise ValueError("no subsets to pool")
    energy_keys = ("n_conformers", "sum_abs_energy_error", "sum_sq_energy_error")
    force_keys = ("n_force_components", "sum_abs_force_error", "sum_sq_force_error")
    with_forces = [name for name, e in entries.items() if e.get("n_force_components") is not None]
    sums = dict.fromkeys(energy_keys + (force_keys if with_forces else ()), 0)
    for name, entry in entries.items():
        for key in energy_keys + (force_keys if name in with_forces else ()):
            if entry.get(key) is None:
                raise ValueError(f"subset {name!r}: no {key!r} to pool")
            sums[key] += entry[key]
    return {
        **sums,
        **metrics_from_sums(sums),
        "subsets": list(entries),
        "force_subsets": with_forces,
    }


def comp6_errors(
    model, subsets: Mapping, batch_size: int = 128, chunk: int = 8192, log=None
) -> dict:
    """COMP6 errors of ``model``: ``{"subsets": {name: entry}, "comp6": pooled}``.

    ``subsets``: name -> :class:`~gmnn.data.Structures` (total energies in eV, forces in
    eV/Å, as converted by :func:`gmnn.data.sources.load_comp6`). Each entry holds
    ``energy_mae``/``energy_rmse`` per conformer (kcal/mol), ``force_mae``/``force_rmse``
    per Cartesian component (kcal/mol/Å; a subset without forces has energies only),
    ``n_atoms`` and the sums of :func:`error_sums`; ``comp6`` pools all of them
    (:func:`pool`). The errors are :func:`gmnn.analysis.metrics.prediction_errors`.
    """
    from gmnn.analysis.metrics import prediction_errors

    entries = {}
    for name, structures in subsets.items():
        if name == POOLED:
            raise ValueError(f"a subset cannot be named {POOLED!r} (the pooled entry)")
        de, df = prediction_errors(model, structures, batch_size=batch_size, chunk=chunk)
        entries[name] = {**error_sums(de, df), "n_atoms": int(structures.n_total_atoms)}
        if log:
            e = entries[name]
            log.info(
                "COMP6 %s: %d conformers, energy MAE %.3f RMSE %.3f kcal/mol%s",
                name,
                e["n_conformers"],
                e["energy_mae"],
                e["energy_rmse"],
                f", force MAE {e['force_mae']:.3f} RMSE {e['force_rmse']:.3f} kcal/mol/A"
                if "force_mae" in e
                else " (no forces)",
            )
    pooled = pool(entries)
    pooled["n_atoms"] = sum(e["n_atoms"] for e in entries.values())
    return {"subsets": entries, POOLED: pooled}


def offset_corrected_errors(model, train, test, batch_size: int = 128) -> dict:
    """Errors of a model trained on another level of theory (Fig. 6's pre-trained ANI-1x
    model on MD17 coupled-cluster data), after removing the constant energy offset.

    For one molecule, energies of two levels of theory differ by a constant (mostly the
    atomic reference energies). The offset c = mean(E_label − E_pred) over the ``train``
    structures (eV) is added to every prediction on ``test``; forces are compared
    unchanged. Returns the keys of :func:`gmnn.analysis.error_metrics` (energy_mae,
    energy_rmse, force_mae, force_rmse in kcal/mol and kcal/mol/Å, n_structures, units)
    plus ``energy_offset_eV`` (c) and ``n_offset`` (the structures it was fitted on).
    """
    from gmnn.analysis.metrics import error_summary, predict, prediction_errors
    from gmnn.analysis.metrics import source_name as source

    if len(train) == 0:
        raise ValueError(f"{source(train)}: no structures to fit the energy offset on")
    if train.energy is None:
        raise ValueError(f"{source(train)}: the energy offset needs energy labels")
    pred = predict(model, train, batch_size, forces=False)["energy"].astype(np.float64)
    if not np.isfinite(pred).all():
        i = int(np.argmax(~np.isfinite(pred)))
        raise ValueError(
            f"{source(train)}: the model predicts a non-finite energy for training structure {i}"
        )
    offset = float(np.mean(train.energy - pred))
    de, df = prediction_errors(model, test, batch_size=batch_size, energy_offset=offset)
    units = {"energy": UNITS["energy"], "forces": UNITS["forces"], "energy_offset": "eV"}
    return error_summary(de, df, units, energy_offset_eV=offset, n_offset=int(len(train)))


# --- Table 1 ----------------------------------------------------------------------------------


def zero_force_errors(subsets: Mapping) -> dict[tuple[str, str], float]:
    """Force MAE and RMSE (kcal/mol/Å) of the model that predicts zero force, per subset
    (name -> :class:`~gmnn.data.Structures`, forces in eV/Å) and pooled over all force
    components (``comp6``): ``{(subset, "MAE" | "RMSE"): value}``; subsets without forces
    are left out."""
    from gmnn.units import ev_to_kcal_mol

    entries = {
        name: error_sums(np.zeros(len(s)), ev_to_kcal_mol(np.asarray(s.forces, np.float64)))
        for name, s in subsets.items()
        if s.forces is not None
    }
    if entries:
        entries[POOLED] = pool(entries)
    return {
        (name, metric): float(e[f"force_{metric.lower()}"])
        for name, e in entries.items()
        for metric in ("MAE", "RMSE")
    }


def table1(
    records: Iterable[Mapping], paper: bool = False, zero_force: Mapping | None = None
) -> pd.DataFrame:
    """The :data:`TABLE1` tidy table from COMP6 metrics records (:func:`comp6_errors`
    output plus ``n_train`` and ``seed``; one per model).

    Per (subset, n_train, quantity, metric): mean and SEM over seeds of the per-seed
    values (for the pooled ``comp6`` row each seed's pooled value), ``n_seeds``, and with
    ``paper`` the paper's value (:data:`PAPER_TABLE1`, NaN where it has none). Rows in
    the paper's order: subsets as in :data:`COMP6_NAMES` (others after, sorted), then
    n_train, energy before force, MAE before RMSE. A seed twice for one n_train is an
    error naming the files. ``zero_force`` (:func:`zero_force_errors`) fills the column of
    that name on the force rows.
    """
    rows, seen = [], {}
    for record in records:
        where = record.get("_path") or "a COMP6 metrics record"
        for key in ("n_train", "seed", "subsets", POOLED):
            if record.get(key) is None:
                raise ValueError(f"{where}: no {key!r} (not a COMP6 metrics record?)")
        model_key = (_integer(record["n_train"], "n_train", where), record["seed"])
        if model_key in seen:
            raise ValueError(
                f"{where}: n_train {model_key[0]}, seed {model_key[1]} occurs more than once "
                f"(also in {seen[model_key]})"
            )
        seen[model_key] = where
        run = convergence(record.get("training"))
        entries = {**record["subsets"], POOLED: record[POOLED]}
        for subset, entry in entries.items():
            for quantity in ("energy", "force"):
                for metric in ("MAE", "RMSE"):
                    value = entry.get(f"{quantity}_{metric.lower()}")
                    if value is None:
                        continue
                    rows.append(
                        {
                            "subset": subset,
                            "n_train": model_key[0],
                            "quantity": quantity,
                            "metric": metric,
                            "seed": model_key[1],
                            "value": float(value),
                            **run,
                        }
                    )
    keys = ["subset", "n_train", "quantity", "metric"]
    if not rows:
        return TABLE1.frame()
    stats = aggregate(pd.DataFrame(rows), keys, metrics=("value",))
    stats = stats.rename(columns={"value_mean": "mean", "value_sem": "sem"})
    stats["paper"] = [
        PAPER_TABLE1.get((s, int(n), q, m), np.nan) if paper else np.nan
        for s, n, q, m in stats[keys].itertuples(index=False)
    ]
    zero_force = zero_force or {}
    stats["zero_force"] = [
        zero_force.get((s, m), np.nan) if q == "force" else np.nan
        for s, _, q, m in stats[keys].itertuples(index=False)
    ]
    rank = {name: i for i, name in enumerate(subset_order(stats["subset"]))}
    stats["_rank"] = stats["subset"].map(rank)
    stats = stats.sort_values(["_rank", "n_train", "quantity", "metric"], kind="stable")
    return TABLE1.frame(stats.drop(columns="_rank").reset_index(drop=True))


def table1_from_files(
    paths: Iterable, paper: bool = False, data: Mapping | None = None
) -> pd.DataFrame:
    """Rule ``aggregate_table1``: the COMP6 metrics JSON of every model -> :data:`TABLE1`;
    ``data``: subset -> its gmnn HDF5 file, for the ``zero_force`` column."""
    zero = None
    if data:
        from gmnn.data import read_h5

        zero = zero_force_errors({name: read_h5(path) for name, path in data.items()})
    return table1(load_records(paths), paper=paper, zero_force=zero)


def subset_order(subsets: Iterable[str]) -> list[str]:
    """Subsets in the paper's order (:data:`COMP6_NAMES`), others after (sorted), the
    pooled ``comp6`` last."""
    subsets = list(dict.fromkeys(subsets))
    known = [s for s in COMP6_NAMES if s in subsets and s != POOLED]
    rest = sorted(s for s in subsets if s not in COMP6_NAMES)
    return known + rest + ([POOLED] if POOLED in subsets else [])


# --- Figs. 5 and 6 ----------------------------------------------------------------------------


def fig5_table(records: Iterable[Mapping]) -> pd.DataFrame:
    """Fig. 5 (:data:`FIG5`) from ANI-1ccx metrics records (setting, n_train, seed,
    n_pretrain for fine-tuned runs, energy_rmse/energy_mae in kcal/mol): mean and SEM over
    seeds per (setting, n_pretrain, n_train); n_pretrain NaN for runs from scratch."""
    prepared = [_with_n_pretrain(r) for r in records]
    return FIG5.frame(aggregate(prepared, FIG5.keys, metrics=FIG5_METRICS))


def fig6_table(
    finetuned: Iterable[Mapping], scratch: Iterable[Mapping], pretrained: Iterable[Mapping]
) -> pd.DataFrame:
    """Fig. 6 (:data:`FIG6`): mean and SEM over seeds per (role, molecule, setting,
    n_pretrain, n_train).

    ``finetuned``: metrics records of fine-tuned MD17 models (molecule, setting, n_pretrain,
    n_train, seed, errors); ``scratch``: the Fig. 2 from-scratch records (n_pretrain
    empty); ``pretrained``: :func:`offset_corrected_errors` records of the pre-trained
    model (molecule, n_pretrain, seed), whose n_train is the number of structures the
    energy offset was fitted on (``n_offset``).
    """
    parts = []
    for role, records in zip(FIG6_ROLES, (finetuned, scratch, pretrained), strict=True):
        prepared = []
        for record in records:
            where = record.get("_path") or f"a {role} record"
            r = dict(record)
            if role == "scratch":
                r["n_pretrain"] = np.nan
            elif role == "pretrained":
                r.setdefault("setting", "pretrain")
                if r.get("n_offset") is None:
                    raise ValueError(
                        f"{where}: no 'n_offset' (not a record of rule evaluate_ani_md17?)"
                    )
                r["n_train"] = r["n_offset"]
            if role != "scratch":
                if r.get("n_pretrain") is None:
                    raise ValueError(f"{where}: no 'n_pretrain' (the pre-training set size)")
                r["n_pretrain"] = _integer(r["n_pretrain"], "n_pretrain", where)
            if r.get("molecule") is None:
                raise ValueError(f"{where}: no 'molecule'")
            prepared.append(r)
        if not prepared:
            continue
        table = aggregate(prepared, ("molecule", "setting", "n_pretrain", "n_train"))
        table.insert(0, "role", role)
        parts.append(table)
    if not parts:
        return FIG6.frame()
    return FIG6.frame(pd.concat(parts, ignore_index=True))


def fig6_table_from_files(finetuned, scratch, pretrained) -> pd.DataFrame:
    """Rule ``aggregate_fig6``: the three lists of metrics JSON paths -> :data:`FIG6`."""
    return fig6_table(load_records(finetuned), load_records(scratch), load_records(pretrained))


# --- internals -------------------------------------------------------------------------------


def _with_n_pretrain(record: Mapping) -> dict:
    """A Fig. 5 record with n_pretrain an int (fine-tuned) or NaN (from scratch)."""
    where = record.get("_path") or "a Fig. 5 record"
    r = dict(record)
    setting = str(r.get("setting", ""))
    if r.get("n_pretrain") is None:
        if setting.startswith("finetune"):
            raise ValueError(f"{where}: setting {setting!r} without 'n_pretrain'")
        r["n_pretrain"] = np.nan
    else:
        r["n_pretrain"] = _integer(r["n_pretrain"], "n_pretrain", where)
    return r


def _integer(value, key: str, where: str) -> int:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not float(value).is_integer():
        raise ValueError(f"{where}: {key} is {value!r}, not an integer")
    return int(value)


def data_record(path) -> dict:
    """Where a data file came from, for a metrics record: path and SHA-256."""
    from gmnn.fingerprints import file_sha256

    return {"path": str(path), "sha256": file_sha256(path)}


def model_dir(path) -> Path:
    """The model directory named by ``path``: the directory itself or its model.json."""
    path = Path(path)
    return path.parent if path.name == "model.json" else path


def check_names(names: Sequence[str], paths: Sequence) -> None:
    """One subset name per path, no name twice (the rule's params.subsets vs input.subsets)."""
    if len(names) != len(paths):
        raise ValueError(
            f"{len(names)} subset names {list(names)} for {len(paths)} files {list(map(str, paths))}"
        )
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise ValueError(f"subset name(s) {repeated} given twice in {list(names)}")


__all__ = [
    "COMP6_NAMES",
    "FIG5",
    "FIG5_METRICS",
    "FIG6",
    "FIG6_ROLES",
    "PAPER_TABLE1",
    "PAPER_TABLE1_NOTES",
    "PAPER_TABLE1_SOURCE",
    "POOLED",
    "TABLE1",
    "UNITS",
    "AniTables",
    "ani_tables",
    "check_names",
    "comp6_errors",
    "data_record",
    "error_sums",
    "fig5_table",
    "fig6_table",
    "fig6_table_from_files",
    "metrics_from_sums",
    "model_dir",
    "offset_corrected_errors",
    "pool",
    "subset_order",
    "table1",
    "table1_from_files",
]
