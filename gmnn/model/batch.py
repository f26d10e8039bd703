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

# Molecules up to this size get their pairs from the vectorised all-pairs search
# (larger ones from neighbor_pairs, i.e. vesin, like neighbors._molecule_pairs).
_MAX_DENSE_ATOMS = 512

# Distance-matrix entries computed at once by molecule_pairs (bounds its memory, ~50 MB).
_DENSE_CHUNK_PAIRS = 1 << 20


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


def molecule_pairs(
    positions: np.ndarray, offsets: np.ndarray, idx: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed pairs closer than ``cutoff`` (Å) of many non-periodic molecules at once.

    The pairs of molecule ``idx[k]`` (atoms ``offsets[idx[k]]:offsets[idx[k] + 1]`` of
    ``positions``) are exactly those of :func:`gmnn.model.neighbors.neighbor_pairs` for
    that molecule, in the same order (by centre atom i, then neighbour j), computed the
    same way (float64 differences r_j - r_i): molecules of equal size are stacked and
    all their distances (pairs i < j; the matrix is symmetric) computed by NumPy at
    once, at most ``_DENSE_CHUNK_PAIRS`` matrix entries at a time; then the pairs are
    put back in the order of ``idx``. For molecules of at most ``_MAX_DENSE_ATOMS``
    atoms (ANI molecules have at most 63).

    Returns:
        ``(i, j, counts)``: local atom indices (int32) of all pairs, molecule after
        molecule in the order of ``idx``, and the (len(idx),) int64 pair count of each.
    """
    idx = np.asarray(idx, dtype=np.int64)
    starts = offsets[idx]
    n_atoms = offsets[idx + 1] - starts
    cut2 = float(cutoff) * float(cutoff)
    parts_k, parts_i, parts_j = [], [], []
    for n in np.unique(n_atoms).tolist():
        if n < 2:
            continue
        same = np.flatnonzero(n_atoms == n)  # positions in idx, increasing
        step = max(1, _DENSE_CHUNK_PAIRS // (n * n))
        local = np.arange(n)
        upper_i, upper_j = np.triu_indices(n, 1)
        for a in range(0, len(same), step):
            sel = same[a : a + step]
            xyz = positions[starts[sel][:, None] + local].astype(np.float64)  # (b, n, 3)
            # i < j only: r_i - r_j is exactly -(r_j - r_i), so r2 is symmetric bit for bit
            d = xyz[:, upper_j] - xyz[:, upper_i]
            close = np.einsum("bpk,bpk->bp", d, d) < cut2
            mask = np.zeros((len(sel), n, n), dtype=bool)
            mask[:, upper_i, upper_j] = close
            mask[:, upper_j, upper_i] = close
            b, i, j = np.nonzero(mask)
            parts_k.append(sel[b])
            parts_i.append(i.astype(np.int32))
            parts_j.append(j.astype(np.int32))
    counts = np.zeros(len(idx), dtype=np.int64)
    if not parts_k:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), counts
    k = np.concatenate(parts_k)
    order = np.argsort(k, kind="stable")  # idx order; (i, j) order kept within a molecule
    counts += np.bincount(k, minlength=len(idx))
    return np.concatenate(parts_i)[order], np.concatenate(parts_j)[order], counts


class GraphData:
    """Species indices and neighbour lists of a :class:`~gmnn.data.Structures` set.

    Neighbour lists are computed once and cached (training geometries do not
    move); for very large data sets (ANI-1x: millions of molecules) they are computed
    per batch instead. Non-periodic molecules of up to ``_MAX_DENSE_ATOMS`` atoms get
    their pairs from the vectorised :func:`molecule_pairs` (whole batches at once, the
    pairs and order of :func:`~gmnn.model.neighbors.neighbor_pairs`); periodic or
    larger structures from :func:`~gmnn.model.neighbors.neighbor_pairs` one by one.
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

    def _pairs(self, idx: np.ndarray):
        """``(i, j, shift, counts)`` of the structures ``idx`` (local atom indices);
        ``shift`` is None when all are non-periodic (all shifts zero)."""
        s = self.structures
        n_atoms = s.n_atoms[idx]
        dense = ~s.pbc[idx].any(axis=1) & (n_atoms <= _MAX_DENSE_ATOMS)
        if dense.all():
            i, j, counts = molecule_pairs(s.positions, self.atom_offsets, idx, self.cutoff)
            return i, j, None, counts
        # mixed: dense molecules vectorised, the others one by one, then in idx order
        lists: list = [None] * len(idx)
        if dense.any():
            where = np.flatnonzero(dense)
            i, j, counts = molecule_pairs(s.positions, self.atom_offsets, idx[where], self.cutoff)
            ends = np.cumsum(counts)
            for k, a, b in zip(
                where.tolist(), (ends - counts).tolist(), ends.tolist(), strict=True
            ):
                lists[k] = (i[a:b], j[a:b], np.zeros((b - a, 3)))
        for k in np.flatnonzero(~dense).tolist():
            p = self._pairs_of(int(idx[k]))
            lists[k] = (p.i, p.j, p.shift)
        counts = np.array([len(p[0]) for p in lists], dtype=np.int64)
        if not lists:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros((0, 3)), counts
        return (
            np.concatenate([p[0] for p in lists]),
            np.concatenate([p[1] for p in lists]),
            np.concatenate([p[2] for p in lists]),
            counts,
        )

    def _build_all_pairs(self) -> None:
        i, j, shift, counts = self._pairs(np.arange(len(self.structures), dtype=np.int64))
        self.pair_offsets = np.concatenate([[0], np.cumsum(counts)])
        self.pair_i, self.pair_j = i, j
        self.pair_shift = shift if self.periodic else None

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
            pi, pj, shift, counts = self._pairs(idx)
            if shift is None:
                shift = np.zeros((len(pi), 3), dtype=dtype)
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
