"""gmnn's own HDF5 schema: one file layout for structures from every source.

Layout (``schema="gmnn-structures"``, ``schema_version=1``)::

    /numbers      (A,)      int32    atomic numbers
    /positions    (A, 3)    float64  Å
    /n_atoms      (M,)      int64
    /cell         (M, 3, 3) float64  Å (zeros when not periodic)
    /pbc          (M, 3)    bool
    /ids          (M,)      int64    index of each structure in its source file
    /energy       (M,)      float64  eV            (only if labelled)
    /forces       (A, 3)    float64  eV/Å          (only if labelled)
    /groups       (M,)      int64    index into /group_names   (only if grouped)
    /group_names  (G,)      str      (UTF-8)                   (only if grouped)

Root attributes: ``schema``, ``schema_version``, ``energy_unit="eV"``,
``length_unit="Angstrom"``, ``force_unit="eV/Angstrom"``, ``n_structures``,
``n_atoms_total`` and ``meta`` (the :attr:`Structures.meta` dict as a JSON string).

Values are stored without any conversion, so :func:`read_h5` returns bit-identical
arrays. Files are written atomically (see :func:`gmnn.io.atomic_path`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gmnn.data.errors import DataError
from gmnn.data.structures import Structures
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
        f.attrs["schema"] = SCHEMA
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["energy_unit"] = "eV"
        f.attrs["length_unit"] = "Angstrom"
        f.attrs["force_unit"] = "eV/Angstrom"
        f.attrs["n_structures"] = len(structures)
        f.attrs["n_atoms_total"] = structures.n_total_atoms
        f.attrs["meta"] = json.dumps(structures.meta)
        for name, data in datasets.items():
            options: dict[str, Any] = {}
            if compression is not None and data.size:
                options = {"compression": compression, "shuffle": True}
                if compression == "gzip":
                    options["compression_opts"] = 4
            f.create_dataset(name, data=data, **options)
        if structures.groups is not None:
            f.create_dataset(
                "group_names",
                data=np.array(structures.group_names, dtype=object),
                dtype=h5py.string_dtype("utf-8"),
            )
    return path


def h5_schema(path: str | os.PathLike[str]) -> str | None:
    """The ``schema`` root attribute of an HDF5 file, or None if it has none."""
    with reading(path, "HDF5 file", DataError), h5py.File(path, "r") as f:
        schema = f.attrs.get("schema")
    return schema.decode() if isinstance(schema, bytes) else schema


def read_h5(path: str | os.PathLike[str]) -> Structures:
    """Read a file written by :func:`write_h5`.

    Raises:
        gmnn.io.MissingFile: ``path`` does not exist (a ``FileNotFoundError``).
        DataError: not an HDF5 file, another schema or a newer schema version, a missing
            dataset, or contents that fail :class:`Structures` validation.
        gmnn.io.FileError: a truncated or damaged file (what h5py says, with the path).
    """
    path = Path(path)
    if not path.exists():
        raise MissingFile(path)
    if not h5py.is_hdf5(path):
        raise DataError(path, "not an HDF5 file")
    with reading(path, "HDF5 file", DataError), h5py.File(path, "r") as f:
        schema = f.attrs.get("schema")
        schema = schema.decode() if isinstance(schema, bytes) else schema
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

    try:
        with reading(path, "gmnn HDF5 file", DataError):
            return Structures(**data, meta=meta, group_names=group_names)
    except DataError as err:
        raise DataError(path, err.problem) from err
