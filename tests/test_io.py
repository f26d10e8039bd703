"""The one atomic-output helper (gmnn.io.atomic_path): rename on success, nothing left
behind on failure, normal permissions."""

from __future__ import annotations

import os
import stat

import pytest
from _damage import cut, json_edit, zip_of

from gmnn.io import atomic_path, atomic_write_json


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_is_renamed_into_place_with_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.exists() and not target.exists()
        tmp.write_text("done")
    assert target.read_text() == "done"
    mask = os.umask(0)
    os.umask(mask)
    assert _mode(target) == 0o666 & ~mask
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert target.read_text().strip().startswith("{") and '"a": 1' in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_directory_replaces_an_existing_one(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    mask = os.umask(0)
    os.umask(mask)
    assert _mode(target) == 0o777 & ~mask


# ---------------------------------------------------------------- named read errors


def test_reading_names_the_file_and_what_is_wrong(tmp_path):
    import json
    import zipfile

    import numpy as np

    from gmnn.io import FileError, MissingFile, reading

    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(FileError, match=r"bad.json: not valid JSON \(Expecting") as err:
        with reading(bad, "settings file"):
            json.loads(bad.read_text())
    assert err.value.source == str(bad) and isinstance(err.value.__cause__, ValueError)
    with pytest.raises(MissingFile, match=r"nope.txt: no such file") as err:
        with reading(tmp_path / "nope.txt"):
            (tmp_path / "nope.txt").read_text()
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, FileError)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(b"PK\x03\x04" + b"\x00" * 8)
    with pytest.raises(FileError, match=r"cut.npz: not a valid .npz file \(truncated"):
        with reading(cut, ".npz file"):
            np.load(cut)
    assert not zipfile.is_zipfile(cut)
    # a FileError naming something else passes through unchanged
    with pytest.raises(FileError, match=r"^other: x$"), reading(bad):
        raise FileError("other", "x")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from gmnn.io import save_model
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    model = GMNN([1, 8], ModelConfig(hidden=(8,), n_radial=2))
    return save_model(model, tmp_path_factory.mktemp("io") / "model")


def _drop_weight(path):
    import numpy as np

    arrays = dict(np.load(path))
    arrays.pop("scale")
    np.savez(path, **arrays)


def _reshape_weight(path):
    import numpy as np

    arrays = dict(np.load(path))
    arrays["shift"] = np.zeros(7)
    np.savez(path, **arrays)


# (file of the model directory, damage, what the message must say)
BAD_MODELS = {
    "weights truncated": ("weights.npz", cut(), "(truncated or damaged?)"),
    "weights empty": ("weights.npz", lambda p: p.write_bytes(b""), "empty or truncated"),
    "weights garbage": ("weights.npz", lambda p: p.write_bytes(b"\x01" * 300), "weights file"),
    "weights junk .npy member": (
        "weights.npz",
        zip_of({"scale.npy": b"\x93NUMPY\x09\x00junk"}),
        "member 'scale'",
    ),
    "weights text member": (
        "weights.npz",
        zip_of({"readme.txt": "hello"}),
        "member 'readme.txt' is not a numpy array",
    ),
    "weights one .npy": (
        "weights.npz",
        lambda p: p.write_bytes(_npy_bytes()),
        "a single .npy array",
    ),
    "weights lack one": ("weights.npz", _drop_weight, "lacks the weights ['scale']"),
    "weights wrong shape": ("weights.npz", _reshape_weight, "weight shift: shape (7,)"),
    "weights missing": ("weights.npz", lambda p: p.unlink(), "weights.npz: no such file"),
    "meta truncated": ("model.json", cut(), "not valid JSON"),
    "meta empty": ("model.json", lambda p: p.write_text(""), "not valid JSON"),
    "meta binary": ("model.json", lambda p: p.write_bytes(b"\xff\xfe\x00\x01"), "not a text file"),
    "meta a list": ("model.json", lambda p: p.write_text("[1, 2]"), "expected a JSON object"),
    "meta other format": (
        "model.json",
        json_edit(lambda m: m.update(format="keras")),
        "format 'keras' is not 'gmnn-model'",
    ),
    "meta newer version": (
        "model.json",
        json_edit(lambda m: m.update(format_version=99)),
        "format version 99 is newer",
    ),
    "meta version text": (
        "model.json",
        json_edit(lambda m: m.update(format_version="one")),
        "format_version 'one' is not an integer",
    ),
    "meta no config": ("model.json", json_edit(lambda m: m.pop("config")), "key 'config'"),
    "meta misspelt setting": (
        "model.json",
        json_edit(lambda m: m["config"].update(cutof=m["config"].pop("cutoff"))),
        "config: model.cutof: unknown setting",
    ),
    "meta bad setting": (
        "model.json",
        json_edit(lambda m: m["config"].update(hidden="wide")),
        "config: model.hidden",
    ),
    "meta bad species": (
        "model.json",
        json_edit(lambda m: m["config"].update(species=[])),
        "config: invalid species list",
    ),
    "meta provenance text": (
        "model.json",
        json_edit(lambda m: m.update(provenance="me")),
        "key 'provenance' must be a mapping",
    ),
    "meta missing": ("model.json", lambda p: p.unlink(), "no model.json"),
}


def _npy_bytes():
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize("case", BAD_MODELS, ids=list(BAD_MODELS))
def test_a_damaged_model_directory_is_named(tmp_path, model_dir, case):
    import shutil

    from gmnn.io import FileError, load_model

    name, damage, problem = BAD_MODELS[case]
    model = shutil.copytree(model_dir, tmp_path / "m")
    damage(model / name)
    with pytest.raises(FileError) as err:
        load_model(model)
    message = str(err.value)
    assert message.startswith(str(model)) and problem in message, message
    if name == "model.json" and case != "meta missing":
        assert message.startswith(f"{model / name}: ")


def test_no_model_directory_is_a_missing_file(tmp_path):
    from gmnn.io import MissingFile, read_model_meta

    with pytest.raises(MissingFile, match=r"nowhere: no such model directory"):
        read_model_meta(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        read_model_meta(tmp_path / "nowhere")
