"""Class 3 of the reliability issue: a damaged or wrong data or split file is one
DataError (a gmnn.io.FileError) whose message starts with the file and says what is
wrong; never a raw OSError, BadZipFile or JSON error."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from _damage import cut, json_edit, zip_of

from gmnn.data import (
    DataError,
    load_split,
    make_split,
    read,
    read_ani_h5,
    read_h5,
    save_split,
    write_h5,
)
from gmnn.io import FileError, MissingFile


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    rng = np.random.default_rng(0)
    from gmnn.data import Structures

    n, m = 4, 20
    structures = Structures(
        numbers=np.tile([8, 1, 1], m),
        positions=(np.tile([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], (m, 1)))
        + rng.normal(scale=0.02, size=(3 * m, 3)),
        n_atoms=np.full(m, 3),
        energy=rng.normal(size=m),
        forces=rng.normal(size=(3 * m, 3)),
        meta={"source": "test"},
    )
    d = tmp_path_factory.mktemp("good")
    write_h5(structures, d / "data.h5")
    np.savez(
        d / "data.npz",
        R=structures.positions.reshape(m, 3, 3),
        z=np.array([8, 1, 1]),
        E=structures.energy,
        F=structures.forces.reshape(m, 3, 3),
    )
    save_split(make_split(m, 10, 5, n_test=n), d / "split.json")
    return d


def _overwrite_middle(path):
    data = bytearray(path.read_bytes())
    a, b = int(len(data) * 0.3), int(len(data) * 0.9)
    data[a:b] = b"\xa5" * (b - a)
    path.write_bytes(bytes(data))


def _h5_attr(name, value):
    def edit(path):
        with h5py.File(path, "a") as f:
            f.attrs[name] = value

    return edit


def _h5_replace(name, value):
    def edit(path):
        with h5py.File(path, "a") as f:
            del f[name]
            f[name] = value

    return edit


# name -> (file of `good`, damage, reader, what the message must say)
BAD_DATA = {
    "h5 cut in half": ("data.h5", cut(0.5), read_h5, "truncated file"),
    "h5 cut to its superblock": ("data.h5", cut(0.01), read_h5, "truncated file"),
    "h5 signature then junk": (
        "data.h5",
        lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x07" * 4000),
        read_h5,
        "cannot read this HDF5 file",
    ),
    "h5 overwritten middle": ("data.h5", _overwrite_middle, read_h5, "cannot read this HDF5"),
    "h5 cut, format detected": ("data.h5", cut(0.5), read, "truncated file"),
    "h5 as ANI, cut": ("data.h5", cut(0.5), read_ani_h5, "truncated file"),
    "h5 version text": (
        "data.h5",
        _h5_attr("schema_version", "one"),
        read_h5,
        "invalid HDF5 file",
    ),
    "h5 meta not JSON": ("data.h5", _h5_attr("meta", "{oops"), read_h5, "'meta' is not valid JSON"),
    "h5 positions 2-D": (
        "data.h5",
        _h5_replace("positions", np.zeros((60, 2))),
        read_h5,
        "positions",
    ),
    "h5 text file": ("data.h5", lambda p: p.write_text("not hdf5"), read_h5, "not an HDF5 file"),
    "npz cut in half": ("data.npz", cut(0.5), read, "truncated or damaged .npz"),
    "npz zip header only": (
        "data.npz",
        lambda p: p.write_bytes(b"PK\x03\x04" + bytes(30)),
        read,
        "truncated or damaged .npz",
    ),
    "npz junk .npy member": (
        "data.npz",
        zip_of({"R.npy": b"\x93NUMPY\x07\x00junk", "z.npy": b"junk"}),
        read,
        "member 'R'",
    ),
    "npz text members": (
        "data.npz",
        zip_of({"R": "text", "z": "more text"}),
        read,
        "member 'R' is not a numpy array",
    ),
    "npz cut, forced sgdml": ("data.npz", cut(0.5), None, "cannot read as .npz"),
    "empty file": ("data.npz", lambda p: p.write_bytes(b""), read, "empty file (0 bytes)"),
    "binary garbage": ("data.npz", lambda p: p.write_bytes(bytes(range(256)) * 4), read, "ASE"),
    "a directory": ("data.h5", lambda p: (p.unlink(), p.mkdir()), read, "is a directory"),
}


@pytest.mark.parametrize("case", BAD_DATA, ids=list(BAD_DATA))
def test_a_damaged_data_file_is_named(tmp_path, good, case):
    name, damage, reader, problem = BAD_DATA[case]
    path = tmp_path / name
    path.write_bytes((good / name).read_bytes())
    damage(path)
    reader = reader or (lambda p: read(p, format="sgdml"))
    with pytest.raises(DataError) as err:
        reader(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and problem in message, message
    assert isinstance(err.value, FileError) and err.value.source == str(path)


@pytest.mark.parametrize("reader", [read, read_h5, read_ani_h5, load_split])
def test_a_missing_file_is_named(tmp_path, reader):
    with pytest.raises(MissingFile, match=r"nope\.\w+: no such file") as err:
        reader(tmp_path / ("nope.json" if reader is load_split else "nope.h5"))
    assert isinstance(err.value, FileNotFoundError)


BAD_SPLITS = {
    "cut in half": (cut(0.5), "not valid JSON"),
    "empty": (lambda p: p.write_text(""), "not valid JSON"),
    "binary": (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0"), "not a text file"),
    "a list": (lambda p: p.write_text("[1, 2, 3]"), "not a 'gmnn-split' file"),
    "indices as text": (json_edit(lambda d: d.update(train=["1", "2"])), "field 'train'"),
    "indices fractional": (json_edit(lambda d: d.update(valid=[0.5, 1.5])), "field 'valid'"),
    "indices boolean": (json_edit(lambda d: d.update(test=[True])), "field 'test'"),
    "indices nested": (json_edit(lambda d: d.update(train=[[1, 2]])), "field 'train'"),
    "indices a number": (json_edit(lambda d: d.update(train=7)), "field 'train'"),
    "no n_total": (json_edit(lambda d: d.pop("n_total")), "missing field(s) ['n_total']"),
    "seed text": (json_edit(lambda d: d.update(seed="zero")), "field 'seed' must be an integer"),
    "n_total too small": (json_edit(lambda d: d.update(n_total=3)), "invalid split"),
    "sha a number": (json_edit(lambda d: d.update(source_sha256=5)), "'source_sha256'"),
    "version 2": (json_edit(lambda d: d.update(version=2)), "split version 2"),
}


@pytest.mark.parametrize("case", BAD_SPLITS, ids=list(BAD_SPLITS))
def test_a_damaged_split_is_named(tmp_path, good, case):
    damage, problem = BAD_SPLITS[case]
    path = tmp_path / "split.json"
    path.write_text((good / "split.json").read_text())
    damage(path)
    with pytest.raises(DataError) as err:
        load_split(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and problem in message, message


def test_the_good_files_read(good):
    assert len(read(good / "data.h5")) == len(read(good / "data.npz")) == 20
    assert len(load_split(good / "split.json").test) == 4
