"""Tests of gmnn.analysis.structure: Kabsch RMSD, unwrapping, PDB selections, helicity."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from ase.geometry import find_mic
from scipy.spatial.transform import Rotation

from gmnn.analysis.structure import (
    ALPHA_REGION,
    backbone_dihedrals,
    backbone_indices,
    covalent_bonds,
    dihedral,
    helical_fraction,
    kabsch_align,
    kabsch_rmsd,
    make_whole,
    plain_rmsd,
    running_average,
    select_atoms,
)
from gmnn.data.ala10 import read_ala10_pdb as read_pdb

SHARED = Path(
    os.environ.get(
        "GMNN_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
HELIX = SHARED / "ala10" / "deca-ala_helix_104atoms.pdb"
needs_helix = pytest.mark.skipif(
    not HELIX.is_file(), reason=f"shared Ala10 helix not found at {HELIX} (set GMNN_SHARED_DATA)"
)

# Peptide backbone internal coordinates (Engh & Huber): bonds Å, angles degrees.
BONDS = {"N-CA": 1.458, "CA-C": 1.525, "C-N": 1.329}
ANGLES = {"C-N-CA": 121.7, "N-CA-C": 111.2, "CA-C-N": 116.2}


def _place(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, torsion: float):
    """NeRF: atom d with |cd| = bond, angle(b, c, d) = angle, dihedral(a, b, c, d) = torsion."""
    bc = (c - b) / np.linalg.norm(c - b)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    th, ph = np.radians(angle), np.radians(torsion)
    d2 = bond * np.array([-np.cos(th), np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph)])
    return c + np.column_stack([bc, np.cross(n, bc), n]) @ d2


def _chain(n_res: int, phi: float, psi: float, omega: float = 180.0):
    """Backbone (N, CA, C per residue) with the given φ/ψ/ω; returns positions, names, resids."""
    pos = [np.zeros(3), np.array([BONDS["N-CA"], 0, 0])]
    th = np.radians(180 - ANGLES["N-CA-C"])
    pos.append(pos[1] + BONDS["CA-C"] * np.array([np.cos(th), np.sin(th), 0]))
    for _ in range(1, n_res):
        pos.append(_place(*pos[-3:], BONDS["C-N"], ANGLES["CA-C-N"], psi))
        pos.append(_place(*pos[-3:], BONDS["N-CA"], ANGLES["C-N-CA"], omega))
        pos.append(_place(*pos[-3:], BONDS["CA-C"], ANGLES["N-CA-C"], phi))
    names = ["N", "CA", "C"] * n_res
    resids = np.repeat(np.arange(1, n_res + 1), 3)
    return np.array(pos), names, resids


def _random_cloud(n: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=3.0, size=(n, 3))


# ---------------------------------------------------------------------------------- Kabsch


def test_rotated_translated_copy_has_zero_rmsd():
    ref = _random_cloud(12)
    rot = Rotation.random(random_state=1).as_matrix()
    moved = ref @ rot.T + np.array([5.0, -3.0, 10.0])
    assert kabsch_rmsd(ref, moved) < 1e-10
    masses = np.linspace(1.0, 16.0, 12)
    res = kabsch_align(ref, moved, weights=masses)
    assert res.rmsd < 1e-10
    assert np.allclose(res.aligned, ref, atol=1e-10)
    assert np.isclose(np.linalg.det(res.rotation), 1.0)
    assert np.allclose(moved @ res.rotation.T + res.translation, ref, atol=1e-10)


def test_reflected_copy_is_not_superposable():
    ref = _random_cloud(12)
    mirror = ref * np.array([-1.0, 1.0, 1.0])
    res = kabsch_align(ref, mirror)
    assert np.isclose(np.linalg.det(res.rotation), 1.0)
    assert res.rmsd > 0.5
    # the best improper fit (reflect, then rotate) would be exact: the det correction matters
    assert kabsch_rmsd(ref, mirror * np.array([1.0, 1.0, -1.0])) < 1e-10


def test_known_displacement():
    d, n = 0.7, 10
    ref = _random_cloud(n, seed=3)
    ref -= ref.mean(axis=0)
    ref[0] = 0.0  # atom 0 at the centroid...
    ref[1:] -= ref[1:].mean(axis=0)  # ...which stays the centroid of all ten
    moved = ref.copy()
    moved[0] += d * np.array([0.6, 0.0, 0.8])
    # without superposition: d / sqrt(N)
    assert np.isclose(plain_rmsd(ref, moved), d / np.sqrt(n), rtol=1e-12)
    # with it: translation by d/N absorbs part; no rotation helps for a centroid atom,
    # so the optimum is exactly d sqrt(N - 1) / N (= 0.3 d for N = 10)
    assert np.isclose(kabsch_rmsd(ref, moved), d * np.sqrt(n - 1) / n, rtol=1e-10)


def test_agrees_with_scipy_and_fit_never_worse():
    rng = np.random.default_rng(5)
    ref = _random_cloud(15, seed=4)
    frames = ref + rng.normal(scale=0.4, size=(6, 15, 3))
    frames = frames @ Rotation.random(random_state=2).as_matrix().T + 3.0
    for x in frames:
        _, rssd = Rotation.align_vectors(ref - ref.mean(0), x - x.mean(0))
        assert np.isclose(kabsch_rmsd(ref, x), rssd / np.sqrt(15), rtol=1e-8)
        assert kabsch_rmsd(ref, x) <= plain_rmsd(ref, x)


def test_frames_vectorised_equals_loop():
    rng = np.random.default_rng(7)
    ref = _random_cloud(20, seed=6)
    rots = Rotation.random(8, random_state=3).as_matrix()
    frames = np.einsum("fij,fnj->fni", rots, ref + rng.normal(scale=0.3, size=(8, 20, 3)))
    w = rng.uniform(1, 12, size=20)
    batch = kabsch_align(ref, frames, weights=w)
    assert batch.rmsd.shape == (8,)
    for f in range(8):
        one = kabsch_align(ref, frames[f], weights=w)
        assert np.isclose(batch.rmsd[f], one.rmsd, rtol=1e-12)
        assert np.allclose(batch.aligned[f], one.aligned, atol=1e-12)
    assert np.allclose(kabsch_rmsd(ref, frames, w), batch.rmsd)


def test_bad_inputs_name_the_argument():
    ref = _random_cloud(5)
    with pytest.raises(ValueError, match="positions"):
        kabsch_rmsd(ref, ref[:4])
    with pytest.raises(ValueError, match="weights"):
        kabsch_rmsd(ref, ref, weights=[1, 1, 1, 1, -1])
    with pytest.raises(ValueError, match="window_ps"):
        running_average([0, 1], [0, 1], 0.0)


# ---------------------------------------------------------------------------------- make_whole


def _peptide():
    """The shared helix (numbers, positions) or, without it, a built backbone of 10 residues."""
    if HELIX.is_file():
        atoms = read_pdb(HELIX)
        return atoms.numbers, atoms.positions
    pos, names, _ = _chain(10, -57.0, -47.0)
    return np.array([{"N": 7, "CA": 6, "C": 6}[n] for n in names]), pos


@pytest.mark.parametrize(
    "cell",
    [np.diag([24.0, 21.0, 20.0]), np.array([[24.0, 0, 0], [6.0, 21.0, 0], [-4.0, 5.0, 20.0]])],
    ids=["orthorhombic", "triclinic"],
)
def test_make_whole_restores_split_peptide(cell):
    numbers, whole = _peptide()
    bonds = covalent_bonds(numbers, whole)
    assert len(bonds) == len(numbers) - 1  # Ala10 and the built chain are trees
    # put the peptide across a corner of the cell, then wrap into it
    shifted = whole - whole.mean(axis=0) + 0.1 * cell.sum(axis=0)
    frac = np.linalg.solve(cell.T, shifted.T).T
    wrapped = (frac % 1.0) @ cell
    lengths = np.linalg.norm(whole[bonds[:, 1]] - whole[bonds[:, 0]], axis=1)
    broken = np.linalg.norm(wrapped[bonds[:, 1]] - wrapped[bonds[:, 0]], axis=1)
    assert np.sum(np.abs(broken - lengths) > 1.0) >= 3, "test setup: the peptide is not split"
    # bonds found across the faces from atomic numbers alone equal those of the whole molecule
    assert np.array_equal(covalent_bonds(numbers, wrapped, cell, True), bonds)

    for spec in (numbers, bonds):
        fixed = make_whole(wrapped, cell, True, spec)
        fixed_len = np.linalg.norm(fixed[bonds[:, 1]] - fixed[bonds[:, 0]], axis=1)
        assert np.allclose(fixed_len, lengths, atol=1e-9)
        assert kabsch_rmsd(whole, fixed) < 1e-10
        assert np.allclose(fixed[0], wrapped[0])  # BFS root (atom 0) stays put

    # frames with per-frame cells (NPT), vectorised
    cells = np.stack([cell, 1.05 * cell])
    frames = np.stack([wrapped, (frac % 1.0) @ cells[1]])
    out = make_whole(frames, cells, True, bonds)
    assert out.shape == frames.shape
    assert np.allclose(kabsch_rmsd(whole, out[:1]), 0.0, atol=1e-10)
    d1, _ = find_mic(frames[1, bonds[:, 1]] - frames[1, bonds[:, 0]], cells[1], True)
    assert np.allclose(out[1, bonds[:, 1]] - out[1, bonds[:, 0]], d1, atol=1e-9)


def test_make_whole_rejects_bad_bonds():
    pos = np.zeros((3, 3))
    with pytest.raises(ValueError, match="bonds_or_numbers"):
        make_whole(pos, np.eye(3) * 10, True, np.array([[0, 5]]))
    with pytest.raises(ValueError, match="bonds_or_numbers"):
        make_whole(pos, np.eye(3) * 10, True, np.array([1, 1]))


# ---------------------------------------------------------------------------------- PDB, selections


def test_read_shared_helix_and_selections():
    atoms = read_pdb(HELIX)
    assert atoms.get_chemical_formula(mode="hill") == "C30H53N11O10"  # ASE's reader: Ca10
    names = atoms.arrays["atomtypes"]
    assert len(select_atoms("all", atoms.numbers, names)) == 104
    assert len(select_atoms("heavy", atoms.numbers)) == 51
    backbone = select_atoms("backbone", atoms.numbers, names)
    assert len(backbone) == 40  # N, CA, C, O of 10 residues
    assert set(atoms.numbers[backbone]) == {6, 7, 8}
    with pytest.raises(ValueError, match="names"):
        select_atoms("backbone", atoms.numbers)
    with pytest.raises(ValueError, match="unknown selection"):
        select_atoms("sidechain", atoms.numbers, names)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- helicity


def test_dihedral_sign_iupac():
    # looking down +z from below, +x turning to +y is clockwise: +90 (IUPAC)
    p0, p1, p2, p3 = [1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 1]
    assert np.isclose(dihedral(p0, p1, p2, p3), 90.0)
    assert np.isclose(dihedral(p3, p2, p1, p0), 90.0)  # reversed order: same angle
    assert np.isclose(dihedral([1, 0, 0], p1, p2, [-1, 0, 1]), 180.0)


@pytest.mark.parametrize(("phi", "psi"), [(-57.0, -47.0), (-120.0, 130.0), (60.0, 45.0)])
def test_built_chain_round_trip(phi, psi):
    pos, names, resids = _chain(6, phi, psi)
    bb = backbone_indices(names, resids)
    got_phi, got_psi = backbone_dihedrals(pos, bb)
    assert np.isnan(got_phi[0]) and np.isnan(got_psi[-1])
    assert np.allclose(got_phi[1:], phi, atol=1e-8)
    assert np.allclose(got_psi[:-1], psi, atol=1e-8)


@needs_helix
def test_shared_helix_is_helical():
    atoms = read_pdb(HELIX)
    bb = backbone_indices(atoms.arrays["atomtypes"], atoms.arrays["residuenumbers"])
    phi, psi = backbone_dihedrals(atoms.positions, bb)
    assert list(bb.resids) == list(range(1, 11))
    # MANIFEST: residues 2-9 φ -35...-83°, ψ -16...-65° (right-handed α)
    assert np.all((phi[1:9] < -30) & (phi[1:9] > -90))
    assert np.all((psi[1:9] < -10) & (psi[1:9] > -70))
    assert helical_fraction(phi[1:9], psi[1:9]) >= 0.8
    # two frames; residue 1 has no φ, residue 10's ψ (via the NT amide N, +40°) is not α
    frames = np.stack([atoms.positions, atoms.positions])
    assert np.allclose(helical_fraction(*backbone_dihedrals(frames, bb)), [8 / 9, 8 / 9])


def test_stretched_chain_is_not_helical():
    pos, names, resids = _chain(10, 180.0, 180.0)
    phi, psi = backbone_dihedrals(pos, backbone_indices(names, resids))
    assert np.allclose(np.abs(phi[1:]), 180.0) and np.allclose(np.abs(psi[:-1]), 180.0)
    assert helical_fraction(phi, psi) == 0.0
    helix = _chain(10, -57.0, -47.0)
    frames = np.stack([helix[0], pos])
    fr = helical_fraction(*backbone_dihedrals(frames, backbone_indices(names, resids)))
    assert np.allclose(fr, [1.0, 0.0])
    assert ALPHA_REGION == ((-100.0, -30.0), (-80.0, -10.0))


# ---------------------------------------------------------------------------------- running mean


def test_running_average_centered_and_trailing():
    rng = np.random.default_rng(11)
    t = np.cumsum(rng.uniform(0.05, 0.2, size=300))  # uneven sampling, ps
    y = np.column_stack([np.sin(t), t])
    w = 5.0
    cen = running_average(t, y, w)
    trl = running_average(t, y, w, mode="trailing")
    for i in range(len(t)):
        m = np.abs(t - t[i]) <= w / 2
        assert np.allclose(cen[i], y[m].mean(axis=0))
        m = (t > t[i] - w) & (t <= t[i])
        assert np.allclose(trl[i], y[m].mean(axis=0))
    # uniform sampling, linear signal: centered has no lag in the interior, trailing lags
    t = np.arange(0, 100, 0.5)
    cen = running_average(t, 2 * t, 25.0)
    trl = running_average(t, 2 * t, 25.0, mode="trailing")
    inner = (t >= 12.5) & (t <= 99.5 - 12.5)
    assert np.allclose(cen[inner], 2 * t[inner])
    assert np.allclose(trl[t >= 25], 2 * (t[t >= 25] - 12.25))  # 50 samples, lag 12.25 ps
    with pytest.raises(ValueError, match="increasing"):
        running_average(t[::-1], t, 5.0)
