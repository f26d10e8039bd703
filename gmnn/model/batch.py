"""Model inputs: species indices, neighbour pairs and mini-batches of structures.

A batch packs structures of any size and composition into flat arrays, so that
molecules of different sizes (ANI-style data) and periodic cells share one batch
without padding:

=================  ===========  ==================================================
key                shape        meaning
=================  ===========  ==================================================
``positions``      (A, 3)       Cartesian positions in Å
``species``        (A,)         index into the model's species list
``segment``        (A,)         structure index of every atom, 0..M-1
``pair_i/pair_j``  (P,)         directed neighbour pairs (global atom indices)
``shift``          (P, 3)       Cartesian image offset of each pair in Å
``n_structures``   ()           M
``n_atoms``        (M,)         atoms per structure
``energy``         (M,)         reference energy in eV (float64), when labelled
``forces``         (A, 3)       reference forces in eV/Å, when labelled
=================  ===========  ==================================================
"""

from __future__ import annotations

import numpy as np

from gmnn.model.neighbors import neighbor_pairs

# Above this many pairs the lists are built per batch instead of kept in memory.
_MAX_CACHED_PAIRS = 50_000_000


def species_index(numbers: np.ndarray, species: np.ndarray, where: str = "input") -> np.ndarray:
    """Map atomic numbers to indices into ``species``; unknown elements are an error."""
    table = np.full(max(int(np.max(species)), int(np.max(numbers, initial=0))) + 1, -1, np.int32)
    table[np.asarray(species)] = np.arange(len(species), dtype=np.int32)
    idx = table[np.asarray(numbers)]
    if np.any(idx < 0):
        unknown = sorted(set(np.asarray(numbers)[idx < 0].tolist()))
        raise ValueError(
            f"{where}: element(s) with Z={unknown} are not among the model's species "
            f"{[int(z) for z in species]}"
        )
    return idx


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for every (s, c), vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    new_starts = np.cumsum(counts) - counts
    return np.repeat(starts - new_starts, counts) + np.arange(total)


class GraphData:
    """Species indices and neighbour lists of a :class:`~gmnn.data.Structures` set.

    Neighbour lists are computed once and cached (training geometries do not
    move); for very large data sets they are computed per batch instead.
    """

    def __init__(self, structures, cutoff: float, species, cache: bool | None = None):
        self.structures = structures
        self.cutoff = float(cutoff)
        self.species = np.asarray(species, dtype=np.int64)
        src = structures.meta.get("source", "structures") if structures.meta else "structures"
        self.species_idx = species_index(structures.numbers, self.species, where=str(src))
        self.atom_offsets = structures.offsets
        self.periodic = bool(np.any(structures.pbc))
        est_pairs = int(structures.n_atoms.sum()) * 40
        self.cached = (est_pairs < _MAX_CACHED_PAIRS) if cache is None else cache
        if self.cached:
            self._build_all_pairs()

    def __len__(self) -> int:
        return len(self.structures)

    def _pairs_of(self, k: int):
        s = self.structures
        a, b = self.atom_offsets[k], self.atom_offsets[k + 1]
        return neighbor_pairs(s.positions[a:b], self.cutoff, s.cell[k], s.pbc[k])

    def _build_all_pairs(self) -> None:
        lists = [self._pairs_of(k) for k in range(len(self.structures))]
        counts = np.array([len(p) for p in lists], dtype=np.int64)
        self.pair_offsets = np.concatenate([[0], np.cumsum(counts)])
        self.pair_i = np.concatenate([p.i for p in lists]) if lists else np.zeros(0, np.int32)
        self.pair_j = np.concatenate([p.j for p in lists]) if lists else np.zeros(0, np.int32)
        if self.periodic:
            self.pair_shift = np.concatenate([p.shift for p in lists])
        else:
            self.pair_shift = None

    def batch(self, idx, dtype=np.float32) -> dict:
        """Flat model inputs for the structures ``idx`` (in that order)."""
        s = self.structures
        idx = np.asarray(idx, dtype=np.int64)
        n_atoms = s.n_atoms[idx]
        atom_rows = _ranges(self.atom_offsets[idx], n_atoms)
        new_atom_offsets = np.cumsum(n_atoms) - n_atoms
        if self.cached:
            counts = self.pair_offsets[idx + 1] - self.pair_offsets[idx]
            rows = _ranges(self.pair_offsets[idx], counts)
            pi, pj = self.pair_i[rows], self.pair_j[rows]
            shift = (
                self.pair_shift[rows] if self.pair_shift is not None else np.zeros((len(rows), 3))
            )
        else:
            lists = [self._pairs_of(int(k)) for k in idx]
            counts = np.array([len(p) for p in lists], dtype=np.int64)
            pi = np.concatenate([p.i for p in lists])
            pj = np.concatenate([p.j for p in lists])
            shift = np.concatenate([p.shift for p in lists])
        add = np.repeat(new_atom_offsets, counts)
        out = {
            "positions": s.positions[atom_rows].astype(dtype),
            "species": self.species_idx[atom_rows],
            "segment": np.repeat(np.arange(len(idx), dtype=np.int32), n_atoms),
            "pair_i": (pi + add).astype(np.int32),
            "pair_j": (pj + add).astype(np.int32),
            "shift": shift.astype(dtype),
            "n_structures": np.int32(len(idx)),
            "n_atoms": n_atoms.astype(np.int32),
        }
        if s.energy is not None:
            out["energy"] = s.energy[idx].astype(np.float64)
        if s.forces is not None:
            out["forces"] = s.forces[atom_rows].astype(dtype)
        return out


def single_structure_inputs(
    positions, numbers, cell, pbc, cutoff: float, species, dtype=np.float32
) -> dict:
    """Model inputs for one structure (used by the ASE calculator)."""
    pairs = neighbor_pairs(positions, cutoff, cell, pbc)
    n = len(positions)
    return {
        "positions": np.asarray(positions, dtype=dtype),
        "species": species_index(numbers, np.asarray(species), where="atoms"),
        "segment": np.zeros(n, np.int32),
        "pair_i": pairs.i,
        "pair_j": pairs.j,
        "shift": pairs.shift.astype(dtype),
        "n_structures": np.int32(1),
        "n_atoms": np.array([n], np.int32),
    }


def atoms_inputs(model, atoms) -> dict:
    """Model inputs for one ``ase.Atoms`` in the model's cutoff, species and precision."""
    return single_structure_inputs(
        atoms.positions,
        atoms.numbers,
        atoms.cell.array,
        atoms.pbc,
        model.cutoff,
        model.species,
        dtype=model.dtype.as_numpy_dtype,
    )
