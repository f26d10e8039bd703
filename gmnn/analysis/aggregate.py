"""Per-seed aggregation of test errors into the tidy tables of Figs. 2 and 3.

The input is one record per trained model: a flat dict such as the ``metrics.json`` the
pipeline writes for every model (``molecule``, ``setting``, ``n_train``, ``seed``, and the
errors of :func:`gmnn.analysis.error_metrics` in kcal/mol and kcal/mol/Å). The output is a
tidy table (a :class:`pandas.DataFrame`, one row per group) with, for every metric, the mean
over seeds and the standard error of the mean, SEM = std(ddof=1) / sqrt(n_seeds). With one
seed the SEM is undefined and reported as NaN; a metric missing (NaN) in one run makes its
group's mean and SEM NaN.

Every table of trained models also says how converged the runs behind each row are
(:data:`CONVERGENCE_COLUMNS`, from each record's ``training`` summary: :func:`convergence`):
``best_step_mean`` and ``steps_run_mean`` over seeds, ``still_improving``, the number of
seeds whose best validation came at their last validation, and ``late_gain_max``, the
largest gain of a seed's validation loss in the last quarter of its run.

The tables (:data:`LEARNING_CURVES`, :data:`DFT_REFERENCE`, :data:`PRETRAIN_SIZE`) are
:class:`~gmnn.analysis.tables.Table` descriptions: write and read them with their
``write``/``read`` methods (CSV with ``#`` comment lines stating the units).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gmnn.analysis.tables import Table, read_json_object

METRICS = ("energy_rmse", "force_rmse", "energy_mae", "force_mae")
"""Error metrics aggregated by default (keys of :func:`gmnn.analysis.error_metrics`)."""

UNITS = {"energy": "kcal/mol", "force": "kcal/mol/Angstrom"}

STATISTICS_COMMENT = (
    f"energy_* in {UNITS['energy']} (total energies), force_* in {UNITS['force']} "
    "(per Cartesian component)",
    "<metric>_mean: mean over seeds; <metric>_sem: standard error of the mean, "
    "std(ddof=1)/sqrt(n_seeds), NaN when n_seeds = 1",
)
"""Header comment lines of a table of per-seed statistics: units and what mean/sem are."""

CONVERGENCE_COLUMNS = ("best_step_mean", "steps_run_mean", "still_improving", "late_gain_max")
"""Columns of every table of trained models that say how converged its runs are
(:func:`convergence`; NaN where a record has no training summary)."""

_RUN_CONVERGENCE = ("best_step", "steps_run", "still_improving", "late_gain")  # per run

CONVERGENCE_COMMENT = (
    "best_step_mean: mean over seeds of the optimiser step of the best validation (the "
    "model kept); steps_run_mean: of the steps run; still_improving: seeds whose best "
    "validation was their last one (best_step == steps_run, or best_epoch == epochs_run "
    "where steps are not recorded), i.e. runs still improving at their end; late_gain_max: "
    "over seeds, the largest relative drop of the best validation loss in the last quarter "
    "of a run's steps (1 - best / best before; 0: the run had reached its plateau, "
    "gmnn.train.api.late_gain); NaN where a run has no training record"
)
"""Header comment line of the :data:`CONVERGENCE_COLUMNS`: the rules behind them."""

CURVE_KEYS = ("molecule", "setting", "n_train")
REFERENCE_KEYS = ("molecule", "test_set", "n_train")
PRETRAIN_SIZE_KEYS = ("molecule", "setting", "n_train", "n_pretrain")


def stat_columns(metrics: Sequence[str] = METRICS) -> list[str]:
    """``<metric>_mean``, ``<metric>_sem`` for every metric, in this order."""
    return [f"{m}_{stat}" for m in metrics for stat in ("mean", "sem")]


def _statistics_table(name: str, keys: Sequence[str], what: str) -> Table:
    return Table(
        name,
        columns=(*keys, "n_seeds", *stat_columns(), *CONVERGENCE_COLUMNS),
        comments=(what, *STATISTICS_COMMENT, CONVERGENCE_COMMENT),
        keys=keys,
        text=tuple(k for k in keys if k in ("molecule", "setting", "test_set")),
        optional=CONVERGENCE_COLUMNS,
    )


LEARNING_CURVES = _statistics_table(
    "Fig. 2 learning curves",
    CURVE_KEYS,
    "Fig. 2 learning curves: coupled-cluster test errors by setting and training-set size",
)
"""``results/md17/fig2_learning_curves.csv``: one row per (molecule, setting, n_train)."""

DFT_REFERENCE = _statistics_table(
    "DFT-only reference",
    REFERENCE_KEYS,
    "Models pre-trained on DFT only: test_set cc = on coupled-cluster labels "
    "(Fig. 2, black line), dft = on the DFT test set; n_train = DFT training structures",
)
"""``results/md17/fig2_dft_reference.csv``: one row per (molecule, test_set, n_train)."""

PRETRAIN_SIZE = _statistics_table(
    "Fig. 3 pre-training size",
    PRETRAIN_SIZE_KEYS,
    "Fig. 3: coupled-cluster test errors of fine-tuned models by pre-training set size "
    "(n_pretrain DFT structures) and fine-tuning set size (n_train)",
)
"""``results/md17/fig3_pretrain_size.csv``: one row per (molecule, setting, n_train,
n_pretrain)."""

_log = logging.getLogger(__name__)


def mean_sem(
    df: pd.DataFrame, by: Sequence[str], columns: Sequence[str], count: str = "n"
) -> pd.DataFrame:
    """Group ``df`` by ``by`` and reduce each of ``columns`` to ``<column>_mean`` and
    ``<column>_sem`` (std with ddof=1 over sqrt(n); NaN for one value), with the group size
    in ``count``. A NaN in a group makes that column's mean and SEM NaN. Rows are sorted by
    the ``by`` keys; columns: ``by``, ``count``, then mean and SEM of each column."""
    by, columns = list(by), list(columns)
    values = df[columns].astype(float)
    keys = [df[k] for k in by]
    grouped = values.groupby(keys, sort=True, dropna=False)
    n = grouped.size()
    has_nan = values.isna().groupby(keys, sort=True, dropna=False).any()
    mean = grouped.mean().mask(has_nan)
    sem = grouped.std(ddof=1).div(np.sqrt(n), axis=0).mask(has_nan)
    out = n.rename(count).to_frame()
    for c in columns:
        out[f"{c}_mean"] = mean[c]
        out[f"{c}_sem"] = sem[c]
    return out.reset_index()


def aggregate(
    records: pd.DataFrame | Iterable[dict],
    by: Sequence[str],
    metrics: Sequence[str] = METRICS,
    replicate: str = "seed",
) -> pd.DataFrame:
    """Group ``records`` by the keys ``by`` and reduce every metric to mean and SEM.

    Each output row holds the ``by`` keys, ``n_seeds`` (records in the group),
    ``<metric>_mean``/``<metric>_sem`` for every metric (NaN where a record lacks it) and
    the :data:`CONVERGENCE_COLUMNS` of the group's runs (from each record's ``training``
    summary, :func:`convergence`; a DataFrame of records may instead hold the per-run
    ``best_step``, ``steps_run`` and ``still_improving`` columns; NaN for a group where a
    run lacks them). Rows are sorted by the ``by`` keys. Two records of one group with the
    same ``replicate`` value (seed) are an error: the same model would be counted twice.
    """
    df = _records_frame(records, [*by, replicate], metrics)
    repeated = df.duplicated([*by, replicate], keep=False)
    if repeated.any():
        first = df[repeated].iloc[0]
        group = df[repeated & (df[list(by)] == first[list(by)]).all(axis=1)]
        seeds = sorted(set(group[replicate].tolist()))
        key = {k: _plain(first[k]) for k in by}
        raise ValueError(f"{key}: {replicate} {seeds} occurs more than once")
    table = mean_sem(df, by, metrics, count="n_seeds")
    runs = df[list(_RUN_CONVERGENCE)].astype(float)
    keys = [df[k] for k in by]
    grouped = runs.groupby(keys, sort=True, dropna=False)
    missing = runs.isna().groupby(keys, sort=True, dropna=False).any()
    summary = pd.concat(
        [
            grouped[["best_step", "steps_run"]].mean(),
            grouped[["still_improving"]].sum(),
            grouped[["late_gain"]].max(),
        ],
        axis=1,
    ).mask(missing)
    for run_column, column in zip(_RUN_CONVERGENCE, CONVERGENCE_COLUMNS, strict=True):
        table[column] = summary[run_column].to_numpy()
    return table


def convergence(training: Mapping | None) -> dict:
    """How far one run got (its ``training`` summary, :data:`TRAINING_SUMMARY`):
    ``best_step``, ``steps_run`` and ``late_gain`` (:func:`gmnn.train.api.late_gain`; NaN
    where not recorded) and ``still_improving``: 1.0 if its best validation was its last
    one (best_step == steps_run; where steps are not recorded best_epoch == epochs_run),
    else 0.0; NaN without either pair.

    The trainer validates a fixed number of times per run (or once per epoch) and keeps
    the best validation's weights, so a best at the last validation means the run was cut
    off while still improving: it had not reached its plateau.
    """
    training = training or {}

    def number(key):
        value = training.get(key)
        ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        return float(value) if ok else np.nan

    best_step, steps_run = number("best_step"), number("steps_run")
    best_epoch, epochs_run = number("best_epoch"), number("epochs_run")
    if not (np.isnan(best_step) or np.isnan(steps_run)):
        still = float(best_step >= steps_run)
    elif not (np.isnan(best_epoch) or np.isnan(epochs_run)):
        still = float(best_epoch >= epochs_run)
    else:
        still = np.nan
    return {
        "best_step": best_step,
        "steps_run": steps_run,
        "still_improving": still,
        "late_gain": number("late_gain"),
    }


def learning_curves(records, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Fig. 2 learning curves (:data:`LEARNING_CURVES`): one row per (molecule, setting,
    n_train), over seeds."""
    return aggregate(records, CURVE_KEYS, metrics)


def reference_errors(records, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Errors of the DFT-only (pre-trained) models (:data:`DFT_REFERENCE`): one row per
    (molecule, test_set, n_train).

    ``test_set`` "cc" is the horizontal black line of Fig. 2 (DFT model on coupled-cluster
    labels), "dft" the same models on their own level of theory.
    """
    return aggregate(records, REFERENCE_KEYS, metrics)


def pretrain_size(records, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Fig. 3 (:data:`PRETRAIN_SIZE`): one row per (molecule, setting, n_train, n_pretrain)."""
    return aggregate(records, PRETRAIN_SIZE_KEYS, metrics)


def load_records(paths: Iterable[str | Path]) -> list[dict]:
    """Read one JSON record per path (e.g. the pipeline's metrics.json files); each gets
    its path as ``_path`` (for messages).

    A file that cannot be read, is not UTF-8 JSON (a truncated or garbage file) or does
    not hold a JSON object is a ValueError naming the file, what is wrong (line and
    column for a JSON syntax error) and what to do.
    """
    records = []
    for path in paths:
        records.append({**read_json_object(path, "metrics record"), "_path": str(path)})
    return records


TRAINING_SUMMARY = ("epochs_run", "best_epoch", "n_valid", "steps_run", "best_step", "late_gain")
"""The training summary of a model evaluated on its own test set (``training`` in the
pipeline's metrics.json: the record's ``n_train`` is checked against the model's)."""

PRETRAINED_SUMMARY = (
    "n_train",
    "epochs_run",
    "best_epoch",
    "n_valid",
    "steps_run",
    "best_step",
    "late_gain",
)
"""The training summary of a pre-trained model evaluated on other data (COMP6, MD17: the
records under results/ani/comp6 and results/ani/md17/.../pretrained), with the size of its
training set."""


def training_summary(model, keys: Sequence[str] = TRAINING_SUMMARY) -> dict:
    """What a model's training did (``keys`` of its provenance: sizes, epochs, steps),
    plus ``best_valid``: the validation errors of its best weights, the non-finite ones
    (a run without forces) left out so that the record is strict JSON. Keys the model's
    provenance lacks are left out."""
    trained = getattr(model, "provenance", None) or {}
    out = {k: trained[k] for k in keys if k in trained}
    best_valid = trained.get("best_valid") or {}
    out["best_valid"] = {k: v for k, v in best_valid.items() if math.isfinite(v)}
    return out


# --- the jobs of the pipeline --------------------------------------------------------------


def fig2_tables(runs: Iterable, pretrain: Iterable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rule ``aggregate``: the metrics.json of every Fig. 2 model (``runs``) and of every
    DFT-only model (``pretrain``, metrics_{cc,dft}.json) -> (:data:`LEARNING_CURVES`,
    :data:`DFT_REFERENCE`) tables."""
    curves = learning_curves(load_records(runs))
    reference = reference_errors(load_records(pretrain))
    _warn_single_seed(curves, reference)
    return curves, reference


def fig3_table(runs: Iterable, n_pretrain: Iterable[int]) -> pd.DataFrame:
    """Rule ``aggregate_pretrain_size``: the metrics.json of every Fig. 3 model and the
    pre-training set size of each (``n_pretrain``, one per path, in the same order) ->
    the :data:`PRETRAIN_SIZE` table.

    Records written before the ``n_pretrain`` field existed get it from ``n_pretrain``; a
    record that has it must agree (which also checks that the two lists are aligned).
    """
    records = load_records(runs)
    for record, n in zip(records, n_pretrain, strict=True):
        stored = record.get("n_pretrain")
        integral = isinstance(stored, (int, float)) and not isinstance(stored, bool)
        if stored is not None and not (integral and float(stored).is_integer()):
            raise ValueError(f"{record['_path']}: n_pretrain is {stored!r}, not an integer")
        if stored is not None and int(stored) != int(n):
            raise ValueError(
                f"{record['_path']}: n_pretrain is {stored} in the record but {n} in the "
                "workflow's list"
            )
        record["n_pretrain"] = int(n)
    table = pretrain_size(records)
    _warn_single_seed(table)
    return table


# --- internals -------------------------------------------------------------------------------


def _records_frame(records, keys: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``keys``, ``metrics`` (NaN where a record lacks a metric) and the
    per-run convergence of :func:`convergence` (from a record's ``training``)."""
    if isinstance(records, pd.DataFrame):
        missing = [k for k in keys if k not in records.columns]
        if missing:
            raise KeyError(f"records lack column(s) {missing}")
        df = records.copy()
        for m in (*metrics, *_RUN_CONVERGENCE):
            if m not in df.columns:
                df[m] = np.nan
        return df[[*keys, *metrics, *_RUN_CONVERGENCE]]
    rows = []
    for record in records:
        missing = [k for k in keys if k not in record]
        if missing:
            raise KeyError(f"record {_describe(record)} lacks key(s) {missing}")
        row = {k: record[k] for k in keys}
        for k in keys:
            if isinstance(row[k], (dict, list)):
                raise ValueError(
                    f"record {_describe(record)}: {k} is {row[k]!r}, not a number or a name"
                )
        for m in metrics:
            value = record.get(m)
            try:
                row[m] = np.nan if value is None else float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"record {_describe(record)}: {m} is {value!r}, not a number"
                ) from None
        training = record.get("training")
        row.update(convergence(training if isinstance(training, Mapping) else None))
        rows.append(row)
    columns = [*keys, *metrics, *_RUN_CONVERGENCE]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    return pd.DataFrame.from_records(rows, columns=columns)


def _warn_single_seed(*tables: pd.DataFrame) -> None:
    if any((t["n_seeds"] < 2).any() for t in tables):
        _log.warning("groups with a single seed: their standard errors are NaN")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _describe(record: dict) -> str:
    return record.get("_path") or json.dumps({k: v for k, v in record.items() if k != "units"})


__all__ = [
    "CONVERGENCE_COLUMNS",
    "CONVERGENCE_COMMENT",
    "DFT_REFERENCE",
    "LEARNING_CURVES",
    "METRICS",
    "PRETRAINED_SUMMARY",
    "PRETRAIN_SIZE",
    "STATISTICS_COMMENT",
    "TRAINING_SUMMARY",
    "UNITS",
    "aggregate",
    "convergence",
    "fig2_tables",
    "fig3_table",
    "learning_curves",
    "load_records",
    "mean_sem",
    "pretrain_size",
    "reference_errors",
    "stat_columns",
    "training_summary",
]
