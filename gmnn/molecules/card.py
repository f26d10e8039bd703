"""The transfer-learning card of one molecule: ``results/molecules/<name>/card.json`` and
``card.md``, written from the tidy results of its comparison.

Inputs are plain records, one per trained (or directly used) model, as the evaluation
jobs write them (``metrics.json``): ``setting`` (``scratch_E``, ``finetune_EF``,
``finetune_nd_E``, ``pretrained``, ...), ``n_train`` (accurate labels; 0 for a model used
without fine-tuning), ``seed`` and the test errors ``energy_mae``, ``force_mae``,
``energy_rmse``, ``force_rmse`` in kcal/mol and kcal/mol/Å; and the ``meta`` of the
molecule's data files (levels of theory, the measured ``label_cost``).

The card reports, per setting and label count, the mean and standard error over seeds
(:func:`gmnn.analysis.aggregate.mean_sem`), and recommends the setting with the lowest
mean error at the largest label count of the grid (force MAE where every candidate
predicts forces, else energy MAE), saying why: its margin over the runner-up against
their combined standard error, and at how many of the label counts it is the best, so the
recommendation can be read off the learning curves the card shows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

METRICS = ("energy_mae", "force_mae", "energy_rmse", "force_rmse")
UNITS = {"energy": "kcal/mol", "forces": "kcal/mol/Angstrom"}
DIRECT = "n_train 0: the pre-trained model used without fine-tuning"


def error_table(records: Iterable[Mapping]) -> pd.DataFrame:
    """Mean and standard error over seeds per (setting, n_train) (columns ``n_seeds``,
    ``<metric>_mean``, ``<metric>_sem``)."""
    from gmnn.analysis.aggregate import mean_sem

    df = pd.DataFrame(list(records))
    if df.empty:
        raise ValueError("no results to write a card from")
    for metric in METRICS:
        if metric not in df:
            df[metric] = float("nan")
    return mean_sem(df, ["setting", "n_train"], METRICS, count="n_seeds")


def recommend(table: pd.DataFrame) -> dict:
    """The setting with the lowest mean error at the largest label count, and why."""
    trained = table[table["n_train"] > 0]
    if trained.empty:
        raise ValueError("no fine-tuned or from-scratch results to compare")
    n_max = int(trained["n_train"].max())
    at_max = trained[trained["n_train"] == n_max]
    metric = "force_mae" if at_max["force_mae_mean"].notna().all() else "energy_mae"
    ranked = at_max.sort_values(f"{metric}_mean").reset_index(drop=True)
    best = ranked.iloc[0]
    out = {
        "setting": best["setting"],
        "n_train": n_max,
        "metric": metric,
        "mean": float(best[f"{metric}_mean"]),
        "sem": _float(best[f"{metric}_sem"]),
    }
    reasons = [
        f"lowest mean {metric} at {n_max} accurate labels: {_pm(out['mean'], out['sem'])} "
        f"{UNITS['forces' if metric.startswith('force') else 'energy']}"
    ]
    if len(ranked) > 1:
        second = ranked.iloc[1]
        gap = float(second[f"{metric}_mean"]) - out["mean"]
        combined = math.hypot(_zero(best[f"{metric}_sem"]), _zero(second[f"{metric}_sem"]))
        clear = combined > 0 and gap > 2 * combined
        out["runner_up"] = second["setting"]
        out["clear"] = bool(clear)
        reasons.append(
            f"{'ahead of' if clear else 'within two combined standard errors of'} "
            f"{second['setting']} ({_pm(float(second[f'{metric}_mean']), _float(second[f'{metric}_sem']))})"
        )
    sizes = sorted(int(n) for n in trained["n_train"].unique())
    wins = [n for n in sizes if _best_at(trained, n, metric) == out["setting"]]
    out["best_at"] = wins
    reasons.append(
        f"best at {len(wins)} of {len(sizes)} label counts ({', '.join(map(str, wins))})"
    )
    direct = table[(table["n_train"] == 0) & table[f"{metric}_mean"].notna()]
    if not direct.empty:
        row = direct.sort_values(f"{metric}_mean").iloc[0]
        if float(row[f"{metric}_mean"]) < out["mean"]:
            reasons.append(f"but {row['setting']} without fine-tuning is lower still")
    out["why"] = "; ".join(reasons)
    return out


def _best_at(table: pd.DataFrame, n: int, metric: str) -> str:
    rows = table[table["n_train"] == n].sort_values(f"{metric}_mean")
    return rows.iloc[0]["setting"]


def _float(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _zero(x) -> float:
    return 0.0 if x is None or pd.isna(x) else float(x)


def _pm(mean: float, sem: float | None) -> str:
    return f"{mean:.3g}" if sem is None else f"{mean:.3g} ± {sem:.2g}"


def level_summary(meta: Mapping) -> dict:
    """What the card says about one data file: level of theory, structures, label cost."""
    cost = meta.get("label_cost") or {}
    cpu = cost.get("cpu_s") or []
    return {
        "level_of_theory": meta.get("level_of_theory"),
        "n_structures": len(cpu) if cpu else meta.get("n_structures"),
        "label": cost.get("label"),
        "cpu_s_per_label_mean": cost.get("cpu_s_mean"),
        "cpu_s_per_label_median": cost.get("cpu_s_median"),
        "cpu_hours": round(sum(cpu) / 3600, 4) if cpu else None,
        "source": meta.get("labels_file") or meta.get("source"),
    }


def card_record(
    name: str,
    records: Iterable[Mapping],
    levels: Mapping[str, Mapping],
    md: Mapping | None = None,
    planner: Mapping | None = None,
) -> dict:
    """The card as data: ``name``, ``levels`` (level key -> :func:`level_summary` of its
    data file's meta), ``errors`` (:func:`error_table` rows), ``recommendation``
    (:func:`recommend`), ``md`` and ``planner`` as given (None: not run)."""
    table = error_table(records)
    rows = json.loads(table.to_json(orient="records"))
    return {
        "format": "gmnn-molecule-card",
        "version": 1,
        "molecule": name,
        "units": UNITS,
        "levels": {key: level_summary(meta) for key, meta in levels.items()},
        "errors": rows,
        "errors_note": "mean and standard error over seeds; " + DIRECT,
        "recommendation": recommend(table),
        "md": md,
        "planner": planner,
    }


def card_markdown(card: Mapping) -> str:
    """The card for people (Markdown)."""
    lines = [f"# Transfer-learning card: {card['molecule']}", "", "## Levels and data", ""]
    lines += [
        "| level | level of theory | structures | label | CPU s / label | CPU-h |",
        "|---|---|---|---|---|---|",
    ]
    for key, lv in card["levels"].items():
        lines.append(
            f"| {key} | {lv['level_of_theory']} | {_cell(lv['n_structures'])} | {_cell(lv['label'])} | "
            f"{_cell(lv['cpu_s_per_label_mean'])} | {_cell(lv['cpu_hours'])} |"
        )
    rec = card["recommendation"]
    metric = rec["metric"]
    lines += [
        "",
        f"## Test errors ({UNITS['energy']}, {UNITS['forces']}; mean ± s.e. over seeds)",
        "",
    ]
    lines += ["| setting | n_train | seeds | energy MAE | force MAE |", "|---|---|---|---|---|"]
    for row in sorted(card["errors"], key=lambda r: (r["setting"], r["n_train"])):
        lines.append(
            f"| {row['setting']} | {row['n_train']} | {row['n_seeds']} | "
            f"{_pm_cell(row, 'energy_mae')} | {_pm_cell(row, 'force_mae')} |"
        )
    lines += [
        "",
        "## Recommendation",
        "",
        f"**{rec['setting']}** ({metric}): {rec['why']}.",
        "",
        "## MD stability and spectrum",
        "",
        _json_or(card.get("md"), "not run"),
        "",
        "## Data budget (planner)",
        "",
        _json_or(card.get("planner"), "not computed"),
        "",
    ]
    return "\n".join(lines)


def _cell(x) -> str:
    return "" if x is None else str(x)


def _pm_cell(row: Mapping, metric: str) -> str:
    mean, sem = row.get(f"{metric}_mean"), row.get(f"{metric}_sem")
    if mean is None:
        return ""
    return _pm(mean, sem)


def _json_or(value, missing: str) -> str:
    return missing if value is None else "```json\n" + json.dumps(value, indent=1) + "\n```"


def write_card(out_dir, card: Mapping) -> tuple[Path, Path]:
    """``card.json`` and ``card.md`` in ``out_dir`` (atomic writes)."""
    from gmnn.io import atomic_write_json, atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "card.json", card)
    atomic_write_text(out_dir / "card.md", card_markdown(card))
    return out_dir / "card.json", out_dir / "card.md"


__all__: Sequence[str] = (
    "card_markdown",
    "card_record",
    "error_table",
    "level_summary",
    "recommend",
    "write_card",
)
