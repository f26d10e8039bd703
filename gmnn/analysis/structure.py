"""Structure analysis of the Ala10 MD runs (Figs. 7 and 8): RMSD, unwrapping, helicity.

* :func:`kabsch_rmsd` / :func:`kabsch_align`: optimal superposition (proper rotation,
  det = +1, plus translation) of one frame or a stack of frames onto a reference; RMSD in Å.
  :func:`plain_rmsd`: the same without superposition.
* :func:`covalent_bonds` and :func:`make_whole`: gmnn's one bond definition (ASE covalent
  radii times :data:`COVALENT_BOND_FACTOR`) and unwrapping of a molecule split across the
  faces of a periodic cell (any cell shape).
* :func:`select_atoms`: ``heavy`` / ``backbone`` / ``all`` selections by the peptide's atom
  names (read with :func:`gmnn.data.ala10.read_ala10_pdb`).
* :func:`backbone_indices`, :func:`backbone_dihedrals`, :func:`helical_fraction`:
  Ramachandran angles φ/ψ (degrees, IUPAC sign) and the fraction of α-helical residues.
* :func:`running_average`: time-window average (ps) as drawn in red in Figs. 7 and 8
  (25 ps gas phase, 5 ps water).

Units: positions and cells in Å, angles in degrees, times in ps.

Written by hand, and why:

* Kabsch: numpy SVD, vectorised over frames and weighted; ``scipy.spatial.transform.
  Rotation.align_vectors`` handles one frame at a time, and ASE's
  ``minimize_rotation_and_translation`` skips the rotation for periodic Atoms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from ase import Atoms
from ase.geometry import find_mic
from ase.neighborlist import natural_cutoffs, neighbor_list
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order

BACKBONE_NAMES: frozenset[str] = frozenset({"N", "CA", "C", "O"})
"""PDB atom names of the peptide backbone selection (amide N, C-alpha, carbonyl C and O)."""

ALPHA_REGION: tuple[tuple[float, float], tuple[float, float]] = ((-100.0, -30.0), (-80.0, -10.0))
"""Default α-helical box ((φ_min, φ_max), (ψ_min, ψ_max)) in degrees; see
:func:`helical_fraction`."""

Selection = Literal["all", "heavy", "backbone"]

COVALENT_BOND_FACTOR = 1.2
"""The one bond definition of gmnn: atoms i, j are bonded when ``d_ij < factor * (r_i +
r_j)`` with ASE's covalent radii (:func:`covalent_bonds`), and this is the default
``factor``. 1.2 catches C-H (1.09 Å vs 0.76 + 0.31 Å) and stays well below the 1-3
distances of organic molecules (1.6 times the summed radii or more). Callers that need
another tolerance pass ``factor`` and say why: the hot GFN2-xTB sampling's topology check
(:data:`gmnn.refdata.qc.SAMPLING_BOND_FACTOR`, 1.3) and the bond analysis of the MD17
molecules (:data:`gmnn.analysis.bonds.BOND_PAIR_FACTOR`, 1.25)."""


# --------------------------------------------------------------------------------------------
# Kabsch superposition
# --------------------------------------------------------------------------------------------


class Alignment(NamedTuple):
    """Result of :func:`kabsch_align`; a leading frame axis F is present iff the input had it.

    ``aligned = positions @ rotation.T + translation`` (applied per frame).
    """

    aligned: NDArray[np.float64]
    """Positions superposed onto the reference, (N, 3) or (F, N, 3), Å."""
    rotation: NDArray[np.float64]
    """Proper rotation matrices (det = +1), (3, 3) or (F, 3, 3)."""
    translation: NDArray[np.float64]
    """Translation applied after the rotation, (3,) or (F, 3), Å."""
    rmsd: NDArray[np.float64] | float
    """(Weighted) RMSD after superposition, float or (F,), Å."""


def _check_weights(weights: ArrayLike | None, n_atoms: int) -> NDArray[np.float64]:
    if weights is None:
        return np.full(n_atoms, 1.0 / n_atoms)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n_atoms,):
        raise ValueError(f"weights: shape {w.shape} does not match {n_atoms} atoms")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights: must be finite, non-negative and not all zero")
    return w / w.sum()


def kabsch_align(
    reference: ArrayLike, positions: ArrayLike, weights: ArrayLike | None = None
) -> Alignment:
    """Superpose ``positions`` onto ``reference`` by the optimal proper rotation and translation.

    Minimises ``sum_i w_i |R x_i + t - y_i|^2`` (Kabsch 1976), with the determinant correction
    so that ``R`` is a rotation (det = +1), never a reflection: a mirror image keeps a
    non-zero RMSD.

    Args:
        reference: (N, 3) reference positions y, Å.
        positions: (N, 3) or (F, N, 3) positions x, Å (frames are aligned independently).
        weights: optional (N,) non-negative weights (e.g. masses); uniform if None.

    Returns:
        :class:`Alignment` with the aligned positions, rotations, translations and RMSD (Å).
    """
    ref = np.asarray(reference, dtype=float)
    pos = np.asarray(positions, dtype=float)
    if ref.ndim != 2 or ref.shape[1] != 3:
        raise ValueError(f"reference: expected shape (N, 3), got {ref.shape}")
    single = pos.ndim == 2
    frames = pos[None] if single else pos
    if frames.ndim != 3 or frames.shape[1:] != ref.shape:
        raise ValueError(
            f"positions: expected shape {ref.shape} or (F, {ref.shape[0]}, 3), got {pos.shape}"
        )
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(frames))):
        raise ValueError("reference/positions: contain NaN or infinite coordinates")
    w = _check_weights(weights, ref.shape[0])

    ref_centre = w @ ref  # (3,)
    centres = np.einsum("n,fni->fi", w, frames)  # (F, 3)
    x = frames - centres[:, None, :]
    y = ref - ref_centre
    cov = np.einsum("n,fni,nj->fij", w, x, y)  # H = X^T W Y, (F, 3, 3)
    u, _, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(np.swapaxes(vt, 1, 2) @ np.swapaxes(u, 1, 2)))
    sign[sign == 0] = 1.0
    d = np.ones((len(frames), 3))
    d[:, 2] = sign
    rot = np.swapaxes(vt, 1, 2) @ (d[:, :, None] * np.swapaxes(u, 1, 2))  # R = V D U^T
    aligned = np.einsum("fij,fnj->fni", rot, x) + ref_centre
    rmsd = np.sqrt(np.einsum("n,fni->f", w, (aligned - ref) ** 2))
    trans = ref_centre - np.einsum("fij,fj->fi", rot, centres)
    if single:
        return Alignment(aligned[0], rot[0], trans[0], float(rmsd[0]))
    return Alignment(aligned, rot, trans, rmsd)


def plain_rmsd(
    reference: ArrayLike, positions: ArrayLike, weights: ArrayLike | None = None
) -> NDArray[np.float64] | float:
    """RMSD (Å) without any superposition: ``sqrt(sum_i w_i |x_i - y_i|^2 / sum_i w_i)``.

    For frames already aligned (or when the frame of reference matters). ``positions`` (N, 3)
    gives a float, (F, N, 3) an (F,) array.
    """
    ref = np.asarray(reference, dtype=float)
    pos = np.asarray(positions, dtype=float)
    if ref.ndim != 2 or ref.shape[1] != 3 or pos.shape[-2:] != ref.shape or pos.ndim > 3:
        raise ValueError(f"reference/positions: shapes {ref.shape} and {pos.shape} do not match")
    w = _check_weights(weights, ref.shape[0])
    out = np.sqrt(np.einsum("n,...ni->...", w, (pos - ref) ** 2))
    return float(out) if out.ndim == 0 else out


def kabsch_rmsd(
    reference: ArrayLike, positions: ArrayLike, weights: ArrayLike | None = None
) -> NDArray[np.float64] | float:
    """RMSD (Å) after optimal superposition (proper rotation + translation).

    ``sqrt(sum_i w_i |R x_i + t - y_i|^2 / sum_i w_i)``; float for (N, 3) ``positions``,
    (F,) array for (F, N, 3). See :func:`kabsch_align` for the arguments. Pass a selection,
    e.g. ``positions[..., select_atoms(...), :]``, for heavy-atom or backbone RMSD.
    """
    return kabsch_align(reference, positions, weights).rmsd


# --------------------------------------------------------------------------------------------
# Bonds and unwrapping across periodic boundaries
# --------------------------------------------------------------------------------------------


def covalent_bonds(
    numbers: ArrayLike,
    positions: ArrayLike,
    cell: ArrayLike | None = None,
    pbc: bool | Sequence[bool] = False,
    factor: float = COVALENT_BOND_FACTOR,
) -> NDArray[np.int64]:
    """Covalent bonds (i < j) of one geometry, minimum image across periodic faces.

    Atoms i, j are bonded when ``d_ij < factor * (r_i + r_j)``, with ASE's covalent radii
    (``ase.neighborlist.natural_cutoffs``, Å); see :data:`COVALENT_BOND_FACTOR`.

    Args:
        numbers: (N,) atomic numbers.
        positions: (N, 3) positions, Å (a reference geometry; may be wrapped).
        cell: (3, 3) cell vectors as rows, Å, or None without periodicity.
        pbc: periodic directions.
        factor: factor on the summed covalent radii (default
            :data:`COVALENT_BOND_FACTOR`).

    Returns:
        (B, 2) int array of bonded pairs, sorted.
    """
    atoms = Atoms(
        numbers=np.asarray(numbers),
        positions=np.asarray(positions, dtype=float),
        cell=np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=float),
        pbc=pbc,
    )
    i, j = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=factor))
    keep = i < j
    bonds = np.unique(np.stack([i[keep], j[keep]], axis=1), axis=0)
    return bonds.reshape(-1, 2).astype(np.int64)


def _bfs_tree(bonds: NDArray[np.int64], n_atoms: int) -> tuple[NDArray, NDArray]:
    """Breadth-first order over every connected component and each atom's parent (-9999 =
    root); the root of each component is its lowest atom index (atom 0 for one molecule)."""
    graph = coo_matrix(
        (np.ones(len(bonds)), (bonds[:, 0], bonds[:, 1])), shape=(n_atoms, n_atoms)
    ).tocsr()
    graph = graph + graph.T
    parent = np.full(n_atoms, -9999, dtype=np.int64)
    order: list[NDArray] = []
    seen = np.zeros(n_atoms, dtype=bool)
    for root in range(n_atoms):
        if seen[root]:
            continue
        nodes, pred = breadth_first_order(graph, root, directed=False, return_predecessors=True)
        seen[nodes] = True
        parent[nodes[1:]] = pred[nodes[1:]]
        order.append(nodes)
    return np.concatenate(order), parent


def make_whole(
    positions: ArrayLike,
    cell: ArrayLike,
    pbc: bool | Sequence[bool],
    bonds_or_numbers: ArrayLike,
    factor: float = COVALENT_BOND_FACTOR,
) -> NDArray[np.float64]:
    """Unwrap molecules split across the faces of a periodic cell (orthorhombic or general).

    Walks the bond graph breadth-first from atom 0 (and from the lowest index of every
    further connected component, which stays where it is) and places each atom at its
    parent plus the minimum-image bond vector (``ase.geometry.find_mic``, exact for any
    cell). Requires every bond to be shorter than half the cell's smallest width.

    Args:
        positions: (N, 3) or (F, N, 3) wrapped positions, Å.
        cell: (3, 3) cell (rows = cell vectors) or (F, 3, 3) per frame (NPT), Å.
        pbc: periodic directions (bool or three bools).
        bonds_or_numbers: either (B, 2) bonded atom pairs (e.g. ``covalent_bonds`` of a whole
            reference geometry) or (N,) atomic numbers, in which case the bonds are found in
            the first frame by :func:`covalent_bonds` (minimum image, ``factor``).
        factor: factor on the summed covalent radii when bonds are derived from atomic
            numbers (default :data:`COVALENT_BOND_FACTOR`).

    Returns:
        Unwrapped positions, same shape as ``positions``, Å.

    Raises:
        ValueError: bad shapes, bond indices out of range, or a bond whose unwrapped length
            differs from its minimum-image length (a ring or chain spanning the cell).
    """
    pos = np.asarray(positions, dtype=float)
    single = pos.ndim == 2
    frames = pos[None] if single else pos
    if frames.ndim != 3 or frames.shape[2] != 3:
        raise ValueError(f"positions: expected (N, 3) or (F, N, 3), got {pos.shape}")
    n_frames, n_atoms = frames.shape[:2]
    cells = np.asarray(cell, dtype=float)
    if cells.shape == (3, 3):
        cells = np.broadcast_to(cells, (n_frames, 3, 3))
    elif cells.shape != (n_frames, 3, 3):
        raise ValueError(f"cell: expected (3, 3) or ({n_frames}, 3, 3), got {cells.shape}")

    spec = np.asarray(bonds_or_numbers)
    if spec.ndim == 1:
        if spec.shape != (n_atoms,):
            raise ValueError(
                f"bonds_or_numbers: {spec.shape[0]} atomic numbers for {n_atoms} atoms"
            )
        bonds = covalent_bonds(spec, frames[0], cells[0], pbc, factor=factor)
    elif spec.ndim == 2 and spec.shape[1] == 2:
        bonds = spec.astype(np.int64)
        if bonds.size and (bonds.min() < 0 or bonds.max() >= n_atoms):
            raise ValueError(f"bonds_or_numbers: bond index out of range 0..{n_atoms - 1}")
    else:
        raise ValueError(
            f"bonds_or_numbers: expected (N,) atomic numbers or (B, 2) bonds, got {spec.shape}"
        )

    order, parent = _bfs_tree(bonds, n_atoms)
    children = order[parent[order] >= 0]
    out = frames.copy()
    for f in range(n_frames):
        vec = frames[f, children] - frames[f, parent[children]]
        vec, _ = find_mic(vec, cells[f], pbc)
        step = np.zeros((n_atoms, 3))
        step[children] = vec
        for c in children.tolist():  # BFS order: a parent is always placed before its child
            out[f, c] = out[f, parent[c]] + step[c]
        if len(bonds):
            direct = out[f, bonds[:, 1]] - out[f, bonds[:, 0]]
            mic, _ = find_mic(frames[f, bonds[:, 1]] - frames[f, bonds[:, 0]], cells[f], pbc)
            bad = np.flatnonzero(np.linalg.norm(direct - mic, axis=1) > 1e-6)
            if bad.size:
                i, j = bonds[bad[0]]
                raise ValueError(
                    f"make_whole: frame {f}, bond ({i}, {j}) cannot be made whole "
                    "(a ring or chain spans the periodic cell?)"
                )
    return out[0] if single else out


# --------------------------------------------------------------------------------------------
# PDB topology and atom selections
# --------------------------------------------------------------------------------------------


def select_atoms(
    kind: Selection, numbers: ArrayLike, names: Sequence[str] | None = None
) -> NDArray[np.int64]:
    """Indices of an atom selection: ``all``, ``heavy`` (not hydrogen) or ``backbone``.

    ``backbone`` = atoms named N, CA, C, O (PDB names; caps such as the C-terminal NT are
    excluded). Without ``names`` only ``all`` and ``heavy`` (from elements) are available.

    Args:
        kind: the selection.
        numbers: (N,) atomic numbers.
        names: optional (N,) PDB atom names (``atoms.arrays["atomtypes"]``).
    """
    z = np.asarray(numbers)
    if names is not None and len(names) != len(z):
        raise ValueError(f"names: {len(names)} atom names for {len(z)} atoms")
    if kind == "all":
        return np.arange(len(z))
    if kind == "heavy":
        return np.flatnonzero(z != 1)
    if kind == "backbone":
        if names is None:
            raise ValueError("select_atoms: 'backbone' needs PDB atom names (names=None given)")
        return np.flatnonzero([str(n).strip() in BACKBONE_NAMES for n in names])
    raise ValueError(f"select_atoms: unknown selection {kind!r}; use 'all', 'heavy', 'backbone'")


# --------------------------------------------------------------------------------------------
# Backbone dihedrals and helicity
# --------------------------------------------------------------------------------------------


class Backbone(NamedTuple):
    """Per-residue atom indices for φ/ψ; -1 where an atom is absent (chain ends)."""

    resids: NDArray[np.int64]
    c_prev: NDArray[np.int64]
    """C of the preceding residue (φ)."""
    n: NDArray[np.int64]
    ca: NDArray[np.int64]
    c: NDArray[np.int64]
    n_next: NDArray[np.int64]
    """N of the following residue, or the C-terminal amide N (``NT``, CHARMM) (ψ)."""


def backbone_indices(
    names: Sequence[str], resids: ArrayLike, cterm_n: Sequence[str] = ("NT",)
) -> Backbone:
    """Backbone atom indices per residue from PDB atom names and residue numbers.

    Residues are taken in order of first appearance; consecutive residues are assumed bonded
    (one chain). ψ of the last residue uses a C-terminal amide nitrogen named in ``cterm_n``
    if present; φ of the first residue is undefined (no preceding C).

    Raises:
        ValueError: a residue lacks N, CA or C, or has more than one of them.
    """
    rid = np.asarray(resids)
    nm = np.array([str(s).strip() for s in names])
    if len(nm) != len(rid):
        raise ValueError(f"names/resids: {len(nm)} names for {len(rid)} residue numbers")
    _, first = np.unique(rid, return_index=True)
    order = rid[np.sort(first)]

    def one(res: int, want: Sequence[str], required: bool) -> int:
        idx = np.flatnonzero((rid == res) & np.isin(nm, list(want)))
        if len(idx) > 1 or (required and len(idx) == 0):
            raise ValueError(
                f"residue {res}: expected one atom named {'/'.join(want)}, found {len(idx)}"
            )
        return int(idx[0]) if len(idx) else -1

    n = np.array([one(r, ["N"], True) for r in order])
    ca = np.array([one(r, ["CA"], True) for r in order])
    c = np.array([one(r, ["C"], True) for r in order])
    c_prev = np.concatenate([[-1], c[:-1]])
    last = one(order[-1], list(cterm_n), False) if cterm_n else -1
    n_next = np.concatenate([n[1:], [last]])
    return Backbone(order.astype(np.int64), c_prev, n, ca, c, n_next)


def dihedral(p0: ArrayLike, p1: ArrayLike, p2: ArrayLike, p3: ArrayLike) -> NDArray[np.float64]:
    """Dihedral angle p0-p1-p2-p3 in degrees, (-180, 180], IUPAC sign convention.

    Positive when, looking along p1 -> p2, the near bond (p1 -> p0) turns clockwise to
    eclipse the far bond (p2 -> p3). Broadcasts over leading axes of (..., 3) inputs.
    """
    b1 = np.asarray(p1, float) - np.asarray(p0, float)
    b2 = np.asarray(p2, float) - np.asarray(p1, float)
    b3 = np.asarray(p3, float) - np.asarray(p2, float)
    n1 = np.cross(b1, b2)
    n2 = np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=-1) * np.sum(b1 * n2, axis=-1)
    x = np.sum(n1 * n2, axis=-1)
    return np.degrees(np.arctan2(y, x))


def backbone_dihedrals(
    positions: ArrayLike, residues: Backbone
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ramachandran angles per residue, degrees (IUPAC; right-handed α-helix ≈ (-57, -47)).

    φ_i = C_{i-1}-N_i-CA_i-C_i and ψ_i = N_i-CA_i-C_i-N_{i+1}; NaN where the neighbouring
    atom is absent (φ of the first residue; ψ of the last without an amide cap).

    Args:
        positions: (N, 3) or (F, N, 3), Å (unwrapped: see :func:`make_whole`).
        residues: from :func:`backbone_indices`.

    Returns:
        (phi, psi), each (R,) or (F, R).
    """
    pos = np.asarray(positions, dtype=float)
    r = residues

    def angles(a: NDArray, b: NDArray, c: NDArray, d: NDArray) -> NDArray[np.float64]:
        ok = (a >= 0) & (d >= 0)
        out = dihedral(pos[..., a, :], pos[..., b, :], pos[..., c, :], pos[..., d, :])
        return np.where(ok, out, np.nan)

    return angles(r.c_prev, r.n, r.ca, r.c), angles(r.n, r.ca, r.c, r.n_next)


def helical_fraction(
    phi: ArrayLike,
    psi: ArrayLike,
    window: tuple[tuple[float, float], tuple[float, float]] = ALPHA_REGION,
) -> NDArray[np.float64] | float:
    """Fraction of residues whose (φ, ψ) lie in the α-helical box ``window`` (degrees).

    Default box φ ∈ [-100, -30]°, ψ ∈ [-80, -10]°: the right-handed α basin of the
    Ramachandran map around the ideal α-helix (φ, ψ) ≈ (-57, -47)° (Pauling-Corey; IUPAC-IUB
    1970), ±~40° in φ and ±~35° in ψ. It holds every residue 2-9 of the shared NAMD helix
    (φ -35...-83°, ψ -16...-65°) and excludes β/PPII (ψ > +90°) and left-handed (φ > 0)
    regions. Boxes of this kind (e.g. ±30° around (-60, -47)°, Garcia and Sanbonmatsu, PNAS
    2002, quoted from memory) are common in MD helicity counts; the paper defines none.

    Residues with NaN angles (chain ends) are left out of numerator and denominator.
    Slice the residue axis to restrict the count (e.g. ``phi[..., 1:-1]``).

    Args:
        phi, psi: (R,) or (F, R) angles in degrees.
        window: ((φ_min, φ_max), (ψ_min, ψ_max)), inclusive bounds in degrees.

    Returns:
        Float for (R,) input, (F,) array for (F, R); NaN where no residue has both angles.
    """
    p, s = np.asarray(phi, dtype=float), np.asarray(psi, dtype=float)
    if p.shape != s.shape:
        raise ValueError(f"phi/psi: shapes differ, {p.shape} vs {s.shape}")
    (p_lo, p_hi), (s_lo, s_hi) = window
    if not (p_lo < p_hi and s_lo < s_hi):
        raise ValueError(f"window: expected ((phi_min, phi_max), (psi_min, psi_max)), got {window}")
    valid = np.isfinite(p) & np.isfinite(s)
    inside = valid & (p >= p_lo) & (p <= p_hi) & (s >= s_lo) & (s <= s_hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = inside.sum(axis=-1) / valid.sum(axis=-1)
    return float(frac) if np.ndim(frac) == 0 else frac


# --------------------------------------------------------------------------------------------
# Running average
# --------------------------------------------------------------------------------------------


def running_average(
    t: ArrayLike,
    y: ArrayLike,
    window_ps: float,
    mode: Literal["centered", "trailing"] = "centered",
) -> NDArray[np.float64]:
    """Running mean of ``y`` over a time window (the red lines of Figs. 7 and 8).

    ``centered`` (default): mean over samples with ``|t_j - t_i| <= window_ps / 2`` (no lag).
    ``trailing``: mean over ``t_i - window_ps < t_j <= t_i`` (only past samples). Near the
    ends the window is truncated to the available samples (no padding). Works for uneven
    sampling (cumulative sums and binary search, O(T log T)).

    Args:
        t: (T,) strictly increasing times, ps.
        y: (T,) or (T, ...) values, averaged along axis 0.
        window_ps: window length, ps (> 0): 25 ps gas phase, 5 ps water in the paper.
        mode: ``centered`` or ``trailing``.

    Returns:
        Array shaped like ``y``.
    """
    tt = np.asarray(t, dtype=float)
    yy = np.asarray(y, dtype=float)
    if tt.ndim != 1 or yy.shape[:1] != tt.shape:
        raise ValueError(f"t/y: expected t (T,) and y (T, ...), got {tt.shape} and {yy.shape}")
    if not window_ps > 0:
        raise ValueError(f"window_ps: must be > 0, got {window_ps}")
    if np.any(np.diff(tt) <= 0):
        raise ValueError("t: times must be strictly increasing")
    eps = 1e-9 * window_ps
    if mode == "centered":
        lo = np.searchsorted(tt, tt - window_ps / 2 - eps, side="left")
        hi = np.searchsorted(tt, tt + window_ps / 2 + eps, side="right")
    elif mode == "trailing":
        lo = np.searchsorted(tt, tt - window_ps + eps, side="left")
        hi = np.arange(1, len(tt) + 1)
    else:
        raise ValueError(f"mode: unknown {mode!r}; use 'centered' or 'trailing'")
    csum = np.concatenate([np.zeros((1, *yy.shape[1:])), np.cumsum(yy, axis=0)])
    counts = (hi - lo).reshape(-1, *([1] * (yy.ndim - 1)))
    return (csum[hi] - csum[lo]) / counts
