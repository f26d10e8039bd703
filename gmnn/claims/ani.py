"""Findings of Sec. 3.2 on the ANI data (Table 1, Figs. 5, 6) and their checks."""

from __future__ import annotations

import math

import pandas as pd

from gmnn.claims.core import (
    FAILS,
    FIG2_REFERENCE,
    FIG5,
    FIG6,
    HOLDS,
    PARTLY,
    TABLE1,
    Outcome,
    Tables,
    claim,
    combine,
    count_verdict,
    fmt,
    join,
    ratio_verdict,
    resolved,
    untestable,
)

POOLED = "comp6"
STAND_IN = (
    "the COMP6-role subsets are stand-ins (no paper values in the table): absolute errors "
    "on other data are not comparable with the paper's"
)


def _table1(t: Tables) -> pd.DataFrame:
    return t[TABLE1]


def _t1(df, subset, n, quantity, metric) -> tuple[float, float, float]:
    """(mean, sem, paper) of one Table 1 cell."""
    row = df[
        (df["subset"] == subset)
        & (df["n_train"] == n)
        & (df["quantity"] == quantity)
        & (df["metric"] == metric)
    ]
    if row.empty:
        return math.nan, math.nan, math.nan
    r = row.iloc[0]
    return float(r["mean"]), float(r["sem"]), float(r["paper"])


def _has_paper(df) -> bool:
    return bool(df["paper"].notna().any())


def _paper_cell(df, subset, n, quantity, metric) -> float:
    """The paper's value, the DrugBank force cells at 4,194,304 read transposed (as printed,
    MAE 2.61 > RMSE 1.55 is impossible; paper_claims.md C23, C50)."""
    if subset == "drugbank" and quantity == "force" and n == 4194304:
        metric = {"MAE": "RMSE", "RMSE": "MAE"}[metric]
    return _t1(df, subset, n, quantity, metric)[2]


def _agreement(df, subsets) -> tuple[str, list[str]]:
    """Ratios ours / paper over the cells of ``subsets`` with a paper value: all within
    0.8-1.25 -> holds; all within a factor 2 -> partly; else does not hold."""
    ratios, values = [], []
    for (subset, n), _ in df[df["subset"].isin(subsets)].groupby(["subset", "n_train"]):
        cells = []
        for q in ("energy", "force"):
            for metric in ("MAE", "RMSE"):
                ours, paper = (
                    _t1(df, subset, n, q, metric)[0],
                    _paper_cell(df, subset, n, q, metric),
                )
                if math.isnan(paper):
                    continue
                ratios.append(ours / paper)
                cells.append(f"{q[0].upper()} {metric} {fmt(ours)} ({fmt(paper)})")
        if cells:
            values.append(f"{subset} {n:g}: " + ", ".join(cells))
    if not ratios:
        return "", values
    values.append(f"ratios ours/paper {fmt(min(ratios))}-{fmt(max(ratios))}")
    if all(0.8 <= r <= 1.25 for r in ratios):
        return HOLDS, values
    return (PARTLY if all(0.5 <= r <= 2 for r in ratios) else FAILS), values


@claim(
    "C22",
    "Table 1",
    "COMP6 errors of the ANI-1x pre-trained GM-NN (whole COMP6)",
    "524,288: E 2.03/3.02, F 1.85/3.11; 4,194,304: E 1.83/2.79, F 1.65/2.74 (MAE/RMSE)",
    (TABLE1,),
)
def c22(t: Tables) -> Outcome:
    """Only on the real COMP6 (the table's paper column filled): every pooled COMP6 cell
    at the paper's sizes within 0.8-1.25x the paper's -> holds; within a factor 2 -> partly;
    otherwise does not hold. On stand-in data: not testable."""
    df = _table1(t)
    if not _has_paper(df):
        return untestable(STAND_IN, _pooled_text(df))
    v, values = _agreement(df, [POOLED])
    return (
        Outcome(v, join(values), values[-1] + " (0.8-1.25 holds, 0.5-2 partly)")
        if v
        else untestable("no pooled COMP6 row at the paper's sizes")
    )


def _pooled_text(df) -> str:
    parts = []
    for n in sorted(df["n_train"].unique()):
        cells = [
            f"{q[0].upper()} {m} {fmt(_t1(df, POOLED, n, q, m)[0])}"
            for q in ("energy", "force")
            for m in ("MAE", "RMSE")
        ]
        parts.append(f"pooled {n:g}: " + ", ".join(cells))
    return join(parts)


@claim(
    "C23",
    "Table 1",
    "8x more pre-training data lowers the COMP6 errors (E and F MAE about -10 %; every subset's E MAE/RMSE and F MAE)",
    "524,288 -> 4,194,304: E MAE 2.03 -> 1.83 (-10 %), F MAE 1.85 -> 1.65 (-11 %)",
    (TABLE1,),
)
def c23(t: Tables) -> Outcome:
    """Smallest vs largest Table 1 size: (a) the pooled E MAE and F MAE both fall, resolved
    from noise; (b) every subset's E MAE, E RMSE and F MAE fall (means). Both -> holds;
    the pooled ones fall (means) but (a) or (b) fails -> partly; a pooled one does not
    fall -> does not hold. One size -> not testable. (DrugBank's printed force entry at
    4,194,304 is inconsistent; the rule does not use the paper's values.)"""
    df = _table1(t)
    sizes = sorted(df["n_train"].unique())
    if len(sizes) < 2:
        return untestable(f"one Table 1 size ({sizes}): no size effect to read")
    lo, hi = sizes[0], sizes[-1]
    falls, texts, resolved_all = [], [], True
    for q in ("energy", "force"):
        a, sa, _ = _t1(df, POOLED, lo, q, "MAE")
        b, sb, _ = _t1(df, POOLED, hi, q, "MAE")
        falls.append(b < a)
        resolved_all &= resolved(a, sa, b, sb)
        texts.append(
            f"{q[0].upper()} MAE {fmt(a)} -> {fmt(b)} ({100 * (b / a - 1):+.0f} %, "
            f"sem {fmt(sa, 2)}, {fmt(sb, 2)})"
        )
    subsets = [s for s in df["subset"].unique() if s != POOLED]
    rising = [
        f"{s} {q[0].upper()} {m}"
        for s in subsets
        for q, m in (("energy", "MAE"), ("energy", "RMSE"), ("force", "MAE"))
        if not _t1(df, s, hi, q, m)[0] < _t1(df, s, lo, q, m)[0]
    ]
    value = f"pooled {lo:g} -> {hi:g} ({fmt(hi / lo, 2)}x): " + ", ".join(texts)
    value += "; subsets not falling: " + (", ".join(rising) or "none")
    if not all(falls):
        return Outcome(FAILS, value, "a pooled MAE does not fall: " + ", ".join(texts))
    v = HOLDS if resolved_all and not rising else PARTLY
    return Outcome(
        v,
        value,
        f"pooled falls resolved from seed scatter: {resolved_all}; every subset falls: {not rising}",
    )


@claim(
    "C24",
    "Table 1 / Sec. 3.2",
    "GM-NN (524,288) performs close to NewtonNet on COMP6",
    "MAE E/F: GM-NN 2.03/1.85; NewtonNet 1.45/1.79; ANI 1.61/2.70",
    (TABLE1,),
)
def c24(t: Tables) -> Outcome:
    """Only on the real COMP6 at 524,288: our pooled E and F MAE within 1.5x NewtonNet's
    1.45 and 1.79 (the paper's own gap in energy is 1.4x) -> holds for both; one -> partly;
    none -> does not hold. Elsewhere not testable (literature values of other models on the
    real COMP6)."""
    df = _table1(t)
    if not _has_paper(df) or 524288 not in set(df["n_train"]):
        return untestable(
            "needs the real COMP6 at 524,288 (literature values of other models)", _pooled_text(df)
        )
    e, f = _t1(df, POOLED, 524288, "energy", "MAE")[0], _t1(df, POOLED, 524288, "force", "MAE")[0]
    ok = [e <= 1.5 * 1.45, f <= 1.5 * 1.79]
    return Outcome(
        count_verdict(ok),
        f"pooled MAE E {fmt(e)}, F {fmt(f)} (NewtonNet 1.45, 1.79)",
        f"E MAE {fmt(e)} vs 2.18, F MAE {fmt(f)} vs 2.69 (1.5x NewtonNet)",
    )


def _table1_subsets(t: Tables, quantity: str) -> Outcome:
    df = _table1(t)
    if not _has_paper(df):
        return untestable(STAND_IN)
    subsets = [s for s in df["subset"].unique() if s != POOLED]
    sub = df[df["quantity"] == quantity]
    v, values = _agreement(sub, subsets)
    if not v:
        return untestable("no subset with the paper's values")
    return Outcome(v, join(values), values[-1] + " (0.8-1.25 holds, 0.5-2 partly)")


@claim(
    "C49",
    "Table 1",
    "COMP6 subsets, energy MAE/RMSE",
    "e.g. ANI-MD 3.83/7.06 -> 3.48/6.41; GDB07to09 1.22/1.61 -> 1.09/1.44 (524,288 -> 4,194,304)",
    (TABLE1,),
)
def c49(t: Tables) -> Outcome:
    """Only on the real COMP6: every subset's energy MAE and RMSE within 0.8-1.25x the
    paper's -> holds; within a factor 2 -> partly; otherwise does not hold. Stand-in
    subsets: not testable."""
    return _table1_subsets(t, "energy")


@claim(
    "C50",
    "Table 1",
    "COMP6 subsets, force MAE/RMSE",
    "e.g. ANI-MD 1.43/2.57 -> 1.32/2.47; DrugBank 1.69/2.82 -> 2.61/1.55 as printed",
    (TABLE1,),
)
def c50(t: Tables) -> Outcome:
    """As C49 for forces; DrugBank at 4,194,304 compared with the transposed cells (MAE
    1.55, RMSE 2.61), since as printed the MAE exceeds the RMSE, which is impossible."""
    return _table1_subsets(t, "force")


# --- Fig. 5 ------------------------------------------------------------------------------


def _fig5_curve(df, setting, n_pretrain=None) -> pd.DataFrame:
    rows = df[df["setting"] == setting]
    if n_pretrain is not None:
        rows = rows[rows["n_pretrain"] == n_pretrain]
    return rows.set_index("n_train").sort_index()


@claim(
    "C25",
    "Fig. 5",
    "ANI-1ccx-role energies: fine-tuning reaches the from-scratch error with ~6-10x fewer structures",
    "fine-tuned 65,536: 1.77 vs from scratch 399,360: 3.39 kcal/mol (6.1x fewer; Sec. 4: tenfold); fine-tuned 399,360: 1.57",
    (FIG5,),
)
def c25(t: Tables) -> Outcome:
    """Fine-tuned from the largest pre-training size vs from scratch. Baseline: the best
    from-scratch energy RMSE over the grid (the paper's is at its largest size) at size
    n_ref; n* = the smallest size where the fine-tuned RMSE is at or below it; factor f =
    n_ref / n* (a lower bound on the grid). Gain g = baseline / fine-tuned RMSE at the
    largest size (paper 3.39 / 1.57 = 2.2). f >= 6 and g >= 2 -> holds; f >= 2 or g >= 2 ->
    partly; otherwise does not hold. A from-scratch curve that rises with size is reported."""
    df = t[FIG5]
    finetuned = df[df["setting"] == "finetune_E"]
    if finetuned.empty or (df["setting"] == "scratch_E").sum() == 0:
        return untestable("Fig. 5 lacks finetune_E or scratch_E")
    npre = finetuned["n_pretrain"].max()
    ft, sc = _fig5_curve(df, "finetune_E", npre), _fig5_curve(df, "scratch_E")
    n_ref = float(sc["energy_rmse_mean"].idxmin())
    base = float(sc.loc[n_ref, "energy_rmse_mean"])
    hits = [n for n, v in ft["energy_rmse_mean"].items() if v <= base]
    f = n_ref / min(hits) if hits else 0.0
    g = base / float(ft["energy_rmse_mean"].iloc[-1])
    rising = [
        f"{a:g}->{b:g}"
        for a, b in zip(sc.index[:-1], sc.index[1:], strict=True)
        if sc.loc[b, "energy_rmse_mean"] > sc.loc[a, "energy_rmse_mean"]
    ]
    v = HOLDS if f >= 6 and g >= 2 else PARTLY if f >= 2 or g >= 2 else FAILS
    value = (
        f"scratch best {fmt(base)} at N={n_ref:g}"
        + (f" (rises {', '.join(rising)})" if rising else "")
        + f"; fine-tuned (pre {npre:g}) "
        + ", ".join(f"{n:g}: {fmt(x)}" for n, x in ft["energy_rmse_mean"].items())
        + f"; factor {fmt(f)}, gain at largest {fmt(g)}"
    )
    return Outcome(
        v,
        value,
        f"sample-efficiency factor {fmt(f)} (>= 6?), gain at the largest size {fmt(g)} (>= 2?)",
    )


@claim(
    "C26",
    "Fig. 5",
    "For small N_T, N_S should not exceed ~10 N_T; for large N_T the error is insensitive to N_S",
    "N_T < 65,536: N_S <= ~10 N_T; larger N_T: insensitive (Sec. 4: > 60,000)",
    (FIG5,),
)
def c26(t: Tables) -> Outcome:
    """Needs at least two pre-training sizes in Fig. 5. Small N_T: below 65,536/399,360 of
    the largest ANI-1ccx-role size (the paper's boundary). A small-N_T curve with its
    largest N_S above 10 N_T agrees when that N_S is not resolved below the smallest N_S
    (pre-training past 10 N_T does not help); a large-N_T curve agrees when the two differ
    by less than the noise or 5 %. All agree -> holds; some -> partly; none -> does not
    hold."""
    df = t[FIG5]
    ft = df[df["setting"] == "finetune_E"]
    sizes = sorted(ft["n_pretrain"].dropna().unique())
    if len(sizes) < 2:
        return untestable(
            f"one pre-training size in Fig. 5 ({', '.join(f'{s:g}' for s in sizes)}); the finding compares several"
        )
    boundary = 65536 / 399360 * df["n_train"].max()
    verdicts, values = [], []
    for n, rows in ft.groupby("n_train"):
        c = rows.set_index("n_pretrain").sort_index()
        a, b = c.iloc[0], c.iloc[-1]
        ea, eb = a["energy_rmse_mean"], b["energy_rmse_mean"]
        if n < boundary:
            if c.index[-1] <= 10 * n:
                continue
            ok = not resolved(ea, a["energy_rmse_sem"], eb, b["energy_rmse_sem"])
        else:
            ok = abs(ea - eb) <= max(
                math.hypot(a["energy_rmse_sem"] or 0, b["energy_rmse_sem"] or 0), 0.05 * ea
            )
        verdicts.append(HOLDS if ok else FAILS)
        values.append(
            f"N_T={n:g} ({'small' if n < boundary else 'large'}): N_S {c.index[0]:g} {fmt(ea)} -> {c.index[-1]:g} {fmt(eb)}"
        )
    if not verdicts:
        return untestable("no Fig. 5 curve with N_S beyond 10 N_T or a large N_T", join(values))
    return Outcome(
        combine(verdicts), join(values), join(values) + f"; small N_T below {boundary:g}"
    )


# --- Fig. 6 ------------------------------------------------------------------------------


def _fig6(df, molecule, setting, n_pretrain=None) -> pd.Series | pd.DataFrame:
    rows = df[(df["molecule"] == molecule) & (df["setting"] == setting)]
    if n_pretrain is None:
        return rows.set_index("n_pretrain").sort_index()
    return rows[rows["n_pretrain"] == n_pretrain].iloc[0]


def _fig6_row(df, molecule, setting) -> pd.Series:
    """A from-scratch or pre-trained row, or a fine-tuned one at the largest N_S."""
    rows = df[(df["molecule"] == molecule) & (df["setting"] == setting)]
    if rows.empty:
        raise KeyError(f"Fig. 6 has no {setting} row for {molecule}")
    return rows.sort_values("n_pretrain").iloc[-1]


def _below(a, b, quantity: str = "force") -> bool:
    """Row ``a``'s RMSE of ``quantity`` below row ``b``'s, resolved from the seed scatter."""
    q = f"{quantity}_rmse"
    return resolved(b[f"{q}_mean"], b[f"{q}_sem"], a[f"{q}_mean"], a[f"{q}_sem"])


def _ef(row) -> str:
    """``E <energy RMSE> F <force RMSE>`` of a row (means)."""
    return f"E {fmt(row['energy_rmse_mean'])} F {fmt(row['force_rmse_mean'])}"


def _fig6_molecules(df) -> list[str]:
    return sorted(df["molecule"].unique())


def _fig6_check(t: Tables, fn) -> Outcome:
    df = t[FIG6]
    verdicts, values, reasons = [], [], []
    for m in _fig6_molecules(df):
        try:
            v, value, reason = fn(df, m)
        except KeyError as err:
            return untestable(f"Fig. 6 lacks a setting this finding needs: {err.args[0]}")
        verdicts.append(v)
        values.append(f"{m}: {value}")
        reasons.append(reason)
    v = combine(verdicts)
    reason = join(f"{m}: {r}" for m, r in zip(_fig6_molecules(df), reasons, strict=True))
    return Outcome(v, join(values), reason if v != FAILS else f"{reason}; {join(values)}")


@claim(
    "C27",
    "Fig. 6",
    "The fine-tuned error falls with the ANI-1x pre-training size, E+F and E-only",
    "improves with pre-training size up to 4,194,304 (number of sizes not stated)",
    (FIG6,),
)
def c27(t: Tables) -> Outcome:
    """Discriminative fine-tuning (finetune_E, finetune_EF), energy and force RMSE: four
    curves over N_S. At least three sizes, all four fall from the smallest to the largest
    N_S resolved from noise and no step rises beyond noise -> holds; some fall resolved and
    none rises resolved (or two sizes only: a direction, not a trend) -> partly; none
    falls resolved, or one rises resolved -> does not hold."""

    def rule(df, m):
        n_sizes, fall, rise, parts = 0, 0, 0, []
        for s in ("finetune_E", "finetune_EF"):
            c = _fig6(df, m, s)
            if c.empty:
                raise KeyError(s)
            n_sizes = len(c)
            for q in ("energy_rmse", "force_rmse"):
                mean, sem = c[f"{q}_mean"], c[f"{q}_sem"]
                fall += resolved(mean.iloc[0], sem.iloc[0], mean.iloc[-1], sem.iloc[-1])
                rise += any(
                    resolved(mean.iloc[i + 1], sem.iloc[i + 1], mean.iloc[i], sem.iloc[i])
                    for i in range(len(c) - 1)
                )
                parts.append(
                    f"{s} {q.split('_')[0][0].upper()} " + " -> ".join(fmt(x) for x in mean)
                )
        sizes = ", ".join(f"{n:g}" for n in _fig6(df, m, "finetune_E").index)
        if rise or not fall:
            v = FAILS
        elif n_sizes >= 3 and fall == 4:
            v = HOLDS
        else:
            v = PARTLY
        return (
            v,
            f"N_S {sizes}: " + "; ".join(parts),
            f"{fall}/4 curves fall resolved, {rise} rise resolved, {n_sizes} sizes",
        )

    return _fig6_check(t, rule)


@claim(
    "C28",
    "Fig. 6",
    "E-only fine-tuning of the ANI-1x model cuts the force RMSE 6.3x vs from scratch",
    "aspirin 950: F 19.50 -> 3.08 kcal/mol/A (6.3x)",
    (FIG6,),
)
def c28(t: Tables) -> Outcome:
    """Force gain from-scratch E-only / fine-tuned E-only (largest N_S), by the convention
    for one ratio: >= 6.3/2 -> holds; above 1 resolved -> partly; else does not hold."""

    def rule(df, m):
        s, f = _fig6_row(df, m, "scratch_E"), _fig6_row(df, m, "finetune_E")
        g = s["force_rmse_mean"] / f["force_rmse_mean"]
        ok = resolved(
            s["force_rmse_mean"], s["force_rmse_sem"], f["force_rmse_mean"], f["force_rmse_sem"]
        )
        value = f"F {fmt(s['force_rmse_mean'])} -> {fmt(f['force_rmse_mean'])} (+-{fmt(f['force_rmse_sem'], 2)}), gain {fmt(g)}"
        return (
            ratio_verdict(g, 6.3, ok),
            value,
            f"force gain {fmt(g)} vs the paper's 6.3 (holds from 3.15; resolved above 1: {ok})",
        )

    return _fig6_check(t, rule)


@claim(
    "C29",
    "Fig. 6",
    "E+F discriminative fine-tuning gives no improvement over from scratch, which beats the pre-trained model",
    "no improvement (E+F); from scratch below the pre-trained force error",
    (FIG6,),
)
def c29(t: Tables) -> Outcome:
    """Force RMSE: (a) fine-tuned E+F (discriminative, largest N_S) not resolved below
    from-scratch E+F; (b) from-scratch E+F below the pre-trained model. Both -> holds; one
    -> partly; none -> does not hold."""

    def rule(df, m):
        f, s, p = (_fig6_row(df, m, k) for k in ("finetune_EF", "scratch_EF", "pretrained"))
        a = not _below(f, s)
        b = s["force_rmse_mean"] < p["force_rmse_mean"]
        value = f"F fine-tuned E+F {fmt(f['force_rmse_mean'])}, scratch E+F {fmt(s['force_rmse_mean'])}, pre-trained {fmt(p['force_rmse_mean'])}"
        why = f"fine-tuned E+F not below scratch E+F: {a}; scratch E+F below pre-trained: {b}"
        return count_verdict([a, b]), value, why

    return _fig6_check(t, rule)


@claim(
    "C30",
    "Fig. 6",
    "E+F non-discriminative fine-tuning beats both discriminative fine-tuning and from scratch",
    "outperforms both (green lines)",
    (FIG6,),
)
def c30(t: Tables) -> Outcome:
    """Non-discriminative E+F (largest N_S) vs discriminative E+F and from-scratch E+F, in
    energy and force RMSE (four comparisons, means): all four lower -> holds; lower in force
    than at least one of them -> partly; otherwise does not hold."""

    def rule(df, m):
        nd = _fig6_row(df, m, "finetune_nd_EF")
        refs = {"disc.": _fig6_row(df, m, "finetune_EF"), "scratch": _fig6_row(df, m, "scratch_EF")}
        wins = {
            (k, q): nd[f"{q}_rmse_mean"] < r[f"{q}_rmse_mean"]
            for k, r in refs.items()
            for q in ("energy", "force")
        }
        force_wins = sum(wins[(k, "force")] for k in refs)
        v = HOLDS if all(wins.values()) else PARTLY if force_wins else FAILS
        value = f"non-disc. {_ef(nd)}; " + "; ".join(f"{k} {_ef(r)}" for k, r in refs.items())
        return v, value, f"{sum(wins.values())}/4 comparisons won"

    return _fig6_check(t, rule)


@claim(
    "C31",
    "Fig. 6",
    "E-only: discriminative fine-tuning beats non-discriminative",
    "discriminative better (E-only)",
    (FIG6,),
)
def c31(t: Tables) -> Outcome:
    """E-only, largest N_S: discriminative below non-discriminative in force RMSE (resolved)
    and energy RMSE -> holds; one of the two -> partly; none -> does not hold."""

    def rule(df, m):
        d, nd = _fig6_row(df, m, "finetune_E"), _fig6_row(df, m, "finetune_nd_E")
        a, b = _below(d, nd), d["energy_rmse_mean"] < nd["energy_rmse_mean"]
        value = f"disc. {_ef(d)}; non-disc. {_ef(nd)}"
        forces = f"{fmt(d['force_rmse_mean'])} vs {fmt(nd['force_rmse_mean'])}"
        why = f"disc. force lower, resolved: {a} ({forces}); energy lower: {b}"
        return count_verdict([a, b]), value, why

    return _fig6_check(t, rule)


@claim(
    "C32",
    "Sec. 3.2",
    "The ANI-1x model's error is less than 10x below the from-scratch E-only error, unlike MD17 pre-training",
    "F 2.74 vs from-scratch E-only 19.5 (7x); MD17 pre-training 0.43 (45x)",
    (FIG6, TABLE1, FIG2_REFERENCE),
)
def c32(t: Tables) -> Outcome:
    """R_ani = from-scratch E-only force RMSE (Fig. 6 molecule) / pooled COMP6-role force
    RMSE of the largest pre-trained model (the paper's 2.74 is Table 1's); R_md17 = the same
    from-scratch error / the MD17 DFT-pre-trained model's DFT test force RMSE. (a) 1 < R_ani <
    10 ("less than an order of magnitude smaller"); (b) R_md17 > R_ani. Both -> holds; one
    -> partly; none -> does not hold."""
    t1, ref = _table1(t), t[FIG2_REFERENCE]
    n = t1["n_train"].max()
    f_ani = _t1(t1, POOLED, n, "force", "RMSE")[0]

    def rule(df, m):
        sc = _fig6_row(df, m, "scratch_E")["force_rmse_mean"]
        dft = ref[(ref["molecule"] == m) & (ref["test_set"] == "dft")]
        f_md17 = float(dft["force_rmse_mean"].iloc[0]) if len(dft) else math.nan
        r_ani, r_md17 = sc / f_ani, sc / f_md17
        ok = [1 < r_ani < 10, r_md17 > r_ani]
        value = (
            f"scratch E F {fmt(sc)}; pre-trained ANI F {fmt(f_ani)} (R {fmt(r_ani)}); "
            f"MD17 DFT model F {fmt(f_md17)} (R {fmt(r_md17)})"
        )
        return (
            count_verdict(ok),
            value,
            f"R_ani {fmt(r_ani)} (between 1 and 10?), R_md17 {fmt(r_md17)} (above R_ani?)",
        )

    return _fig6_check(t, rule)


@claim(
    "C47",
    "Sec. 3.2 / Sec. 4",
    "Judge the useful pre-training amount by the pre-training error relative to the from-scratch error",
    "a guideline (no measurement)",
    (FIG6, TABLE1),
)
def c47(t: Tables) -> Outcome:
    """A guideline drawn from comparing Figs. 3 and 6, not a measurement: not testable.
    Our ratio of the from-scratch E-only force error to the pre-trained model's is
    reported."""
    df, t1 = t[FIG6], _table1(t)
    n = t1["n_train"].max()
    f_ani = _t1(t1, POOLED, n, "force", "RMSE")[0]
    values = []
    for m in _fig6_molecules(df):
        rows = df[(df["molecule"] == m) & (df["setting"] == "scratch_E")]
        if len(rows):
            values.append(
                f"{m}: scratch E F / pre-trained F = {fmt(rows['force_rmse_mean'].iloc[0] / f_ani)}"
            )
    return untestable(
        "a guideline, not a measurement (it would need pre-training sets whose error ratio spans the paper's)",
        join(values),
    )
