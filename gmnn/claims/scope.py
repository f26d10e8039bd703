"""Findings about the method and its scope (Secs. 2.2, 3, 3.1): statements without data in
the paper, and the protocol of the curves (C51)."""

from __future__ import annotations

from gmnn.claims.core import (
    FAILS,
    FIG2,
    FIG3,
    FIG5,
    FIG6,
    HOLDS,
    PARTLY,
    Outcome,
    Tables,
    claim,
    untestable,
)


@claim(
    "C40",
    "Sec. 2.2",
    "Keep the descriptor fixed during fine-tuning (empirical, no data shown)",
    "descriptor learning rate 0",
)
def c40(t: Tables) -> Outcome:
    """No data shown in the paper, and no run of the grid differs from discriminative
    fine-tuning only in the descriptor's learning rate (the non-discriminative variant of
    Fig. 6 changes every rate): not testable."""
    return untestable(
        "no run differs from discriminative fine-tuning only in the descriptor's learning rate"
    )


@claim(
    "C42",
    "Sec. 3.1",
    "The Fig. 3 deterioration is unexpected; fewer pre-training epochs might avoid it (open question)",
    "a hypothesis, untested",
)
def c42(t: Tables) -> Outcome:
    """An untested hypothesis of the paper: no run varies the pre-training length at a
    fixed pre-training size. Not testable."""
    return untestable("a hypothesis: no run varies the pre-training length at a fixed size")


@claim(
    "C43",
    "Sec. 3.1",
    "Performance may strongly depend on the method of the source (pre-training) data",
    "preliminary experiments, not shown",
)
def c43(t: Tables) -> Outcome:
    """Preliminary experiments the paper does not show; one pre-training level per run.
    Not testable."""
    return untestable("results not shown in the paper; one pre-training level per run")


@claim(
    "C48",
    "Sec. 2.2",
    "Learning priors for fine-tuning gave no improvement (not shown)",
    "no improvement, not shown",
)
def c48(t: Tables) -> Outcome:
    """An approach the paper tried and left out; not implemented here. Not testable."""
    return untestable("the approach is neither shown in the paper nor implemented here")


@claim(
    "C51",
    "Sec. 3 / Fig. 2",
    "Discriminative fine-tuning throughout (non-discriminative only in Fig. 6); curves are means over five runs with SEM",
    "five independent runs, standard error of the mean",
    (FIG2,),
)
def c51(t: Tables) -> Outcome:
    """Over the curve tables present (Figs. 2, 3, 5, 6): non-discriminative settings only in
    Fig. 6 and at least 5 seeds per point -> holds; at least 2 seeds everywhere (a standard
    error exists) -> partly; a point with one seed or a non-discriminative setting outside
    Fig. 6 -> does not hold."""
    seeds, misplaced = {}, []
    for name in (FIG2, FIG3, FIG5, FIG6):
        if not t.has(name):
            continue
        df = t[name]
        seeds[name] = int(df["n_seeds"].min())
        if name != FIG6 and df["setting"].astype(str).str.contains("_nd_").any():
            misplaced.append(name)
    value = ", ".join(f"{n}: min {s} seeds" for n, s in seeds.items())
    low = min(seeds.values())
    if misplaced or low < 2:
        return Outcome(
            FAILS,
            value + (f"; non-discriminative in {misplaced}" if misplaced else ""),
            value,
        )
    return Outcome(HOLDS if low >= 5 else PARTLY, value, f"fewest seeds {low} (paper 5)")
