"""The machinery of the scorecard: a :class:`Claim` per finding, the tidy tables it reads
(:class:`Tables`), the four verdicts and the helpers the rules share.

Conventions every rule follows (stated once here, repeated where a rule departs):

* "gain" is the from-scratch error divided by the fine-tuned error (the paper's
  "improvement factor"); a ratio is compared with the paper's ratio, never an absolute error
  on other data with the paper's absolute error.
* A difference is *resolved* when it exceeds the two standard errors of the mean combined
  (``sqrt(sem_a**2 + sem_b**2)``); a missing standard error (one seed) counts as zero.
* Where the paper gives one number for a ratio, ours holds within a factor of two of it (or
  beyond it in the paper's direction), partly holds on the paper's side of 1 (resolved),
  and does not hold otherwise. Where it gives a range over its five molecules, each of our
  molecules must lie inside the range to hold (a single molecule is one draw of the five).
* The paper's sizes map onto the configured grid by rank: its largest MD17 training size
  (950) is our largest, its "small" Fig. 4 size (128) our smallest of the MD runs.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

HOLDS = "holds"
PARTLY = "partly"
FAILS = "does not hold"
UNTESTABLE = "not testable at this scale"
VERDICTS = (HOLDS, PARTLY, FAILS, UNTESTABLE)

# The tidy tables the checks read (paths relative to results/) and the config section
# (figure group) whose rules write each one.
TABLE_GROUPS = {
    "md17/fig2_learning_curves.csv": "md17",
    "md17/fig2_dft_reference.csv": "md17",
    "md17/fig3_pretrain_size.csv": "pretrain_size",
    "md17/md_runs.csv": "md",
    "md17/spectra_peaks.csv": "md",
    "md17/harmonic_frequencies.csv": "md",
    "md17/bond_histograms.csv": "md",
    "ani/table1_comp6.csv": "ani",
    "ani/fig5_learning_curves.csv": "ani",
    "ani/fig6_pretrain_size.csv": "ani",
    "ani/md_runs.csv": "ala10",
}

FIG2 = "md17/fig2_learning_curves.csv"
FIG2_REFERENCE = "md17/fig2_dft_reference.csv"
FIG3 = "md17/fig3_pretrain_size.csv"
MD_RUNS = "md17/md_runs.csv"
PEAKS = "md17/spectra_peaks.csv"
HARMONIC = "md17/harmonic_frequencies.csv"
HISTOGRAMS = "md17/bond_histograms.csv"
TABLE1 = "ani/table1_comp6.csv"
FIG5 = "ani/fig5_learning_curves.csv"
FIG6 = "ani/fig6_pretrain_size.csv"
ALA10_RUNS = "ani/md_runs.csv"


@dataclass(frozen=True)
class Outcome:
    """A check's result: the verdict, our value (the numbers, short) and why."""

    verdict: str
    our_value: str
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r} (one of {VERDICTS})")
        if self.verdict == FAILS and not any(ch.isdigit() for ch in self.reason):
            raise ValueError(
                f"a 'does not hold' outcome needs its measured numbers: {self.reason!r}"
            )


def untestable(reason: str, our_value: str = "") -> Outcome:
    return Outcome(UNTESTABLE, our_value, reason)


class Tables:
    """The tidy tables of one run, read on first use.

    ``paths`` maps a table's path relative to ``results/`` (e.g.
    ``md17/fig2_learning_curves.csv``) to its file; a table not given is one whose figure
    group is off in the config. ``context`` holds what no table records (``atoms``: atoms
    per MD17 molecule).
    """

    def __init__(self, paths: Mapping[str, str | Path], context: Mapping | None = None):
        self.paths = {str(k): Path(v) for k, v in paths.items()}
        self.context = dict(context or {})
        self._frames: dict[str, pd.DataFrame] = {}

    @classmethod
    def from_results(cls, results: str | Path, names: Iterable[str] | None = None, context=None):
        """The tables of ``names`` (default: every table of :data:`TABLE_GROUPS`) that exist
        under the directory ``results``."""
        results = Path(results)
        names = TABLE_GROUPS if names is None else names
        return cls({n: results / n for n in names if (results / n).is_file()}, context)

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], context=None):
        """Tables given as DataFrames (keyed by their path relative to ``results/``)."""
        tables = cls({name: name for name in frames}, context)
        tables._frames.update(frames)
        return tables

    def has(self, name: str) -> bool:
        return name in self.paths

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = read_tidy(self.paths[name])
        return self._frames[name]


def read_tidy(path) -> pd.DataFrame:
    """A tidy table (``#`` comment lines on top, then CSV) as a DataFrame."""
    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    if not lines:
        raise ValueError(f"{path}: no header line (expected a tidy table)")
    return pd.read_csv(io.StringIO("".join(lines)))


@dataclass(frozen=True)
class Claim:
    """One finding of the paper as a check.

    ``evaluate(tables)`` computes our value and the verdict; its docstring states the rule.
    ``tables`` are the tables it needs (paths relative to ``results/``); when one is not in
    the run (its figure group is off), the claim is not testable and ``evaluate`` is not
    called.
    """

    id: str
    figure: str
    statement: str
    paper_value: str
    tables: tuple[str, ...]
    evaluate: Callable[[Tables], Outcome] = field(repr=False)

    @property
    def rule(self) -> str:
        """The rule, as stated in the docstring of :attr:`evaluate`."""
        return " ".join((self.evaluate.__doc__ or "").split())

    def check(self, tables: Tables) -> Outcome:
        missing = [t for t in self.tables if not tables.has(t)]
        if missing:
            groups = sorted({TABLE_GROUPS.get(t, "?") for t in missing})
            return untestable(
                f"{', '.join(missing)} not in this run (figure group off in the config: "
                f"{', '.join(groups)})"
            )
        return self.evaluate(tables)


CLAIMS: list[Claim] = []


def claim(id: str, figure: str, statement: str, paper_value: str, tables: Iterable[str] = ()):
    """Register the decorated function as the rule of finding ``id``."""

    def register(fn: Callable[[Tables], Outcome]):
        if any(c.id == id for c in CLAIMS):
            raise ValueError(f"claim {id} registered twice")
        CLAIMS.append(Claim(id, figure, statement, paper_value, tuple(tables), fn))
        return fn

    return register


# --- shared helpers --------------------------------------------------------------------


def fmt(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits ("nan" for a missing one)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.{digits}g}"


def sem0(x) -> float:
    """A standard error, zero where missing (one seed)."""
    return 0.0 if x is None or pd.isna(x) else float(x)


def resolved(a: float, sa, b: float, sb) -> bool:
    """True when ``a - b`` exceeds the two standard errors combined (``a`` resolved above
    ``b``)."""
    return a - b > math.hypot(sem0(sa), sem0(sb))


def combine(verdicts: Iterable[str]) -> str:
    """One verdict from several parts (molecules, ensembles): every part holds -> holds;
    none holds or partly holds -> does not hold; otherwise partly. Untestable parts are left
    out; all untestable -> untestable."""
    parts = [v for v in verdicts if v != UNTESTABLE]
    if not parts:
        return UNTESTABLE
    if all(v == HOLDS for v in parts):
        return HOLDS
    if all(v == FAILS for v in parts):
        return FAILS
    return PARTLY


def count_verdict(conditions: Iterable[bool]) -> str:
    """Every condition met -> holds; some -> partly; none -> does not hold."""
    met = [bool(c) for c in conditions]
    if all(met):
        return HOLDS
    return PARTLY if any(met) else FAILS


def ratio_verdict(ours: float, paper: float, resolved_above_one: bool) -> str:
    """The convention for a ratio the paper gives as one number (> 1): within a factor of
    two of it, or beyond it -> holds; above 1 and resolved from noise -> partly; else does
    not hold."""
    if ours >= paper / 2:
        return HOLDS
    return PARTLY if ours > 1 and resolved_above_one else FAILS


def range_verdict(ours: float, lo: float, hi: float) -> str:
    """The convention for a ratio the paper gives as a range over molecules: inside ->
    holds; above 1 but outside -> partly; at or below 1 -> does not hold."""
    if lo <= ours <= hi:
        return HOLDS
    return PARTLY if ours > 1 else FAILS


def join(parts: Iterable[str], sep: str = "; ") -> str:
    return sep.join(p for p in parts if p)
