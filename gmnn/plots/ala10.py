"""Deca-alanine (Ala10) MD of Sec. 3.2: Figs. 7 (gas phase) and 8 (water), RMSD against time.

Two tidy tables (DataFrames or CSV paths, written by the Ala10 analysis of the MD runs):

* the RMSD series, columns :data:`ALA10_SERIES` (:data:`gmnn.analysis.ala10.SERIES`): one row per saved frame of one run stage,
  ``time_ps`` in protocol time (ps since the start of the whole protocol, stages
  concatenated), ``production`` true for the frames used in the analysis (after the
  equilibration), RMSDs in Å against the initial helix after Kabsch superposition
  (:func:`gmnn.analysis.structure.kabsch_align`), ``rmsd_heavy_avg_A`` the running average
  of ``rmsd_heavy_A`` over the production frames (NaN outside;
  :func:`gmnn.analysis.structure.running_average`), ``helical_fraction`` in 0..1
  (:func:`gmnn.analysis.structure.helical_fraction`), the ensemble disagreement
  ``energy_std_eV`` (eV) and ``forces_std_max_eV_A`` (eV/Å), ``volume_A3`` (Å³) and
  ``density_g_cm3`` (g/cm³; NaN in the gas phase);
* the runs table, columns :data:`ALA10_RUNS` (:data:`gmnn.analysis.ala10.RUNS`): one row per (phase, model, stage) with the
  integrator, the ensemble size ``members``, the protocol times ``start_ps`` / ``end_ps``
  (where the stage started and stopped), ``planned_end_ps`` (where it ends when every
  requested step is done: the full protocol length for the last stage), the steps requested
  and done, ``diverged`` / ``reason`` / ``failed_at_ps`` (protocol time) of an unstable run,
  ``skipped`` (not run because an earlier stage failed), ``ms_per_step``,
  ``max_forces_std_eV_A`` (over every step of the stage, eV/Å), the running-average window
  ``window_ps`` (ps) and ``equilibration_ps``, the equilibration at the start of the last
  stage (ps). The figure takes the end of the equilibration from the ``production`` flags (the
  first production frame of the phase) and falls back to the last stage's planned start
  plus its ``equilibration_ps`` only when no model has a production frame.

Boolean columns accept True/False, 1/0 and the strings "true"/"false"/"1"/"0".

:func:`plot_ala10_rmsd` draws one figure (three panels, one per model);
:func:`ala10_caption_numbers` gives the numbers a caption or report quotes. Figures are
plain :class:`matplotlib.figure.Figure` objects (no pyplot state); save them with
:func:`gmnn.plots.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from gmnn.analysis.ala10 import RUNS, SERIES
from gmnn.analysis.names import ani_names
from gmnn.analysis.structure import kabsch_align, running_average
from gmnn.analysis.tables import Table
from gmnn.plots.style import panel_grid

ALA10_SERIES: tuple[str, ...] = SERIES.columns
"""Columns of the Ala10 RMSD series: one row per saved frame (see the module docstring)."""

ALA10_RUNS: tuple[str, ...] = RUNS.columns
"""Columns of the Ala10 runs table: one row per (phase, model, stage)."""

_SERIES_FLAGS = ("production",)
_RUNS_FLAGS = ("diverged", "skipped")

MODEL_ORDER = ("pretrained", "scratch", "finetuned")
"""The panels of Figs. 7 and 8, top to bottom."""

DEFAULT_TITLES: dict[str, str] = {
    model: title.format(**ani_names("ani")._asdict())
    for model, title in {
        "pretrained": "pre-trained ({pretraining})",
        "scratch": "from scratch ({finetuning})",
        "finetuned": "fine-tuned ({finetuning})",
    }.items()
}
"""Panel titles of the paper (:func:`gmnn.analysis.names.ani_names`); pass ``titles`` when
the models were trained on other data (the pipeline passes
:attr:`gmnn.workflow.ala10.Ala10Design.titles`, which names the embedded stand-ins)."""

RMSD_COLUMNS: dict[str, str] = {
    "rmsd_heavy_A": "heavy atoms",
    "rmsd_backbone_A": "backbone",
    "rmsd_all_A": "all atoms",
}
"""The RMSD columns :func:`plot_ala10_rmsd` can draw, and how the axis label names them."""

RMSD_COLOUR = "#8fa8c8"  # thin line: light grey-blue
AVERAGE_COLOUR = "red"  # running average, as in the paper
FAILED_COLOUR = "#7b241c"
EQUILIBRATION_COLOUR = "0.88"
INITIAL_COLOUR = "0.6"
LATE_COLOUR = "#1f4e9c"
NO_DYNAMICS = "no stable dynamics"
REASON_CHARS = 40
INSET_BOUNDS = (0.8, 0.04, 0.18, 0.46)
"""Where the structure inset sits, in axes fractions (x0, y0, width, height)."""


# --- loading ------------------------------------------------------------------------------------


def _flag(values: pd.Series, column: str, source: str) -> pd.Series:
    """A boolean column from bools, 0/1 or "true"/"false" strings; anything else (NaN
    included) is a ValueError naming the column."""
    words = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False}
    out = []
    for v in values.tolist():
        if isinstance(v, (bool, np.bool_)):
            out.append(bool(v))
        elif isinstance(v, str) and v.strip().lower() in words:
            out.append(words[v.strip().lower()])
        elif isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            out.append(bool(v))
        else:
            raise ValueError(
                f"{source}: column {column!r} must hold booleans (True/False or 1/0), got {v!r}"
            )
    return pd.Series(out, index=values.index, dtype=bool)


def _load(table, schema: Table, flags: Sequence[str]) -> tuple[pd.DataFrame, str]:
    source = schema.source(table)
    df = schema.load(table)
    df = schema.frame(df[list(schema.columns)])  # exact columns, numbers as numbers
    for c in flags:
        df[c] = _flag(df[c], c, source)
    return df, source


def _phase_rows(series, runs, phase: str):
    """The series and runs rows of ``phase`` (and the sources for messages)."""
    frames, series_source = _load(series, SERIES, _SERIES_FLAGS)
    stages, runs_source = _load(runs, RUNS, _RUNS_FLAGS)
    phases = sorted(set(stages["phase"]))
    if phase not in phases:
        raise ValueError(f"{runs_source}: no runs of phase {phase!r} (phases: {phases})")
    frames = frames[frames["phase"] == phase]
    stages = stages[stages["phase"] == phase]
    unknown = sorted(set(frames["model"]) - set(stages["model"]))
    if unknown:
        raise ValueError(
            f"{series_source}: frames of model(s) {unknown} in phase {phase!r} have no rows "
            f"in {runs_source}"
        )
    return frames, stages, series_source, runs_source


def _ordered_models(values) -> list[str]:
    present = list(dict.fromkeys(values))
    return [m for m in MODEL_ORDER if m in present] + sorted(
        m for m in present if m not in MODEL_ORDER
    )


# --- per-model summaries ------------------------------------------------------------------------


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _reason(row) -> str:
    text = str(row["reason"] or "").strip()
    return "" if text.lower() in ("", "nan", "none") else text


def _short(reason: str, chars: int = REASON_CHARS) -> str:
    """The first line of ``reason``, cut to ``chars`` characters."""
    line = reason.splitlines()[0].strip() if reason else ""
    return line if len(line) <= chars else line[: chars - 1].rstrip(" .,;:") + "…"


def _failure(stages: pd.DataFrame, frames: pd.DataFrame) -> tuple[float, str] | None:
    """(protocol time in ps, reason) of a model's first unstable stage, or None.

    The time is ``failed_at_ps``; without one, the stage's ``end_ps``, else its last frame.
    """
    for row in stages.sort_values("stage").to_dict("records"):
        if not row["diverged"]:
            continue
        t = float(row["failed_at_ps"]) if _finite(row["failed_at_ps"]) else math.nan
        if not math.isfinite(t) and _finite(row["end_ps"]):
            t = float(row["end_ps"])
        if not math.isfinite(t):
            mine = frames[frames["stage"] == row["stage"]]
            t = float(mine["time_ps"].max()) if len(mine) else math.nan
        return t, _reason(row)
    return None


def _stage_spans(stages: pd.DataFrame) -> list[tuple[float, float, dict]]:
    """(planned start, planned end, row) of a model's stages in protocol time, ps: stage k
    starts where stage k - 1 is planned to end (stage 0 at its ``start_ps``, or 0)."""
    spans = []
    previous_end = None
    for row in stages.sort_values("stage").to_dict("records"):
        if previous_end is not None and math.isfinite(previous_end):
            start = previous_end
        else:
            start = float(row["start_ps"]) if _finite(row["start_ps"]) else 0.0
        end = float(row["planned_end_ps"]) if _finite(row["planned_end_ps"]) else math.nan
        spans.append((start, end, row))
        previous_end = end
    return spans


def _stat(values, how) -> float:
    """``how`` (np.mean, np.max) over the finite ``values``; NaN if there are none."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(how(values)) if len(values) else math.nan


def _members(stages: pd.DataFrame) -> str:
    values = sorted({int(m) for m in stages["members"] if _finite(m)})
    if not values:
        return "?"
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _gate_lines(stages: pd.DataFrame) -> list[str]:
    """The gate before the run (its first stage's row, :func:`gmnn.analysis.ala10.force_gate`)
    as lines of the statistics box: the ensemble mean's force RMSE against the reference
    on the initial helix with the worst member's, and the ensemble's largest per-atom
    force spread there; none for a run recorded without a gate."""
    first = stages.sort_values("stage").head(1).to_dict("records")
    if not first:
        return []
    row = first[0]
    lines = []
    if _finite(row["gate_mean_force_rmse_eV_A"]):
        worst = row["gate_force_rmse_max_eV_A"]
        lines.append(
            f"gate on helix: F RMSE {float(row['gate_mean_force_rmse_eV_A']):.2f} eV/Å"
            + (f" (members ≤ {float(worst):.2f})" if _finite(worst) else "")
        )
    elif str(row["gate_reference"] or "").startswith("none"):
        lines.append("gate on helix: no reference forces")
    if _finite(row["gate_forces_std_max_eV_A"]):
        lines.append(f"gate on helix: F spread ≤ {float(row['gate_forces_std_max_eV_A']):.2f} eV/Å")
    return lines


def _protocol_length(frames: pd.DataFrame, stages: pd.DataFrame, source: str) -> float:
    """The x range: the latest planned stage end of the phase (ps); stages without a planned
    end fall back to their ``end_ps`` and the frames."""
    candidates = [stages["planned_end_ps"], stages["end_ps"], frames["time_ps"]]
    values = np.concatenate([np.asarray(c, dtype=float) for c in candidates])
    values = values[np.isfinite(values)]
    if not len(values) or values.max() <= 0:
        raise ValueError(f"{source}: no planned_end_ps, end_ps or frame time > 0 to set the axis")
    planned = np.asarray(stages["planned_end_ps"], dtype=float)
    planned = planned[np.isfinite(planned)]
    return float(planned.max()) if len(planned) else float(values.max())


def _production_start(frames: pd.DataFrame, stages: pd.DataFrame) -> float:
    """Protocol time (ps) where the analysed part starts: the first production frame of any
    model (the protocol is the same for every model). Without production frames, the
    last stage's planned start plus its ``equilibration_ps``; NaN if that is unknown."""
    prod = frames.loc[frames["production"], "time_ps"].to_numpy(float)
    if len(prod):
        return float(prod.min())
    best = math.nan
    for model in set(stages["model"]):
        spans = _stage_spans(stages[stages["model"] == model])
        start, _, row = spans[-1]
        if _finite(row["equilibration_ps"]):
            best = np.nanmax([best, start + float(row["equilibration_ps"])])
    return float(best)


def _window(stages: pd.DataFrame, model: str, source: str) -> float:
    """The running-average window (ps) of a model: that of its last stage (production)."""
    values = [float(w) for w in stages.sort_values("stage")["window_ps"] if _finite(w)]
    if not values or values[-1] <= 0:
        raise ValueError(f"{source}: model {model!r} has no window_ps > 0 (running average)")
    return values[-1]


def _average(mine: pd.DataFrame, column: str, window_ps: float) -> tuple[np.ndarray, np.ndarray]:
    """(times, running average) over the production frames: the table's
    ``rmsd_heavy_avg_A`` for heavy-atom RMSD, otherwise
    :func:`~gmnn.analysis.structure.running_average` of ``column`` (centred window)."""
    prod = mine[mine["production"]]
    if column == "rmsd_heavy_A":
        prod = prod[np.isfinite(prod["rmsd_heavy_avg_A"].to_numpy(float))]
        return prod["time_ps"].to_numpy(float), prod["rmsd_heavy_avg_A"].to_numpy(float)
    prod = prod[np.isfinite(prod[column].to_numpy(float))]
    prod = prod.drop_duplicates("time_ps", keep="last")
    if prod.empty:
        return np.empty(0), np.empty(0)
    t = prod["time_ps"].to_numpy(float)
    return t, running_average(t, prod[column].to_numpy(float), window_ps)


# --- the figure ---------------------------------------------------------------------------------


def _titles(models: Sequence[str], titles) -> list[str]:
    if titles is None:
        return [DEFAULT_TITLES.get(m, m) for m in models]
    if isinstance(titles, Mapping):
        return [str(titles.get(m, DEFAULT_TITLES.get(m, m))) for m in models]
    titles = [str(t) for t in titles]
    if len(titles) != len(models):
        raise ValueError(f"titles: {len(titles)} titles for {len(models)} models {list(models)}")
    return titles


def _check_structures(structures, models: Sequence[str]) -> dict:
    if structures is None:
        return {}
    unknown = sorted(set(structures) - set(models))
    if unknown:
        raise ValueError(f"structures: model(s) {unknown} are not among the panels {list(models)}")
    out = {}
    for model, pair in structures.items():
        try:
            initial, late = (np.asarray(x, dtype=float) for x in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"structures[{model!r}]: expected a pair (initial_xyz, late_xyz) of (N, 3) arrays"
            ) from None
        if initial.ndim != 2 or initial.shape[1] != 3 or initial.shape[0] < 3:
            raise ValueError(
                f"structures[{model!r}]: initial positions must be (N, 3) with N >= 3, "
                f"got {initial.shape}"
            )
        if late.shape != initial.shape:
            raise ValueError(
                f"structures[{model!r}]: late positions {late.shape} do not match the initial "
                f"{initial.shape}"
            )
        out[model] = (initial, late)
    return out


def _projection(initial: np.ndarray, late: np.ndarray):
    """Both traces projected onto the two largest principal axes of ``initial`` (Å), the
    late one after Kabsch superposition onto the initial; and the RMSD after it (Å)."""
    alignment = kabsch_align(initial, late)
    centre = initial.mean(axis=0)
    _, _, vt = np.linalg.svd(initial - centre, full_matrices=False)
    axes = vt[:2].T  # (3, 2): the two largest principal axes
    return (initial - centre) @ axes, (alignment.aligned - centre) @ axes, float(alignment.rmsd)


def _inset(ax, initial: np.ndarray, late: np.ndarray):
    a, b, rmsd = _projection(initial, late)
    inset = ax.inset_axes(INSET_BOUNDS)
    inset.set_label("structure inset")
    inset.plot(a[:, 0], a[:, 1], color=INITIAL_COLOUR, lw=1.0, label="initial")
    inset.plot(b[:, 0], b[:, 1], color=LATE_COLOUR, lw=1.0, label="late")
    inset.set_aspect("equal", adjustable="datalim")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_zorder(6)  # above the data and the statistics box
    inset.text(
        0.5,
        0.03,
        f"initial (grey), late: {rmsd:.2f} Å",
        transform=inset.transAxes,
        ha="center",
        va="bottom",
        fontsize=5,
        gid="inset note",
    )
    return inset


def _stage_lines(ax, spans, length: float) -> None:
    """Faint vertical lines at the planned stage starts, each labelled by its integrator
    (rotated, at the top); a stage not run is labelled "(not run)"."""
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for k, (start, _, row) in enumerate(spans):
        if k > 0:
            ax.axvline(start, color="0.55", lw=0.6, alpha=0.6, zorder=1)
        label = str(row["integrator"]) + (" (not run)" if row["skipped"] else "")
        ax.text(
            start + 0.004 * length,
            0.97,
            label,
            transform=top,
            rotation=90,
            ha="left",
            va="top",
            fontsize=5.5,
            color="0.4",
            gid="stage label",
        )


def _failure_marker(ax, t: float, reason: str, length: float) -> None:
    ax.axvline(t, color=FAILED_COLOUR, ls="--", lw=1.0, zorder=4, gid="failure")
    text = f"unstable after {t:.1f} ps" if t >= 1 else f"unstable after {t:.2g} ps"
    text = text + (f" ({_short(reason)})" if reason else "")
    right = t < 0.6 * length
    # to the right of the line low in the panel; a late failure's note goes to its left,
    # between the summary box (top right) and the structure inset (bottom right)
    ax.text(
        t + (0.01 if right else -0.01) * length,
        0.3 if right else 0.53,
        text,
        transform=blended_transform_factory(ax.transData, ax.transAxes),
        ha="left" if right else "right",
        va="center",
        fontsize=6.5,
        color=FAILED_COLOUR,
        gid="failure note",
    )


def plot_ala10_rmsd(
    series,
    runs,
    phase: str,
    models: Sequence[str] = MODEL_ORDER,
    titles: Mapping[str, str] | Sequence[str] | None = None,
    column: str = "rmsd_heavy_A",
    structures: Mapping[str, tuple] | None = None,
    *,
    panel_size: tuple[float, float] = (6.0, 1.8),
) -> Figure:
    """Fig. 7 (``phase="gas"``) or Fig. 8 (``phase="water"``): RMSD of Ala10 against the
    initial helix over the MD protocol, one panel per model, top to bottom.

    Each panel: the RMSD ``column`` (Å; heavy atoms, backbone or all atoms) as a thin
    grey-blue line over every saved frame; its running average over the production frames in
    red (``rmsd_heavy_avg_A`` for heavy atoms, otherwise computed with the model's
    ``window_ps``); the equilibration (before the first production frame of the phase)
    shaded grey; faint vertical lines at the stage boundaries, labelled by integrator; a
    failed run marked by a dashed line at ``failed_at_ps`` and "unstable after X ps
    (reason)"; "no stable dynamics" over a model without any frame. A box in the upper
    right corner gives the ensemble size and, over the production frames, the mean RMSD and
    mean helical fraction, and the gate before the run (on the initial helix: the ensemble
    mean's force RMSE against the reference forces with the worst member's, and the
    largest per-atom force spread of the members). The time axis runs from 0 to the protocol's planned length
    (the latest ``planned_end_ps`` of the phase), shared by all panels.

    Args:
        series: the RMSD series (:data:`ALA10_SERIES`), DataFrame or CSV path.
        runs: the runs table (:data:`ALA10_RUNS`), DataFrame or CSV path.
        phase: "gas" or "water" (any phase present in ``runs``).
        models: the panels, top to bottom; each must have rows in ``runs``.
        titles: panel titles, by model (missing ones default to :data:`DEFAULT_TITLES`) or
            one per model in order.
        column: one of :data:`RMSD_COLUMNS`.
        structures: optional ``model -> (initial_xyz, late_xyz)``, (N, 3) backbone positions
            in Å: an inset in that panel shows both traces projected onto the two largest
            principal axes of the initial structure, the late one after Kabsch superposition
            (:func:`gmnn.analysis.structure.kabsch_align`) onto it.
        panel_size: (width, height) of one panel, inches.

    Raises:
        ValueError: a missing column (named), a phase or model without runs, an unknown
            ``column``, malformed ``structures`` or ``titles``.
    """
    if column not in RMSD_COLUMNS:
        raise ValueError(
            f"column: {column!r} is not an RMSD column; use one of {list(RMSD_COLUMNS)}"
        )
    models = list(models)
    if not models:
        raise ValueError("models: no model to plot")
    frames, stages, _, runs_source = _phase_rows(series, runs, phase)
    absent = [m for m in models if m not in set(stages["model"])]
    if absent:
        raise ValueError(f"{runs_source}: no runs of model(s) {absent} in phase {phase!r}")
    names = _titles(models, titles)
    insets = _check_structures(structures, models)
    length = _protocol_length(frames, stages, runs_source)
    production_start = _production_start(frames, stages)

    fig, axes = panel_grid(len(models), 1, panel_size, (0.0, 0.7))
    axes = axes[:, 0]
    handles = {}
    for ax, model, title in zip(axes, models, names, strict=True):
        mine_stages = stages[stages["model"] == model]
        mine = frames[frames["model"] == model].sort_values(["time_ps", "stage"], kind="stable")
        if math.isfinite(production_start) and production_start > 0:
            handles["equilibration"] = ax.axvspan(
                0, production_start, color=EQUILIBRATION_COLOUR, lw=0, zorder=0
            )
        _stage_lines(ax, _stage_spans(mine_stages), length)
        top = 0.0
        if len(mine):
            t = mine["time_ps"].to_numpy(float)
            y = mine[column].to_numpy(float)
            (handles["rmsd"],) = ax.plot(t, y, color=RMSD_COLOUR, lw=0.6, zorder=2, gid="rmsd")
            window = (
                _window(mine_stages, model, runs_source) if column != "rmsd_heavy_A" else math.nan
            )  # the table's rmsd_heavy_avg_A needs none
            ta, ya = _average(mine, column, window)
            if len(ta):
                (handles["average"],) = ax.plot(
                    ta, ya, color=AVERAGE_COLOUR, lw=1.2, zorder=3, gid="running average"
                )
            top = float(np.nanmax(y)) if np.isfinite(y).any() else 0.0
        else:
            ax.text(
                0.5,
                0.5,
                NO_DYNAMICS,
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=10,
                color=FAILED_COLOUR,
                gid="no dynamics",
            )
        failure = _failure(mine_stages, mine)
        if failure is not None and math.isfinite(failure[0]):
            _failure_marker(ax, failure[0], failure[1], length)
        prod = mine[mine["production"]]
        mean_rmsd = _stat(prod[column], np.mean)
        mean_helix = _stat(prod["helical_fraction"], np.mean)
        stats = "\n".join(
            [
                f"ensemble of {_members(mine_stages)}",
                "mean RMSD " + (f"{mean_rmsd:.2f} Å" if math.isfinite(mean_rmsd) else "–"),
                "helical " + (f"{mean_helix:.2f}" if math.isfinite(mean_helix) else "–"),
                *_gate_lines(mine_stages),
            ]
        )
        ax.text(
            0.99,
            0.95,
            stats,
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=6.5,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.8", "alpha": 0.85},
            zorder=5,
            gid="statistics",
        )
        if model in insets:
            _inset(ax, *insets[model])
        ax.set_xlim(0, length)
        ax.set_ylim(0, max(top * 1.3, 0.5))  # (a run that failed at once: still 0-0.5 A)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel(f"RMSD [Å]\n({RMSD_COLUMNS[column]})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("Time [ps]")
    labels = {"rmsd": "RMSD", "average": "running average", "equilibration": "equilibration"}
    shown = [k for k in labels if k in handles]
    if shown:
        window = sorted({float(w) for w in stages["window_ps"] if _finite(w)})
        if "average" in shown and len(window) == 1:
            labels["average"] += f" ({window[0]:g} ps)"
        fig.legend(
            [handles[k] for k in shown],
            [labels[k] for k in shown],
            loc="outside lower center",
            ncol=len(shown),
            frameon=False,
            fontsize=7,
        )
    return fig


# --- caption numbers ----------------------------------------------------------------------------

CAPTION_COLUMNS: tuple[str, ...] = (
    "phase",
    "model",
    "members",
    "stable",
    "failed_at_ps",
    "reason",
    "simulated_ps",
    "planned_ps",
    "production_frames",
    "rmsd_heavy_mean_A",
    "rmsd_heavy_max_A",
    "helical_fraction_mean",
    "helical_fraction_final",
    "forces_std_max_eV_A",
    "density_mean_g_cm3",
)
"""Columns of :func:`ala10_caption_numbers`."""


def ala10_caption_numbers(series, runs, phase: str) -> pd.DataFrame:
    """The numbers a caption or report quotes for one phase, one row per model (in the
    order of :data:`MODEL_ORDER`, others after, sorted); columns :data:`CAPTION_COLUMNS`:

    * ``members``: ensemble size (the largest over the model's stages);
    * ``stable``: every stage ran all its requested steps (none diverged or was skipped);
    * ``failed_at_ps``, ``reason``: protocol time (ps) and reason of the first unstable stage
      (NaN and "" for a stable model);
    * ``simulated_ps``: protocol time of the last saved frame (NaN without frames);
      ``planned_ps``: the planned protocol length (latest ``planned_end_ps``);
    * over the production frames: ``production_frames``, mean and maximum heavy-atom RMSD
      (Å), mean helical fraction and that of the last production frame, mean density
      (g/cm³, NaN in the gas phase);
    * ``forces_std_max_eV_A``: the largest ensemble force disagreement (eV/Å) over every
      saved frame and the runs' ``max_forces_std_eV_A`` (every step).
    """
    frames, stages, _, _ = _phase_rows(series, runs, phase)
    rows = []
    for model in _ordered_models(stages["model"]):
        mine_stages = stages[stages["model"] == model]
        mine = frames[frames["model"] == model].sort_values(["time_ps", "stage"], kind="stable")
        prod = mine[mine["production"]]
        failure = _failure(mine_stages, mine)
        complete = bool(
            (
                mine_stages["steps_done"].to_numpy(float)
                >= mine_stages["steps_requested"].to_numpy(float)
            ).all()
        )
        stable = failure is None and not mine_stages["skipped"].any() and complete
        members = [int(m) for m in mine_stages["members"] if _finite(m)]
        planned = mine_stages["planned_end_ps"].to_numpy(float)
        forces = np.concatenate(
            [
                mine["forces_std_max_eV_A"].to_numpy(float),
                mine_stages["max_forces_std_eV_A"].to_numpy(float),
            ]
        )

        helix = prod["helical_fraction"].to_numpy(float)
        helix = helix[np.isfinite(helix)]
        rows.append(
            {
                "phase": phase,
                "model": model,
                "members": max(members) if members else math.nan,
                "stable": bool(stable),
                "failed_at_ps": failure[0] if failure else math.nan,
                "reason": failure[1] if failure else "",
                "simulated_ps": _stat(mine["time_ps"], np.max),
                "planned_ps": _stat(planned, np.max),
                "production_frames": len(prod),
                "rmsd_heavy_mean_A": _stat(prod["rmsd_heavy_A"], np.mean),
                "rmsd_heavy_max_A": _stat(prod["rmsd_heavy_A"], np.max),
                "helical_fraction_mean": float(helix.mean()) if len(helix) else math.nan,
                "helical_fraction_final": float(helix[-1]) if len(helix) else math.nan,
                "forces_std_max_eV_A": _stat(forces, np.max),
                "density_mean_g_cm3": _stat(prod["density_g_cm3"], np.mean),
            }
        )
    return pd.DataFrame(rows, columns=list(CAPTION_COLUMNS))


__all__ = [
    "ALA10_RUNS",
    "ALA10_SERIES",
    "CAPTION_COLUMNS",
    "DEFAULT_TITLES",
    "MODEL_ORDER",
    "RMSD_COLUMNS",
    "ala10_caption_numbers",
    "plot_ala10_rmsd",
]
