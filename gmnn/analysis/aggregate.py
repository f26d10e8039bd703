"""Per-seed aggregation of test errors into tidy tables (mean and standard error).

The input is one record per trained model: a flat dict such as the ``metrics.json`` the
pipeline writes for every model (``molecule``, ``setting``, ``n_train``, ``seed``, and the
errors of :func:`gmnn.analysis.error_metrics` in kcal/mol and kcal/mol/Å). The output is a
tidy table (one row per group, a list of dicts) with, for every metric, the mean over seeds
and the standard error of the mean, SEM = std(ddof=1) / sqrt(n_seeds). With one seed the
SEM is undefined and reported as NaN.

Tables are written as CSV with ``#`` comment lines on top that state the units (read them
with ``pandas.read_csv(path, comment="#")`` or :func:`read_table`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

METRICS = ("energy_rmse", "force_rmse", "energy_mae", "force_mae")
"""Error metrics aggregated by default (keys of :func:`gmnn.analysis.error_metrics`)."""

UNITS = {"energy": "kcal/mol", "force": "kcal/mol/Angstrom"}

CURVE_KEYS = ("molecule", "setting", "n_train")
REFERENCE_KEYS = ("molecule", "test_set", "n_train")


def _stat_columns(metrics: Sequence[str]) -> list[str]:
    return [f"{m}_{stat}" for m in metrics for stat in ("mean", "sem")]


CURVE_COLUMNS = [*CURVE_KEYS, "n_seeds", *_stat_columns(METRICS)]
REFERENCE_COLUMNS = [*REFERENCE_KEYS, "n_seeds", *_stat_columns(METRICS)]


def mean_sem(values: Iterable[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (std with ddof=1 over sqrt(n)).

    NaN values propagate (a metric missing in one run makes the group's value NaN); the
    SEM of a single value is NaN, the mean of no values is NaN.
    """
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return math.nan, math.nan
    mean = float(np.mean(v))
    sem = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan
    return mean, sem


def aggregate(
    records: Iterable[dict],
    by: Sequence[str],
    metrics: Sequence[str] = METRICS,
    replicate: str = "seed",
) -> list[dict]:
    """Group ``records`` by the keys ``by`` and reduce every metric to mean and SEM.

    Each output row holds the ``by`` keys, ``n_seeds`` (records in the group) and
    ``<metric>_mean``/``<metric>_sem`` for every metric (NaN where a record lacks it).
    Rows are sorted by the ``by`` keys. Two records of one group with the same
    ``replicate`` value (seed) are an error: the same model would be counted twice.
    """
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        missing = [k for k in (*by, replicate) if k not in record]
        if missing:
            raise KeyError(f"record {_describe(record)} lacks key(s) {missing}")
        groups.setdefault(tuple(record[k] for k in by), []).append(record)
    rows = []
    for key in sorted(groups, key=_sort_key):
        group = groups[key]
        seen = [r[replicate] for r in group]
        repeated = sorted({s for s in seen if seen.count(s) > 1})
        if repeated:
            raise ValueError(
                f"{dict(zip(by, key, strict=True))}: {replicate} {repeated} occurs more than once"
            )
        row = {**dict(zip(by, key, strict=True)), "n_seeds": len(group)}
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_sem"] = mean_sem(r.get(m, math.nan) for r in group)
        rows.append(row)
    return rows


def learning_curves(records: Iterable[dict], metrics: Sequence[str] = METRICS) -> list[dict]:
    """Fig. 2 learning curves: one row per (molecule, setting, n_train), over seeds."""
    return aggregate(records, CURVE_KEYS, metrics)


def reference_errors(records: Iterable[dict], metrics: Sequence[str] = METRICS) -> list[dict]:
    """Errors of the DFT-only (pre-trained) models: one row per (molecule, test_set, n_train).

    ``test_set`` "cc" is the horizontal black line of Fig. 2 (DFT model on coupled-cluster
    labels), "dft" the same models on their own level of theory.
    """
    return aggregate(records, REFERENCE_KEYS, metrics)


def load_records(paths: Iterable[str | Path]) -> list[dict]:
    """Read one JSON record per path (e.g. the pipeline's metrics.json files)."""
    records = []
    for path in paths:
        with open(path) as fh:
            record = json.load(fh)
        if not isinstance(record, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(record).__name__}")
        records.append({**record, "_path": str(path)})
    return records


def units_comment(metrics: Sequence[str] = METRICS) -> list[str]:
    """Header comment lines stating units and statistics of a table of ``metrics``."""
    return [
        "energy_* in "
        + UNITS["energy"]
        + " (total energies), force_* in "
        + UNITS["force"]
        + " (per Cartesian component)",
        "<metric>_mean: mean over seeds; <metric>_sem: standard error of the mean, "
        "std(ddof=1)/sqrt(n_seeds), NaN when n_seeds = 1",
    ]


def format_table(rows: Sequence[dict], columns: Sequence[str], comments: Sequence[str] = ()) -> str:
    """CSV text of ``rows`` with ``# `` comment lines on top; floats with 10 significant digits."""
    buf = io.StringIO()
    for line in comments:
        buf.write(f"# {line}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_fmt(row.get(c, "")) for c in columns])
    return buf.getvalue()


def write_table(
    rows: Sequence[dict], path: str | Path, columns: Sequence[str], comments: Sequence[str] = ()
) -> Path:
    """Write :func:`format_table` to ``path`` atomically."""
    from gmnn.io import atomic_write_text

    atomic_write_text(path, format_table(rows, columns, comments))
    return Path(path)


def read_table(path: str | Path) -> list[dict]:
    """Read a table written by :func:`write_table`: comment lines skipped, numbers parsed."""
    with open(path, newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(lines)]


def _fmt(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{float(value):.10g}"
    return str(value)


def _parse(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _sort_key(key: tuple) -> tuple:
    # numbers before strings, so that mixed types never compare
    return tuple((0, k, "") if isinstance(k, (int, float)) else (1, 0, str(k)) for k in key)


def _describe(record: dict) -> str:
    return record.get("_path") or json.dumps({k: v for k, v in record.items() if k != "units"})


__all__ = [
    "CURVE_COLUMNS",
    "METRICS",
    "REFERENCE_COLUMNS",
    "UNITS",
    "aggregate",
    "format_table",
    "learning_curves",
    "load_records",
    "mean_sem",
    "read_table",
    "reference_errors",
    "units_comment",
    "write_table",
]
