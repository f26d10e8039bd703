"""gmnn.analysis.tables.Table: one description per tidy table, CSV round trip, column checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gmnn.analysis.tables import Table

RUNS = Table(
    "toy runs",
    columns=("molecule", "n_train", "value", "stopped_at", "note"),
    comments=("toy table: value in eV", "stopped_at: empty when the run did not stop"),
    keys=("molecule", "n_train"),
    text=("molecule", "note"),
    blank=("stopped_at",),
)

ROWS = [
    {"molecule": "ethanol", "n_train": 8, "value": 1.0, "stopped_at": math.nan, "note": ""},
    {"molecule": "aspirin", "n_train": 16, "value": 1 / 3, "stopped_at": 0.25, "note": "a, b"},
    {"molecule": "NA", "n_train": 32, "value": math.nan, "stopped_at": 2.0, "note": "None"},
]


def test_write_format_and_round_trip(tmp_path):
    path = RUNS.write(ROWS, tmp_path / "sub" / "runs.csv")
    assert path.read_text() == (
        "# toy table: value in eV\n"
        "# stopped_at: empty when the run did not stop\n"
        "molecule,n_train,value,stopped_at,note\n"
        "ethanol,8,1,,\n"
        'aspirin,16,0.3333333333,0.25,"a, b"\n'
        "NA,32,nan,2,None\n"
    )
    back = RUNS.read(path)
    assert back.attrs["comments"] == list(RUNS.comments)
    assert back.attrs["source"] == str(path)
    assert list(back.columns) == list(RUNS.columns)
    # text stays text ("NA", "None", "" are not missing values), numbers are numbers
    assert back["molecule"].tolist() == ["ethanol", "aspirin", "NA"]
    assert back["note"].tolist() == ["", "a, b", "None"]
    assert back["n_train"].dtype == np.int64
    assert back["value"].iloc[1] == pytest.approx(1 / 3, rel=1e-9)
    assert math.isnan(back["value"].iloc[2]) and math.isnan(back["stopped_at"].iloc[0])
    # written again: the same bytes; other comments on request
    assert RUNS.format(back) == path.read_text()
    other = RUNS.format(back, comments=["per-run file of 0.500 ps"])
    assert other.startswith("# per-run file of 0.500 ps\nmolecule,")
    # a plain pandas reader understands the files too
    plain = pd.read_csv(path, comment="#")
    assert plain["n_train"].tolist() == [8, 16, 32]


def test_empty_table_and_pandas_reading(tmp_path):
    path = RUNS.write([], tmp_path / "empty.csv")
    assert path.read_text().endswith("molecule,n_train,value,stopped_at,note\n")
    back = RUNS.read(path)
    assert back.empty and list(back.columns) == list(RUNS.columns)
    assert back["value"].dtype == float
    assert RUNS.load(None).empty and RUNS.load([]).empty


def test_wrong_columns_are_refused_with_file_and_column(tmp_path):
    good = RUNS.write(ROWS, tmp_path / "runs.csv")
    text = good.read_text()

    missing = tmp_path / "missing.csv"
    missing.write_text(text.replace(",note\n", "\n", 1))
    with pytest.raises(
        ValueError, match=r"missing\.csv: missing column\(s\) \['note'\] of the toy"
    ):
        RUNS.read(missing)
    extra = tmp_path / "extra.csv"
    extra.write_text(text.replace("note\n", "note,seed\n", 1))
    with pytest.raises(ValueError, match=r"extra\.csv: unexpected column\(s\) \['seed'\]"):
        RUNS.read(extra)
    words = tmp_path / "words.csv"
    words.write_text(text.replace("ethanol,8,", "ethanol,eight,"))
    with pytest.raises(ValueError, match=r"words\.csv: column 'n_train' .* non-numbers.*'eight'"):
        RUNS.read(words)
    header_only_comments = tmp_path / "comments.csv"
    header_only_comments.write_text("# nothing else\n")
    with pytest.raises(ValueError, match=r"comments\.csv: no header line"):
        RUNS.read(header_only_comments)

    # columns in another order are fine (returned in table order)
    shuffled = tmp_path / "shuffled.csv"
    pd.DataFrame(ROWS)[["note", "value", "stopped_at", "n_train", "molecule"]].to_csv(
        shuffled, index=False
    )
    assert list(RUNS.read(shuffled).columns) == list(RUNS.columns)

    # writing: the target is named, nothing is written
    rows = [{k: v for k, v in row.items() if k != "value"} for row in ROWS]
    with pytest.raises(ValueError, match=r"out\.csv: missing column\(s\) \['value'\]"):
        RUNS.write(rows, tmp_path / "out.csv")
    with pytest.raises(ValueError, match=r"out\.csv: unexpected column\(s\) \['e0'\]"):
        RUNS.write([{**row, "e0": 1.0} for row in ROWS], tmp_path / "out.csv")
    with pytest.raises(ValueError, match=r"out\.csv: column 'value' .* non-numbers"):
        RUNS.write([{**ROWS[0], "value": "high"}], tmp_path / "out.csv")
    with pytest.raises(ValueError, match=r"out\.csv: 2 rows .* share their key.*'ethanol'"):
        RUNS.write([*ROWS, ROWS[0]], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    # in-memory tables need every column and may carry more
    frame = pd.DataFrame(ROWS).assign(label="x")
    assert RUNS.load(frame) is frame
    with pytest.raises(ValueError, match=r"the toy runs table: missing column\(s\) \['note'\]"):
        RUNS.load(frame.drop(columns="note"))


def test_table_description_is_checked():
    with pytest.raises(ValueError, match="listed twice"):
        Table("t", columns=("a", "a"))
    with pytest.raises(ValueError, match=r"keys \['b'\] are not columns"):
        Table("t", columns=("a",), keys=("b",))
    with pytest.raises(ValueError, match="both text and blank"):
        Table("t", columns=("a",), text=("a",), blank=("a",))
    with pytest.raises(ValueError, match="newlines"):
        Table("t", columns=("a",), comments=("two\nlines",))
    per_run = RUNS.with_comments("one run", name="toy run")
    assert per_run.columns == RUNS.columns and per_run.comments == ("one run",)
    assert RUNS.numeric == ("n_train", "value", "stopped_at")


def test_float_formatting_matches_ten_significant_digits(tmp_path):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(0, 8, 500), -rng.lognormal(0, 8, 500), [0.0, -0.0]])
    table = Table("numbers", columns=("x", "k"))
    text = table.format(pd.DataFrame({"x": values, "k": np.arange(len(values))}))
    lines = text.splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == [f"{v:.10g}" for v in values]
    path = tmp_path / "numbers.csv"
    path.write_text(text)
    back = table.read(path)["x"].to_numpy()
    np.testing.assert_array_equal(back, [float(f"{v:.10g}") for v in values])
