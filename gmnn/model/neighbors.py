"""Neighbour lists for molecules and periodic cells of any shape.

Pairs are *directed* (both i->j and j->i are listed), exclude an atom with
itself in the same image, and come sorted by the centre atom i.  The distance vector of a pair is

    r_ij = r_j - r_i + S_ij @ cell

with the integer image shift ``S_ij``.  Periodic systems are handled by
`vesin <https://github.com/Luthaf/vesin>`_, which enumerates all periodic images
within the cutoff, so cells smaller than twice the cutoff (where the
minimum-image convention fails) are treated correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairList:
    """Directed neighbour pairs of one structure (local atom indices)."""

    i: np.ndarray  # (P,) int32, central atom
    j: np.ndarray  # (P,) int32, neighbour atom
    shift: np.ndarray  # (P, 3) float64, Cartesian image offset S @ cell in Å

    def __len__(self) -> int:
        return int(self.i.shape[0])


def _molecule_pairs(positions: np.ndarray, cutoff: float) -> PairList:
    """All pairs closer than ``cutoff`` in a non-periodic structure (dense, small N)."""
    n = positions.shape[0]
    if n > 512:
        return _vesin_pairs(positions, np.zeros((3, 3)), np.zeros(3, bool), cutoff)
    d = positions[None, :, :] - positions[:, None, :]
    r2 = np.einsum("ijk,ijk->ij", d, d)
    mask = r2 < cutoff * cutoff
    np.fill_diagonal(mask, False)
    i, j = np.nonzero(mask)
    return PairList(i.astype(np.int32), j.astype(np.int32), np.zeros((len(i), 3)))


def _vesin_pairs(positions, cell, pbc, cutoff) -> PairList:
    from vesin import NeighborList

    # sorted by centre atom (the order the model's neighbour layout expects); vesin sorts
    # by i, then j, which is the stable order of the pairs of one centre
    nl = NeighborList(cutoff=float(cutoff), full_list=True, sorted=True)
    box = np.asarray(cell, dtype=np.float64)
    periodic = np.asarray(pbc, dtype=bool)
    if not periodic.any():
        box = np.zeros((3, 3))
    i, j, s = nl.compute(
        points=np.ascontiguousarray(positions, dtype=np.float64),
        box=box,
        periodic=periodic.tolist(),
        quantities="ijS",
    )
    i, j = i.astype(np.int32), j.astype(np.int32)
    # S @ box only for the pairs that cross a face (most have S = 0)
    shift = np.zeros((len(i), 3))
    crossing = np.flatnonzero(np.any(s != 0, axis=1))
    if len(crossing):
        shift[crossing] = s[crossing].astype(np.float64) @ box
    return PairList(i, j, shift)


def neighbor_pairs(
    positions: np.ndarray,
    cutoff: float,
    cell: np.ndarray | None = None,
    pbc: np.ndarray | None = None,
) -> PairList:
    """Directed pairs within ``cutoff`` (Å) of one structure.

    ``cell`` is a (3, 3) array of lattice vectors in rows, ``pbc`` three booleans.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if pbc is None or not np.any(pbc):
        return _molecule_pairs(positions, cutoff)
    cell = np.asarray(cell, dtype=np.float64)
    if abs(np.linalg.det(cell)) < 1e-8:
        raise ValueError("periodic structure with a singular cell: " + np.array2string(cell))
    return _vesin_pairs(positions, cell, pbc, cutoff)
