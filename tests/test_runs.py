"""Run identity and stop signals (gmnn.runs), shared by training and MD."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from gmnn.runs import (
    CheckpointMismatch,
    StopSignals,
    arrays_fingerprint,
    claim_checkpoint,
    identity_array,
    read_identity,
)


def _checkpoint(path, identity):
    np.savez(path, identity=identity_array(identity), x=np.zeros(3))


def test_claim_resumes_only_its_own_run(tmp_path):
    path, log = tmp_path / "ck.npz", tmp_path / "metrics.csv"
    identity = {"training": {"epochs": 3, "hidden": (8, 8)}, "data": "abc"}
    assert claim_checkpoint(path, identity) is False  # nothing to resume
    _checkpoint(path, identity)
    assert read_identity(path) == {"training": {"epochs": 3, "hidden": [8, 8]}, "data": "abc"}
    assert claim_checkpoint(path, identity) is True
    other = {"training": {"epochs": 4, "hidden": (8, 8)}, "data": "abd"}
    with pytest.raises(CheckpointMismatch) as err:
        claim_checkpoint(path, other)
    assert err.value.differences == [
        "data: 'abc' before, now 'abd'",
        "training.epochs: 3 before, now 4",
    ]
    assert str(path) in str(err.value) and path.exists()
    log.write_text("epoch\n")
    assert claim_checkpoint(path, other, on_mismatch="restart", companions=[log]) is False
    assert not path.exists() and not log.exists()


def test_checkpoint_without_identity_is_not_resumed(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, x=np.zeros(2))
    with pytest.raises(CheckpointMismatch, match="none stored"):
        claim_checkpoint(path, {"a": 1})


def test_fingerprint_sees_values_dtypes_and_names():
    a = {"w": np.arange(4.0), "b": np.zeros(2)}
    assert arrays_fingerprint(a) == arrays_fingerprint(dict(reversed(list(a.items()))))
    assert arrays_fingerprint(a) != arrays_fingerprint({**a, "w": np.arange(4.0) + 1e-12})
    assert arrays_fingerprint(a) != arrays_fingerprint({**a, "w": np.arange(4, dtype=np.float32)})
    assert arrays_fingerprint(a) != arrays_fingerprint({"v": a["w"], "b": a["b"]})


def test_stop_signals_set_a_flag_and_restore_the_handler():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
