"""Seeded splits: disjointness, nesting, determinism, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gmnn.data import DataError, Split, load_split, make_split, save_split, save_split_of
from gmnn.fingerprints import file_sha256


def test_disjoint_and_sizes():
    split = make_split(1000, n_train=100, n_valid=50, n_test=200, seed=3)
    assert (len(split.train), len(split.valid), len(split.test)) == (100, 50, 200)
    union = np.concatenate([split.train, split.valid, split.test])
    assert np.unique(union).size == 350 and union.min() >= 0 and union.max() < 1000
    assert all(a.dtype == np.int64 for a in (split.train, split.valid, split.test))
    assert np.all(np.diff(split.valid) > 0) and np.all(np.diff(split.test) > 0)
    assert not np.all(np.diff(split.train) > 0)  # train keeps its random order
    assert split.seed == 3 and split.n_total == 1000


def test_test_none_takes_the_rest_and_zero_takes_none():
    rest = make_split(100, n_train=10, n_valid=5, seed=0)
    assert len(rest.test) == 85
    assert np.unique(np.concatenate([rest.train, rest.valid, rest.test])).size == 100
    none = make_split(100, n_train=10, n_valid=5, n_test=0, seed=0)
    assert none.test.size == 0


def test_nested_training_sets_with_fixed_valid_and_test():
    sizes = [8, 32, 128, 512]
    splits = [make_split(2000, n, n_valid=50, n_test=500, seed=7) for n in sizes]
    for small, large in zip(splits, splits[1:], strict=False):
        np.testing.assert_array_equal(large.train[: len(small.train)], small.train)
        np.testing.assert_array_equal(large.valid, small.valid)
        np.testing.assert_array_equal(large.test, small.test)
    # Also nested when the test set is "the rest" or absent.
    rest = make_split(2000, 512, n_valid=50, seed=7)
    np.testing.assert_array_equal(rest.train, splits[-1].train)
    assert set(splits[-1].test.tolist()) <= set(rest.test.tolist())
    assert splits[-1].with_train_size(32) == splits[1]


def test_determinism_by_seed():
    assert make_split(500, 100, 20, seed=1) == make_split(500, 100, 20, seed=1)
    assert make_split(500, 100, 20, seed=1) != make_split(500, 100, 20, seed=2)


def test_exclude():
    exclude = np.arange(0, 100, 2)
    split = make_split(100, 20, 10, seed=0, exclude=exclude)
    assert not set(exclude.tolist()) & set(
        np.concatenate([split.train, split.valid, split.test]).tolist()
    )
    assert len(split.test) == 20
    with pytest.raises(ValueError, match="outside 0..99"):
        make_split(100, 20, 10, exclude=[100])


def test_too_large_or_negative():
    with pytest.raises(
        ValueError, match=r"n_train=900 \+ n_valid=50 \+ n_test=100 = 1050 .* n_total=1000"
    ):
        make_split(1000, 900, 50, n_test=100)
    with pytest.raises(ValueError, match=r"10 excluded \(5 available\)"):
        make_split(15, 5, 1, exclude=range(10))
    with pytest.raises(ValueError, match="n_valid must be a non-negative integer"):
        make_split(10, 5, -1)


def test_split_validation():
    with pytest.raises(ValueError, match="overlap"):
        Split(train=np.array([1, 2]), valid=np.array([2]), test=np.array([]), seed=0, n_total=5)
    with pytest.raises(ValueError, match=r"0..4"):
        Split(train=np.array([5]), valid=np.array([]), test=np.array([]), seed=0, n_total=5)


def test_save_and_load(tmp_path):
    data_file = tmp_path / "data.bin"
    data_file.write_bytes(b"abc")
    split = make_split(300, 100, 20, n_test=50, seed=4)
    split = Split(**{**split.__dict__, "source_sha256": file_sha256(data_file)})
    assert split.source_sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    path = save_split(split, tmp_path / "split.json")
    loaded = load_split(path)
    assert loaded == split
    np.testing.assert_array_equal(loaded.train, split.train)  # order preserved
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_a_split_saved_with_its_data_files_fingerprint(tmp_path):
    data_file = tmp_path / "data.bin"
    data_file.write_bytes(b"abc")
    split = make_split(300, 100, 20, n_test=50, seed=4)
    line = save_split_of(split, data_file, tmp_path / "split.json")
    assert line == f"{tmp_path / 'split.json'}: train 100, valid 20, test 50 (seed 4)"
    loaded = load_split(tmp_path / "split.json")
    assert loaded.source_sha256 == file_sha256(data_file)
    np.testing.assert_array_equal(loaded.train, split.train)


def test_load_bad_files(tmp_path):
    not_json = tmp_path / "not_json.json"
    not_json.write_text("{")
    with pytest.raises(DataError, match="not_json.json: not valid JSON"):
        load_split(not_json)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something"}))
    with pytest.raises(DataError, match="other.json: not a 'gmnn-split' file"):
        load_split(other)
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps({"format": "gmnn-split", "version": 1, "train": []}))
    with pytest.raises(
        DataError,
        match=r"incomplete.json: missing field\(s\) \['valid', 'test', 'seed', 'n_total'\]",
    ):
        load_split(incomplete)
    overlapping = tmp_path / "overlapping.json"
    overlapping.write_text(
        json.dumps(
            {
                "format": "gmnn-split",
                "version": 1,
                "train": [1],
                "valid": [1],
                "test": [],
                "seed": 0,
                "n_total": 3,
            }
        )
    )
    with pytest.raises(DataError, match="overlapping.json: invalid split: .*overlap"):
        load_split(overlapping)
