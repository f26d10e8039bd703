"""Small helpers shared by the pipeline's job scripts (workflow_scripts/).

They hold no science: redirecting a job's output to its log, TensorFlow thread
settings, and deciding whether a training checkpoint belongs to this job.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from gmnn.io import atomic_write_json

_LOG_STREAMS = []  # keeps the log file open for the life of the process


def start_job(log_path, threads: int, append: bool = True) -> logging.Logger:
    """Send stdout/stderr (TensorFlow's too) to ``log_path``; use ``threads`` threads."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    stream = open(log_path, "a" if append else "w", buffering=1)  # noqa: SIM115
    _LOG_STREAMS.append(stream)
    os.dup2(stream.fileno(), 1)
    os.dup2(stream.fileno(), 2)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    tf.config.threading.set_inter_op_parallelism_threads(min(2, int(threads)))
    return logging.getLogger("gmnn.workflow")


def claim_checkpoint(out_dir, request: dict, log: logging.Logger) -> dict:
    """Keep a checkpoint in ``out_dir`` only if it was written for this ``request``.

    ``request`` (rule, wildcards, parameters, input checksums) is stored as
    ``request.json``; a checkpoint of another request (e.g. after a config change)
    is deleted, so that training starts over instead of resuming the wrong run.
    Returns the request as stored (JSON-normalised).
    """
    out_dir = Path(out_dir)
    request = json.loads(json.dumps(request))
    request_file = out_dir / "request.json"
    if (out_dir / "checkpoint.npz").exists():
        old = json.loads(request_file.read_text()) if request_file.exists() else None
        if old != request:
            log.warning("%s: checkpoint of a different request, starting over", out_dir)
            for name in ("checkpoint.npz", "metrics.csv"):
                (out_dir / name).unlink(missing_ok=True)
        else:
            log.info("%s: resuming from checkpoint", out_dir)
    atomic_write_json(request_file, request)
    return request


def evaluate_on_split(model_dir, data_path, split_path, record: dict, log=None) -> dict:
    """Test errors of the model in ``model_dir`` on the test part of a split.

    ``record`` (molecule, setting, n_train, seed, test_set, ...) is returned with the
    errors of :func:`gmnn.analysis.error_metrics` (kcal/mol, kcal/mol/Å), the data's
    checksum and the model's training summary added: one ``metrics.json`` of the pipeline.
    """
    import math

    from gmnn.analysis import error_metrics
    from gmnn.data import file_sha256, load_split, read_h5
    from gmnn.io import load_model

    model_dir = Path(model_dir)
    model = load_model(model_dir)
    trained = model.provenance
    if record.get("n_train") is not None and trained.get("n_train") != record["n_train"]:
        raise ValueError(
            f"{model_dir}: trained on {trained.get('n_train')} structures, "
            f"expected {record['n_train']}"
        )
    test = read_h5(data_path)[load_split(split_path).test]
    if log:
        log.info(
            "evaluating %s on %d %s test structures", model_dir, len(test), record.get("test_set")
        )
    metrics = error_metrics(model, test)
    training = {k: trained.get(k) for k in ("epochs_run", "best_epoch", "n_valid")}
    # strict JSON: validation metrics a run lacks (E-only: forces) are left out, not NaN
    best_valid = trained.get("best_valid") or {}
    training["best_valid"] = {k: v for k, v in best_valid.items() if math.isfinite(v)}
    out = dict(record)
    out.update(metrics)
    out.update(
        {
            "model": str(model_dir),
            "test_data": str(data_path),
            "test_data_sha256": file_sha256(data_path),
            "split": str(split_path),
            "training": training,
        }
    )
    return out
