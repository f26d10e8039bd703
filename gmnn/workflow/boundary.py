"""The preamble of every pipeline job (workflow_scripts/): its log, its threads and its
error boundary. No science here."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

_LOG_STREAMS = []  # keeps the log file open for the life of the process
_STDERR_FD = None  # a copy of the process's stderr before job() redirected it


def _job_name() -> str:
    """``rule <name>`` of the Snakemake job running this script, else the script."""
    snakemake = getattr(sys.modules.get("__main__"), "snakemake", None)
    rule = getattr(snakemake, "rule", None)
    return f"rule {rule}" if rule else Path(sys.argv[0] or "gmnn job").name


def error_boundary(log_path, job: str | None = None) -> None:
    """The error boundary of a pipeline job (:func:`job` installs it).

    An exception that ends the job has its traceback appended to ``log_path`` and one
    line on the job's stderr, which Snakemake shows: ``<job>: error: <file>: <what is
    wrong>`` (:func:`gmnn.io.describe_error`; the file first when the error knows it),
    followed by where the traceback is; the job exits with 1. ``GMNN_DEBUG=1`` prints
    the traceback on stderr too. ``job`` names the job (default: its rule).
    """
    global _STDERR_FD
    job = job or _job_name()
    if _STDERR_FD is None:
        try:  # the job's own stderr, kept when job() sends fd 2 to the log
            _STDERR_FD = os.dup(2)
        except OSError:
            pass
    stderr_fd = _STDERR_FD
    log_path = str(log_path)

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt) or stderr_fd is None:
            return sys.__excepthook__(exc_type, exc, tb)
        import traceback

        from gmnn.io import describe_error

        text = "".join(traceback.format_exception(exc_type, exc, tb))
        line = f"{job}: error: {describe_error(exc)}"
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        try:
            with open(log_path, "a") as fh:
                fh.write(text + line + "\n")
            where = f"  (traceback in {log_path})\n"
        except OSError:
            where = text
        debug = os.environ.get("GMNN_DEBUG", "") not in ("", "0")
        os.write(stderr_fd, ((text if debug else "") + line + "\n" + where).encode())

    sys.excepthook = hook


FORMAT = "%(asctime)s %(levelname)s %(message)s"
"""The format of every job's log lines."""


def job(snakemake, *, tf: bool = False, append: bool = True) -> logging.Logger:
    """The preamble of every pipeline job: one call at the top of each workflow script,
    ``log = job(snakemake)``.

    The job's ``logging`` messages (INFO and above, timestamped) go to its log
    ``snakemake.log[0]`` (appended to; ``append=False``: started afresh), and
    :func:`error_boundary` turns an exception that ends the job into one line on the
    job's stderr. ``tf=True`` (the jobs that run a model): the process's stdout and
    stderr (TensorFlow's runtime messages) go to the log too, and TensorFlow uses
    ``snakemake.threads`` threads. The other jobs (data, tables, plots) leave ``tf``
    False and do not import TensorFlow. Returns the job's logger.
    """
    log_path = snakemake.log[0]
    rule = getattr(snakemake, "rule", None)
    error_boundary(log_path, f"rule {rule}" if rule else None)
    if not tf:
        logging.basicConfig(
            filename=log_path, filemode="a" if append else "w", level=logging.INFO, format=FORMAT
        )
        return logging.getLogger("gmnn.workflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    stream = open(log_path, "a" if append else "w", buffering=1)  # noqa: SIM115
    _LOG_STREAMS.append(stream)
    for fd in (1, 2):
        os.dup2(stream.fileno(), fd)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=FORMAT)
    import tensorflow

    threads = int(snakemake.threads)
    tensorflow.config.threading.set_intra_op_parallelism_threads(threads)
    tensorflow.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    return logging.getLogger("gmnn.workflow")


def finish() -> None:
    """The last line of a job that ran TensorFlow: flush its log and leave at once
    (``os._exit(0)``), skipping the interpreter's and TensorFlow's teardown, which costs
    0.6-0.9 CPU-s a job (benchmarks/startup.py) and does nothing the job needs: its
    outputs are written and closed (atomically) before. Reached only when the script ran
    to its end, so a failing job keeps its error line, traceback and exit code 1.
    ``GMNN_FAST_EXIT=0`` keeps the ordinary exit, and so does a script run inside a
    pytest process (which it would otherwise end)."""
    if os.environ.get("GMNN_FAST_EXIT", "1").strip().lower() in ("0", "off", "no", "false"):
        return
    if "_pytest" in sys.modules:
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr, *_LOG_STREAMS):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


# ------------------------------------------------------------------------------------------
# Inputs checked before a job runs


def check_input(path) -> None:
    """A ValueError naming ``path`` unless the file, if it exists, reads as what it
    claims to be: a ``.json`` a JSON object (a job's metrics.json or summary.json, read
    by :func:`gmnn.analysis.tables.read_json_object` as every collecting job reads it),
    a ``.csv`` UTF-8 text with a header line under its ``#`` comments that pandas parses.
    A file that does not exist yet (a job of this run writes it) passes."""
    path = Path(path)
    if not path.is_file():
        return
    if path.suffix == ".json":
        from gmnn.analysis.tables import read_json_object

        read_json_object(path, "JSON record")
    elif path.suffix == ".csv":
        _check_csv(path)


def _check_csv(path: Path) -> None:
    import io

    import pandas as pd

    remedy = "delete it to have the job that writes it rerun"
    try:
        lines = path.read_bytes().decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: not a valid table (not UTF-8 text: byte {err.start}); {remedy}"
        ) from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read the table: {err.strerror or err}") from None
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    if not "".join(lines).strip():
        raise ValueError(f"{path}: no header line, not a valid table; {remedy}")
    try:
        pd.read_csv(io.StringIO("".join(lines)))
    except (pd.errors.ParserError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ValueError(f"{path}: not a valid table ({first}); {remedy}") from None


def checked(paths):
    """An input function of a rule that collects other jobs' results: ``paths`` (a list),
    once every one of them that exists passes :func:`check_input`.

    Snakemake deletes a job's outputs before it runs and again when it fails, so a
    collecting job started on a damaged input (say a garbage metrics.json) would delete
    the committed table it was to rewrite. Input functions run while the DAG is built,
    before any job: a damaged input ends the run there (exit 1) with one line naming the
    file, and nothing is deleted."""
    paths = [str(p) for p in paths]

    def inputs(wildcards=None) -> list[str]:
        for path in paths:
            try:
                check_input(path)
            except ValueError as err:
                raise SystemExit(f"Error: {err} (checked before any job ran)") from None
        return paths

    return inputs
