"""Seeded, reproducible train/validation/test splits with nested training sets.

Layout of a split drawn by :func:`make_split`: the indices available (``0..n_total-1``
minus ``exclude``) are shuffled once with ``numpy.random.default_rng(seed)``; then

* ``valid`` = the first ``n_valid`` shuffled indices,
* ``train`` = the next ``n_train`` (kept in shuffled order),
* ``test``  = the last ``n_test`` (or, with ``n_test=None``, all after ``train``).

Consequences, for the same ``n_total``, ``exclude`` and ``seed``:

* training sets are **nested**: ``split.train[:k]`` equals the training set of a split
  drawn with ``n_train=k``, and a smaller training set is always inside a larger one;
* ``valid`` does not depend on ``n_train`` or ``n_test``, and ``test`` does not depend on
  ``n_train`` when ``n_test`` is given (learning curves share their validation and test
  sets).

A test set from another file (e.g. the MD17 CCSD(T) test file, or COMP6 for models
trained on ANI-1x): draw the split with ``n_test=0`` and evaluate on the other file; the
split then only indexes the training file.

ANI data (millions of conformers; training sizes up to 4,194,304 of ANI-1x, with the
option to keep given source ids out): :func:`make_ani_split`.

``valid`` and ``test`` are stored sorted (order is irrelevant for them and sorted
indices read faster from disk); ``train`` keeps its shuffled order.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gmnn.data.errors import DataError
from gmnn.io import atomic_path, reading

SPLIT_FORMAT = "gmnn-split"
SPLIT_VERSION = 1


@dataclasses.dataclass(frozen=True, eq=False)
class Split:
    """Indices of the training, validation and test structures of one data set.

    Attributes:
        train: (n_train,) int64, in seeded random order (prefixes are nested subsets).
        valid: (n_valid,) int64, sorted.
        test: (n_test,) int64, sorted; empty when the test set is a separate file.
        seed: the seed of :func:`numpy.random.default_rng` used to draw the split.
        n_total: number of structures in the data set the indices refer to.
        source_sha256: optional SHA-256 of the data file (see :func:`gmnn.fingerprints.file_sha256`), to
            detect a split being applied to the wrong file.
        train_overlaps_test_from: None, or ``k``: only the prefix ``train[:k]`` is
            disjoint from ``test``; longer prefixes share structures with it (models
            trained on them are not to be evaluated on ``test``; see
            :func:`gmnn.data.sources.md17_split`). ``valid`` never overlaps either.

    Raises:
        ValueError: on construction, if indices are out of ``0..n_total-1``, repeated,
            or shared between the subsets (beyond ``train_overlaps_test_from``).
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    seed: int
    n_total: int
    source_sha256: str | None = None
    train_overlaps_test_from: int | None = None

    def __post_init__(self) -> None:
        for name in ("train", "valid", "test"):
            array = np.asarray(getattr(self, name))
            if array.size == 0:
                array = np.zeros(0, dtype=np.int64)
            if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
                raise ValueError(
                    f"Split.{name} must be a 1-D integer array, got {array.dtype} {array.shape}"
                )
            array = array.astype(np.int64)
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        all_indices = np.concatenate([self.train, self.valid, self.test])
        if all_indices.size and (all_indices.min() < 0 or all_indices.max() >= self.n_total):
            raise ValueError(f"split indices must lie in 0..{self.n_total - 1}")
        k = self.train_overlaps_test_from
        if k is not None and not 0 <= k <= len(self.train):
            raise ValueError(f"train_overlaps_test_from={k} is not in 0..{len(self.train)}")
        disjoint = [[self.train, self.valid, self.test]]
        if k is not None:  # train[k:] may share indices with test, nothing else
            disjoint = [[self.train[:k], self.valid, self.test], [self.train, self.valid]]
        for parts in disjoint:
            indices = np.concatenate(parts)
            if np.unique(indices).size != indices.size:
                raise ValueError("split indices repeat or overlap between train, valid and test")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        return (
            (self.seed, self.n_total, self.source_sha256, self.train_overlaps_test_from)
            == (other.seed, other.n_total, other.source_sha256, other.train_overlaps_test_from)
            and np.array_equal(self.train, other.train)
            and np.array_equal(self.valid, other.valid)
            and np.array_equal(self.test, other.test)
        )

    __hash__ = None  # type: ignore[assignment]

    def with_train_size(self, n_train: int) -> Split:
        """The nested split with the first ``n_train`` training indices (same valid/test)."""
        if not 0 <= n_train <= len(self.train):
            raise ValueError(f"n_train={n_train} is not in 0..{len(self.train)}")
        k = self.train_overlaps_test_from
        overlap = k if k is not None and n_train > k else None
        return dataclasses.replace(
            self, train=self.train[:n_train], train_overlaps_test_from=overlap
        )


def make_split(
    n_total: int,
    n_train: int,
    n_valid: int,
    n_test: int | None = None,
    seed: int = 0,
    exclude: ArrayLike | None = None,
) -> Split:
    """Draw a seeded split with nested training sets (see the module docstring).

    Args:
        n_total: number of structures in the data set.
        n_train: training set size.
        n_valid: validation set size.
        n_test: test set size; None = all remaining structures; 0 = no test set (the
            test data come from another file).
        seed: seed for :func:`numpy.random.default_rng`.
        exclude: indices never to use (e.g. structures also present in a test file).

    Raises:
        ValueError: negative sizes, excluded indices out of range, or
            ``n_train + n_valid + n_test`` larger than the available structures; the
            message names all the numbers.
    """
    sizes = {"n_total": n_total, "n_train": n_train, "n_valid": n_valid, "n_test": n_test}
    for name, value in sizes.items():
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    excluded = np.unique(np.asarray([] if exclude is None else exclude, dtype=np.int64))
    if excluded.size and (excluded[0] < 0 or excluded[-1] >= n_total):
        raise ValueError(f"exclude contains indices outside 0..{n_total - 1}")
    available = np.setdiff1d(np.arange(n_total, dtype=np.int64), excluded, assume_unique=True)
    _check_enough(n_train, n_valid, n_test, available.size, f"n_total={n_total}", excluded.size)
    order = np.random.default_rng(seed).permutation(available)
    return _split_order(order, n_train, n_valid, n_test, seed, n_total)


def _check_enough(n_train, n_valid, n_test, n_available, what: str, n_excluded: int) -> None:
    """A ValueError naming every number unless the sets fit into ``n_available``."""
    n_needed = n_train + n_valid + (n_test or 0)
    if n_needed > n_available:
        raise ValueError(
            f"cannot draw n_train={n_train} + n_valid={n_valid} + n_test={n_test or 0} "
            f"= {n_needed} structures from {what} with {n_excluded} excluded "
            f"({n_available} available)"
        )


def _split_order(order, n_train, n_valid, n_test, seed, n_total) -> Split:
    """The split of a shuffled ``order``: validation first, then the training prefix; the
    test set is the rest (``n_test`` None), its last ``n_test`` entries, or empty (0)."""
    valid = order[:n_valid]
    train = order[n_valid : n_valid + n_train]
    if n_test is None:
        test = order[n_valid + n_train :]
    else:
        test = order[order.size - n_test :] if n_test else order[:0]
    return Split(
        train=train,
        valid=np.sort(valid),
        test=np.sort(test),
        seed=int(seed),
        n_total=int(n_total),
    )


def make_ani_split(
    ids: ArrayLike,
    train_sizes: int | list[int] | tuple[int, ...],
    n_valid: int,
    n_test: int | None = 0,
    seed: int = 0,
    exclude_ids: ArrayLike | None = None,
) -> Split:
    """The ANI convention: one seeded permutation of all conformers per seed.

    The conformers ``0..M-1`` (``M = len(ids)``) are shuffled once with
    ``numpy.random.default_rng(seed).permutation(M)``; those whose ``ids`` are in
    ``exclude_ids`` are then removed from that order (so the order of the others does
    not depend on what is excluded). From the rest: ``valid`` = the first ``n_valid``,
    ``train`` = the next ``max(train_sizes)`` (every size is the prefix ``train[:n]``,
    see :meth:`Split.with_train_size`, so 524,288 ⊂ 4,194,304 and smaller grid sizes
    below), ``test`` = the last ``n_test`` (``None``: all after ``train``; ``0``: none).
    Without ``exclude_ids`` this is :func:`make_split` with ``n_train=max(train_sizes)``.

    Use in the paper's ANI experiments (Sec. 3.2): ANI-1x, ``n_test=0`` (Table 1 tests
    on COMP6); ANI-1ccx, ``n_test=None`` (or a number). ``exclude_ids`` keeps given
    source structures out of every subset, e.g. the ANI-1ccx test geometries out of
    ANI-1x pre-training (ANI-1ccx ids are ANI-1x ids, see :mod:`gmnn.data.ani`);
    whether to do so is the caller's choice (``workflow_scripts/split_ani.py`` does it
    when given the ANI-1ccx split).

    Args:
        ids: (M,) source ids of the structures (``Structures.ids``).
        train_sizes: the training set sizes (one or several).
        n_valid: validation set size.
        n_test: test set size; None = all remaining; 0 = no test set.
        seed: seed for :func:`numpy.random.default_rng`.
        exclude_ids: source ids never to use; every one must occur in ``ids``.

    Raises:
        ValueError: negative or non-integer sizes, ``exclude_ids`` not found in ``ids``,
            or more structures requested than available (naming the numbers).
    """
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
    sizes = sorted({int(n) for n in np.atleast_1d(np.asarray(train_sizes))})
    if not sizes or sizes[0] < 0:
        raise ValueError(f"train_sizes must be non-negative integers, got {train_sizes!r}")
    for name, value in {"n_valid": n_valid, "n_test": n_test}.items():
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    n_total, n_train = len(ids), sizes[-1]
    excluded = np.zeros(n_total, dtype=bool)
    if exclude_ids is not None:
        wanted = np.unique(np.asarray(exclude_ids, dtype=np.int64))
        excluded = np.isin(ids, wanted)
        missing = np.setdiff1d(wanted, ids[excluded], assume_unique=True)
        if missing.size:
            raise ValueError(
                f"{missing.size} of {wanted.size} exclude_ids are not among the ids of "
                f"the data (first: {missing[:5].tolist()}): are they ids of the same "
                "source file?"
            )
    order = np.random.default_rng(seed).permutation(n_total)
    order = order[~excluded[order]]
    _check_enough(n_train, n_valid, n_test, order.size, str(n_total), int(excluded.sum()))
    return _split_order(order, n_train, n_valid, n_test, seed, n_total)


def save_split(split: Split, path: str | os.PathLike[str]) -> Path:
    """Write ``split`` as JSON to ``path`` (atomically; replaces an existing file)."""
    path = Path(path)
    document: dict[str, Any] = {
        "format": SPLIT_FORMAT,
        "version": SPLIT_VERSION,
        "seed": split.seed,
        "n_total": split.n_total,
        "source_sha256": split.source_sha256,
        "sizes": {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
        "train": split.train.tolist(),
        "valid": split.valid.tolist(),
        "test": split.test.tolist(),
    }
    if split.train_overlaps_test_from is not None:  # train[k:] shares test structures
        document["train_overlaps_test_from"] = split.train_overlaps_test_from
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    return path


def save_split_of(split: Split, data: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """Write ``split`` of the data file ``data`` to ``path``, fingerprinted with that
    file's sha256 (so a split is never used with other data); returns a one-line summary
    (``path: train T, valid V, test N (seed S)``) for the job's log."""
    from gmnn.fingerprints import file_sha256

    split = dataclasses.replace(split, source_sha256=file_sha256(data))
    save_split(split, path)
    return (
        f"{path}: train {len(split.train)}, valid {len(split.valid)}, "
        f"test {len(split.test)} (seed {split.seed})"
    )


def _indices(document: dict, key: str, path: Path) -> np.ndarray:
    values = document[key]
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise DataError(path, f"field {key!r} must be a list of integer indices")
    return np.asarray(values, dtype=np.int64)


def _integer(document: dict, key: str, path: Path, optional: bool = False) -> int | None:
    value = document.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise DataError(path, f"field {key!r} must be an integer, got {value!r}")
    return value


def load_split(path: str | os.PathLike[str]) -> Split:
    """Read a split written by :func:`save_split`.

    Raises:
        gmnn.io.MissingFile: ``path`` does not exist (a ``FileNotFoundError``).
        DataError: not JSON, not a gmnn split, missing fields or invalid indices (the
            message names the file and the field).
    """
    path = Path(path)
    with reading(path, "split file", DataError):
        document = json.loads(path.read_text())
    if not isinstance(document, dict) or document.get("format") != SPLIT_FORMAT:
        raise DataError(path, f"not a {SPLIT_FORMAT!r} file")
    if document.get("version") != SPLIT_VERSION:
        raise DataError(path, f"split version {document.get('version')!r} is not supported")
    missing = [k for k in ("train", "valid", "test", "seed", "n_total") if k not in document]
    if missing:
        raise DataError(path, f"missing field(s) {missing}")
    sha = document.get("source_sha256")
    if sha is not None and not isinstance(sha, str):
        raise DataError(path, f"field 'source_sha256' must be a string, got {sha!r}")
    try:
        return Split(
            train=_indices(document, "train", path),
            valid=_indices(document, "valid", path),
            test=_indices(document, "test", path),
            seed=_integer(document, "seed", path),
            n_total=_integer(document, "n_total", path),
            source_sha256=sha,
            train_overlaps_test_from=_integer(
                document, "train_overlaps_test_from", path, optional=True
            ),
        )
    except (TypeError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(path, f"invalid split: {err}") from err
