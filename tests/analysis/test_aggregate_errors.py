"""Garbage inputs of the table jobs (issue 9, class 5): a damaged metrics.json, MD
summary or per-run table is a ValueError naming the file and what is wrong, and a failing
job writes no partial table (the tables of the last good run stay as they were)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from gmnn.analysis.aggregate import METRICS, fig2_tables, fig3_table, load_records
from gmnn.analysis.md import RUN_KEYS, collect_md, run_spectrum

REPO = Path(__file__).resolve().parents[2]

GOOD = {"molecule": "methanol", "setting": "scratch_E", "n_train": 16, "seed": 0}
GOOD |= {m: 1.0 for m in METRICS}

GARBAGE = {
    "not_json": (b"this is not json {", r"invalid JSON at line 1, column 1 \(Expecting value\)"),
    "truncated": (b'{"molecule": "methanol",\n "energy_rmse": 1.', r"invalid JSON at line 2"),
    "empty": (b"", r"empty file, not a valid metrics record"),
    "whitespace": (b"  \n\n", r"empty file"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", r"not UTF-8 text: byte \d+"),
    "list": (b"[1, 2, 3]", r"expected a JSON object \(metrics record\), got list"),
    "null": (b"null", r"expected a JSON object \(metrics record\), got NoneType"),
    "trailing": (json.dumps(GOOD).encode() + b"\n}", r"invalid JSON at line 2, column 1"),
}


def write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_metrics_json_names_the_file_and_the_problem(tmp_path, kind):
    content, problem = GARBAGE[kind]
    good = write(tmp_path / "seed0" / "metrics.json", GOOD)
    bad = write(tmp_path / "seed1" / "metrics.json", content)
    with pytest.raises(ValueError, match=problem) as err:
        load_records([good, bad])
    message = str(err.value)
    assert message.startswith(f"{bad}: ")
    if kind not in ("list", "null"):
        assert "delete it to have the job that writes it rerun" in message


def test_a_directory_instead_of_a_record_names_it(tmp_path):
    (tmp_path / "metrics.json").mkdir()
    with pytest.raises(ValueError, match=r"metrics\.json: cannot read the metrics record"):
        load_records([tmp_path / "metrics.json"])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"energy_rmse": "abc"}, r"energy_rmse is 'abc', not a number"),
        ({"force_mae": [1.0, 2.0]}, r"force_mae is \[1\.0, 2\.0\], not a number"),
        ({"n_train": {"n": 16}}, r"n_train is \{'n': 16\}, not a number or a name"),
        ({"setting": None, "n_train": None} | {"seed": [0]}, r"seed is \[0\]"),
    ],
)
def test_wrong_values_in_a_record_name_file_and_key(tmp_path, change, problem):
    runs = [write(tmp_path / "a.json", GOOD), write(tmp_path / "b.json", GOOD | change)]
    pre = [write(tmp_path / "pre.json", GOOD | {"test_set": "cc"})]
    with pytest.raises(ValueError, match=problem) as err:
        fig2_tables(runs, pre)
    assert str(tmp_path / "b.json") in str(err.value)


def test_a_record_without_a_key_names_the_file(tmp_path):
    record = {k: v for k, v in GOOD.items() if k != "n_train"}
    runs = [write(tmp_path / "lacks.json", record)]
    with pytest.raises(KeyError, match=r"lacks\.json lacks key\(s\) \['n_train'\]"):
        fig2_tables(runs, [])


def test_fig3_n_pretrain_that_is_not_a_number_names_the_file(tmp_path):
    path = write(tmp_path / "fig3.json", GOOD | {"setting": "finetune_E", "n_pretrain": "big"})
    with pytest.raises(ValueError, match=r"fig3\.json: n_pretrain is 'big', not an integer"):
        fig3_table([path], [100])


def test_failing_aggregate_job_leaves_the_previous_tables(tmp_path):
    """The library side of the aggregate job: nothing is written when an input is bad, so
    the tables of the last good run are left as they were (Snakemake itself removes a
    job's outputs before rerunning it: see the README)."""
    curves, reference = tmp_path / "curves.csv", tmp_path / "reference.csv"
    curves.write_text("previous curves\n")
    reference.write_text("previous reference\n")
    runs = [write(tmp_path / "ok.json", GOOD), write(tmp_path / "bad.json", b'{"n_train": 1')]
    snakemake = SimpleNamespace(
        input=SimpleNamespace(runs=[str(p) for p in runs], pretrain=[]),
        output=SimpleNamespace(curves=str(curves), reference=str(reference)),
        log=[str(tmp_path / "aggregate.log")],
    )
    with pytest.raises(ValueError, match=r"bad\.json: not a valid metrics record: invalid JSON"):
        runpy.run_path(
            str(REPO / "workflow_scripts" / "aggregate.py"), init_globals={"snakemake": snakemake}
        )
    assert curves.read_text() == "previous curves\n"
    assert reference.read_text() == "previous reference\n"
    # no partial or temporary table beside them (the log exists only outside pytest)
    left = {p.name for p in tmp_path.iterdir()} - {"aggregate.log"}
    assert left == {"bad.json", "curves.csv", "ok.json", "reference.csv"}


# ------------------------------------------------------------------ MD summaries and tables

SUMMARY = {
    "molecule": "methanol",
    "setting": "scratch_E",
    "n_train": 16,
    "temperature_K": 300.0,
    "seed": 0,
    "timestep_fs": 0.5,
    "interval": 2,
    "equilibration_ps": 0.05,
    "steps_requested": 100,
    "steps_done": 100,
    "time_ps": 0.05,
    "diverged": False,
    "diverged_at_ps": None,
    "reason": None,
    "seconds_per_step": 0.01,
}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b'{"molecule": "methanol", "setting"',
            r"not a valid MD run summary \(summary\.json\): invalid",
        ),
        (b"", r"empty file, not a valid MD run summary"),
        (b"\xff\xfe\x00junk", r"not a valid MD run summary \(summary\.json\) \(not UTF-8"),
        (b'"just a string"', r"expected a JSON object .*got str"),
    ],
)
def test_garbage_md_summary_names_the_file(tmp_path, content, problem):
    bad = write(tmp_path / "T300K" / "summary.json", content)
    with pytest.raises(ValueError, match=problem) as err:
        collect_md([bad], [tmp_path / "spectrum.csv"], [tmp_path / "peaks.csv"])
    assert str(err.value).startswith(str(bad))
    with pytest.raises(ValueError, match=problem):
        run_spectrum(bad, tmp_path / "md.traj", {})


@pytest.mark.parametrize("key", ["steps_done", "seed", "seconds_per_step"])
def test_md_summary_without_a_key_names_file_and_key(tmp_path, key):
    summary = write(tmp_path / "summary.json", {k: v for k, v in SUMMARY.items() if k != key})
    with pytest.raises(
        ValueError, match=rf"summary\.json: the MD run summary lacks key\(s\) \['{key}'\]"
    ):
        collect_md([summary], [tmp_path / "spectrum.csv"], [tmp_path / "peaks.csv"])


def test_md_summary_without_timestep_names_it_for_the_spectrum(tmp_path):
    summary = write(
        tmp_path / "summary.json", {k: v for k, v in SUMMARY.items() if k != "interval"}
    )
    with pytest.raises(ValueError, match=r"lacks key\(s\) \['interval'\]"):
        run_spectrum(summary, tmp_path / "md.traj", {})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\x01\xff\xfe garbage", r"not a valid peaks of one MD run table \(not UTF-8 text"),
        (
            b'molecule,setting\n"unterminated\n',
            r"not a valid peaks of one MD run table \(Error tokenizing data",
        ),
        (b"# only a comment\n", r"no header line"),
        (b"a,b\n1,2\n", r"missing column|columns"),
    ],
)
def test_garbage_per_run_tables_name_the_file(tmp_path, content, problem):
    summary = write(tmp_path / "summary.json", SUMMARY)
    peaks = write(tmp_path / "peaks.csv", content)
    with pytest.raises(ValueError, match=problem) as err:
        collect_md([summary], [tmp_path / "spectrum.csv"], [peaks])
    assert str(peaks) in str(err.value)
    assert set(RUN_KEYS) <= set(SUMMARY)
