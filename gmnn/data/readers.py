"""Readers for the data formats used in the paper; all return :class:`Structures` in eV/Å.

Every reader fills ``meta`` with ``source`` (the path), ``format`` and, when the file or
the format definition states it, ``level_of_theory``, plus the original units.

==================  ===================================================  ==================
format              reader                                               original units
==================  ===================================================  ==================
``"sgdml"``         :func:`read_sgdml_npz` (MD17/sGDML ``.npz``)         kcal/mol, Å (*)
``"rmd17"``         :func:`read_rmd17_npz` (revised MD17 ``.npz``)       kcal/mol, Å
``"ani"``           :func:`read_ani_h5` (ANI-1x/1ccx, ANI-1, COMP6)      Hartree, Å
``"gmnn-h5"``       :func:`gmnn.data.read_h5` (our own schema)           eV, Å
``"ase"``           :func:`read_ase` (extxyz and all ASE formats)        eV, Å
==================  ===================================================  ==================

(*) unless the file has ``e_unit``/``r_unit`` keys.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import ase.io
import h5py
import numpy as np
from ase.io.formats import filetype, string2index

from gmnn import units
from gmnn.data.ani import ani_leaves, read_ani, scalar_str, scan_ani
from gmnn.data.errors import DataError, check_data_file
from gmnn.data.h5 import read_h5
from gmnn.data.structures import (
    Structures,
    check_energies_plausible,
    check_finite,
    check_not_empty,
    format_shape,
)
from gmnn.io import read_npz, reading

FORMATS = ("sgdml", "rmd17", "ani", "gmnn-h5", "ase")
"""Format names accepted by :func:`read`."""

RMD17_LEVEL_OF_THEORY = {
    "new": "PBE/def2-SVP (ORCA)",
    "old": "PBE+vdW-TS (FHI-aims; original MD17)",
}
"""Level of theory of the rMD17 ``energies``/``forces`` and ``old_*`` labels."""


_check_file = check_data_file  # the first check of every reader here


# ---------------------------------------------------------------------- npz formats


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    _check_file(path)
    try:
        return read_npz(path, error=DataError)
    except DataError as err:
        raise DataError(path, f"cannot read as .npz: {err.problem}") from err


def _require(data: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    if key not in data:
        raise DataError(path, f"missing key {key!r} (keys present: {sorted(data)})")
    return data[key]


def _expect_shape(array: np.ndarray, shape: tuple[int | None, ...], key: str, path: Path) -> None:
    """Raise DataError unless ``array.shape`` matches ``shape`` (None = any length)."""
    if array.ndim != len(shape) or any(
        e is not None and e != s for e, s in zip(shape, array.shape, strict=True)
    ):
        raise DataError(
            path, f"key {key!r} has shape {array.shape}; expected {format_shape(shape)}"
        )


def _energy_vector(array: np.ndarray, n: int, key: str, path: Path) -> np.ndarray:
    """Energies given as (M,) or (M, 1) as a float64 (M,) vector."""
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    _expect_shape(array, (n,), key, path)
    return array.astype(np.float64)


def read_sgdml_npz(path: str | os.PathLike[str]) -> Structures:
    """Read an sGDML/MD17 ``.npz`` dataset.

    Keys: ``R`` (M, N, 3) positions; ``z`` (N,) atomic numbers shared by all structures,
    or per-structure ``Z`` (M, N) with optional ``N`` (M,) atom counts (rows padded
    beyond ``N[m]`` are ignored), as in V. Zaverkin's ethanol data sets; optional ``E``
    (M,) or (M, 1) energies and ``F`` (M, N, 3) forces. Units are kcal/mol and Å unless
    the file has ``e_unit``/``r_unit`` keys (forces are in e_unit/r_unit).
    ``theory`` and ``name`` go into ``meta["level_of_theory"]`` and ``meta["name"]``.

    Returns:
        Structures in eV, Å and eV/Å; ``ids`` are the row indices in the file.

    Raises:
        DataError: missing ``R`` or ``z``/``Z``, inconsistent shapes, unknown units,
            non-finite values or unknown elements.
    """
    path = Path(path)
    data = _load_npz(path)
    positions = _require(data, "R", path)
    _expect_shape(positions, (None, None, 3), "R", path)
    n_struct, n_max = positions.shape[:2]

    e_unit = scalar_str(data["e_unit"]) if "e_unit" in data else "kcal/mol"
    r_unit = scalar_str(data["r_unit"]) if "r_unit" in data else "Ang"
    try:
        e_factor = units.energy_unit_in_ev(e_unit)
        r_factor = units.length_unit_in_angstrom(r_unit)
    except KeyError as err:
        raise DataError(path, str(err.args[0])) from err

    if "z" in data:
        z = data["z"]
        _expect_shape(z, (n_max,), "z", path)
        numbers = np.tile(z, (n_struct, 1))
    elif "Z" in data:
        numbers = data["Z"]
        _expect_shape(numbers, (n_struct, n_max), "Z", path)
    else:
        raise DataError(path, f"missing key 'z' or 'Z' (keys present: {sorted(data)})")

    if "N" in data:
        n_atoms = data["N"]
        _expect_shape(n_atoms, (n_struct,), "N", path)
        if n_struct and (n_atoms.min() < 1 or n_atoms.max() > n_max):
            m = int(np.argmax((n_atoms < 1) | (n_atoms > n_max)))
            raise DataError(path, f"N[{m}]={n_atoms[m]} is outside 1..{n_max}")
    else:
        n_atoms = np.full(n_struct, n_max)
    mask = np.arange(n_max) < np.asarray(n_atoms)[:, None]  # (M, N) real atoms
    check_finite(np.where(mask[..., None], positions, 0.0), "R", path)

    energy = forces = None
    if "E" in data:
        energy = _energy_vector(data["E"], n_struct, "E", path)
        check_finite(energy, "E", path)
        energy = energy * e_factor
    if "F" in data:
        _expect_shape(data["F"], (n_struct, n_max, 3), "F", path)
        check_finite(np.where(mask[..., None], data["F"], 0.0), "F", path)
        forces = data["F"][mask].astype(np.float64) * (e_factor / r_factor)

    meta: dict[str, Any] = {
        "source": str(path),
        "format": "sgdml",
        "original_energy_unit": e_unit,
        "original_length_unit": r_unit,
    }
    if "theory" in data:
        meta["level_of_theory"] = scalar_str(data["theory"])
    if "name" in data:
        meta["name"] = scalar_str(data["name"])
    return _build(
        path,
        numbers=numbers[mask],
        positions=positions[mask].astype(np.float64) * r_factor,
        n_atoms=n_atoms,
        energy=energy,
        forces=forces,
        meta=meta,
    )


def read_rmd17_npz(path: str | os.PathLike[str], labels: str = "new") -> Structures:
    """Read a revised-MD17 (rMD17) ``.npz`` file (Christensen & von Lilienfeld 2020).

    Keys: ``nuclear_charges`` (N,), ``coords`` (M, N, 3) Å, ``energies`` (M,) kcal/mol,
    ``forces`` (M, N, 3) kcal/mol/Å, ``old_indices`` (M,), ``old_energies``,
    ``old_forces``.

    Args:
        path: the ``.npz`` file.
        labels: ``"new"`` for the rMD17 labels (PBE/def2-SVP) or ``"old"`` for the
            original MD17 labels (PBE+vdW-TS) of the same geometries.

    Returns:
        Structures in eV, Å and eV/Å; ``ids`` are ``old_indices`` (indices into the
        original MD17 trajectory), ``meta["level_of_theory"]`` follows ``labels``.
    """
    if labels not in RMD17_LEVEL_OF_THEORY:
        raise ValueError(f"labels must be 'new' or 'old', got {labels!r}")
    path = Path(path)
    data = _load_npz(path)
    z = _require(data, "nuclear_charges", path)
    _expect_shape(z, (None,), "nuclear_charges", path)
    coords = _require(data, "coords", path)
    n_struct, n = coords.shape[0], z.shape[0]
    _expect_shape(coords, (None, n, 3), "coords", path)
    prefix = "" if labels == "new" else "old_"
    energy = _energy_vector(
        _require(data, prefix + "energies", path), n_struct, prefix + "energies", path
    )
    forces = _require(data, prefix + "forces", path)
    _expect_shape(forces, (n_struct, n, 3), prefix + "forces", path)
    ids = _require(data, "old_indices", path)
    _expect_shape(ids, (n_struct,), "old_indices", path)
    for key, array in (
        ("coords", coords),
        (prefix + "energies", energy),
        (prefix + "forces", forces),
    ):
        check_finite(array, key, path)

    meta = {
        "source": str(path),
        "format": "rmd17",
        "labels": labels,
        "level_of_theory": RMD17_LEVEL_OF_THEORY[labels],
        "original_energy_unit": "kcal/mol",
        "original_length_unit": "Angstrom",
    }
    return _build(
        path,
        numbers=np.tile(z, n_struct),
        positions=coords.reshape(-1, 3).astype(np.float64),
        n_atoms=np.full(n_struct, n),
        energy=energy * units.KCAL_MOL,
        forces=forces.reshape(-1, 3) * units.KCAL_MOL,
        ids=ids,
        meta=meta,
    )


def _build(path: Path, **kwargs: Any) -> Structures:
    """Construct Structures, re-raising validation errors with ``path`` as the source."""
    try:
        structures = Structures(**kwargs)
    except DataError as err:
        raise DataError(path, err.problem) from err
    check_not_empty(structures)
    check_energies_plausible(structures)
    return structures


# ---------------------------------------------------------------------- ANI HDF5


def read_ani_h5(
    path: str | os.PathLike[str],
    energy_key: str | None = None,
    forces_key: str | None = None,
    require_forces: bool = False,
) -> Structures:
    """Read an ANI-format HDF5 file into memory (float64), one group at a time.

    The reading and checks are those of :mod:`gmnn.data.ani` (which also converts files
    too large for memory, e.g. the ANI-1x release, with :func:`gmnn.data.ani.convert_ani`).
    Two layouts are detected automatically; a *leaf* is any group holding a dataset,
    and it must hold ``coordinates`` (K, N, 3) in Å:

    * ANI-1x/ANI-1ccx release (``layout="ani1x"``): one group per formula with
      ``atomic_numbers`` (N,) and datasets ``<method>.energy`` (K,) in Hartree and
      ``<method>.forces`` (K, N, 3) in Hartree/Å. Default ``energy_key`` is
      ``"wb97x_dz.energy"``.
    * ANI-1/COMP6 (``layout="ani1"``): nested groups (e.g. ``/s66x8/mol00``) with
      ``species`` (N,) element symbols as bytes, ``energies`` (K,) in Hartree and
      optionally ``forces`` (K, N, 3) in Hartree/Å. Default ``energy_key`` is
      ``"energies"``.

    Forces: with ``forces_key=None`` the forces matching the energy are used when
    every leaf has them (``<method>.forces`` for ``<method>.energy``; ``forces`` for
    ``energies``), otherwise the result has no forces; so ``ccsd(t)_cbs.energy`` is
    never paired with DFT forces. An explicit ``forces_key`` must exist in every leaf.

    Structures whose energy is NaN (ANI-1ccx has many) are dropped; the count is in
    ``meta["n_dropped_nan_energy"]``.

    Values are returned as stored (only converted to eV, eV/Å). Caveat: COMP6 v1 files
    store the energy *gradient* under ``forces`` (on S66x8, dE has the sign of +F·dR for
    446 of 462 steps); :func:`gmnn.data.sources.load_comp6` negates them.

    Provenance: ``groups``/``group_names`` give each structure's leaf group path (e.g.
    ``"s66x8/mol00"``); ``ids`` are running conformer indices over the whole file in
    reading order (leaves in name order, conformers in stored order), counted before
    dropping. ``meta["group_first_id"][g]`` is the id of the first conformer of group
    ``g``, so the index of a structure inside its group is
    ``ids - np.asarray(meta["group_first_id"])[groups]``.

    Args:
        path: the HDF5 file.
        energy_key: dataset name of the energies in each leaf (see defaults above).
        forces_key: dataset name of the forces, or None (see above).
        require_forces: raise DataError if no forces are found.

    Returns:
        Structures in eV, Å and eV/Å.

    Raises:
        DataError: a malformed file, naming the file, the group and the dataset (see
            :mod:`gmnn.data.ani`).
    """
    return read_ani(
        scan_ani(path, energy_key=energy_key, forces_key=forces_key, require_forces=require_forces)
    )


# ---------------------------------------------------------------------- ASE and dispatch


def read_ase(
    path: str | os.PathLike[str],
    index: str | int | slice = ":",
    energy: bool | None = None,
    forces: bool | None = None,
    format: str | None = None,
) -> Structures:
    """Read any file ASE can read (extxyz, xyz, pdb, ...); ASE files are in eV and Å.

    Args:
        path: the file.
        index: which frames, in ASE syntax (``":"``, ``"10:20"``, ``-1``, a slice).
        energy: True: require energies; False: ignore; None (default): take them if
            every frame has one (see :meth:`Structures.from_ase`).
        forces: like ``energy``, for forces.
        format: ASE format name, if ASE cannot guess it from the file.

    Returns:
        Structures; ``ids`` are the frame indices in the file.
    """
    path = Path(path)
    _check_file(path)
    try:
        frames = ase.io.read(path, index=":", format=format)
    except Exception as err:  # ASE raises many exception types for unreadable files
        raise DataError(path, f"ASE cannot read this file: {type(err).__name__}: {err}") from err
    selection = string2index(index) if isinstance(index, str) else index
    ids = np.arange(len(frames), dtype=np.int64)[selection]
    if isinstance(selection, int):
        frames, ids = [frames[selection]], np.atleast_1d(ids)
    else:
        frames = frames[selection]
    for atoms, frame_id in zip(frames, ids.tolist(), strict=True):
        atoms.info["gmnn_id"] = frame_id
    try:
        fmt = format or filetype(str(path), guess=True)
    except Exception:  # ASE guesses formats by several means, each with its own errors
        fmt = "unknown"
    meta = {
        "source": str(path),
        "format": f"ase:{fmt}",
        "original_energy_unit": "eV",
        "original_length_unit": "Angstrom",
    }
    try:
        structures = Structures.from_ase(frames, energy=energy, forces=forces, meta=meta)
    except DataError as err:
        raise DataError(path, err.problem) from err
    check_not_empty(
        structures, f"index {index!r} selects none of {len(ids)} frames" if len(frames) == 0 else ""
    )
    check_energies_plausible(structures)
    return structures


def sniff_format(path: str | os.PathLike[str]) -> str:
    """Guess the format name (see :data:`FORMATS`) of a file from its contents."""
    path = Path(path)
    _check_file(path)
    with reading(path, "data file", DataError), open(path, "rb") as fh:
        head = fh.read(8)
    if zipfile.is_zipfile(path):
        with reading(path, ".npz file", DataError), np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
        if {"nuclear_charges", "coords"} <= keys:
            return "rmd17"
        if "R" in keys and ("z" in keys or "Z" in keys):
            return "sgdml"
        raise DataError(
            path, f"unrecognised .npz layout (keys: {sorted(keys)}); expected sGDML or rMD17 keys"
        )
    if head.startswith(b"PK\x03\x04"):
        raise DataError(path, "a truncated or damaged .npz (zip) file: no zip directory")
    if h5py.is_hdf5(path):
        with reading(path, "HDF5 file", DataError), h5py.File(path, "r") as f:
            if "schema" in f.attrs:
                return "gmnn-h5"
            if ani_leaves(f):
                return "ani"
            top = sorted(f)[:10]
        raise DataError(
            path, f"unrecognised HDF5 layout (top-level keys: {top}); expected gmnn or ANI"
        )
    if path.suffix.lower() in (".h5", ".hdf5", ".hdf", ".he5"):
        kind = "a text file" if _looks_like_text(head) else f"first bytes {head!r}"
        raise DataError(path, f"not an HDF5 file, though named {path.suffix} ({kind})")
    return "ase"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= 32 or c in (9, 10, 13) for c in head)


def read(path: str | os.PathLike[str], format: str | None = None, **kwargs: Any) -> Structures:
    """Read structures from any supported file (see the module table).

    Args:
        path: the file.
        format: one of :data:`FORMATS`, or None to detect it from the contents: ``.npz``
            with ``nuclear_charges``/``coords`` → rMD17, with ``R`` and ``z``/``Z`` →
            sGDML; HDF5 with a ``schema`` root attribute → gmnn-h5 (another schema is a
            DataError), with ``coordinates`` groups → ANI; anything else → ASE.
        **kwargs: passed to the specific reader (e.g. ``labels="old"`` for rMD17,
            ``energy_key=...`` for ANI, ``index=...`` for ASE).
    """
    fmt = sniff_format(path) if format is None else format
    readers = {
        "sgdml": read_sgdml_npz,
        "rmd17": read_rmd17_npz,
        "ani": read_ani_h5,
        "gmnn-h5": read_h5,
        "ase": read_ase,
    }
    if fmt not in readers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    return readers[fmt](path, **kwargs)


# ---------------------------------------------------------------------- single structures

_PDB_SUFFIXES = (".pdb", ".ent")


def _pdb_elements(path: Path) -> list[tuple[int, str, str]]:
    """``(serial, atom name, element symbol)`` of the ATOM/HETATM records of the first
    model of the PDB file ``path``, the element from columns 77-78 or, without them,
    from the atom name by the PDB convention (columns 13-16: ``" CA "`` is a carbon
    alpha, ``"CA  "`` calcium; a name starting in column 14 has a one-letter element)."""
    out = []
    with reading(path, "PDB file", DataError):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in lines:
        if line.startswith("ENDMDL"):
            break
        if not line.startswith(("ATOM  ", "HETATM")):
            continue
        name = line[12:16]
        element = line[76:78].strip() if len(line) >= 78 else ""
        if not element:
            if name[:1] in (" ", "") or name[:1].isdigit():
                element = name[1:2]
            elif name[:1].upper() == "H" and len(name.strip()) == 4:
                element = "H"  # e.g. "HB12": hydrogens with 4-character names
            else:
                element = name[:2].strip()
        out.append(
            (
                int(line[6:11]) if line[6:11].strip().isdigit() else len(out) + 1,
                name.strip(),
                element.strip().capitalize(),
            )
        )
    return out


def read_structure(
    path: str | os.PathLike[str], index: int | str = -1, format: str | None = None
) -> ase.Atoms:
    """The one reader of a single structure (``gmnn md``'s start structure): any file
    ASE reads (frame ``index``, default the last), checked as the data readers check
    their structures (known elements, finite coordinates, no coincident atoms, minimum
    image in periodic cells): a :class:`DataError` naming the file, the atoms and what
    is wrong.

    A PDB file without an element column (the paper's Ala10, written by NAMD) gets its
    elements from the atom names by the PDB convention, as Biopython and
    :func:`gmnn.data.ala10.read_ala10_pdb` read it (ASE's reader takes ``CA`` for
    calcium); an atom name that gives no element is an error naming the atom.
    """
    from ase.data import atomic_numbers

    path = Path(path)
    _check_file(path)
    with reading(path, "structure file (ASE)", DataError):
        atoms = ase.io.read(path, index=index, format=format)
    if isinstance(atoms, list):  # (an index that selects several frames)
        raise DataError(path, f"index {index!r} selects {len(atoms)} frames, not one")
    if len(atoms) == 0:
        raise DataError(path, "holds no atoms")
    is_pdb = path.suffix.lower() in _PDB_SUFFIXES or format in ("proteindatabank", "pdb")
    if is_pdb and index in (0, -1, "0", "-1"):
        records = _pdb_elements(path)
        if len(records) == len(atoms):
            numbers = []
            for serial, name, element in records:
                if atomic_numbers.get(element, 0) == 0:
                    raise DataError(
                        path,
                        f"atom {serial} {name!r}: no element column and the name gives none "
                        f"({element!r}); add the element symbol in columns 77-78",
                    )
                numbers.append(atomic_numbers[element])
            atoms.numbers = np.array(numbers)
    try:
        Structures.from_ase([atoms], energy=False, forces=False, meta={"source": str(path)})
    except DataError as err:
        raise DataError(path, err.problem.replace("structure 0", "the structure")) from err
    return atoms
