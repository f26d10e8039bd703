"""Tidy tables: CSV files with ``#`` comment lines on top, each described once by a :class:`Table`.

A :class:`Table` names a table, lists its columns (in file order), the comment lines written
above the header (units, what the table is), the key columns that identify a row, the
columns that hold text and the numeric columns whose missing value is an empty field
(e.g. "diverged at" of a run that did not diverge). Each table is defined next to the code
that produces it (:mod:`gmnn.analysis.aggregate`, :mod:`gmnn.analysis.md`,
:mod:`gmnn.analysis.bonds`); readers such as :mod:`gmnn.plots` import it from there.

File format: ``# <comment>`` lines, then a CSV header and rows (``,``-separated, minimal
quoting, ``\\n`` line ends). Floats are written with 10 significant digits (``%.10g``),
missing numbers as ``nan`` (or as an empty field in ``blank`` columns), missing text as an
empty field. Plain ``pandas.read_csv(path, comment="#")`` reads them too (as long as no
text holds a ``#``).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

FLOAT_FORMAT = "%.10g"
"""How floats are written: 10 significant digits, integral values without a decimal point."""

MISSING_NUMBER = "nan"
"""How a missing number is written (outside ``blank`` columns)."""

_NUMERIC_NA = ["", "nan", "NaN", "-nan", "NA", "<NA>"]

# Floats parsed exactly as Python's float() does (pandas 3 does so by default and
# deprecates the option).
READ_OPTIONS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}

_log = logging.getLogger(__name__)


def read_json_object(path: str | os.PathLike, what: str = "JSON record") -> dict:
    """The JSON object in ``path`` (a job's metrics.json or summary.json). Anything else
    (unreadable, not UTF-8, empty, invalid JSON, not an object) is a ValueError naming
    ``path``, what is wrong (line and column of a JSON syntax error) and what to do."""
    import json

    remedy = "delete it to have the job that writes it rerun"
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: not a valid {what} (not UTF-8 text: byte {err.start}); {remedy}"
        ) from None
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(f"{path}: cannot read the {what}: {err.strerror or err}") from None
    if not text.strip():
        raise ValueError(f"{path}: empty file, not a valid {what}; {remedy}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path}: not a valid {what}: invalid JSON at line {err.lineno}, column {err.colno} "
            f"({err.msg}); {remedy}"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(
            f"{path}: expected a JSON object ({what}), got {type(value).__name__}; {remedy}"
        )
    return value


@dataclass(frozen=True)
class Table:
    """The description of one tidy table: its name, columns and header comments.

    Attributes:
        name: what the table is, for messages ("Fig. 2 learning curves").
        columns: the columns, in file order; a file must have exactly these.
        comments: the ``#`` lines written above the header (without the ``# ``).
        keys: the columns that identify a row (e.g. molecule, setting, n_train); a table
            with two rows of one key is not written.
        text: the columns that hold text; every other column is numeric.
        blank: numeric columns whose missing value is written as an empty field.
        optional: numeric columns a table may lack: a frame, row set or file without
            them gets them as NaN (the convergence summary of
            :data:`gmnn.analysis.aggregate.CONVERGENCE_COLUMNS`, which tables of
            hand-made rows and files written before it existed do not have).
    """

    name: str
    columns: tuple[str, ...]
    comments: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    blank: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field in ("columns", "comments", "keys", "text", "blank", "optional"):
            object.__setattr__(self, field, tuple(getattr(self, field)))
        repeated = sorted({c for c in self.columns if self.columns.count(c) > 1})
        if repeated:
            raise ValueError(f"{self.name} table: column(s) {repeated} listed twice")
        for field in ("keys", "text", "blank", "optional"):
            unknown = [c for c in getattr(self, field) if c not in self.columns]
            if unknown:
                raise ValueError(f"{self.name} table: {field} {unknown} are not columns")
        if set(self.text) & set(self.blank):
            raise ValueError(f"{self.name} table: a column cannot be both text and blank")
        if set(self.optional) & (set(self.text) | set(self.keys)):
            raise ValueError(f"{self.name} table: an optional column must be numeric, not a key")
        bad = [line for line in self.comments if "\n" in line]
        if bad:
            raise ValueError(f"{self.name} table: comment lines must not contain newlines")

    @property
    def numeric(self) -> tuple[str, ...]:
        """The numeric columns (all but :attr:`text`)."""
        return tuple(c for c in self.columns if c not in self.text)

    def with_comments(self, *comments: str, name: str | None = None) -> Table:
        """The same columns under other header comments (and, optionally, another name)."""
        return dataclasses.replace(self, comments=comments, name=name or self.name)

    # --- building and checking ----------------------------------------------------------

    def frame(self, rows: pd.DataFrame | Iterable[Mapping] = ()) -> pd.DataFrame:
        """A DataFrame of exactly this table's columns, in order, from rows (mappings) or
        a DataFrame; a missing or extra column is a ValueError. No rows give an empty
        table (numeric columns float, text columns str)."""
        if isinstance(rows, pd.DataFrame):
            df = rows
        else:
            rows = list(rows)
            df = pd.DataFrame.from_records(rows) if rows else self._empty()
        return self._typed(self._exact(df, f"the {self.name} table"), f"the {self.name} table")

    def load(self, table) -> pd.DataFrame:
        """A table given as a CSV path (:meth:`read`), a DataFrame or rows (mappings), or
        None (no rows). In-memory tables must have every column and may have others."""
        if table is None:
            return self._empty()
        if isinstance(table, (str, os.PathLike)):
            return self.read(table)
        df = table if isinstance(table, pd.DataFrame) else pd.DataFrame.from_records(list(table))
        if df.empty and len(df.columns) == 0:
            return self._empty()
        missing = [c for c in self.columns if c not in df.columns and c not in self.optional]
        if missing:
            raise ValueError(f"{self.source(table)}: missing column(s) {missing}")
        return self._with_optional(df)

    def source(self, table) -> str:
        """How messages name ``table``: its path, or "the <name> table"."""
        if isinstance(table, (str, os.PathLike)):
            return str(table)
        return f"the {self.name} table"

    # --- files --------------------------------------------------------------------------

    def format(self, df, comments: Sequence[str] | None = None) -> str:
        """The CSV text of ``df`` (a DataFrame or rows with exactly this table's columns)
        with the comment lines ``comments`` (default: :attr:`comments`) on top."""
        return self._format(df, comments, f"the {self.name} table")

    def write(self, df, path, comments: Sequence[str] | None = None) -> Path:
        """Write ``df`` (DataFrame or rows) to ``path`` atomically (:func:`gmnn.io.atomic_path`);
        a missing or extra column, text in a numeric column or a repeated key is a
        ValueError naming ``path``. Returns ``path``."""
        from gmnn.io import atomic_path

        text = self._format(df, comments, str(path))
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        _log.info("%s: %d rows (%s)", path, len(df), self.name)
        return Path(path)

    def read(self, path) -> pd.DataFrame:
        """Read a table file: comment lines are kept in ``df.attrs["comments"]``, the path in
        ``df.attrs["source"]``. The header must hold exactly this table's columns (in any
        order; returned in table order) and numeric columns must hold numbers, otherwise a
        ValueError names the file and the column."""
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                lines = fh.read().splitlines(keepends=True)
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{path}: not a valid {self.name} table (not UTF-8 text: byte {err.start})"
            ) from None
        comments = []
        while lines and lines[0].startswith("#"):
            comments.append(lines.pop(0)[1:].rstrip("\r\n").removeprefix(" "))
        if not lines:
            raise ValueError(f"{path}: no header line (expected the {self.name} table)")
        try:
            df = pd.read_csv(
                io.StringIO("".join(lines)),
                dtype={c: str for c in self.text},
                keep_default_na=False,
                na_values={c: _NUMERIC_NA for c in self.numeric},
                **READ_OPTIONS,
            )
        except (pd.errors.ParserError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"{path}: not a valid {self.name} table ({first})") from None
        df = self._typed(self._exact(df, str(path)), str(path))
        df.attrs["comments"] = comments
        df.attrs["source"] = str(path)
        return df

    # --- internals ----------------------------------------------------------------------

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame(
            {c: pd.Series(dtype=str if c in self.text else float) for c in self.columns}
        )

    def _with_optional(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with every :attr:`optional` column it lacks added as NaN."""
        absent = [c for c in self.optional if c not in df.columns]
        if not absent:
            return df
        return df.assign(**{c: float("nan") for c in absent})

    def _exact(self, df: pd.DataFrame, source: str) -> pd.DataFrame:
        df = self._with_optional(df)
        columns = [str(c) for c in df.columns]
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise ValueError(f"{source}: missing column(s) {missing} of the {self.name} table")
        extra = [c for c in columns if c not in self.columns]
        if extra:
            raise ValueError(
                f"{source}: unexpected column(s) {extra} in the {self.name} table "
                f"(columns: {list(self.columns)})"
            )
        return df[list(self.columns)]

    def _typed(self, df: pd.DataFrame, source: str) -> pd.DataFrame:
        """Text columns as str ("" for missing), numeric columns as numbers."""
        out = {}
        for c in self.columns:
            col = df[c]
            if c in self.text:
                out[c] = col.astype(object).where(col.notna(), "").astype(str)
            elif pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
                out[c] = col
            else:
                numbers = pd.to_numeric(col, errors="coerce")
                bad = col[numbers.isna() & col.notna() & (col.astype(str) != "")]
                if len(bad):
                    raise ValueError(
                        f"{source}: column {c!r} of the {self.name} table holds non-numbers, "
                        f"e.g. {bad.iloc[0]!r}"
                    )
                out[c] = numbers.astype(float) if numbers.isna().all() else numbers
        return pd.DataFrame(out, index=df.index)

    def _format(self, df, comments: Sequence[str] | None, source: str) -> str:
        if not isinstance(df, pd.DataFrame):
            rows = list(df)
            df = pd.DataFrame.from_records(rows) if rows else self._empty()
        df = self._typed(self._exact(df, source), source).copy()
        if self.keys:
            repeated = df[df.duplicated(list(self.keys), keep=False)]
            if len(repeated):
                key = dict(zip(self.keys, repeated.iloc[0][list(self.keys)].tolist(), strict=True))
                raise ValueError(
                    f"{source}: {len(repeated)} rows of the {self.name} table share "
                    f"their key, e.g. {key}"
                )
        for c in self.blank:
            df[c] = [
                "" if pd.isna(v) else (FLOAT_FORMAT % v if isinstance(v, float) else str(v))
                for v in df[c].tolist()
            ]
        comments = self.comments if comments is None else tuple(comments)
        if any("\n" in line for line in comments):
            raise ValueError(f"{source}: comment lines must not contain newlines")
        buf = io.StringIO()
        for line in comments:
            buf.write(f"# {line}\n")
        df.to_csv(
            buf, index=False, float_format=FLOAT_FORMAT, na_rep=MISSING_NUMBER, lineterminator="\n"
        )
        return buf.getvalue()


__all__ = ["FLOAT_FORMAT", "MISSING_NUMBER", "READ_OPTIONS", "Table"]
