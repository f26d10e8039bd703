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

from gmnn.analysis.tables import Table

METRICS = ("energy_mae", "force_mae", "energy_rmse", "force_rmse")
UNITS = {"energy": "kcal/mol", "forces": "kcal/mol/Angstrom"}
DIRECT = "n_train 0: the pre-trained model used without fine-tuning"

ERRORS = Table(
    "molecule errors",
    columns=(
        "setting",
        "n_train",
        "seed",
        "energy_mae",
        "energy_rmse",
        "force_mae",
        "force_rmse",
    ),
    comments=(
        "Test errors on the held-out accurate labels of one molecule, one row per model "
        "(gmnn.molecules.card.errors_frame; rules/molecules.smk).",
        "energy: kcal/mol (per structure); force: kcal/mol/Angstrom (per component); an "
        "empty force field: the accurate labels have no forces.",
        "setting: scratch_* from scratch, finetune_* fine-tuned (finetune_nd_* "
        "non-discriminative, finetune_lp_* linear probe), pretrained the pre-trained model "
        "as it is (n_train 0), pretrained_offset with its energy offset re-fitted on the "
        "first n_train accurate labels.",
    ),
    keys=("setting", "n_train", "seed"),
    text=("setting",),
    blank=("force_mae", "force_rmse"),
)
"""The tidy errors table of a molecule study, ``results/molecules/<name>/errors.csv``."""


def errors_frame(records: Iterable[Mapping]) -> pd.DataFrame:
    """The :data:`ERRORS` rows of evaluation records (``metrics.json``): a record without
    ``n_train`` (the pre-trained model used as it is) counts 0 accurate labels."""
    rows = []
    for r in records:
        row = {c: r.get(c) for c in ERRORS.columns}
        row["n_train"] = int(r.get("n_train") or 0)
        rows.append(row)
    df = ERRORS.frame(rows)
    return df.sort_values(["setting", "n_train", "seed"]).reset_index(drop=True)


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


def card_errors(table: pd.DataFrame, setting: str, n_train: int, name: str) -> list[dict]:
    """The test errors of one setting at one label count as the rows an exported model
    card lists (:func:`gmnn.export.error_rows`: subset, quantity, metric, mean, sem)."""
    row = table[(table["setting"] == setting) & (table["n_train"] == n_train)].iloc[0]
    out = []
    for metric in METRICS:
        mean = row[f"{metric}_mean"]
        if pd.isna(mean):
            continue
        quantity, _, stat = metric.partition("_")
        out.append(
            {
                "subset": f"{name} accurate test set",
                "quantity": quantity,
                "metric": stat,
                "mean": float(mean),
                "sem": float(row[f"{metric}_sem"]),  # NaN for one seed
                "n_train": int(n_train),
                "n_seeds": int(row["n_seeds"]),
            }
        )
    return out


def _model_dirs(models: Sequence) -> list[Path]:
    """Model directories from directories or their ``model.json``."""
    return [Path(m).parent if Path(m).name == "model.json" else Path(m) for m in models]


def members_of(models: Sequence, setting: str, n_train: int) -> list[Path]:
    """The model directories (or their ``model.json``) of ``models``,
    ``.../<setting>/n<n>/seed<S>/model``, of one setting and label count, in seed order:
    the members of that setting's ensemble."""
    return sorted(
        (d for d in _model_dirs(models) if d.parts[-4] == setting and d.parts[-3] == f"n{n_train}"),
        key=lambda d: int(d.parts[-2].removeprefix("seed")),
    )


def export_finetuned(
    name: str,
    errors,
    models: Sequence,
    out_dir,
    *,
    levels: Mapping[str, Mapping],
    pretrained: str | None = None,
) -> dict:
    """Export the best fine-tuned ensemble of a molecule study (:func:`gmnn.export.export_ensemble`,
    checksums and a model card, as the ANI exports).

    ``errors``: the :data:`ERRORS` table (path or DataFrame); ``models``: the model
    directories (or their ``model.json``) of every fine-tuned setting at the largest
    label count, ``.../<setting>/n<n>/seed<S>/model``; the setting with the lowest mean
    error there (:func:`recommend` over the fine-tuned settings) is exported, every seed
    its member. ``levels``: the data files' meta by level (``pretraining``,
    ``accurate``); ``pretrained``: the exported ensemble fine-tuned from (its card becomes
    the parent). Returns ``{setting, n_train, metric, why, path}``.
    """
    from gmnn.export import export_ensemble, read_card

    df = ERRORS.load(errors) if not isinstance(errors, pd.DataFrame) else errors
    dirs = _model_dirs(models)
    candidates = sorted({d.parts[-4] for d in dirs})
    finetuned = df[df["setting"].isin(candidates)]
    if finetuned.empty:
        raise ValueError(f"{name}: no fine-tuned results among {candidates} to export")
    table = error_table(finetuned.to_dict("records"))
    best = recommend(table)
    setting, n_train = best["setting"], best["n_train"]
    members = members_of(dirs, setting, n_train)
    seeds = [int(d.parts[-2].removeprefix("seed")) for d in members]
    accurate = levels["accurate"]
    labels = setting.rpartition("_")[2]  # the loss of a setting name: E or EF
    if pretrained is not None:
        parent = read_card(pretrained)
        pre = dict(parent.get("finetuning") or parent["pretraining"])
    else:
        parent, meta = None, levels["pretraining"]
        pre = {
            "data": f"{name}: GFN2-xTB MD frames ({meta.get('level_of_theory')} labels)",
            "level_of_theory": str(meta.get("level_of_theory")),
            "labels": "EF",
        }
    if pre.get("n_train") is None:  # the pre-trained model's size, from the members
        from gmnn.io import read_model_meta

        finetuned = (read_model_meta(members[0]).get("provenance") or {}).get("finetune") or {}
        pre["n_train"] = (finetuned.get("pretrained_provenance") or {}).get("n_train")
    pre = {k: pre[k] for k in ("data", "level_of_theory", "labels", "n_train") if k in pre}
    card = {
        "name": f"{name}_finetuned",
        "description": f"GM-NN ensemble for {name}: {setting} on {n_train} accurate labels "
        f"({accurate.get('level_of_theory')}), the fine-tuned setting with the lowest test "
        f"{best['metric']} at the largest label count of the comparison",
        "pretraining": pre,
        "finetuning": {
            "data": f"{name}: accurate labels",
            "level_of_theory": str(accurate.get("level_of_theory")),
            "labels": labels,
            "n_train": n_train,
        },
        "n_train": n_train,
        "seeds": seeds,
        "parent": parent,
        "intended_use": f"Energies and forces (eV, eV/Å) of {name} near the sampled "
        "conformations, e.g. MD through the ASE calculator (gmnn md).",
    }
    export_ensemble(members, out_dir, card, errors=card_errors(table, setting, n_train, name))
    return {
        "setting": setting,
        "n_train": n_train,
        "metric": best["metric"],
        "why": best["why"],
        "path": str(out_dir),
    }


def export_summary(path) -> dict:
    """What the card says about the exported ensemble: path, name, members with their
    seeds and checksums (``ensemble.json``, :func:`gmnn.export.read_ensemble`)."""
    from gmnn.export import read_card, read_ensemble

    meta = read_ensemble(path)
    card = read_card(path)
    return {
        "path": str(path),
        "name": meta["name"],
        "description": card.get("description"),
        "members": [
            {
                "path": m["path"],
                "seed": m["seed"],
                "n_train": m["n_train"],
                "weights_sha256": m["weights_sha256"],
            }
            for m in meta["members"]
        ],
        "usage": f"gmnn md --model {path} --structure <start.xyz> --steps <n> ...; in "
        f"Python: EnsembleCalculator(member_dirs('{path}')) (gmnn.calculator, gmnn.export)",
    }


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
    export: Mapping | None = None,
) -> dict:
    """The card as data: ``name``, ``levels`` (level key -> :func:`level_summary` of its
    data file's meta), ``errors`` (:func:`error_table` rows), ``recommendation``
    (:func:`recommend`), ``md``, ``planner`` (:func:`gmnn.molecules.planner.plan`) and
    ``export`` (:func:`export_summary`) as given (None: not run)."""
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
        "export": export,
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
        *md_lines(card.get("md")),
        *([] if not card.get("md") else ["", "![Power spectra of the MD runs](spectra.png)"]),
        "",
        "## Data budget (planner)",
        "",
        *_planner_lines(card.get("planner")),
        "",
        "## Exported ensemble",
        "",
        *_export_lines(card.get("export")),
        "",
    ]
    return "\n".join(lines)


def md_lines(md: Sequence[Mapping] | None) -> list[str]:
    """The card's MD section in Markdown."""
    if not md:
        return ["not run (md: false)"]
    bands = sorted({b for r in md for b in r["peaks_cm1"]})
    lines = [
        "Langevin MD of each ensemble from the lowest-energy accurate structure; stable: "
        "the whole run without a divergence check firing (gmnn.md.MDConfig); force spread: "
        "the largest per-atom standard deviation of the members' forces over the run.",
        "",
        "| run | setting | n_train | members | T (K) | simulated / requested ps | stable | "
        "max force spread (eV/Å) | " + " | ".join(f"{b} peak (cm⁻¹)" for b in bands) + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(bands),
    ]
    for r in md:
        stable = f"no: {r['reason']} at {r['diverged_at_ps']:.3g} ps" if r["diverged"] else "yes"
        spread = r["max_forces_std_max_eV_A"]
        lines.append(
            f"| {r['run']} | {r['setting']} | {r['n_train']} | {r['members']} | "
            f"{r['temperature_K']:g} | {r['simulated_ps']:g} / {r['requested_ps']:g} | {stable} | "
            f"{'' if spread is None else f'{spread:.3f}'} | "
            + " | ".join(_peak(r["peaks_cm1"].get(b)) for b in bands)
            + " |"
        )
    return lines


def _peak(x) -> str:
    return "" if x is None else f"{x:.0f}"


def _planner_lines(planner: Mapping | None) -> list[str]:
    if planner is None:
        return ["not computed"]
    unit = UNITS["forces" if planner["metric"].startswith("force") else "energy"]
    lines = [
        f"Accurate labels (and CPU-hours: {planner['cost']}) to reach a test "
        f"{planner['metric']} of {planner['target']:g} {unit}, from a power-law fit of each "
        f"learning curve (err = a n^-b, + c where the data support a floor); range: 16th-84th "
        f"percentile over the fit's uncertainty. No answer beyond "
        f"{planner['max_extrapolation']:g} times the largest measured label count.",
        "",
        "| setting | status | labels | range | CPU-h | fit | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for setting, a in planner["settings"].items():
        fit = a.get("fit") or {}
        law = ""
        if fit:
            law = f"a={fit['a']:.3g}, b={fit['b']:.2f} ± {_cell(fit.get('b_sd'))}"
            if "c" in fit:
                law += f", c={fit['c']:.3g}"
        rng = a.get("n_labels_range")
        lines.append(
            f"| {setting} | {a['status']} | {_cell(a.get('n_labels'))} | "
            f"{'' if not rng else f'{_cell(rng[0])}-{_cell(rng[1]) or chr(8734)}'} | "
            f"{_cell(a.get('cpu_hours'))} | {law} | {a['reason']} |"
        )
    return lines


def _export_lines(export: Mapping | None) -> list[str]:
    if export is None:
        return ["not exported"]
    lines = [
        f"`{export['path']}` ({export['name']}): {export.get('description') or ''}",
        "",
        "| member | seed | n_train | weights SHA-256 |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {m['path']} | {m['seed']} | {m['n_train']} | `{m['weights_sha256']}` |"
        for m in export["members"]
    ]
    return lines + ["", f"Use: {export['usage']}"]


def _cell(x) -> str:
    return "" if x is None else str(x)


def _pm_cell(row: Mapping, metric: str) -> str:
    mean, sem = row.get(f"{metric}_mean"), row.get(f"{metric}_sem")
    if mean is None:
        return ""
    return _pm(mean, sem)


def write_card(out_dir, card: Mapping) -> tuple[Path, Path]:
    """``card.json`` and ``card.md`` in ``out_dir`` (atomic writes)."""
    from gmnn.io import atomic_write_json, atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "card.json", card)
    atomic_write_text(out_dir / "card.md", card_markdown(card))
    return out_dir / "card.json", out_dir / "card.md"


def card_job(
    name: str,
    *,
    errors,
    data: Mapping[str, str],
    out_dir,
    planner: Mapping,
    export=None,
    md: Sequence[Mapping] | None = None,
) -> dict:
    """The card of a molecule study from its files: the :data:`ERRORS` table, the data
    files by level (their meta: levels of theory, label costs), the planner settings
    (``metric``, ``target``, ``max_extrapolation``), the exported ensemble directory and
    the MD runs (``md``: :func:`gmnn.molecules.md.md_summary` records; None: not run);
    written to ``out_dir``/card.{json,md}. Returns the card."""
    from gmnn.data import read_h5
    from gmnn.molecules.planner import plan

    df = ERRORS.load(errors)
    records = df.to_dict("records")
    metas = {level: dict(read_h5(path).meta or {}) for level, path in data.items()}
    cost = (metas.get("accurate", {}).get("label_cost") or {}).get("cpu_s_mean")
    budget = plan(
        records,
        metric=planner["metric"],
        target=float(planner["target"]),
        cpu_s_per_label=cost,
        max_extrapolation=float(planner["max_extrapolation"]),
    )
    card = card_record(
        name,
        records,
        metas,
        md=list(md) if md else None,
        planner=budget,
        export=None if export is None else export_summary(export),
    )
    write_card(out_dir, card)
    return card


__all__: Sequence[str] = (
    "ERRORS",
    "card_job",
    "errors_frame",
    "export_finetuned",
    "export_summary",
    "card_markdown",
    "card_record",
    "error_table",
    "level_summary",
    "members_of",
    "md_lines",
    "recommend",
    "write_card",
)
