"""The error boundary of the pipeline's jobs (gmnn.workflow.boundary.error_boundary,
installed by gmnn.workflow.job, the one call at the top of every workflow script): a job
that fails reading a file prints one line naming the file on its stderr (which Snakemake
shows), appends the traceback to its log and exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow_scripts"

# Run a workflow script as Snakemake does (a `snakemake` object in its globals).
DRIVER = """
import runpy, sys, types

class Files(list):
    def __init__(self, items=(), **named):
        super().__init__([*items, *named.values()])
        self.__dict__.update(named)

    def get(self, name, default=None):
        return self.__dict__.get(name, default)

snakemake = types.SimpleNamespace(
    rule=sys.argv[2],
    input=Files(**eval(sys.argv[3])),
    output=Files(**eval(sys.argv[4])),
    params=types.SimpleNamespace(**eval(sys.argv[5])),
    wildcards=types.SimpleNamespace(**eval(sys.argv[6])),
    log=[sys.argv[7]],
    threads=1,
)
runpy.run_path(sys.argv[1], init_globals={"snakemake": snakemake}, run_name="__main__")
"""


def run_job(script, rule, tmp_path, inputs, outputs=None, params=None, wildcards=None, **env):
    log = tmp_path / "job.log"
    argv = [sys.executable, "-c", DRIVER, str(script), rule]
    argv += [repr(x or {}) for x in (inputs, outputs, params, wildcards)] + [str(log)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, env=environment, timeout=300
    )
    return done, log


def assert_one_line(done, log, job, path, problem):
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert lines[-2] == f"{job}: error: {path}: {problem}" or lines[-2].startswith(
        f"{job}: error: {path}: {problem}"
    ), done.stderr
    assert lines[-1] == f"  (traceback in {log})"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and f"{path}: {problem}" in text


@pytest.fixture(scope="module")
def truncated_h5(tmp_path_factory):
    from _synthetic import emt_structures

    from gmnn.data import write_h5

    d = tmp_path_factory.mktemp("boundary")
    path = write_h5(emt_structures("CH3OH", n=6), d / "data.h5")
    good = path.read_bytes()
    (d / "cut.h5").write_bytes(good[: len(good) // 2])
    return d


def test_a_job_without_tensorflow(tmp_path, truncated_h5):
    script = tmp_path / "job.py"
    script.write_text(
        "import sys\n"
        "from gmnn.workflow import job\n"
        "log = job(snakemake)\n"
        "log.info('started')\n"
        "from gmnn.data import read_h5\n"
        "assert 'tensorflow' not in sys.modules\n"
        "read_h5(snakemake.input.data)\n"
    )
    cut = truncated_h5 / "cut.h5"
    done, log = run_job(script, "collect", tmp_path, {"data": str(cut)})
    assert_one_line(done, log, "rule collect", cut, "cannot read this HDF5 file")
    assert " INFO started" in log.read_text()  # the job's logging goes to its log
    # GMNN_DEBUG=1: the traceback on stderr too
    done, _ = run_job(script, "collect", tmp_path, {"data": str(cut)}, GMNN_DEBUG="1")
    assert done.returncode == 1 and "Traceback (most recent call last)" in done.stderr


# (script, rule, input key, output key, params, wildcards) of jobs that read a data file
DATA_JOBS = {
    "make_split": (
        "split_md17",
        "data",
        "split",
        {"train_sizes": [2], "n_valid": 1, "n_test": 1, "n_train": None},
        {"seed": "0", "level": "cc", "molecule": "ethanol"},
    ),
    "convert_md17": ("convert_md17", "raw", "h5", {"source": "embedded"}, {"level": "cc"}),
}


@pytest.mark.parametrize("script", sorted(DATA_JOBS))
def test_a_job_names_its_damaged_input(tmp_path, truncated_h5, script):
    rule, key, out, params, wildcards = DATA_JOBS[script]
    cut = truncated_h5 / "cut.h5"
    target = tmp_path / "out"
    inputs, outputs = {key: str(cut)}, {out: str(target)}
    wildcards = {"molecule": "ethanol", **wildcards}
    done, log = run_job(
        SCRIPTS / f"{script}.py", rule, tmp_path, inputs, outputs, params, wildcards
    )
    assert_one_line(done, log, f"rule {rule}", cut, "cannot read this HDF5 file")
    assert not target.exists()


def test_a_tensorflow_job_names_a_truncated_model(tmp_path, truncated_h5):
    """md_run (job() sends stdout/stderr to the log): the one line still reaches the
    job's own stderr."""
    from gmnn.io import save_model
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    model = save_model(GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2)), tmp_path / "m")
    weights = model / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:100])
    done, log = run_job(
        SCRIPTS / "md_run.py",
        "md",
        tmp_path,
        {"model": [str(model / "model.json")], "data": str(truncated_h5 / "data.h5")},
        {"trajectory": str(tmp_path / "md.traj"), "summary": str(tmp_path / "summary.json")},
        {
            "md": {"steps": 4, "write_interval": 2, "temperature_K": 100.0},
            "record": {},
            "model": {"hidden": [8], "n_radial": 2},
        },
    )
    assert_one_line(done, log, "rule md", weights, "not a valid weights file (.npz)")


def test_every_workflow_script_has_the_one_preamble():
    for script in sorted(SCRIPTS.glob("*.py")):
        text = script.read_text()
        assert text.count("job(snakemake") == 1, script.name
        assert "logging.basicConfig" not in text and "error_boundary" not in text, script.name


FINISH = """
import logging
from gmnn.workflow import finish, job

log = job(snakemake)
log.info("work done")
print("unflushed", end="")
if snakemake.params.fail:
    raise ValueError("bad input")
finish()
print(" after finish")
"""


@pytest.mark.parametrize(
    ("fail", "fast", "code", "stdout"),
    [
        (False, "1", 0, "unflushed"),  # leaves at finish(), with its output flushed
        (False, "0", 0, "unflushed after finish\n"),  # GMNN_FAST_EXIT=0: the ordinary exit
        (True, "1", 1, "unflushed"),  # a failure never reaches finish(): exit code 1
    ],
)
def test_finish_leaves_at_once_only_after_success(tmp_path, fail, fast, code, stdout):
    script = tmp_path / "finish_job.py"
    script.write_text(FINISH)
    done, log = run_job(script, "x", tmp_path, {}, params={"fail": fail}, GMNN_FAST_EXIT=fast)
    assert done.returncode == code, done.stderr
    assert done.stdout == stdout
    assert "work done" in log.read_text()
    if fail:
        assert "rule x: error: bad input" in done.stderr


def test_tensorflow_jobs_end_with_finish():
    for script in sorted(SCRIPTS.glob("*.py")):
        text = script.read_text()
        if "tf=True" in text:
            assert text.rstrip().splitlines()[-1].startswith("finish()"), script.name
