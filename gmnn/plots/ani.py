"""The ANI results of Sec. 3.2: Table 1 (COMP6) as Markdown and LaTeX, Fig. 5 (ANI-1ccx
learning curves) and Fig. 6 (MD17 errors against the ANI-1x pre-training set size).

Titles, captions and axis labels name the data sets as ``names`` says
(:class:`~gmnn.analysis.ani.AniNames`: :func:`gmnn.analysis.ani.ani_names` of the
``ani.source`` that made the table; default the paper's), so that the embedded default's
stand-ins are named as stand-ins.

Reads the tidy tables of :mod:`gmnn.analysis.ani` (DataFrames, or CSV paths):
:data:`~gmnn.analysis.ani.TABLE1`, :data:`~gmnn.analysis.ani.FIG5`,
:data:`~gmnn.analysis.ani.FIG6`. Figures are plain :class:`matplotlib.figure.Figure`
objects (no pyplot state) in the look of :mod:`gmnn.plots.style`; save them with
:func:`gmnn.plots.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from gmnn.analysis.ani import (
    COMP6_NAMES,
    FIG5,
    FIG6,
    PAPER_TABLE1_NOTES,
    PAPER_TABLE1_SOURCE,
    POOLED,
    TABLE1,
    subset_order,
)
from gmnn.analysis.names import AniNames
from gmnn.plots.style import (
    ANI_PRETRAINED_COLOUR,
    NON_DISCRIMINATIVE_STYLE,
    ROWS,
    SCRATCH_REFERENCE_COLOUR,
    SCRATCH_STYLE,
    SETTING_STYLE,
    data_line,
    log_axes,
    new_figure,
    panel_grid,
    reference_line,
    sem_band,
    shared_legend,
    size_ticks,
)

QUANTITY_UNITS = {"energy": "kcal/mol", "force": "kcal/mol/Å"}
MISSING = "–"
NOTE_MARK = "†"
DAGGER_TEX = "$^\\dagger$"

# --- Table 1 ----------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 2) -> str:
    return MISSING if not np.isfinite(value) else f"{value:.{digits}f}"


def _table1_layout(table) -> tuple[pd.DataFrame, str, list, list, bool, str | None]:
    """Rows, source, sizes, (subset, quantity) row keys, whether any paper value, and the
    seed count shared by every cell (None if they differ)."""
    rows, source = TABLE1.load(table), TABLE1.source(table)
    if rows.empty:
        raise ValueError(f"{source}: no Table 1 rows")
    sizes = sorted({int(n) for n in rows["n_train"]})
    subsets = subset_order(rows["subset"])
    quantities = [q for q in ("energy", "force") if q in set(rows["quantity"])]
    keys = [
        (s, q)
        for s in subsets
        for q in quantities
        if ((rows["subset"] == s) & (rows["quantity"] == q)).any()
    ]
    has_paper = bool(np.isfinite(rows["paper"].to_numpy(float)).any())
    seeds = sorted({int(n) for n in rows["n_seeds"]})
    return rows, source, sizes, keys, has_paper, (str(seeds[0]) if len(seeds) == 1 else None)


def _zero_force(rows: pd.DataFrame) -> dict:
    """(subset, quantity, metric) -> the zero-force error of the force rows that have one."""
    if "zero_force" not in rows:
        return {}
    have = rows[np.isfinite(rows["zero_force"].to_numpy(float))]
    return {
        (r.subset, r.quantity, r.metric): float(r.zero_force)
        for r in have.drop_duplicates(["subset", "quantity", "metric"]).itertuples()
    }


def _cell(rows: pd.DataFrame, key, pm: str, show_n: bool) -> tuple[str, str, bool]:
    """(ours as "mean ± sem", the paper's value, whether the paper's value has a note)."""
    subset, quantity, n_train, metric = key
    match = rows[
        (rows["subset"] == subset)
        & (rows["quantity"] == quantity)
        & (rows["n_train"] == n_train)
        & (rows["metric"] == metric)
    ]
    if match.empty:
        return MISSING, MISSING, False
    r = match.iloc[0]
    mean, sem = float(r["mean"]), float(r["sem"])
    ours = (
        _fmt(mean)
        if not np.isfinite(sem) or not np.isfinite(mean)
        else f"{_fmt(mean)}{pm}{_fmt(sem)}"
    )
    if show_n and np.isfinite(mean):
        ours += f" (n={int(r['n_seeds'])})"
    paper = float(r["paper"])
    noted = np.isfinite(paper) and (subset, int(n_train), quantity) in PAPER_TABLE1_NOTES
    return ours, _fmt(paper), bool(noted)


def _subset_name(subset: str, names: AniNames) -> str:
    return names.pooled if subset == POOLED else COMP6_NAMES.get(subset, subset)


def _notes(rows: pd.DataFrame) -> list[str]:
    """The notes on the paper values shown in ``rows``."""
    notes = []
    for (subset, n_train, quantity), text in PAPER_TABLE1_NOTES.items():
        shown = rows[
            (rows["subset"] == subset)
            & (rows["n_train"] == n_train)
            & (rows["quantity"] == quantity)
            & np.isfinite(rows["paper"].to_numpy(float))
        ]
        if len(shown):
            name = COMP6_NAMES.get(subset, subset)
            notes.append(f"{name} {quantity}, {n_train:,} training structures: {text}.")
    return notes


def table1_markdown(table, names: AniNames | None = None) -> str:
    """Table 1 in the paper's layout as Markdown: one row per subset and quantity (energy,
    force), per training-set size the MAE and RMSE as "mean ± SEM" over seeds (a single
    seed: the value alone) and, where the table has them, the paper's values beside ours.
    The paper's impossible DrugBank force entry is marked and explained below the table;
    ``names``: the data sets' names (:class:`~gmnn.analysis.ani.AniNames`, the paper's by
    default)."""
    names = AniNames.of(names)
    rows, _, sizes, keys, has_paper, n_seeds = _table1_layout(table)
    zero = _zero_force(rows)
    header = ["Subset", "Quantity"]
    for n in sizes:
        for metric in ("MAE", "RMSE"):
            header.append(f"{metric}, {n:,}")
            if has_paper:
                header.append(f"{metric}, {n:,} (paper)")
    if zero:
        header.append("zero force, MAE / RMSE")
    body = []
    for subset, quantity in keys:
        cells = [_subset_name(subset, names), quantity]
        for n in sizes:
            for metric in ("MAE", "RMSE"):
                ours, paper, noted = _cell(
                    rows, (subset, quantity, n, metric), " ± ", n_seeds is None
                )
                cells.append(ours)
                if has_paper:
                    cells.append(paper + (NOTE_MARK if noted else ""))
        if zero:
            mae, rmse = (zero.get((subset, quantity, m)) for m in ("MAE", "RMSE"))
            cells.append("" if mae is None else f"{mae:.2f} / {rmse:.2f}")
        body.append(cells)
    seeds = f"{n_seeds} seed{'s' if n_seeds != '1' else ''}" if n_seeds else "n seeds"
    lines = [
        f"Table 1: errors on {names.benchmark} of models pre-trained on {names.pretraining} "
        "(training-set sizes in the column headers): total energies per conformer in "
        f"kcal/mol, force components in kcal/mol/Å; mean ± standard error over {seeds}. "
        f'The row "{names.pooled}" pools all conformers of all subsets.',
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    footer = []
    if zero:
        footer.append(
            "Zero force: the errors of a model that predicts zero force, i.e. the MAE and "
            "RMS of the subset's force labels; a force RMSE near it means the model has "
            "learnt nothing of that subset's forces."
        )
    if has_paper:
        footer.append(f"Paper values: {PAPER_TABLE1_SOURCE}.")
        footer += [f"{NOTE_MARK} {note}" for note in _notes(rows)]
    return "\n".join(lines + ([""] + footer if footer else [])) + "\n"


def table1_latex(table, names: AniNames | None = None) -> str:
    """Table 1 as a LaTeX ``table`` (booktabs): the layout of :func:`table1_markdown`,
    one column group per training-set size; the paper's values (where present) in
    parentheses after ours, the DrugBank note as a footnote."""
    names = AniNames.of(names)
    rows, _, sizes, keys, has_paper, n_seeds = _table1_layout(table)
    per = 2
    lines = [
        "\\begin{table}",
        "\\centering",
        f"\\caption{{Errors on {_tex(names.benchmark)} of GM-NN models pre-trained on "
        f"{_tex(names.pretraining)}: total energies per conformer in kcal/mol, force "
        "components in kcal/mol/\\AA; mean $\\pm$ standard "
        f"error over {n_seeds or 'n'} seed(s)"
        + ("; the paper's values in parentheses" if has_paper else "")
        + f". The row ``{_tex(names.pooled)}'' pools all conformers of all subsets.}}",
        "\\begin{tabular}{ll" + "rr" * len(sizes) + "}",
        "\\toprule",
        "Training set size & & "
        + " & ".join(f"\\multicolumn{{{per}}}{{c}}{{{n:,}}}" for n in sizes)
        + " \\\\",
        "".join(f"\\cmidrule(lr){{{3 + per * k}-{2 + per * (k + 1)}}}" for k in range(len(sizes))),
        " & & " + " & ".join(["MAE & RMSE"] * len(sizes)) + " \\\\",
        "\\midrule",
    ]
    previous = None
    for subset, quantity in keys:
        name = _tex(_subset_name(subset, names)) if subset != previous else ""
        previous = subset
        cells = [name, quantity]
        for n in sizes:
            for metric in ("MAE", "RMSE"):
                ours, paper, noted = _cell(
                    rows, (subset, quantity, n, metric), " $\\pm$ ", n_seeds is None
                )
                if has_paper and paper != MISSING:
                    ours += f" ({paper}{DAGGER_TEX if noted else ''})"
                cells.append(ours.replace(MISSING, "--"))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if has_paper:
        lines.append(
            "\\par\\smallskip\\footnotesize Paper values: " + _tex(PAPER_TABLE1_SOURCE) + "."
        )
        for note in _notes(rows):
            lines.append(f"\\par $^\\dagger$ {_tex(note)}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    for a, b in (
        ("\\", "\\textbackslash{}"),
        ("_", "\\_"),
        ("%", "\\%"),
        ("&", "\\&"),
        ("#", "\\#"),
    ):
        text = text.replace(a, b)
    text = text.replace(">", "$>$").replace("<", "$<$")
    return text.replace("ω", "$\\omega$")


# --- Fig. 5 -----------------------------------------------------------------------------------


def _blues(n: int) -> list:
    cmap = colormaps["Blues"]
    return [cmap(v) for v in (np.linspace(0.45, 0.95, n) if n > 1 else [0.8])]


def plot_fig5(
    table,
    metric: str = "rmse",
    figsize: tuple[float, float] = (4.4, 3.6),
    names: AniNames | None = None,
) -> Figure:
    """Fig. 5: ANI-1ccx total-energy ``metric`` (rmse or mae, kcal/mol) against the
    training-set size, log-log: from scratch (``scratch_E``) and fine-tuned
    (``finetune_E``, one line per pre-training size, "fine-tuning (N_pre = ...)"), with
    ±1 SEM bands (none for one seed); titled by ``names.finetuning`` (the paper's names by
    default)."""
    names = AniNames.of(names)
    if metric not in ("rmse", "mae"):
        raise ValueError(f"metric must be 'rmse' or 'mae', got {metric!r}")
    rows, source = FIG5.load(table), FIG5.source(table)
    if rows.empty:
        raise ValueError(f"{source}: no rows to plot")
    column = f"energy_{metric}"
    fig = new_figure(figsize)
    ax = fig.subplots()
    pretrain_sizes = sorted({int(n) for n in rows["n_pretrain"].dropna()})
    colours = dict(zip(pretrain_sizes, _blues(len(pretrain_sizes)), strict=True))
    lines = []
    for setting in sorted(set(rows["setting"]), key=lambda s: (not s.startswith("scratch"), s)):
        pts = rows[rows["setting"] == setting]
        if setting.startswith("scratch"):
            label, colour, style, marker = SCRATCH_STYLE
            if setting != "scratch_E":
                label = f"{label} ({setting})"
            lines.append((pts, label, colour, style, marker))
            continue
        for n_pre in pretrain_sizes:
            sub = pts[pts["n_pretrain"] == n_pre]
            if len(sub):
                label = f"fine-tuning (N_pre = {n_pre:,})"
                if setting != "finetune_E":
                    label += f" ({setting})"
                lines.append((sub, label, colours[n_pre], "-", "o"))
    for pts, label, colour, style, marker in lines:
        pts = pts.sort_values("n_train", kind="stable")
        x = pts["n_train"].to_numpy(float)
        y = pts[f"{column}_mean"].to_numpy(float)
        data_line(ax, x, y, label=label, colour=colour, linestyle=style, marker=marker)
        sem_band(ax, x, y, pts[f"{column}_sem"].to_numpy(float), colour)
    log_axes(ax)
    sizes = sorted({int(n) for n in rows["n_train"]})
    size_ticks(ax, sizes, "Training set size", rotate_above=6, bottom=True)
    ax.set_ylabel(f"Energy {metric.upper()} [kcal/mol]")
    ax.set_title(names.finetuning)
    ax.legend(frameon=False, fontsize=7)
    return fig


# --- Fig. 6 -----------------------------------------------------------------------------------

FIG6_STYLE = {
    **{s: SETTING_STYLE[s] for s in ("finetune_E", "finetune_EF")},
    **NON_DISCRIMINATIVE_STYLE,
}
"""Fine-tuning setting -> (label, colour, line style, marker): blue discriminative, green
non-discriminative; E+F solid, E dashed."""

SCRATCH_LINES = {s: (SETTING_STYLE[s][0], SETTING_STYLE[s][2]) for s in ("scratch_E", "scratch_EF")}

MOLECULE_ORDER = ("aspirin",)


def plot_fig6(
    table,
    metric: str = "rmse",
    *,
    molecules: Sequence[str] | None = None,
    panel_size: tuple[float, float] = (3.3, 2.6),
    names: AniNames | None = None,
) -> Figure:
    """Fig. 6: MD17 test ``metric`` (rmse or mae) of energies (left, kcal/mol) and forces
    (right, kcal/mol/Å) against the ANI-1x pre-training set size (log axes), one row per
    molecule. Lines: discriminative (blue) and non-discriminative (green) fine-tuning on
    E (dashed) and E+F (solid), ±1 SEM bands; horizontal black lines: from scratch on E
    (dashed) and E+F (solid) at the fine-tuning set size; horizontal red line: the
    pre-trained model itself (energies offset-corrected). Lines whose table rows are
    missing are left out; a molecule without fine-tuned rows is a ValueError. The x axis
    names the pre-training set as ``names.pretraining`` (the paper's names by default).
    """
    names = AniNames.of(names)
    if metric not in ("rmse", "mae"):
        raise ValueError(f"metric must be 'rmse' or 'mae', got {metric!r}")
    rows, source = FIG6.load(table), FIG6.source(table)
    tuned = rows[rows["role"] == "finetuned"]
    if tuned.empty:
        raise ValueError(f"{source}: no fine-tuned rows to plot")
    present = list(dict.fromkeys(m for m in MOLECULE_ORDER if m in set(tuned["molecule"])))
    present += sorted(set(tuned["molecule"]) - set(present))
    molecules = list(molecules) if molecules else present
    absent = [m for m in molecules if m not in present]
    if absent:
        raise ValueError(f"{source}: no fine-tuned rows for molecule(s) {absent}")
    pretrain_sizes = sorted({int(n) for n in tuned["n_pretrain"]})
    settings = [s for s in FIG6_STYLE if s in set(tuned["setting"])]
    settings += sorted(set(tuned["setting"]) - set(settings))

    nrow = len(molecules)
    fig, axes = panel_grid(nrow, 2, panel_size, (0.6, 1.1))
    for row_i, molecule in enumerate(molecules):
        mine = rows[rows["molecule"] == molecule]
        mine_tuned = mine[mine["role"] == "finetuned"]
        sizes = sorted({int(n) for n in mine_tuned["n_train"]})
        for col, (template, ylabel) in enumerate(ROWS.values()):
            ax = axes[row_i, col]
            column = template.format(metric=metric)
            for setting in settings:
                label0, colour, style, marker = FIG6_STYLE.get(setting, (setting, None, "-", "v"))
                for n_train in sizes:
                    pts = mine_tuned[
                        (mine_tuned["setting"] == setting) & (mine_tuned["n_train"] == n_train)
                    ].sort_values("n_pretrain", kind="stable")
                    if pts.empty:
                        continue
                    x = pts["n_pretrain"].to_numpy(float)
                    y = pts[f"{column}_mean"].to_numpy(float)
                    label = label0 if len(sizes) == 1 else f"{label0}, {n_train}"
                    line = data_line(
                        ax, x, y, label=label, colour=colour, linestyle=style, marker=marker
                    )
                    sem_band(ax, x, y, pts[f"{column}_sem"].to_numpy(float), line.get_color(), 0.2)
            scratch = mine[(mine["role"] == "scratch") & mine["n_train"].isin(sizes)]
            for setting, (label0, style) in SCRATCH_LINES.items():
                for r in scratch[scratch["setting"] == setting].to_dict("records"):
                    label = label0 if len(sizes) == 1 else f"{label0}, {int(r['n_train'])}"
                    _hline(ax, r, column, SCRATCH_REFERENCE_COLOUR, style, label)
            pre = mine[mine["role"] == "pretrained"].sort_values("n_pretrain")
            many = pre["n_pretrain"].nunique() > 1
            for r in pre.to_dict("records"):
                label = f"pre-trained (N_pre = {int(r['n_pretrain']):,})"
                if many or len(sizes) > 1:
                    label += f", offset on {int(r['n_train'])}"
                _hline(ax, r, column, ANI_PRETRAINED_COLOUR, "-", label)
            log_axes(ax)
            if row_i == 0:
                ax.set_title(ylabel.split(" [")[0].format(METRIC=metric.upper()))
            ax.set_ylabel(
                f"{molecule.capitalize()}: " + ylabel.format(METRIC=metric.upper())
                if col == 0
                else ylabel.format(METRIC=metric.upper())
            )
            size_ticks(
                ax,
                pretrain_sizes,
                f"{names.pretraining}\npre-training set size",
                rotate_above=2,
                bottom=row_i == nrow - 1,
            )
    shared_legend(fig, axes, lambda n: min(n, 3), fontsize=8)
    return fig


def _hline(ax, row: dict, column: str, colour, style: str, label: str) -> None:
    value, sem = float(row[f"{column}_mean"]), float(row[f"{column}_sem"])
    reference_line(ax, value, sem, colour=colour, label=label, linestyle=style, band_alpha=0.08)


__all__ = ["FIG6_STYLE", "plot_fig5", "plot_fig6", "table1_latex", "table1_markdown"]
