"""gmnn's own HDF5 schema: one file layout for structures from every source.

Layout (``schema="gmnn-structures"``, ``schema_version=1``)::

    /numbers      (A,)      int32    atomic numbers
    /positions    (A, 3)    float64  Å        (or float32, e.g. ANI data)
    /n_atoms      (M,)      int64
    /cell         (M, 3, 3) float64  Å (zeros when not periodic)
    /pbc          (M, 3)    bool
    /ids          (M,)      int64    index of each structure in its source file
    /energy       (M,)      float64  eV            (only if labelled)
    /forces       (A, 3)    float64  eV/Å          (only if labelled; or float32)
    /groups       (M,)      int64    index into /group_names   (only if grouped)
    /group_names  (G,)      str      (UTF-8)                   (only if grouped)

Root attributes: ``schema``, ``schema_version``, ``energy_unit="eV"``,
``length_unit="Angstrom"``, ``force_unit="eV/Angstrom"``, ``n_structures``,
``n_atoms_total`` and ``meta`` (the :attr:`Structures.meta` dict as a JSON string).

Values are stored without any conversion, so :func:`read_h5` returns bit-identical
arrays; float32 positions/forces stay float32 in memory (``Structures(keep_float32=True)``).
Files are written atomically (see :func:`gmnn.io.atomic_path`), either from one
:class:`Structures` (:func:`write_h5`) or chunk by chunk with bounded memory
(:class:`H5Writer`, used by :mod:`gmnn.data.ani` for the 5.6 GB ANI-1x release).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from gmnn.data.errors import DataError
from gmnn.data.structures import Structures, check_energies_plausible
from gmnn.io import MissingFile, atomic_path, reading

SCHEMA = "gmnn-structures"
SCHEMA_VERSION = 1

_REQUIRED = ("numbers", "positions", "n_atoms", "cell", "pbc", "ids")


def write_h5(
    structures: Structures,
    path: str | os.PathLike[str],
    compression: str | None = "gzip",
) -> Path:
    """Write ``structures`` to ``path`` in the gmnn HDF5 schema (atomically).

    Args:
        structures: the data to write.
        path: destination file (its directory is created). An existing file is replaced.
        compression: ``"gzip"`` (default, level 4, with byte shuffle), ``"lzf"`` or
            ``None``. Compression is lossless.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    datasets: dict[str, np.ndarray] = {
        "numbers": structures.numbers,
        "positions": structures.positions,
        "n_atoms": structures.n_atoms,
        "cell": structures.cell,
        "pbc": structures.pbc,
        "ids": structures.ids,
    }
    if structures.energy is not None:
        datasets["energy"] = structures.energy
    if structures.forces is not None:
        datasets["forces"] = structures.forces
    if structures.groups is not None:
        datasets["groups"] = structures.groups

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        _write_schema(f)
        f.attrs["n_structures"] = len(structures)
        f.attrs["n_atoms_total"] = structures.n_total_atoms
        f.attrs["meta"] = json.dumps(structures.meta)
        for name, data in datasets.items():
            options = _compression_options(compression) if data.size else {}
            f.create_dataset(name, data=data, **options)
        if structures.groups is not None:
            f.create_dataset(
                "group_names",
                data=np.array(structures.group_names, dtype=object),
                dtype=h5py.string_dtype("utf-8"),
            )
    return path


def _write_schema(f: h5py.File) -> None:
    """The root attributes that make a file one of the gmnn schema (checked by
    :func:`_open_checked`), and its units."""
    f.attrs["schema"] = SCHEMA
    f.attrs["schema_version"] = SCHEMA_VERSION
    f.attrs["energy_unit"] = "eV"
    f.attrs["length_unit"] = "Angstrom"
    f.attrs["force_unit"] = "eV/Angstrom"


def _schema(f: h5py.File) -> str | None:
    schema = f.attrs.get("schema")
    return schema.decode() if isinstance(schema, bytes) else schema


@contextlib.contextmanager
def _open_checked(path: Path) -> Iterator[h5py.File]:
    """``path`` opened for reading after the one schema check of the gmnn HDF5 readers:
    an existing HDF5 file (else MissingFile or DataError), our schema and a schema
    version this gmnn reads (else DataError naming the file)."""
    if not path.exists():
        raise MissingFile(path)
    if not h5py.is_hdf5(path):
        raise DataError(path, "not an HDF5 file")
    with reading(path, "HDF5 file", DataError), h5py.File(path, "r") as f:
        schema = _schema(f)
        if schema != SCHEMA:
            raise DataError(
                path,
                f"HDF5 schema is {schema!r}, expected {SCHEMA!r} "
                "(for ANI files use read_ani_h5, or read() to detect the format)",
            )
        version = int(f.attrs.get("schema_version", -1))
        if not 1 <= version <= SCHEMA_VERSION:
            raise DataError(
                path,
                f"schema_version {version} is not supported (this gmnn reads 1..{SCHEMA_VERSION})",
            )
        yield f


def _compression_options(compression: str | None) -> dict[str, Any]:
    if compression is None:
        return {}
    options: dict[str, Any] = {"compression": compression, "shuffle": True}
    if compression == "gzip":
        options["compression_opts"] = 4
    return options


class H5Writer:
    """Write the gmnn schema chunk by chunk, memory bounded by one chunk (atomically).

    Use as a context manager: every :meth:`append` adds structures to resizable, chunked
    datasets; on a clean exit the root attributes (``n_structures``, ``meta``, ...) and
    ``group_names`` are written and the file is renamed onto ``path``; on an exception
    nothing is left at ``path`` (an existing file stays as it was).

    Args:
        path: destination file.
        float_dtype: storage dtype of positions and forces (``np.float32`` for ANI data,
            whose source is float32; ``np.float64`` otherwise). Energies are float64.
        forces: whether the structures carry forces.
        compression: as in :func:`write_h5`.
        chunk_rows: HDF5 chunk length (rows) of the datasets.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        float_dtype: type[np.floating] = np.float64,
        forces: bool = True,
        compression: str | None = "gzip",
        chunk_rows: int = 1 << 16,
    ) -> None:
        self.path = Path(path)
        self.float_dtype = np.dtype(float_dtype)
        self.forces = bool(forces)
        self._options = _compression_options(compression)
        self._chunk_rows = int(chunk_rows)
        self.n_structures = 0
        self.n_atoms_total = 0
        self._stack = contextlib.ExitStack()
        self._file: h5py.File | None = None
        self._finished = False

    def __enter__(self) -> H5Writer:
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._file = self._stack.enter_context(h5py.File(tmp, "w"))
        f = self._file
        _write_schema(f)
        per_atom = {"numbers": (np.int32, ()), "positions": (self.float_dtype, (3,))}
        if self.forces:
            per_atom["forces"] = (self.float_dtype, (3,))
        per_structure = {
            "n_atoms": (np.int64, ()),
            "cell": (np.float64, (3, 3)),
            "pbc": (np.bool_, (3,)),
            "ids": (np.int64, ()),
            "energy": (np.float64, ()),
            "groups": (np.int64, ()),
        }
        for name, (dtype, tail) in {**per_atom, **per_structure}.items():
            f.create_dataset(
                name,
                shape=(0, *tail),
                maxshape=(None, *tail),
                dtype=dtype,
                chunks=(self._chunk_rows, *tail),
                **self._options,
            )
        return self

    def _extend(self, name: str, values: np.ndarray) -> None:
        dataset = self._file[name]
        start = dataset.shape[0]
        dataset.resize(start + len(values), axis=0)
        dataset[start:] = values

    def append(
        self,
        numbers: np.ndarray,
        positions: np.ndarray,
        n_atoms: np.ndarray,
        energy: np.ndarray,
        ids: np.ndarray,
        groups: np.ndarray,
        forces: np.ndarray | None = None,
    ) -> None:
        """Add structures (flat arrays as in :class:`Structures`; eV, Å, eV/Å), non-periodic.

        Positions/forces are stored as ``float_dtype``; the caller validates the values.
        """
        if self._file is None:
            raise RuntimeError("H5Writer.append outside its with-block")
        if (forces is not None) != self.forces:
            raise ValueError(f"H5Writer(forces={self.forces}) got forces={forces is not None}")
        m = len(n_atoms)
        self._extend("numbers", np.asarray(numbers, dtype=np.int32))
        self._extend("positions", np.asarray(positions, dtype=self.float_dtype))
        if forces is not None:
            self._extend("forces", np.asarray(forces, dtype=self.float_dtype))
        self._extend("n_atoms", np.asarray(n_atoms, dtype=np.int64))
        self._extend("cell", np.zeros((m, 3, 3)))
        self._extend("pbc", np.zeros((m, 3), dtype=bool))
        self._extend("ids", np.asarray(ids, dtype=np.int64))
        self._extend("energy", np.asarray(energy, dtype=np.float64))
        self._extend("groups", np.asarray(groups, dtype=np.int64))
        self.n_structures += m
        self.n_atoms_total += len(numbers)

    def finish(self, meta: dict[str, Any], group_names: Sequence[str]) -> None:
        """Write the root attributes and ``group_names`` (call once, before leaving)."""
        f = self._file
        f.attrs["n_structures"] = self.n_structures
        f.attrs["n_atoms_total"] = self.n_atoms_total
        f.attrs["meta"] = json.dumps(meta, allow_nan=False)
        f.create_dataset(
            "group_names",
            data=np.array(list(group_names), dtype=object),
            dtype=h5py.string_dtype("utf-8"),
        )
        self._finished = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if exc_type is None and not self._finished:
            exc = RuntimeError(f"{self.path}: H5Writer left without finish()")
            self._stack.__exit__(type(exc), exc, None)
            raise exc
        self._file = None
        return bool(self._stack.__exit__(exc_type, exc, traceback))


def read_h5_ids(path: str | os.PathLike[str]) -> np.ndarray:
    """Only the ``ids`` (M,) int64 of a gmnn HDF5 file (cheap, e.g. for splits).

    Raises:
        gmnn.io.MissingFile: ``path`` does not exist.
        DataError: not a gmnn HDF5 file (or a newer schema version) or no ``ids`` dataset.
    """
    path = Path(path)
    with _open_checked(path) as f:
        if "ids" not in f:
            raise DataError(path, "missing dataset 'ids'")
        return np.asarray(f["ids"][()], dtype=np.int64)


def h5_schema(path: str | os.PathLike[str]) -> str | None:
    """The ``schema`` root attribute of an HDF5 file, or None if it has none."""
    with reading(path, "HDF5 file", DataError), h5py.File(path, "r") as f:
        return _schema(f)


def read_h5(path: str | os.PathLike[str]) -> Structures:
    """Read a file written by :func:`write_h5`.

    Raises:
        gmnn.io.MissingFile: ``path`` does not exist (a ``FileNotFoundError``).
        DataError: not an HDF5 file, another schema or a newer schema version, a missing
            dataset, or contents that fail :class:`Structures` validation.
        gmnn.io.FileError: a truncated or damaged file (what h5py says, with the path).
    """
    path = Path(path)
    with _open_checked(path) as f:
        missing = [name for name in _REQUIRED if name not in f]
        if missing:
            raise DataError(path, f"missing dataset(s) {missing}")
        try:
            meta = json.loads(f.attrs.get("meta", "{}"))
        except json.JSONDecodeError as err:
            raise DataError(path, f"root attribute 'meta' is not valid JSON: {err}") from err
        data = {
            name: f[name][()] for name in (*_REQUIRED, "energy", "forces", "groups") if name in f
        }
        group_names = list(f["group_names"].asstr()[()]) if "group_names" in f else None

    compact = any(
        data[name].dtype == np.float32 for name in ("positions", "forces") if name in data
    )
    try:
        with reading(path, "gmnn HDF5 file", DataError):
            structures = Structures(
                **data, meta=meta, group_names=group_names, keep_float32=compact
            )
        check_energies_plausible(structures)
        return structures
    except DataError as err:
        raise DataError(path, err.problem) from err
