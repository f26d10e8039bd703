"""The gmnn HDF5 schema: bit-exact round trips, atomic writes, schema checks."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from gmnn.data import DataError, Structures, read, read_ani_h5, read_h5, read_rmd17_npz, write_h5
from gmnn.data import h5 as h5_module


def assert_identical(a: Structures, b: Structures) -> None:
    """Bit-identical arrays (same dtype, shape and bytes) and equal provenance."""
    for name in (
        "numbers",
        "positions",
        "n_atoms",
        "energy",
        "forces",
        "cell",
        "pbc",
        "ids",
        "groups",
    ):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name
    assert a.group_names == b.group_names
    assert a.meta == b.meta


@pytest.mark.parametrize("compression", ["gzip", "lzf", None])
def test_round_trip_bit_identical(tmp_path, compression, make_structures):
    s = make_structures(groups=True, meta={"source": "random", "nested": {"list": [1, 2.5, "x"]}})
    path = write_h5(s, tmp_path / "s.h5", compression=compression)
    back = read_h5(path)
    assert_identical(s, back)
    with h5py.File(path) as f:
        assert f.attrs["schema"] == "gmnn-structures" and f.attrs["schema_version"] == 1
        assert f.attrs["energy_unit"] == "eV" and f.attrs["length_unit"] == "Angstrom"
    assert read(path).meta == s.meta  # detected as gmnn-h5


def test_round_trip_unlabelled_periodic_and_empty(tmp_path):
    s = Structures(
        [18, 18],
        [[0, 0, 0], [1.5, 1.5, 1.5]],
        [2],
        cell=np.eye(3)[None] * 3.0,
        pbc=[[True, True, False]],
    )
    assert_identical(s, read_h5(write_h5(s, tmp_path / "periodic.h5")))
    empty = s.subset([])
    assert_identical(empty, read_h5(write_h5(empty, tmp_path / "empty.h5")))


def test_round_trip_real_files(shared_data, tmp_path):
    for relative, reader in [
        ("rmd17/rmd17_ethanol_train_01.npz", read_rmd17_npz),
        ("comp6/s66x8_wb97x6-31gd.h5", read_ani_h5),
    ]:
        source = shared_data / relative
        if not source.exists():
            pytest.skip(f"{source} not found")
        s = reader(source)
        assert_identical(s, read_h5(write_h5(s, tmp_path / "converted.h5")))


def test_overwrite_replaces_file(tmp_path, make_structures):
    path = tmp_path / "s.h5"
    write_h5(make_structures(seed=1), path)
    second = make_structures((2, 2), seed=2)
    write_h5(second, path)
    assert_identical(second, read_h5(path))


def test_atomic_write_leaves_nothing_on_error(tmp_path, monkeypatch, make_structures):
    path = tmp_path / "s.h5"
    original = make_structures(seed=1)
    write_h5(original, path)

    def failing_dumps(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5_module.json, "dumps", failing_dumps)
    with pytest.raises(RuntimeError, match="disk full"):
        write_h5(make_structures(seed=2), path)
    with pytest.raises(RuntimeError, match="disk full"):
        write_h5(make_structures(seed=2), tmp_path / "new.h5")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]
    assert_identical(original, read_h5(path))


def test_wrong_schema_and_bad_files(tmp_path, make_structures):
    other = tmp_path / "other_schema.h5"
    with h5py.File(other, "w") as f:
        f.attrs["schema"] = "something-else"
    with pytest.raises(DataError, match=r"other_schema.h5: HDF5 schema is 'something-else'"):
        read_h5(other)
    with pytest.raises(DataError, match=r"other_schema.h5: HDF5 schema"):
        read(other)  # sniffed as gmnn-h5 because of the schema attribute

    ani = tmp_path / "ani_like.h5"
    with h5py.File(ani, "w") as f:
        f["mol/coordinates"] = np.zeros((1, 1, 3))
    with pytest.raises(DataError, match=r"ani_like.h5: HDF5 schema is None"):
        read_h5(ani)

    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(DataError, match=r"text.h5: not an HDF5 file"):
        read_h5(text)

    newer = write_h5(make_structures(), tmp_path / "newer.h5")
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(DataError, match=r"newer.h5: schema_version 99 is not supported"):
        read_h5(newer)

    missing = write_h5(make_structures(), tmp_path / "missing.h5")
    with h5py.File(missing, "r+") as f:
        del f["positions"]
    with pytest.raises(DataError, match=r"missing.h5: missing dataset\(s\) \['positions'\]"):
        read_h5(missing)

    corrupt = write_h5(make_structures(), tmp_path / "corrupt.h5")
    with h5py.File(corrupt, "r+") as f:
        f["numbers"][0] = 0
    with pytest.raises(DataError, match=r"corrupt.h5: unknown element Z=0"):
        read_h5(corrupt)
