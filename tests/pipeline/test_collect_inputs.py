"""A damaged input of a collecting job stops the run before the job starts (issue 22):
Snakemake deletes a job's outputs before it runs and after it fails, so the Fig. 2
aggregate started on a garbage metrics.json would delete the committed
results/md17/fig2_*.csv. The inputs are checked while the DAG is built
(gmnn.workflow.checked); a tiny graph over the committed embedded results."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gmnn.workflow.boundary import check_input

REPO = Path(__file__).resolve().parents[2]
TABLES = ["results/md17/fig2_learning_curves.csv", "results/md17/fig2_dft_reference.csv"]
RECORD = "results/md17/methanol/scratch_EF/n32/seed1/metrics.json"


def snakemake(workdir: Path, target: str) -> subprocess.CompletedProcess:
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", workdir / "off.yaml"]
    cmd = [sys.executable, "-m", "snakemake", target, "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", *map(str, configs), "--cores", "1"]
    cmd += ["--allowed-rules", "aggregate"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "results/md17/methanol", tmp_path / "results/md17/methanol")
    for table in TABLES:
        shutil.copy2(REPO / table, tmp_path / table)
    (tmp_path / "off.yaml").write_text("md: null\nani: null\npretrain_size: null\n")
    return tmp_path


def touch_newer(path: Path) -> None:
    """``path`` 10 s newer than every other file of the run (so the aggregate reruns)."""
    root = path.parents[5]
    stamp = max(p.stat().st_mtime for p in root.rglob("*") if p.is_file())
    os.utime(path, (stamp + 10, stamp + 10))


@pytest.mark.parametrize(
    ("garbage", "named"),
    [
        (b"garbage\n", "invalid JSON at line 1, column 1"),
        (b'{"energy_mae": 0.2, "molecule": "meth', "invalid JSON at line 1"),  # truncated
        (b"", "empty file"),
        (b"[1, 2]\n", "expected a JSON object"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_a_damaged_metrics_json_keeps_the_committed_tables(workdir, garbage, named):
    before = {t: (workdir / t).read_bytes() for t in TABLES}
    record = workdir / RECORD
    record.write_bytes(garbage)
    touch_newer(record)  # newer than the tables: the aggregate would rerun
    run = snakemake(workdir, "results/md17/fig2_learning_curves.csv")
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    line = next(x for x in out.splitlines() if x.startswith("Error: "))
    assert line.startswith(f"Error: {RECORD}: ") and named in line, out[-3000:]
    assert "Traceback" not in out
    for table, text in before.items():
        assert (workdir / table).read_bytes() == text, f"{table} changed or was deleted"


def test_valid_inputs_rerun_the_aggregate_bit_identically(workdir):
    """The control: a newer but valid record reruns the job, which rewrites the committed
    tables byte for byte (so the test above would see a deletion)."""
    before = {t: (workdir / t).read_bytes() for t in TABLES}
    touch_newer(workdir / RECORD)
    run = snakemake(workdir, "results/md17/fig2_learning_curves.csv")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "rule aggregate:" in run.stdout + run.stderr
    for table, text in before.items():
        assert (workdir / table).read_bytes() == text


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("spectrum.csv", "# comment only\n", "no header line"),
        ("peaks.csv", 'a,b\n1,"2\n', "not a valid table"),
        ("rmsd.csv", b"\xff\xfea,b\n", "not UTF-8 text"),
        ("summary.json", "{", "invalid JSON"),
    ],
)
def test_check_input_names_the_file(tmp_path, name, text, named):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError) as err:
        check_input(path)
    assert str(err.value).startswith(f"{path}: ") and named in str(err.value)


def test_check_input_passes_valid_and_missing_files(tmp_path):
    (tmp_path / "ok.csv").write_text("# c\na,b\n1,2\n")
    (tmp_path / "ok.json").write_text('{"a": 1}')
    for name in ("ok.csv", "ok.json", "missing.json"):
        check_input(tmp_path / name)
