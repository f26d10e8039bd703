"""Flat, validated storage of many atomic structures with energy and force labels.

All structures are stored back to back ("flat") so that millions of small molecules
cost a handful of NumPy arrays and no Python objects per structure:

========== =========== ======= ===========================================
attribute  shape       dtype   meaning
========== =========== ======= ===========================================
numbers    (A,)        int32   atomic numbers Z (1..118)
positions  (A, 3)      float64 Cartesian positions in Å (float32: see below)
n_atoms    (M,)        int64   number of atoms of each structure (>= 1)
energy     (M,)        float64 total energy in eV, or ``None``
forces     (A, 3)      float64 atomic forces in eV/Å, or ``None`` (float32: below)
cell       (M, 3, 3)   float64 cell vectors (rows) in Å, zeros if not periodic
pbc        (M, 3)      bool    periodic boundary conditions per axis
ids        (M,)        int64   index of each structure in its source file
groups     (M,)        int64   index into ``group_names``, or ``None``
========== =========== ======= ===========================================

``M`` is the number of structures and ``A = n_atoms.sum()`` the total number of atoms;
the atoms of structure ``i`` are ``offsets[i]:offsets[i + 1]``.

Provenance: ``ids`` gives the index of each structure in the file it was read from,
``groups``/``group_names`` the HDF5 group it came from (ANI files; ``None`` for files
without groups) and ``meta`` a JSON-serialisable dict describing the source (``source``
path, ``format``, ``level_of_theory``, original units, ...). All of these follow the
structures through :meth:`Structures.subset` and :func:`gmnn.data.write_h5`.

Compact storage (opt-in): with ``keep_float32=True``, positions and forces given as
float32 stay float32 instead of being converted to float64 (half the memory of the two
largest arrays; ANI-1x stores both as float32, so nothing is lost). Everything else,
and float64 input, is unchanged; :meth:`subset`, :meth:`with_labels`,
:meth:`without_labels`, :meth:`replace` and :meth:`concatenate` (when every part opted
in) keep the choice. :func:`gmnn.data.read_h5` opts in for files that store float32.

The arrays are read-only views (not copies) of the arrays passed in; use
:meth:`Structures.with_labels` to replace labels, e.g. after subtracting energy shifts,
and :meth:`Structures.replace` for any other change.

Validation (when structures are built or read; a :class:`~gmnn.data.DataError` names
``meta["source"]`` and the structure index): shapes, finite numbers, known elements,
no two atoms of a structure closer than :data:`MIN_DISTANCE_A` (minimum image for
periodic cells), and no absurd labels (:data:`MAX_ABS_FORCE`,
:data:`MAX_ABS_ENERGY_PER_ATOM`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import ase
import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from numpy.typing import ArrayLike

from gmnn.data.errors import DataError
from gmnn.fingerprints import arrays_fingerprint

MAX_ATOMIC_NUMBER = 118
"""Largest atomic number accepted (oganesson)."""

MIN_DISTANCE_A = 0.1
"""Two atoms of one structure closer than this (Å) are an error. No chemical structure
has them (the shortest bond, H2, is 0.74 Å; the closest pairs in the rMD17, sGDML,
ANI-1x and COMP6 files of the tests are 0.87 Å or more), and coincident atoms make
distance-based descriptors NaN. Periodic
structures are checked under the minimum-image convention, including an atom and its
own periodic images."""

MAX_ABS_FORCE = 1e5
"""Largest accepted force component (eV/Å). Chemical data sets stay below ~1e2 eV/Å;
a larger value is a unit mix-up or a missing-value sentinel (e.g. 1e30)."""

MAX_ABS_ENERGY_PER_ATOM = 1e7
"""Largest accepted |energy| per atom (eV). All-electron total energies reach about
1.5e6 eV per atom for the heaviest elements; anything above this is a wrong unit or
a missing-value sentinel."""

IndexLike = int | slice | Sequence[int] | np.ndarray


def _readonly(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (the array itself stays writeable)."""
    view = array.view()
    view.flags.writeable = False
    return view


class Structures:
    """A collection of atomic structures stored as flat arrays (see module docstring).

    Args:
        numbers: (A,) atomic numbers, any integer dtype.
        positions: (A, 3) positions in Å.
        n_atoms: (M,) number of atoms per structure, each >= 1, summing to A.
        energy: (M,) or None, total energies in eV.
        forces: (A, 3) or None, forces in eV/Å.
        cell: (M, 3, 3) or None (zeros), cell vectors as rows in Å.
        pbc: (M, 3) or None (all False), periodicity per cell vector.
        ids: (M,) or None (``arange(M)``), index of each structure in its source file.
        meta: JSON-serialisable dict describing the source; stored as a deep copy.
        groups: (M,) or None, index of each structure's group in ``group_names``.
        group_names: names of the groups (e.g. HDF5 group paths); required with ``groups``.
        check_geometry: check that no two atoms of a structure are closer than
            :data:`MIN_DISTANCE_A` (False: skip it, e.g. for geometries already checked;
            :meth:`subset`, :meth:`with_labels` and :meth:`concatenate` of checked
            structures skip it).
        keep_float32: keep float32 ``positions``/``forces`` as float32 (compact
            storage, see the module docstring); default False: convert to float64.

    Raises:
        DataError: for wrong shapes, non-finite values, unknown elements (Z outside
            1..118), non-positive atom counts, a periodic axis with a zero cell vector,
            atoms closer than :data:`MIN_DISTANCE_A`, absurd labels (a force component
            above :data:`MAX_ABS_FORCE` or an energy per atom above
            :data:`MAX_ABS_ENERGY_PER_ATOM` in magnitude), or ``meta`` that is not
            JSON-serialisable. The message names ``meta["source"]`` and the first
            offending structure/atom.
    """

    def __init__(
        self,
        numbers: ArrayLike,
        positions: ArrayLike,
        n_atoms: ArrayLike,
        energy: ArrayLike | None = None,
        forces: ArrayLike | None = None,
        cell: ArrayLike | None = None,
        pbc: ArrayLike | None = None,
        ids: ArrayLike | None = None,
        meta: dict[str, Any] | None = None,
        groups: ArrayLike | None = None,
        group_names: Sequence[str] | None = None,
        check_geometry: bool = True,
        keep_float32: bool = False,
    ) -> None:
        self.keep_float32 = bool(keep_float32)  # see the module docstring
        meta = {} if meta is None else meta
        source = meta.get("source") if isinstance(meta, dict) else None
        if not isinstance(meta, dict):
            raise DataError(source, f"meta must be a dict, got {type(meta).__name__}")
        try:
            self.meta: dict[str, Any] = json.loads(json.dumps(meta, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise DataError(source, f"meta is not JSON-serialisable: {err}") from err

        self.n_atoms = _readonly(_as_int(n_atoms, np.int64, "n_atoms", source))
        _check_shape(self.n_atoms, (None,), "n_atoms", source)
        n_struct = self.n_atoms.shape[0]
        if n_struct and self.n_atoms.min() < 1:
            i = int(np.argmax(self.n_atoms < 1))
            raise DataError(source, f"structure {i} has n_atoms={self.n_atoms[i]}; must be >= 1")
        self._offsets = np.zeros(n_struct + 1, dtype=np.int64)
        np.cumsum(self.n_atoms, out=self._offsets[1:])
        self._offsets.flags.writeable = False
        n_total = int(self._offsets[-1])

        self.numbers = _readonly(_as_int(numbers, np.int32, "numbers", source))
        _check_shape(self.numbers, (n_total,), "numbers (sum of n_atoms)", source)
        bad = (self.numbers < 1) | (self.numbers > MAX_ATOMIC_NUMBER)
        if bad.any():
            self._raise_at_atom(bad, "unknown element Z={value}", self.numbers)

        self.positions = _readonly(
            _as_float(positions, "positions", source, keep_float32=self.keep_float32)
        )
        _check_shape(self.positions, (n_total, 3), "positions", source)
        self._check_finite_atoms(self.positions, "positions")

        self.energy: np.ndarray | None = None
        if energy is not None:
            self.energy = _readonly(_as_float(energy, "energy", source))
            _check_shape(self.energy, (n_struct,), "energy", source)
            _check_finite_structures(self.energy, "energy", source)
            per_atom = np.abs(self.energy) / np.maximum(self.n_atoms, 1)
            bad = per_atom > MAX_ABS_ENERGY_PER_ATOM
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(
                    source,
                    f"absurd energy {self.energy[i]:.6g} eV in structure {i} "
                    f"({self.energy[i] / self.n_atoms[i]:.6g} eV per atom; the limit is "
                    f"{MAX_ABS_ENERGY_PER_ATOM:g} eV per atom, MAX_ABS_ENERGY_PER_ATOM; "
                    f"{int(bad.sum())} structures affected): a wrong unit or a "
                    "missing-value sentinel?",
                )

        self.forces: np.ndarray | None = None
        if forces is not None:
            self.forces = _readonly(
                _as_float(forces, "forces", source, keep_float32=self.keep_float32)
            )
            _check_shape(self.forces, (n_total, 3), "forces", source)
            self._check_finite_atoms(self.forces, "forces")
            bad = np.abs(self.forces) > MAX_ABS_FORCE
            if bad.any():
                self._raise_at_atom(
                    bad,
                    f"absurd force {{value}} eV/Å (a component above {MAX_ABS_FORCE:g} "
                    "eV/Å, MAX_ABS_FORCE: a wrong unit or a missing-value sentinel?)",
                    self.forces,
                )

        if cell is None:
            self.cell = _readonly(np.zeros((n_struct, 3, 3)))
        else:
            self.cell = _readonly(_as_float(cell, "cell", source))
            _check_shape(self.cell, (n_struct, 3, 3), "cell", source)
            _check_finite_structures(self.cell, "cell", source)

        if pbc is None:
            self.pbc = _readonly(np.zeros((n_struct, 3), dtype=bool))
        else:
            pbc_arr = np.asarray(pbc)
            if pbc_arr.dtype != bool:
                raise DataError(source, f"pbc must be boolean, got dtype {pbc_arr.dtype}")
            self.pbc = _readonly(np.ascontiguousarray(pbc_arr))
            _check_shape(self.pbc, (n_struct, 3), "pbc", source)
        zero_vector = np.linalg.norm(self.cell, axis=2) == 0.0
        if (self.pbc & zero_vector).any():
            i, axis = np.argwhere(self.pbc & zero_vector)[0]
            raise DataError(
                source,
                f"structure {i} is periodic along cell vector {axis}, but that vector is zero",
            )

        if ids is None:
            self.ids = _readonly(np.arange(n_struct, dtype=np.int64))
        else:
            self.ids = _readonly(_as_int(ids, np.int64, "ids", source))
            _check_shape(self.ids, (n_struct,), "ids", source)

        self.groups: np.ndarray | None = None
        self.group_names: tuple[str, ...] = ()
        if groups is not None:
            if group_names is None:
                raise DataError(source, "groups given without group_names")
            self.group_names = tuple(str(name) for name in group_names)
            self.groups = _readonly(_as_int(groups, np.int64, "groups", source))
            _check_shape(self.groups, (n_struct,), "groups", source)
            bad = (self.groups < 0) | (self.groups >= len(self.group_names))
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(
                    source,
                    f"structure {i} has group index {self.groups[i]}, "
                    f"but there are {len(self.group_names)} group names",
                )
        elif group_names is not None:
            raise DataError(source, "group_names given without groups")
        if check_geometry:
            self._check_distances()

    # ------------------------------------------------------------------ validation

    @property
    def _source(self) -> str | None:
        return self.meta.get("source")

    def _raise_at_atom(self, bad: np.ndarray, template: str, values: np.ndarray) -> None:
        """Raise a DataError naming the first atom flagged in ``bad`` ((A,) or (A, 3) bool)."""
        bad_atoms = bad.any(axis=1) if bad.ndim == 2 else bad
        atom = int(np.argmax(bad_atoms))
        struct = int(np.searchsorted(self._offsets, atom, side="right") - 1)
        problem = template.format(value=values[atom].tolist())
        raise DataError(
            self._source,
            f"{problem} at atom {atom - self._offsets[struct]} of structure {struct} "
            f"(flat atom index {atom}; {int(bad_atoms.sum())} atoms affected)",
        )

    def _check_finite_atoms(self, array: np.ndarray, name: str) -> None:
        bad = ~np.isfinite(array)
        if bad.any():
            self._raise_at_atom(bad, f"non-finite {name} {{value}}", array)

    def _check_distances(self) -> None:
        """Raise a DataError naming the first structure with two atoms closer than
        :data:`MIN_DISTANCE_A` (and how many structures have such a pair)."""
        close = _close_pairs(self.positions, self._offsets, self.cell, self.pbc)
        if close is None:
            return
        struct, a, b, distance, n_bad = close
        start = int(self._offsets[struct])
        where = f"structure {struct}"
        if self.ids[struct] != struct:
            where += f" (id {self.ids[struct]} in its source)"
        other = f"atom {b - start}" if a != b else f"a periodic image of atom {a - start}"
        raise DataError(
            self._source,
            f"atoms too close in {where}: atom {a - start} (Z={self.numbers[a]}) and {other} "
            f"(Z={self.numbers[b]}) are {distance:.3g} Å apart, closer than "
            f"MIN_DISTANCE_A={MIN_DISTANCE_A} Å (coincident or overlapping atoms; "
            f"{n_bad} structures affected)",
        )

    # ------------------------------------------------------------------ properties

    @property
    def offsets(self) -> np.ndarray:
        """(M + 1,) int64: the atoms of structure ``i`` are ``offsets[i]:offsets[i + 1]``."""
        return self._offsets

    @property
    def species(self) -> np.ndarray:
        """Sorted unique atomic numbers (int32) present in the collection."""
        return np.unique(self.numbers)

    @property
    def has_energy(self) -> bool:
        """Whether energy labels are present."""
        return self.energy is not None

    @property
    def has_forces(self) -> bool:
        """Whether force labels are present."""
        return self.forces is not None

    @property
    def n_total_atoms(self) -> int:
        """Total number of atoms A over all structures."""
        return int(self._offsets[-1])

    @property
    def structure_index(self) -> np.ndarray:
        """(A,) int64: the structure each atom belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.n_atoms)

    def __len__(self) -> int:
        return int(self.n_atoms.shape[0])

    def __repr__(self) -> str:
        labels = [name for name in ("energy", "forces") if getattr(self, name) is not None]
        return (
            f"Structures(n_structures={len(self)}, n_atoms={self.n_total_atoms}, "
            f"species={self.species.tolist()}, labels={labels}, "
            f"source={self.meta.get('source')!r})"
        )

    def fingerprint(self) -> str:
        """sha256 of everything a model trained on these structures depends on (numbers,
        positions, sizes, cells, periodicity and labels; not ids or metadata)."""
        return arrays_fingerprint(
            {
                "numbers": self.numbers,
                "positions": self.positions,
                "n_atoms": self.n_atoms,
                "cell": self.cell,
                "pbc": self.pbc,
                "energy": self.energy,
                "forces": self.forces,
            }
        )

    def lowest_energy(self) -> int:
        """Index of the structure with the lowest energy label."""
        if self.energy is None or len(self) == 0:
            raise ValueError(f"{self._source or 'structures'}: no energy labels to rank by")
        return int(np.argmin(self.energy))

    def molecule_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(numbers (A,), positions (M, A, 3))`` of a set of one molecule's geometries.

        Raises ValueError if the structures differ in size or atom order.
        """
        n = int(self.n_atoms[0])
        numbers = self.numbers.reshape(len(self), -1) if np.all(self.n_atoms == n) else None
        if numbers is None or np.any(numbers != numbers[0]):
            raise ValueError(
                f"{self._source or 'structures'}: not one molecule (sizes or atom order differ)"
            )
        return numbers[0].copy(), self.positions.reshape(len(self), n, 3)

    def species_counts(self, species: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Count the atoms of each species in each structure.

        Used e.g. for a per-species linear regression of energy shifts
        ``energy ≈ counts @ shifts``.

        Args:
            species: the species (atomic numbers) to count, in column order; default
                :attr:`species`. Must contain every species present.

        Returns:
            ``(counts, species)``: counts is an (M, n_species) int64 matrix, species the
            (n_species,) int32 column labels.
        """
        species_arr = self.species if species is None else np.asarray(species, dtype=np.int32)
        column = np.searchsorted(species_arr, self.numbers)
        column = np.minimum(column, len(species_arr) - 1)
        missing = species_arr[column] != self.numbers
        if missing.any():
            raise ValueError(
                f"species {np.unique(self.numbers[missing]).tolist()} present in the "
                f"structures but not in species={species_arr.tolist()}"
            )
        n_species = len(species_arr)
        flat = self.structure_index * n_species + column
        counts = np.bincount(flat, minlength=len(self) * n_species)
        return counts.reshape(len(self), n_species).astype(np.int64), species_arr

    # ------------------------------------------------------------------ selection

    def atom_indices(self, indices: IndexLike) -> np.ndarray:
        """(A',) int64 flat atom indices of the structures selected by ``indices``."""
        idx = self._normalise_index(indices)
        counts = self.n_atoms[idx]
        out_starts = np.cumsum(counts) - counts
        return np.repeat(self._offsets[idx] - out_starts, counts) + np.arange(
            counts.sum(), dtype=np.int64
        )

    def _normalise_index(self, indices: IndexLike) -> np.ndarray:
        n = len(self)
        if isinstance(indices, slice):
            return np.arange(n, dtype=np.int64)[indices]
        if isinstance(indices, (int, np.integer)):
            raise TypeError(
                "Structures[int] is ambiguous: use .atoms(i) for one ase.Atoms or "
                "[i] / .subset([i]) for a one-structure Structures"
            )
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise IndexError(f"boolean mask has shape {idx.shape}; expected ({n},)")
            return np.flatnonzero(idx).astype(np.int64)
        if idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise IndexError(f"indices must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        if idx.min() < -n or idx.max() >= n:
            raise IndexError(f"structure index out of range for {n} structures")
        return np.where(idx < 0, idx + n, idx).astype(np.int64)

    def subset(self, indices: IndexLike) -> Structures:
        """A new Structures with the selected structures, in the given order.

        Args:
            indices: integer array or list (repeats allowed), boolean mask of length M,
                or slice.

        Returns:
            New Structures with the same ``meta`` and ``group_names``; ``ids`` and
            ``groups`` follow the selected structures. A slice with step 1 shares memory
            with ``self`` (the arrays are read-only); other selections copy.
        """
        atoms: slice | np.ndarray
        if isinstance(indices, slice) and indices.step in (None, 1):
            start, stop, _ = indices.indices(len(self))
            idx = slice(start, max(start, stop))
            atoms = slice(int(self._offsets[idx.start]), int(self._offsets[idx.stop]))
        else:
            idx = self._normalise_index(indices)
            atoms = self.atom_indices(idx)
        if isinstance(atoms, np.ndarray):  # np.take gathers rows faster than fancy indexing

            def gather(array: np.ndarray) -> np.ndarray:
                return np.take(array, atoms, axis=0)

        else:

            def gather(array: np.ndarray) -> np.ndarray:
                return array[atoms]

        return self.replace(
            numbers=gather(self.numbers),
            positions=gather(self.positions),
            n_atoms=self.n_atoms[idx],
            energy=None if self.energy is None else self.energy[idx],
            forces=None if self.forces is None else gather(self.forces),
            cell=self.cell[idx],
            pbc=self.pbc[idx],
            ids=self.ids[idx],
            groups=None if self.groups is None else self.groups[idx],
        )

    def __getitem__(self, indices: IndexLike) -> Structures:
        """Same as :meth:`subset`; a plain int raises TypeError (use :meth:`atoms`)."""
        return self.subset(indices)

    def replace(self, **changes: Any) -> Structures:
        """A copy with some constructor arguments replaced, the others kept (the one copy
        constructor: :meth:`subset`, :meth:`with_labels` and :meth:`without_labels` use it).

        Args:
            **changes: arguments of :class:`Structures` (``energy``, ``forces``, ``meta``,
                ``ids``, ...). ``check_geometry`` defaults to False (the geometry of
                checked structures; pass True after changing positions or cells) and
                ``keep_float32`` to this collection's choice; ``groups=None`` drops the
                group names too.

        Raises:
            TypeError: an argument :class:`Structures` does not take.
            DataError: the result fails validation, as for the constructor.
        """
        fields: dict[str, Any] = {
            "numbers": self.numbers,
            "positions": self.positions,
            "n_atoms": self.n_atoms,
            "energy": self.energy,
            "forces": self.forces,
            "cell": self.cell,
            "pbc": self.pbc,
            "ids": self.ids,
            "meta": self.meta,
            "groups": self.groups,
            "group_names": self.group_names,
            "check_geometry": False,
            "keep_float32": self.keep_float32,
        }
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError(f"Structures.replace: unknown argument(s) {unknown}")
        fields.update(changes)
        if fields["groups"] is None:
            fields["group_names"] = None
        return Structures(**fields)

    def with_labels(
        self, energy: ArrayLike | None = None, forces: ArrayLike | None = None
    ) -> Structures:
        """A copy with the given labels replaced; a label left as ``None`` is kept.

        Args:
            energy: (M,) new energies in eV.
            forces: (A, 3) new forces in eV/Å.
        """
        return self.replace(
            energy=self.energy if energy is None else energy,
            forces=self.forces if forces is None else forces,
        )

    def without_labels(self, energy: bool = False, forces: bool = False) -> Structures:
        """A copy with the energy and/or force labels removed."""
        return self.replace(
            energy=None if energy else self.energy, forces=None if forces else self.forces
        )

    # ------------------------------------------------------------------ ASE

    def atoms(self, i: int) -> ase.Atoms:
        """Structure ``i`` as :class:`ase.Atoms` (Å, eV).

        Energy and forces, when present, are attached as a
        :class:`~ase.calculators.singlepoint.SinglePointCalculator`. ``atoms.info``
        holds ``gmnn_id`` (``ids[i]``) and, when known, ``gmnn_group`` (group name).
        """
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"structure index {i} out of range for {n} structures")
        i = int(i) % n
        start, stop = self._offsets[i], self._offsets[i + 1]
        atoms = ase.Atoms(
            numbers=self.numbers[start:stop],
            positions=self.positions[start:stop],
            cell=self.cell[i],
            pbc=self.pbc[i],
        )
        atoms.info["gmnn_id"] = int(self.ids[i])
        if self.groups is not None:
            atoms.info["gmnn_group"] = self.group_names[self.groups[i]]
        results: dict[str, Any] = {}
        if self.energy is not None:
            results["energy"] = float(self.energy[i])
        if self.forces is not None:
            results["forces"] = self.forces[start:stop].copy()
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        return atoms

    def to_ase(self) -> list[ase.Atoms]:
        """All structures as a list of :class:`ase.Atoms` (see :meth:`atoms`)."""
        return [self.atoms(i) for i in range(len(self))]

    @classmethod
    def from_ase(
        cls,
        atoms_list: Sequence[ase.Atoms],
        energy: bool | None = True,
        forces: bool | None = True,
        meta: dict[str, Any] | None = None,
    ) -> Structures:
        """Build Structures from ASE atoms (positions in Å, energies in eV, forces in eV/Å).

        Labels are taken from stored calculator results (never computed) or else from
        ``atoms.info["energy"]`` / ``atoms.arrays["forces"]``. ``ids`` are taken from
        ``atoms.info["gmnn_id"]`` when every structure has one (as written by
        :meth:`atoms`), otherwise they are the positions in ``atoms_list``.

        Args:
            atoms_list: the structures.
            energy: True: every structure must have an energy; False: ignore energies;
                None: use energies if every structure has one, none if no structure has.
            forces: like ``energy``, for forces.
            meta: stored as :attr:`meta`; its ``source`` is named in error messages.

        Raises:
            DataError: a required label is missing, or present for only some structures.
        """
        meta = dict(meta or {})
        source = meta.get("source")
        atoms_list = list(atoms_list)
        n_atoms = np.array([len(a) for a in atoms_list], dtype=np.int64)
        if atoms_list:
            numbers = np.concatenate([a.numbers for a in atoms_list])
            positions = np.concatenate([a.positions for a in atoms_list])
        else:
            numbers, positions = np.zeros(0, np.int32), np.zeros((0, 3))
        cell = np.array([a.cell.array for a in atoms_list], dtype=np.float64).reshape(-1, 3, 3)
        pbc = np.array([a.pbc for a in atoms_list], dtype=bool).reshape(-1, 3)

        energies = _collect_label(atoms_list, "energy", energy, source)
        force_list = _collect_label(atoms_list, "forces", forces, source)
        ids_list = [a.info.get("gmnn_id") for a in atoms_list]
        ids = np.array(ids_list, dtype=np.int64) if None not in ids_list else None
        return cls(
            numbers=numbers,
            positions=positions,
            n_atoms=n_atoms,
            energy=None if energies is None else np.array(energies, dtype=np.float64),
            forces=None if force_list is None else np.concatenate(force_list).reshape(-1, 3),
            cell=cell,
            pbc=pbc,
            ids=ids,
            meta=meta,
        )

    # ------------------------------------------------------------------ combining

    @classmethod
    def concatenate(cls, parts: Sequence[Structures]) -> Structures:
        """Join several collections, in order.

        Labels: energies/forces are kept only if every part has them; a part with and a
        part without a label raise DataError (drop it first with :meth:`without_labels`).

        ``meta``: kept if identical in all parts, else ``{"parts": [meta, ...],
        "part_sizes": [len, ...]}``. ``ids`` are concatenated unchanged (each still
        indexes its own source file). ``groups``: if any part has groups, the group
        name tables are merged; a part without groups becomes one group named after its
        ``meta["source"]`` (or ``"part<k>"``).
        """
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one Structures")
        if len(parts) == 1:
            return parts[0].subset(slice(None))
        for label in ("energy", "forces"):
            have = [getattr(p, label) is not None for p in parts]
            if any(have) and not all(have):
                k = have.index(False)
                raise DataError(
                    parts[k].meta.get("source"),
                    f"part {k} of concatenate has no {label} labels but part "
                    f"{have.index(True)} has; remove them first with without_labels()",
                )
        metas = [p.meta for p in parts]
        if all(m == metas[0] for m in metas):
            meta = metas[0]
        else:
            meta = {"parts": metas, "part_sizes": [len(p) for p in parts]}

        groups = group_names = None
        if any(p.groups is not None for p in parts):
            names: dict[str, int] = {}
            remapped = []
            for k, part in enumerate(parts):
                if part.groups is None:
                    name = str(part.meta.get("source", f"part{k}"))
                    code = names.setdefault(name, len(names))
                    remapped.append(np.full(len(part), code, dtype=np.int64))
                else:
                    table = np.array(
                        [names.setdefault(n, len(names)) for n in part.group_names],
                        dtype=np.int64,
                    )
                    remapped.append(table[part.groups])
            groups, group_names = np.concatenate(remapped), list(names)

        def cat(name: str) -> np.ndarray | None:
            arrays = [getattr(p, name) for p in parts]
            return None if arrays[0] is None else np.concatenate(arrays)

        return cls(
            numbers=cat("numbers"),
            positions=cat("positions"),
            n_atoms=cat("n_atoms"),
            energy=cat("energy"),
            forces=cat("forces"),
            cell=cat("cell"),
            pbc=cat("pbc"),
            ids=cat("ids"),
            meta=meta,
            groups=groups,
            group_names=group_names,
            check_geometry=False,
            keep_float32=all(p.keep_float32 for p in parts),
        )


# ---------------------------------------------------------------------- helpers


def _as_int(
    values: ArrayLike, dtype: type[np.integer], name: str, source: str | None
) -> np.ndarray:
    """Convert to a C-contiguous integer array, rejecting non-integral values."""
    array = np.asarray(values)
    if array.size and not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(np.mod(array, 1) == 0):
            raise DataError(source, f"{name} must be integers, got dtype {array.dtype}")
    info = np.iinfo(dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
        raise DataError(source, f"{name} has values outside the {np.dtype(dtype)} range")
    return np.ascontiguousarray(array, dtype=dtype)


def _as_float(
    values: ArrayLike, name: str, source: str | None, keep_float32: bool = False
) -> np.ndarray:
    """Convert to a C-contiguous float64 array (float32 input stays float32 with
    ``keep_float32``)."""
    if keep_float32 and isinstance(values, np.ndarray) and values.dtype == np.float32:
        return np.ascontiguousarray(values)
    try:
        return np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(source, f"{name} cannot be converted to float64: {err}") from err


def format_shape(shape: tuple[int | None, ...]) -> str:
    """Format an expected shape for messages, ``None`` (any length) shown as ``*``."""
    items = ["*" if n is None else str(n) for n in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _check_shape(
    array: np.ndarray, expected: tuple[int | None, ...], name: str, source: str | None
) -> None:
    """Raise DataError unless ``array.shape`` matches ``expected`` (None = any length)."""
    ok = array.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, array.shape, strict=True)
    )
    if not ok:
        raise DataError(
            source, f"{name} has shape {array.shape}; expected {format_shape(expected)}"
        )


def first_non_finite(array: np.ndarray) -> tuple[int, int] | None:
    """The non-finite check of every reader: ``(first row, number of rows)`` of the rows
    of ``array`` (first axis: one row per structure) that hold a NaN or infinity, or None
    when every value is finite."""
    if array.size == 0:
        return None
    bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    if not bad.any():
        return None
    return int(np.argmax(bad)), int(bad.sum())


def check_finite(
    array: np.ndarray, key: str, source: str | os.PathLike[str] | None, rows=None
) -> None:
    """Raise DataError naming the first structure (row of ``array``) with a non-finite value
    in the file's ``key``; ``rows`` gives the index to report for each row (default: the
    row number)."""
    found = first_non_finite(array)
    if found is not None:
        m, n_bad = found
        index = m if rows is None else int(rows[m])
        raise DataError(
            source, f"non-finite values in {key!r} of structure {index} ({n_bad} structures)"
        )


def _check_finite_structures(array: np.ndarray, name: str, source: str | None) -> None:
    found = first_non_finite(array)
    if found is not None:
        i, n_bad = found
        raise DataError(
            source,
            f"non-finite {name} {array[i].tolist()} in structure {i} ({n_bad} structures affected)",
        )


_CHUNK_ATOMS = 1 << 21
"""Atoms per KD-tree in :func:`_close_pairs` (bounds its memory to ~100 MB)."""


def _close_pairs(
    positions: np.ndarray, offsets: np.ndarray, cell: np.ndarray, pbc: np.ndarray
) -> tuple[int, int, int, float, int] | None:
    """The first structure with two atoms closer than :data:`MIN_DISTANCE_A`, as
    ``(structure, flat atom a, flat atom b, distance, structures affected)``, or None.

    Non-periodic structures: one KD-tree per chunk of structures, the structure index
    as a fourth coordinate (spaced wider than the threshold, so atoms of different
    structures never pair). Periodic ones (rare here): ASE's neighbour list, which
    applies the minimum-image convention to any cell.
    """
    from scipy.spatial import cKDTree

    n_atoms = np.diff(offsets)
    periodic = pbc.any(axis=1)
    hits = []  # (structure, a, b, distance) arrays of every close pair found
    candidates = np.flatnonzero(~periodic & (n_atoms > 1))
    ends = offsets[candidates + 1]
    start = 0
    while start < len(candidates):
        # whole structures, about _CHUNK_ATOMS atoms at a time
        limit = offsets[candidates[start]] + _CHUNK_ATOMS
        stop = max(int(np.searchsorted(ends, limit, side="right")), start + 1)
        chunk, start = candidates[start:stop], stop
        counts = n_atoms[chunk]
        atoms = np.repeat(offsets[chunk] - (np.cumsum(counts) - counts), counts)
        atoms += np.arange(counts.sum())
        label = np.repeat(np.arange(len(chunk), dtype=np.float64), counts)
        points = np.column_stack([positions[atoms], label * (4.0 * MIN_DISTANCE_A)])
        tree = cKDTree(points, balanced_tree=False, compact_nodes=False)
        pairs = tree.query_pairs(MIN_DISTANCE_A, output_type="ndarray")
        if len(pairs):
            a, b = atoms[pairs.min(axis=1)], atoms[pairs.max(axis=1)]
            distance = np.linalg.norm(positions[a] - positions[b], axis=1)
            hits.append((chunk[label[pairs[:, 0]].astype(np.int64)], a, b, distance))
    if periodic.any():
        from ase import Atoms
        from ase.neighborlist import neighbor_list

        shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T
        shifts = shifts[np.abs(shifts).sum(axis=1) > 0]
        for k in np.flatnonzero(periodic):
            lo, hi = offsets[k], offsets[k + 1]
            # an atom and its own image: the shortest lattice vector (ASE's neighbour
            # list is very slow for cells smaller than the cutoff)
            images = np.linalg.norm(shifts[(shifts[:, ~pbc[k]] == 0).all(axis=1)] @ cell[k], axis=1)
            if images.min() < MIN_DISTANCE_A:
                hits.append(tuple(np.array([v]) for v in (k, lo, lo, images.min())))
                continue
            atoms = Atoms(positions=positions[lo:hi], cell=cell[k], pbc=pbc[k])
            i, j, d = neighbor_list("ijd", atoms, MIN_DISTANCE_A, self_interaction=False)
            keep = np.flatnonzero(d < MIN_DISTANCE_A)
            if len(keep):
                i, j, d = i[keep], j[keep], d[keep]
                first = np.lexsort((d, np.maximum(i, j), np.minimum(i, j)))[0]
                a, b = lo + min(i[first], j[first]), lo + max(i[first], j[first])
                hits.append((np.array([k]), np.array([a]), np.array([b]), np.array([d[first]])))
    if not hits:
        return None
    struct, a, b, distance = (np.concatenate(column) for column in zip(*hits, strict=True))
    keep = distance < MIN_DISTANCE_A  # query_pairs also returns pairs at exactly the limit
    if not keep.any():
        return None
    struct, a, b, distance = struct[keep], a[keep], b[keep], distance[keep]
    first = np.lexsort((distance, b, a, struct))[0]
    return (
        int(struct[first]),
        int(a[first]),
        int(b[first]),
        float(distance[first]),
        len(np.unique(struct)),
    )


def _collect_label(
    atoms_list: list[ase.Atoms], label: str, mode: bool | None, source: str | None
) -> list[Any] | None:
    """Energies (floats) or forces ((n, 3) arrays) from ASE atoms; see from_ase."""
    if mode is False:
        return None
    values = []
    for atoms in atoms_list:
        results = atoms.calc.results if atoms.calc is not None else {}
        if label in results:
            values.append(results[label])
        elif label == "energy":
            values.append(atoms.info.get("energy"))
        else:
            values.append(atoms.arrays.get("forces"))
    missing = [i for i, v in enumerate(values) if v is None]
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                source,
                f"structure {i}: {label} {str(value)[:40]!r} is not a number",
            ) from None
    if not missing:
        return values
    if mode is None and len(missing) == len(values):
        return None
    raise DataError(
        source,
        f"structure {missing[0]} has no {label} ({len(missing)} of {len(values)} structures "
        "lack it); pass " + ("energy" if label == "energy" else "forces") + "=False to ignore",
    )


# ---------------------------------------------------------------------- label plausibility

ATOMIC_ENERGY_BOUND_HARTREE = 1.2
"""c in the bound |E| <= c Σ_i Z_i^(7/3) Hartree on a structure's total energy. The
all-electron energy of an atom is below the Thomas-Fermi value 0.77 Z^(7/3) Hartree
(H 0.5, C 37.8, O 75.1, Cl 460, I 6918 Hartree; relativistic heavy atoms included), and
a molecule's total energy is its atoms' plus a few Hartree of binding; pseudopotential
and semi-empirical energies are smaller still. A larger energy is a wrong unit: ANI
energies in kcal/mol where Hartree is stated (627.5 times too large), kcal/mol or kJ/mol
in an extxyz (eV), eV where Hartree is stated."""

MAX_ENERGY_SPAN_PER_ATOM = 10.0
"""Largest accepted spread (eV per atom) of the energies of one molecule (structures of
the same composition) in one file. Conformers, MD frames, bond scans and normal-mode
displacements of one molecule span a few eV; frames in different units (eV and
Hartree) or of different levels of theory (all-electron and pseudopotential) span
hundreds of eV per atom."""


def _unit_of(meta: dict) -> tuple[str, float]:
    """The original energy unit of ``meta`` and its size in eV (eV when unknown)."""
    from gmnn import units

    name = str(meta.get("original_energy_unit") or "eV")
    try:
        return name, units.energy_unit_in_ev(name)
    except KeyError:
        return "eV", 1.0


def _where(s: Structures, i: int) -> str:
    where = f"structure {i}"
    if s.ids[i] != i:
        where += f" (id {int(s.ids[i])} in its source)"
    if s.groups is not None:
        where = f"group /{s.group_names[int(s.groups[i])].lstrip('/')}: {where}"
    return where


def _formula(s: Structures, i: int) -> str:
    start, stop = s.offsets[i], s.offsets[i + 1]
    return ase.Atoms(numbers=s.numbers[start:stop]).get_chemical_formula()


def check_energies_plausible(s: Structures) -> None:
    """Refuse energies that cannot be in the unit the file states (a DataError naming
    ``meta["source"]``, the structure and its group): a total energy beyond the bound
    of :data:`ATOMIC_ENERGY_BOUND_HARTREE` for its atoms, or energies of one molecule
    (the same composition) spanning more than :data:`MAX_ENERGY_SPAN_PER_ATOM` eV per
    atom. Called by the readers on what they read; nothing is changed."""
    if s.energy is None or len(s) == 0:
        return
    from gmnn import units

    unit, factor = _unit_of(s.meta)
    z_term = s.numbers.astype(np.float64) ** (7.0 / 3.0)
    bound = np.add.reduceat(z_term, s.offsets[:-1]) * ATOMIC_ENERGY_BOUND_HARTREE * units.HARTREE
    bad = np.abs(s.energy) > bound
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            s._source,
            f"{_where(s, i)}: energy {s.energy[i] / factor:.8g} {unit} of {_formula(s, i)} "
            f"is beyond any total energy of its atoms (|E| <= {bound[i] / factor:.4g} {unit}; "
            f"{int(bad.sum())} structures affected): a wrong unit (kcal/mol or eV where "
            f"{unit} is stated?)",
        )
    counts, _ = s.species_counts()
    _, molecule = np.unique(counts, axis=0, return_inverse=True)
    molecule = molecule.reshape(-1)
    n_mol = int(molecule.max()) + 1
    low = np.full(n_mol, np.inf)
    high = np.full(n_mol, -np.inf)
    np.minimum.at(low, molecule, s.energy)
    np.maximum.at(high, molecule, s.energy)
    span = (high - low)[molecule] / s.n_atoms
    bad = span > MAX_ENERGY_SPAN_PER_ATOM
    if bad.any():
        first = int(np.argmax(bad))
        same = np.flatnonzero(molecule == molecule[first])
        i = int(same[np.argmin(s.energy[same])])
        j = int(same[np.argmax(s.energy[same])])
        raise DataError(
            s._source,
            f"energies of one molecule ({_formula(s, i)}) span "
            f"{(s.energy[j] - s.energy[i]):.6g} eV, more than "
            f"{MAX_ENERGY_SPAN_PER_ATOM:g} eV per atom: {_where(s, i)} has "
            f"{s.energy[i] / factor:.8g} {unit}, {_where(s, j)} {s.energy[j] / factor:.8g} "
            f"{unit} (frames in different units or levels of theory?)",
        )


def check_not_empty(s: Structures, why: str = "") -> None:
    """A DataError naming ``meta["source"]`` when a reader is left with no structures."""
    if len(s) == 0:
        raise DataError(s._source, "no structures" + (f" left: {why}" if why else ""))


def labels_source(s: Structures) -> str:
    """The file ``s`` was read from, for messages (``"the structures"`` when unknown)."""
    return str(s.meta.get("source") or "the structures")


def forces_missing(s: Structures) -> str:
    """`` (forces 'forces' missing in group /x)`` when the reader found forces in some
    groups only (``meta["forces_missing_in"]``), else ``""``."""
    info = s.meta.get("forces_missing_in")
    if not isinstance(info, dict) or not info.get("missing_in"):
        return ""
    groups = list(info["missing_in"])
    more = f" and {len(groups) - 1} more" if len(groups) > 1 else ""
    return f" (forces {info.get('key')!r} missing in group {groups[0]}{more})"
