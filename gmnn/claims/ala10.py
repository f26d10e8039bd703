"""Findings of Sec. 3.2 on deca-alanine MD (Figs. 7, 8) and energy-only fine-tuning (C39)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gmnn.claims.core import (
    ALA10_RUNS,
    FAILS,
    FIG2,
    HOLDS,
    PARTLY,
    Outcome,
    Tables,
    claim,
    count_verdict,
    fmt,
    join,
    untestable,
)

PAPER_PS = {"gas": 1100.0, "water": 510.0}
"""Length of the paper's runs (Sec. 3.2)."""
SCRATCH_FAILS_PS = {"gas": 350.0, "water": 40.0}
"""Times beyond which the paper's from-scratch ensembles could not run stably."""
MAX_RMSD_A = 1.5
"""Mean heavy-atom RMSD (A) of the production up to which the helix counts as preserved: a
rotated terminal residue (the paper's only change) moves a few heavy atoms of 50."""
MIN_HELICAL = 0.6
"""Mean helical fraction from which the peptide counts as helical: at most the two terminal
residues and one more of the nine out of the alpha region."""


@dataclass(frozen=True)
class Run:
    """One ensemble's staged run in one phase (from md_runs.csv)."""

    model: str
    completed: bool
    end_ps: float
    planned_ps: float
    reason: str
    rmsd: float
    helical: float

    def text(self) -> str:
        """The run in a line: how far it got and its production means."""
        what = (
            f"completed {fmt(self.planned_ps)} ps"
            if self.completed
            else f"diverged at {fmt(self.end_ps)} of {fmt(self.planned_ps)} ps ({self.reason})"
        )
        if math.isnan(self.rmsd):
            return f"{self.model}: {what}; no production frames"
        return f"{self.model}: {what}; production RMSD {fmt(self.rmsd)} A, helical {fmt(self.helical, 2)}"

    @property
    def helix_kept(self) -> bool:
        return self.completed and self.rmsd <= MAX_RMSD_A and self.helical >= MIN_HELICAL


def _thresholds() -> str:
    return f" (kept: completed, RMSD <= {MAX_RMSD_A} A, helical >= {MIN_HELICAL})"


def _run(t: Tables, phase: str, model: str) -> Run | None:
    df = t[ALA10_RUNS]
    rows = df[(df["phase"] == phase) & (df["model"] == model)].sort_values("stage")
    if rows.empty:
        return None
    diverged = rows[rows["diverged"] == 1]
    completed = diverged.empty and not rows["skipped"].astype(bool).any()
    ran = rows[rows["skipped"] == 0]
    last = ran.iloc[-1]
    reason = str(diverged["reason"].iloc[0]) if len(diverged) else ""
    return Run(
        model,
        completed,
        float(last["end_ps"]),
        float(rows["planned_end_ps"].max()),
        reason,
        float(last["mean_rmsd_heavy_A"]) if not math.isnan(last["mean_rmsd_heavy_A"]) else math.nan,
        float(last["mean_helical_fraction"])
        if not math.isnan(last["mean_helical_fraction"])
        else math.nan,
    )


def _runs(t: Tables, phase: str, models) -> dict[str, Run]:
    out = {m: _run(t, phase, m) for m in models}
    return {m: r for m, r in out.items() if r is not None}


def _scratch_fails(t: Tables, phase: str, others) -> Outcome:
    runs = _runs(t, phase, ("scratch", *others))
    if "scratch" not in runs:
        return untestable(f"no from-scratch ensemble in the {phase} phase")
    s = runs["scratch"]
    value = join(r.text() for r in runs.values())
    if s.completed:
        if s.planned_ps >= SCRATCH_FAILS_PS[phase]:
            return Outcome(
                FAILS,
                value,
                f"from scratch stable beyond the paper's ~{fmt(SCRATCH_FAILS_PS[phase])} ps",
            )
        return untestable(
            f"the from-scratch run completes its {fmt(s.planned_ps)} ps, shorter than the paper's "
            f"~{fmt(SCRATCH_FAILS_PS[phase])} ps failure time",
            value,
        )
    rest = [runs[m] for m in others if m in runs]
    if rest and all(r.completed for r in rest):
        return Outcome(HOLDS, value, "from scratch diverges while the others complete")
    return Outcome(
        PARTLY,
        value,
        "from scratch diverges, but so does another ensemble: not specific to from scratch",
    )


@claim(
    "C33",
    "Fig. 7",
    "Gas phase: the from-scratch ensemble cannot run a stable Ala10 MD (the fine-tuned one can)",
    "from scratch unstable beyond ~350 ps of 1.1 ns",
    (ALA10_RUNS,),
)
def c33(t: Tables) -> Outcome:
    """From-scratch gas-phase run: diverges while the fine-tuned ensemble completes the run
    (the paper's contrast) -> holds; diverges but the fine-tuned one does too -> partly;
    completes a run of at least 350 ps -> does not hold; completes a shorter run -> not
    testable (the paper's failure time is not reached)."""
    return _scratch_fails(t, "gas", ("finetuned",))


@claim(
    "C34",
    "Fig. 7",
    "Gas phase: the fine-tuned ensemble runs stably over the whole 1.1 ns",
    "stable over 1.1 ns (100 ps equilibration + 1 ns)",
    (ALA10_RUNS,),
)
def c34(t: Tables) -> Outcome:
    """Fine-tuned gas-phase run: completes a run of at least the paper's 1.1 ns -> holds;
    diverges -> does not hold (at any length: it fails before the paper's); completes a
    shorter run -> not testable (the finding is about 1.1 ns)."""
    r = _run(t, "gas", "finetuned")
    if r is None:
        return untestable("no fine-tuned ensemble in the gas phase")
    if not r.completed:
        return Outcome(FAILS, r.text(), r.text())
    if r.planned_ps >= PAPER_PS["gas"]:
        return Outcome(HOLDS, r.text(), "stable over the paper's length")
    return untestable(
        f"stable over the preset's {fmt(r.planned_ps)} ps; the finding is about 1.1 ns", r.text()
    )


@claim(
    "C35",
    "Fig. 7",
    "Gas phase: the pre-trained and fine-tuned ensembles keep the helix (only a terminal residue rotates)",
    "helix preserved, minor changes",
    (ALA10_RUNS,),
)
def c35(t: Tables) -> Outcome:
    """Each of the pre-trained and fine-tuned gas-phase runs keeps the helix when it
    completes with a production mean heavy-atom RMSD at most 1.5 A and a mean helical
    fraction at least 0.6. Both -> holds; one -> partly; none -> does not hold. Judged over
    the run the preset makes (the run length is reported)."""
    runs = _runs(t, "gas", ("pretrained", "finetuned"))
    if not runs:
        return untestable("no pre-trained or fine-tuned ensemble in the gas phase")
    ok = sum(r.helix_kept for r in runs.values())
    return Outcome(
        count_verdict(r.helix_kept for r in runs.values()),
        join(r.text() for r in runs.values()),
        f"{ok}/{len(runs)} keep the helix: "
        + join(r.text() for r in runs.values())
        + _thresholds(),
    )


@claim(
    "C36",
    "Fig. 8",
    "In water, with the pre-trained ensemble the peptide stays helical throughout",
    "helical over 510 ps",
    (ALA10_RUNS,),
)
def c36(t: Tables) -> Outcome:
    """Pre-trained run in water: completes every stage with a production (last stage) mean
    heavy-atom RMSD at most 1.5 A and helical fraction at least 0.6 -> holds; otherwise
    does not hold (diverged, or not helical). Judged over the run the preset makes."""
    r = _run(t, "water", "pretrained")
    if r is None:
        return untestable("no pre-trained ensemble in water")
    return Outcome(HOLDS if r.helix_kept else FAILS, r.text(), r.text() + _thresholds())


@claim(
    "C37",
    "Fig. 8",
    "In water, with the fine-tuned ensemble Ala10 reaches low-helical states",
    "low-helical states, on par with Ref. 67",
    (ALA10_RUNS,),
)
def c37(t: Tables) -> Outcome:
    """Fine-tuned run in water: completes with a production helical fraction below 0.6 ->
    holds; diverges -> does not hold (a broken peptide is no low-helical state); completes
    and stays helical -> does not hold over a run of at least 510 ps, not testable over a
    shorter one (unfolding needs time)."""
    r = _run(t, "water", "finetuned")
    if r is None:
        return untestable("no fine-tuned ensemble in water")
    if not r.completed:
        return Outcome(FAILS, r.text(), r.text())
    if r.helical < MIN_HELICAL:
        return Outcome(HOLDS, r.text(), "low-helical")
    if r.planned_ps >= PAPER_PS["water"]:
        return Outcome(FAILS, r.text(), r.text() + f" (below {MIN_HELICAL} holds)")
    return untestable(
        f"stays helical over {fmt(r.planned_ps)} ps; unfolding needs the paper's 510 ps", r.text()
    )


@claim(
    "C38",
    "Fig. 8",
    "In water, the from-scratch ensemble cannot run a stable MD",
    "from scratch unstable beyond ~40 ps",
    (ALA10_RUNS,),
)
def c38(t: Tables) -> Outcome:
    """From-scratch run in water: diverges while the pre-trained and fine-tuned ensembles
    complete -> holds; diverges but another does too -> partly; completes at least 40 ps ->
    does not hold; completes a shorter run -> not testable."""
    return _scratch_fails(t, "water", ("pretrained", "finetuned"))


@claim(
    "C39",
    "Abstract / Sec. 4",
    "Energy-only fine-tuning can suffice for accurate forces and large-scale simulations",
    "aspirin: E-only fine-tuned F 1.73 vs E+F from scratch 1.01; ANI-1ccx fine-tuned ensembles run Ala10",
    (FIG2,),
)
def c39(t: Tables) -> Outcome:
    """(a) Fine-tuned E-only force RMSE at the largest MD17 size within 2x the from-scratch
    E+F one (the paper: 1.73 / 1.01 = 1.7x), for every molecule; (b) the energy-only
    fine-tuned ensemble completes its Ala10 runs in every phase. Both -> holds; one ->
    partly; none -> does not hold. Without the Ala10 table, (a) alone gives at most
    partly."""
    df = t[FIG2]
    ratios = []
    for m in sorted(df["molecule"].unique()):
        e = df[(df["molecule"] == m) & (df["setting"] == "finetune_E")].set_index("n_train")
        s = df[(df["molecule"] == m) & (df["setting"] == "scratch_EF")].set_index("n_train")
        n = max(set(e.index) & set(s.index))
        ratios.append((m, e.loc[n, "force_rmse_mean"] / s.loc[n, "force_rmse_mean"]))
    a = all(r <= 2 for _, r in ratios)
    value = "F fine-tuned E / scratch E+F: " + ", ".join(f"{m} {fmt(r)}" for m, r in ratios)
    if not t.has(ALA10_RUNS):
        return Outcome(
            PARTLY if a else FAILS,
            value + "; no Ala10 runs (figure group off)",
            "F ratio " + ", ".join(f"{m} {fmt(r)}" for m, r in ratios) + " (<= 2?)",
        )
    runs = {p: r for p in ("gas", "water") if (r := _run(t, p, "finetuned")) is not None}
    b = bool(runs) and all(r.completed for r in runs.values())
    value += "; " + join(f"{p}: {r.text()}" for p, r in runs.items())
    return Outcome(
        count_verdict([a, b]),
        value,
        "F ratio "
        + ", ".join(f"{m} {fmt(r)}" for m, r in ratios)
        + f" (<= 2?); fine-tuned Ala10 runs complete: {b}",
    )
