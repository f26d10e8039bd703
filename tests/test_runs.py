"""Run identity and stop signals (gmnn.runs), shared by training and MD."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from gmnn.fingerprints import arrays_fingerprint
from gmnn.runs import (
    CheckpointDamaged,
    CheckpointMismatch,
    StopSignals,
    claim_checkpoint,
    identity_array,
    read_checkpoint,
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


# ---------------------------------------------------------------- damaged checkpoints


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _junk_member(path):
    import zipfile

    with zipfile.ZipFile(path, "a") as z:
        z.writestr("junk.npy", b"\x93NUMPY junk that is not an array")


def _text_member(path):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("identity.txt", "hello")


DAMAGES = {
    "truncated": (_truncated, "truncated or damaged"),
    "empty": (lambda p: p.write_bytes(b""), "empty or truncated"),
    "garbage": (lambda p: p.write_bytes(b"\x00garbage" * 50), "checkpoint file"),
    "zip header only": (lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 40), "damaged"),
    "junk member": (_junk_member, "member 'junk'"),
    "text member": (_text_member, "member 'identity.txt' is not a numpy array"),
    "identity not JSON": (
        lambda p: np.savez(p, identity=np.array("{not json")),
        "'identity' is not valid JSON",
    ),
    "identity a list": (
        lambda p: np.savez(p, identity=np.array("[1, 2]")),
        "'identity' is not a JSON object",
    ),
    "a directory": (lambda p: (p.unlink(), p.mkdir()), "is a directory"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_checkpoint_is_named_or_discarded(tmp_path, damage):
    """Class 2: one clear error naming the file and what to delete (no BadZipFile), or,
    with on_mismatch="restart", the checkpoint and its companions are deleted."""
    path, log = tmp_path / "checkpoint.npz", tmp_path / "metrics.csv"
    identity = {"training": {"epochs": 3}}
    _checkpoint(path, identity)
    damage_it, problem = DAMAGES[damage]
    damage_it(path)
    with pytest.raises(CheckpointDamaged) as err:
        claim_checkpoint(path, identity)
    message = str(err.value)
    assert message.startswith(f"{path}: damaged checkpoint") and problem in message, message
    assert f"Delete {path}" in message and "--restart" in message
    assert isinstance(err.value, ValueError) and err.value.source == str(path)
    if path.is_dir():
        return  # restart deletes files only; a directory is the user's to remove
    log.write_text("epoch\n")
    assert claim_checkpoint(path, identity, on_mismatch="restart", companions=[log]) is False
    assert not path.exists() and not log.exists()


def test_read_identity_of_a_damaged_file_names_it(tmp_path):
    path = tmp_path / "ck.npz"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(CheckpointDamaged, match=r"ck.npz: damaged checkpoint"):
        read_identity(path)
    _checkpoint(path, {"a": 1})
    assert sorted(read_checkpoint(path)) == ["identity", "x"]
