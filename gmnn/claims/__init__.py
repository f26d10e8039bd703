"""The reproduction scorecard: one check per finding of the paper (C01-C51 of
``reference/paper_claims.md``) over the tidy tables under ``results/``.

Each :class:`Claim` names the tables it reads, the paper's value and, in the docstring of
its rule, how "holds" / "partly" / "does not hold" / "not testable at this scale" are
decided (conventions in :mod:`gmnn.claims.core`). :func:`scorecard` runs them all;
:func:`write_scorecard` writes ``results/claims.csv`` and ``figures/claims.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from gmnn.analysis.tables import Table
from gmnn.claims import ala10, ani, md17, scope  # noqa: F401  (they register the claims)
from gmnn.claims.core import (
    CLAIMS,
    FAILS,
    HOLDS,
    PARTLY,
    TABLE_GROUPS,
    UNTESTABLE,
    VERDICTS,
    Claim,
    Outcome,
    Tables,
)

SCORECARD = Table(
    "reproduction scorecard",
    columns=("id", "figure", "statement", "paper_value", "our_value", "verdict", "reason"),
    comments=(
        "Reproduction scorecard: one row per finding of the paper (ids of reference/paper_claims.md), "
        "checked on the tidy tables of this run (rules in gmnn/claims, docs/claims.md)",
        "verdict: holds | partly | does not hold | not testable at this scale; "
        "our_value: the numbers the rule read; reason: why this verdict",
    ),
    keys=("id",),
    text=("id", "figure", "statement", "paper_value", "our_value", "verdict", "reason"),
)


def claims() -> list[Claim]:
    """Every check, in id order."""
    return sorted(CLAIMS, key=lambda c: c.id)


def scorecard(tables: Tables | Mapping) -> pd.DataFrame:
    """The scorecard over ``tables`` (a :class:`Tables`, or a mapping of table paths
    relative to ``results/`` to files)."""
    if not isinstance(tables, Tables):
        tables = Tables(tables)
    rows = []
    for c in claims():
        o = c.check(tables)
        rows.append(
            {
                "id": c.id,
                "figure": c.figure,
                "statement": c.statement,
                "paper_value": c.paper_value,
                "our_value": o.our_value,
                "verdict": o.verdict,
                "reason": o.reason,
            }
        )
    return SCORECARD.frame(rows)


def counts(card: pd.DataFrame, ids: tuple[str, str] | None = None) -> dict[str, int]:
    """Rows per verdict (every verdict listed), optionally of ids ``lo..hi`` only."""
    rows = card
    if ids is not None:
        rows = card[(card["id"] >= ids[0]) & (card["id"] <= ids[1])]
    n = Counter(rows["verdict"])
    return {v: int(n.get(v, 0)) for v in VERDICTS}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(card: pd.DataFrame) -> str:
    """The scorecard as a Markdown page: the counts per verdict, then the table."""
    lines = ["# Reproduction scorecard", ""]
    for label, ids in (("C01-C40", ("C01", "C40")), ("C41-C51", ("C41", "C51")), ("all", None)):
        n = counts(card, ids)
        lines.append(f"- {label}: " + ", ".join(f"{k} {v}" for k, v in n.items()))
    lines += [
        "",
        "| id | figure | finding | paper | ours | verdict | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in card.itertuples(index=False):
        cells = [
            r.id,
            r.figure,
            r.statement,
            r.paper_value,
            r.our_value,
            f"**{r.verdict}**",
            r.reason,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_scorecard(tables: Tables | Mapping, csv_path, md_path) -> pd.DataFrame:
    """Run :func:`scorecard` and write its CSV and Markdown page atomically."""
    from gmnn.io import atomic_write_text

    card = scorecard(tables)
    SCORECARD.write(card, csv_path)
    atomic_write_text(md_path, markdown(card))
    return card


def tables_from_inputs(paths, context: Mapping | None = None) -> Tables:
    """:class:`Tables` from input files under a ``results/`` directory (a rule's inputs):
    each keyed by its path relative to ``results/``."""
    keyed = {}
    for p in map(str, paths):
        rel = Path(p).as_posix().split("results/", 1)[-1]
        keyed[rel] = p
    return Tables(keyed, context)


__all__ = [
    "FAILS",
    "HOLDS",
    "PARTLY",
    "SCORECARD",
    "TABLE_GROUPS",
    "UNTESTABLE",
    "VERDICTS",
    "Claim",
    "Outcome",
    "Tables",
    "claims",
    "counts",
    "markdown",
    "scorecard",
    "tables_from_inputs",
    "write_scorecard",
]
