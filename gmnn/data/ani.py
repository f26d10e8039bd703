"""ANI-format HDF5 files at the paper's scale: checked streaming reads and conversion.

The ANI-1x release (``ani1x-release.h5``, 5.6 GB, 4,956,005 conformers in 3,114 formula
groups) does not fit comfortably in memory as float64 arrays, so it is converted to
gmnn's HDF5 schema (:mod:`gmnn.data.h5`) in chunks:

1. :func:`scan_ani` reads only the small datasets (atomic numbers, energies, shapes) of
   every group and checks the layout, so a malformed file fails before anything is
   written;
2. :func:`iter_ani_chunks` reads the groups one at a time, a large group in slices of
   ``chunk_conformers`` conformers, and checks every slice;
3. :func:`convert_ani_h5` appends the slices to resizable datasets
   (:class:`gmnn.data.h5.H5Writer`; the output appears atomically when complete).

Memory is bounded by one chunk (about ``chunk_conformers`` x 63 atoms; see
``benchmarks/ani_memory.py`` for measurements), whatever the size of the file.

Storage: positions and forces keep the precision of the source (float32 for ANI-1x and
COMP6), energies are float64; :func:`gmnn.data.read_h5` keeps float32 arrays as float32
in memory (``Structures(keep_float32=True)``). Units: eV, Å, eV/Å (the source is in
Hartree, Å, Hartree/Å).

Provenance (same as :func:`gmnn.data.read_ani_h5`): ``ids`` are running conformer
indices over the whole source file (groups in name order, conformers in stored order),
counted *before* structures with a NaN energy are dropped. ANI-1ccx (``level="cc"``)
is the subset of the same file with a finite ``ccsd(t)_cbs.energy``, so its ids are
ANI-1x ids (``level="dft"``) of the same geometries. ``groups``/``group_names`` name
each structure's HDF5 group.

Malformed files raise :class:`~gmnn.data.DataError` naming the file, the group and the
dataset: a missing dataset, a wrong shape, an unknown element (atomic number outside
1..118 or an unknown symbol), non-finite coordinates or forces of a conformer that is
kept. A NaN energy is not an error: it marks a conformer without that label (ANI-1ccx
convention), which is dropped and counted (``meta["n_dropped_nan_energy"]``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from ase.data import atomic_numbers as _SYMBOL_TO_Z

from gmnn import units
from gmnn.data.errors import DataError, check_data_file
from gmnn.data.h5 import H5Writer
from gmnn.data.structures import (
    MAX_ATOMIC_NUMBER,
    Structures,
    check_energies_plausible,
    check_finite,
)
from gmnn.io import reading

log = logging.getLogger(__name__)

ANI_LEVEL_OF_THEORY = {
    "wb97x_dz": "wB97x/6-31G(d)",
    "wb97x_tz": "wB97x/def2-TZVPP",
    "ccsd(t)_cbs": "CCSD(T)*/CBS",
}
"""Level of theory of the ANI-1x/ANI-1ccx release keys (prefix before the dot)."""

ANI1X_DEFAULT_ENERGY_KEY = "wb97x_dz.energy"
ANI1_DEFAULT_ENERGY_KEY = "energies"

ANI_LEVELS = {
    "dft": ("ANI-1x", "wb97x_dz.energy", "wb97x_dz.forces"),
    "cc": ("ANI-1ccx", "ccsd(t)_cbs.energy", None),
}
"""``level`` of :func:`convert_ani`: (data set, energy key, forces key or None)."""

DEFAULT_CHUNK_CONFORMERS = 32768
"""Conformers read, checked and written at a time by :func:`convert_ani_h5`."""


@dataclasses.dataclass(frozen=True, eq=False)
class AniGroup:
    """One leaf group of an ANI file, as found by :func:`scan_ani`.

    Attributes:
        name: HDF5 path without the leading slash (e.g. ``"C2H6O1"``, ``"s66x8/mol00"``).
        numbers: (N,) int32 atomic numbers of its atoms.
        keep: (K,) bool, conformers with a non-NaN energy (those that are read).
        first_id: id (running index in the file) of its first conformer.
    """

    name: str
    numbers: np.ndarray
    keep: np.ndarray
    first_id: int

    @property
    def n_conformers(self) -> int:
        """Number of conformers K stored (kept or not)."""
        return int(self.keep.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class AniPlan:
    """What :func:`scan_ani` found in an ANI file: layout, keys and groups (checked).

    Attributes:
        path: the file.
        layout: ``"ani1x"`` (ANI-1x/1ccx release) or ``"ani1"`` (ANI-1, COMP6).
        energy_key: dataset of the energies (Hartree) in every group.
        forces_key: dataset of the forces (Hartree/Å) in every group, or None.
        groups: the leaf groups in reading order.
        float_dtype: storage dtype of positions/forces that keeps the source precision
            (float32 for ANI-1x and COMP6).
        level_of_theory: from the key (``ani1x``) or the ``lot`` dataset, or None.
        partial_forces: ``{"key", "missing_in"}`` when the forces matching the energy
            are in some groups only (the file is then read without forces, with a
            warning naming the groups), else None.
    """

    path: Path
    layout: str
    energy_key: str
    forces_key: str | None
    groups: tuple[AniGroup, ...]
    float_dtype: np.dtype
    level_of_theory: str | None
    partial_forces: dict[str, Any] | None = None

    @property
    def n_structures(self) -> int:
        """Conformers kept (non-NaN energy)."""
        return int(sum(int(g.keep.sum()) for g in self.groups))

    @property
    def n_atoms_total(self) -> int:
        """Atoms of the kept conformers."""
        return int(sum(int(g.keep.sum()) * len(g.numbers) for g in self.groups))

    @property
    def n_dropped(self) -> int:
        """Conformers dropped for a NaN energy."""
        return int(sum(g.n_conformers for g in self.groups)) - self.n_structures

    @property
    def group_names(self) -> list[str]:
        """Names of the groups, in reading order."""
        return [g.name for g in self.groups]

    def meta(self) -> dict[str, Any]:
        """The ``Structures.meta`` of data read from this file (eV, Å units)."""
        meta: dict[str, Any] = {
            "source": str(self.path),
            "format": "ani",
            "layout": self.layout,
            "energy_key": self.energy_key,
            "forces_key": self.forces_key,
            "original_energy_unit": "Hartree",
            "original_length_unit": "Angstrom",
            "n_dropped_nan_energy": self.n_dropped,
            "group_first_id": [g.first_id for g in self.groups],
        }
        if self.level_of_theory is not None:
            meta["level_of_theory"] = self.level_of_theory
        if self.partial_forces is not None:
            meta["forces_missing_in"] = self.partial_forces
        return meta


@dataclasses.dataclass(frozen=True, eq=False)
class AniChunk:
    """Checked conformers of one group (or a slice of it) from :func:`iter_ani_chunks`.

    Attributes:
        group: index of the group in ``AniPlan.groups``.
        numbers: (n * N,) int32, flat atomic numbers.
        positions: (n * N, 3) Å, in the source precision (``AniPlan.float_dtype``).
        forces: (n * N, 3) float64 eV/Å, or None.
        energy: (n,) float64 eV.
        ids: (n,) int64 running conformer indices in the file.
        n_atoms: atoms per conformer N.
    """

    group: int
    numbers: np.ndarray
    positions: np.ndarray
    forces: np.ndarray | None
    energy: np.ndarray
    ids: np.ndarray
    n_atoms: int

    def __len__(self) -> int:
        return int(self.energy.shape[0])


@dataclasses.dataclass(frozen=True)
class ConversionSummary:
    """What :func:`convert_ani_h5` wrote."""

    path: Path
    n_structures: int
    n_atoms_total: int
    n_dropped_nan_energy: int
    n_groups: int


# ---------------------------------------------------------------------- scanning


def check_ani_file(path: Path) -> None:
    """Raise MissingFile/DataError unless ``path`` is a non-empty HDF5 file."""
    check_data_file(path)
    if not h5py.is_hdf5(path):
        raise DataError(path, "not an HDF5 file")


def ani_leaves(group: h5py.Group) -> list[h5py.Group]:
    """All groups below ``group`` (depth first, name order) that hold a dataset.

    Such a *leaf* must hold ``coordinates``; groups holding only groups are containers
    (e.g. ``/s66x8`` in COMP6).
    """
    leaves = []
    for name in group:
        child = group[name]
        if isinstance(child, h5py.Group):
            if any(isinstance(item, h5py.Dataset) for item in child.values()):
                leaves.append(child)
            else:
                leaves.extend(ani_leaves(child))
    return leaves


def _dataset(leaf: h5py.Group, key: str, path: Path) -> h5py.Dataset:
    if key not in leaf or not isinstance(leaf[key], h5py.Dataset):
        raise DataError(
            path, f"group {leaf.name}: missing dataset {key!r} (present: {sorted(leaf)})"
        )
    return leaf[key]


def _leaf_numbers(leaf: h5py.Group, path: Path) -> np.ndarray:
    """(N,) int32 atomic numbers of a leaf, from ``atomic_numbers`` or ``species``."""
    if "atomic_numbers" in leaf:
        raw = np.asarray(leaf["atomic_numbers"][()])
        if raw.ndim != 1 or not np.issubdtype(raw.dtype, np.integer):
            raise DataError(
                path,
                f"group {leaf.name}: 'atomic_numbers' must be a 1-D integer array, "
                f"got {raw.dtype} {raw.shape}",
            )
        bad = (raw < 1) | (raw > MAX_ATOMIC_NUMBER)
        if bad.any():
            raise DataError(
                path,
                f"group {leaf.name}: unknown element(s) Z={sorted(set(raw[bad].tolist()))} "
                f"in 'atomic_numbers' (known: 1..{MAX_ATOMIC_NUMBER})",
            )
        return raw.astype(np.int32)
    if "species" in leaf:
        raw = np.asarray(leaf["species"][()])
        if raw.ndim != 1:
            raise DataError(
                path, f"group {leaf.name}: 'species' has shape {raw.shape}; expected (N,)"
            )
        symbols = [s.decode() if isinstance(s, bytes) else str(s) for s in raw]
        unknown = [s for s in symbols if s not in _SYMBOL_TO_Z or _SYMBOL_TO_Z[s] < 1]
        if unknown:
            raise DataError(
                path, f"group {leaf.name}: unknown element symbol(s) {unknown} in 'species'"
            )
        return np.array([_SYMBOL_TO_Z[s] for s in symbols], dtype=np.int32)
    raise DataError(path, f"group {leaf.name} has neither 'atomic_numbers' nor 'species'")


def scalar_str(value: np.ndarray) -> str:
    item = value.item() if value.ndim == 0 else value.ravel()[0]
    return item.decode() if isinstance(item, bytes) else str(item)


def _float_dtype(dataset: h5py.Dataset, path: Path, leaf: h5py.Group, key: str) -> np.dtype:
    if not np.issubdtype(dataset.dtype, np.floating):
        raise DataError(
            path, f"group {leaf.name}: {key!r} has dtype {dataset.dtype}; expected floats"
        )
    return np.result_type(dataset.dtype, np.float32)


def scan_ani(
    path: str | os.PathLike[str],
    energy_key: str | None = None,
    forces_key: str | None = None,
    require_forces: bool = False,
    use_forces: bool = True,
) -> AniPlan:
    """Check an ANI file's layout and list its groups, reading only small datasets.

    Key defaults and the forces rule are those of :func:`gmnn.data.read_ani_h5`:
    ``energy_key`` defaults to ``"wb97x_dz.energy"`` (ANI-1x layout) or ``"energies"``
    (ANI-1/COMP6); with ``forces_key=None`` the forces matching the energy are used when
    every group has them. ``use_forces=False`` never reads forces.

    Raises:
        gmnn.io.MissingFile: ``path`` does not exist.
        DataError: not an HDF5 file, no ANI groups, or a group with a missing dataset,
            a wrong shape or dtype, or an unknown element (naming the group and key).
    """
    path = Path(path)
    check_ani_file(path)
    with reading(path, "ANI HDF5 file", DataError), h5py.File(path, "r") as f:
        leaves = ani_leaves(f)
        if not leaves:
            raise DataError(
                path, "no ANI groups found (no group holds a dataset such as 'coordinates')"
            )
        layout = "ani1x" if "atomic_numbers" in leaves[0] else "ani1"
        if energy_key is None:
            energy_key = ANI1X_DEFAULT_ENERGY_KEY if layout == "ani1x" else ANI1_DEFAULT_ENERGY_KEY
        candidate = None
        partial_forces = None
        if not use_forces:
            if require_forces:
                raise ValueError("require_forces=True contradicts use_forces=False")
            forces_key = None
        elif forces_key is None:
            if energy_key == "energies":
                candidate = "forces"
            elif energy_key.endswith(".energy"):
                candidate = energy_key[: -len(".energy")] + ".forces"
            else:
                candidate = None
            having = [leaf for leaf in leaves if candidate is not None and candidate in leaf]
            if candidate is not None and len(having) == len(leaves):
                forces_key = candidate
            elif having:  # forces in some groups only: never dropped without a word
                lacking = [leaf.name for leaf in leaves if candidate not in leaf]
                message = (
                    f"{path}: forces {candidate!r} in {len(having)} of {len(leaves)} groups, "
                    f"missing in group {lacking[0]}"
                    + (f" and {len(lacking) - 1} more" if len(lacking) > 1 else "")
                    + ": the file is read without forces"
                )
                if not require_forces:  # (required: the error below names the group)
                    log.warning(message)
                partial_forces = {"key": candidate, "missing_in": lacking}
        if forces_key is None and require_forces:
            lacking = (
                ""
                if candidate is None
                else next(
                    (
                        f": group {leaf.name} has no {candidate!r}"
                        for leaf in leaves
                        if candidate not in leaf
                    ),
                    "",
                )
            )
            raise DataError(
                path, f"no forces matching energy key {energy_key!r} in every group{lacking}"
            )

        groups, dtypes = [], [np.dtype(np.float32)]
        next_id = 0
        for leaf in leaves:
            coords = _dataset(leaf, "coordinates", path)
            if coords.ndim != 3 or coords.shape[2] != 3:
                raise DataError(
                    path,
                    f"group {leaf.name}: 'coordinates' has shape {coords.shape}; "
                    "expected (K, N, 3)",
                )
            dtypes.append(_float_dtype(coords, path, leaf, "coordinates"))
            n_conf, n_at = coords.shape[:2]
            numbers = _leaf_numbers(leaf, path)
            if numbers.shape != (n_at,):
                raise DataError(
                    path,
                    f"group {leaf.name}: {numbers.shape[0]} elements but 'coordinates' has "
                    f"{n_at} atoms",
                )
            energy = _dataset(leaf, energy_key, path)
            if energy.shape != (n_conf,):
                raise DataError(
                    path,
                    f"group {leaf.name}: {energy_key!r} has shape {energy.shape}; "
                    f"expected ({n_conf},)",
                )
            _float_dtype(energy, path, leaf, energy_key)
            if forces_key is not None:
                forces = _dataset(leaf, forces_key, path)
                if forces.shape != coords.shape:
                    raise DataError(
                        path,
                        f"group {leaf.name}: {forces_key!r} has shape {forces.shape}; "
                        f"expected {coords.shape}",
                    )
                dtypes.append(_float_dtype(forces, path, leaf, forces_key))
            keep = ~np.isnan(np.asarray(energy[()], dtype=np.float64))
            groups.append(AniGroup(leaf.name.lstrip("/"), numbers, keep, next_id))
            next_id += n_conf

        if not any(g.keep.any() for g in groups):
            n_conf = sum(g.n_conformers for g in groups)
            raise DataError(
                path,
                f"no structures left: all {n_conf} conformers of its {len(groups)} groups have "
                f"a NaN {energy_key!r}"
                if n_conf
                else "no structures (every group is empty)",
            )
        level = None
        if layout == "ani1x":
            method = energy_key.split(".")[0]
            level = ANI_LEVEL_OF_THEORY.get(method, method)
        elif "lot" in leaves[0]:
            level = scalar_str(np.asarray(leaves[0]["lot"][()]))
    return AniPlan(
        path=path,
        layout=layout,
        energy_key=energy_key,
        forces_key=forces_key,
        groups=tuple(groups),
        float_dtype=np.result_type(*dtypes),
        level_of_theory=level,
        partial_forces=partial_forces,
    )


# ---------------------------------------------------------------------- reading


def iter_ani_chunks(
    plan: AniPlan, chunk_conformers: int = DEFAULT_CHUNK_CONFORMERS, check: bool = True
) -> Iterator[AniChunk]:
    """The kept conformers of ``plan``'s file, group by group, at most ``chunk_conformers``
    stored conformers at a time (a large group comes in several slices).

    With ``check`` (default) every slice is validated: finite coordinates and forces
    (errors name the group, the key and the conformer's index in its group), then the
    checks of :class:`Structures` (elements, atoms closer than ``MIN_DISTANCE_A``,
    absurd labels), re-raised naming the group.
    """
    if chunk_conformers < 1:
        raise ValueError(f"chunk_conformers must be >= 1, got {chunk_conformers}")
    path = plan.path
    with reading(path, "ANI HDF5 file", DataError), h5py.File(path, "r") as f:
        for g, group in enumerate(plan.groups):
            leaf = f[group.name]
            n_at = len(group.numbers)
            for start in range(0, group.n_conformers, chunk_conformers):
                stop = min(start + chunk_conformers, group.n_conformers)
                keep = group.keep[start:stop]
                kept = np.flatnonzero(keep)
                if kept.size == 0:
                    continue
                rows = start + kept  # conformer index inside the group
                coords = leaf["coordinates"][start:stop][kept]
                energy = np.asarray(leaf[plan.energy_key][start:stop], np.float64)[kept]
                forces = None
                if plan.forces_key is not None:
                    forces = leaf[plan.forces_key][start:stop][kept]
                if check:
                    check_finite(coords, f"/{group.name}/coordinates", path, rows)
                    if forces is not None:
                        check_finite(forces, f"/{group.name}/{plan.forces_key}", path, rows)
                positions = coords.reshape(-1, 3).astype(plan.float_dtype, copy=False)
                if forces is not None:
                    forces = forces.reshape(-1, 3).astype(np.float64) * units.HARTREE
                chunk = AniChunk(
                    group=g,
                    numbers=np.tile(group.numbers, len(kept)),
                    positions=positions,
                    forces=forces,
                    energy=energy * units.HARTREE,
                    ids=group.first_id + rows,
                    n_atoms=n_at,
                )
                if check:
                    _check_chunk(chunk, group, rows, path)
                yield chunk


def _check_chunk(chunk: AniChunk, group: AniGroup, rows: np.ndarray, path: Path) -> None:
    """The :class:`Structures` checks of one chunk, re-raised naming the group."""
    try:
        structures = Structures(
            numbers=chunk.numbers,
            positions=chunk.positions,
            n_atoms=np.full(len(chunk), chunk.n_atoms),
            energy=chunk.energy,
            forces=chunk.forces,
            ids=rows,  # messages give the conformer's index in its group
            meta={"source": str(path), "original_energy_unit": "Hartree"},
            keep_float32=True,
        )
        check_energies_plausible(structures)
    except DataError as err:
        raise DataError(path, f"group /{group.name}: {err.problem}") from err


def read_ani(plan: AniPlan, chunk_conformers: int = DEFAULT_CHUNK_CONFORMERS) -> Structures:
    """All kept conformers of ``plan``'s file in memory (float64), checked chunk by chunk.

    This is :func:`gmnn.data.read_ani_h5`; use :func:`convert_ani_h5` for files that
    should not be held in memory as float64.
    """
    n_struct, n_total = plan.n_structures, plan.n_atoms_total
    numbers = np.empty(n_total, dtype=np.int32)
    positions = np.empty((n_total, 3), dtype=np.float64)
    forces = np.empty((n_total, 3), dtype=np.float64) if plan.forces_key else None
    n_atoms = np.empty(n_struct, dtype=np.int64)
    energy = np.empty(n_struct, dtype=np.float64)
    ids = np.empty(n_struct, dtype=np.int64)
    groups = np.empty(n_struct, dtype=np.int64)
    s = a = 0
    for chunk in iter_ani_chunks(plan, chunk_conformers):
        n, n_at = len(chunk), len(chunk.numbers)
        numbers[a : a + n_at] = chunk.numbers
        positions[a : a + n_at] = chunk.positions
        if forces is not None:
            forces[a : a + n_at] = chunk.forces
        n_atoms[s : s + n] = chunk.n_atoms
        energy[s : s + n] = chunk.energy
        ids[s : s + n] = chunk.ids
        groups[s : s + n] = chunk.group
        s, a = s + n, a + n_at
    try:
        structures = Structures(
            numbers=numbers,
            positions=positions,
            n_atoms=n_atoms,
            energy=energy,
            forces=forces,
            ids=ids,
            meta=plan.meta(),
            groups=groups,
            group_names=plan.group_names,
            check_geometry=False,  # every chunk was checked
        )
    except DataError as err:
        raise DataError(plan.path, err.problem) from err
    check_energies_plausible(structures)  # across the chunks of a group, and the groups
    return structures


# ---------------------------------------------------------------------- conversion


def convert_ani_h5(
    sources: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    energy_key: str | None = None,
    forces_key: str | None = None,
    require_forces: bool = False,
    use_forces: bool = True,
    negate_forces: bool = False,
    meta: dict[str, Any] | None = None,
    chunk_conformers: int = DEFAULT_CHUNK_CONFORMERS,
    compression: str | None = "gzip",
) -> ConversionSummary:
    """Convert ANI-format files to one gmnn HDF5 file with memory bounded by a chunk.

    Every source is scanned first (:func:`scan_ani`; a malformed file fails before
    anything is written), then streamed (:func:`iter_ani_chunks`) into ``out_path``,
    which appears atomically when complete. The result reads back with
    :func:`gmnn.data.read_h5` as the same structures as :func:`gmnn.data.read_ani_h5`
    of the sources, concatenated (:meth:`Structures.concatenate`), gives: same order,
    ids, groups, group names and energies; positions and forces in the source precision
    (float32 for ANI-1x/COMP6: positions identical, forces to float32 rounding).

    Args:
        sources: ANI files, concatenated in this order (ids index each one's own file;
            groups with the same name share an entry of ``group_names``).
        out_path: the gmnn HDF5 file to write.
        energy_key, forces_key, require_forces, use_forces: see :func:`scan_ani`.
        negate_forces: store minus the file's ``forces`` (COMP6 v1 stores gradients).
        meta: ``Structures.meta`` to store; default: the file's (see
            :meth:`AniPlan.meta`) for one source, ``{"parts": [...], "part_sizes":
            [...]}`` for several.
        chunk_conformers: conformers read and written at a time (the memory bound).
        compression: as in :func:`gmnn.data.write_h5`.

    Returns:
        A summary of what was written.
    """
    plans = [
        scan_ani(
            p,
            energy_key=energy_key,
            forces_key=forces_key,
            require_forces=require_forces,
            use_forces=use_forces,
        )
        for p in sources
    ]
    if not plans:
        raise ValueError("convert_ani_h5 needs at least one source file")
    with_forces = [p.forces_key is not None for p in plans]
    if any(with_forces) and not all(with_forces):
        k = with_forces.index(False)
        raise DataError(plans[k].path, "has no forces but other files of this data set have")
    if meta is None:
        if len(plans) == 1:
            meta = plans[0].meta()
        else:
            meta = {
                "parts": [p.meta() for p in plans],
                "part_sizes": [p.n_structures for p in plans],
            }
    names: dict[str, int] = {}
    float_dtype = np.result_type(*[p.float_dtype for p in plans])
    buffer: list[tuple[AniChunk, int]] = []

    def flush(writer: H5Writer) -> None:
        if not buffer:
            return
        chunks = [c for c, _ in buffer]
        forces = None
        if all_forces:
            forces = np.concatenate([c.forces for c in chunks])
            if negate_forces:
                np.negative(forces, out=forces)
        writer.append(
            numbers=np.concatenate([c.numbers for c in chunks]),
            positions=np.concatenate([c.positions for c in chunks]),
            n_atoms=np.concatenate([np.full(len(c), c.n_atoms) for c in chunks]),
            energy=np.concatenate([c.energy for c in chunks]),
            ids=np.concatenate([c.ids for c in chunks]),
            groups=np.concatenate([np.full(len(c), code) for c, code in buffer]),
            forces=forces,
        )
        buffer.clear()

    all_forces = all(with_forces)
    with H5Writer(out_path, float_dtype, forces=all_forces, compression=compression) as writer:
        for plan in plans:
            codes = [names.setdefault(name, len(names)) for name in plan.group_names]
            buffered = 0
            for chunk in iter_ani_chunks(plan, chunk_conformers):
                buffer.append((chunk, codes[chunk.group]))
                buffered += len(chunk)
                if buffered >= chunk_conformers:
                    flush(writer)
                    buffered = 0
            flush(writer)
            log.info(
                "%s: %d conformers in %d groups (%d dropped for a NaN %s)",
                plan.path,
                plan.n_structures,
                len(plan.groups),
                plan.n_dropped,
                plan.energy_key,
            )
        writer.finish(meta, list(names))
        summary = ConversionSummary(
            path=Path(out_path),
            n_structures=writer.n_structures,
            n_atoms_total=writer.n_atoms_total,
            n_dropped_nan_energy=sum(p.n_dropped for p in plans),
            n_groups=len(names),
        )
    return summary


def convert_ani(
    raw_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    level: str = "dft",
    chunk_conformers: int = DEFAULT_CHUNK_CONFORMERS,
    compression: str | None = "gzip",
) -> ConversionSummary:
    """Convert ``ani1x-release.h5`` to ANI-1x or ANI-1ccx in the gmnn schema, streaming.

    ``level="dft"``: ANI-1x, ``wb97x_dz.energy`` and ``wb97x_dz.forces``
    (ωB97X/6-31G(d); every conformer). ``level="cc"``: ANI-1ccx, the conformers with a
    finite ``ccsd(t)_cbs.energy`` (CCSD(T)*/CBS), no forces. Same result as
    :func:`gmnn.data.sources.load_ani1x` (see :func:`convert_ani_h5` for the storage
    precision); ids are ANI-1x conformer indices in both.
    """
    if level not in ANI_LEVELS:
        raise ValueError(f"level must be one of {sorted(ANI_LEVELS)}, got {level!r}")
    _, energy_key, forces_key = ANI_LEVELS[level]
    return convert_ani_h5(
        [raw_path],
        out_path,
        energy_key=energy_key,
        forces_key=forces_key,
        require_forces=forces_key is not None,
        use_forces=forces_key is not None,
        chunk_conformers=chunk_conformers,
        compression=compression,
    )
