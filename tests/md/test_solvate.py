"""gmnn.md.solvate: packmol water boxes (composition, cell, density, packing distances, shape)
and the error for a missing packmol binary."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from gmnn.analysis.structure import kabsch_rmsd
from gmnn.md.solvate import (
    PACKMOL_ENV,
    PackmolError,
    box_lengths,
    density,
    find_packmol,
    min_oo_distance,
    principal_axes_frame,
    solvate,
)

try:
    find_packmol()
    HAVE_PACKMOL = True
except PackmolError:
    HAVE_PACKMOL = False
needs_packmol = pytest.mark.skipif(
    not HAVE_PACKMOL, reason="packmol not installed (pip install packmol)"
)


def _shared_data() -> Path:
    env = os.environ.get("GMNN_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _ala10() -> Atoms:
    """The shared Ala10 helix (gmnn's PDB reader: the file has no element column)."""
    pdb = _shared_data() / "ala10" / "deca-ala_helix_104atoms.pdb"
    if not pdb.is_file():
        pytest.skip(f"Ala10 helix not found at {pdb} (set GMNN_SHARED_DATA)")
    from gmnn.data.ala10 import read_ala10_pdb

    return read_ala10_pdb(pdb)


@pytest.fixture(scope="module")
def ethanol_box() -> tuple[Atoms, Atoms]:
    solute = molecule("CH3CH2OH")
    return solute, solvate(solute, 80, density_g_cm3=1.0, margin=2.0, tolerance=2.0, seed=1)


@needs_packmol
def test_composition_cell_density(ethanol_box):
    solute, box = ethanol_box
    n = len(solute)
    assert len(box) == n + 3 * 80
    assert box.info["n_solute"] == n and box.info["n_water"] == 80
    assert box.get_chemical_symbols()[:n] == solute.get_chemical_symbols()
    assert box.get_chemical_symbols()[n:] == ["O", "H", "H"] * 80
    # the solute moved rigidly only, as a proper rotation (no mirror image)
    assert kabsch_rmsd(box.positions[:n], solute.positions) < 1e-8
    # its bounding box centred in the cell (even water layer on opposite faces)
    sol = box.positions[:n]
    np.testing.assert_allclose(sol.min(0) + sol.max(0), box.cell.lengths(), atol=1e-9)
    assert np.all(box.pbc)
    np.testing.assert_allclose(box.cell.angles(), 90.0)
    np.testing.assert_allclose(box.cell[:], np.diag(box.cell.lengths()))
    assert density(box) == pytest.approx(1.0, rel=0.02)
    # waters inside the cell, at least `margin` from every face up to packmol's constraint slack
    # (measured: 0.007 Å at most; allowed 0.02 Å)
    waters, lengths = box.positions[n:], box.cell.lengths()
    assert np.all(waters > 0.0) and np.all(waters < lengths)
    assert np.all(waters >= 2.0 - 0.02) and np.all(waters <= lengths - 2.0 + 0.02)
    # water geometry kept (ASE's molecule("H2O"), O-H 0.969 Å)
    oh = np.linalg.norm(waters[1::3] - waters[0::3], axis=1)
    ref = molecule("H2O").get_distance(0, 1)
    assert ref == pytest.approx(0.9686, abs=1e-4)
    np.testing.assert_allclose(oh, ref, atol=2e-3)


@needs_packmol
def test_packing_distances(ethanol_box):
    _, box = ethanol_box
    # Across a face two waters are >= 2*margin = 4 Å apart; inside, packmol keeps atoms of
    # different molecules >= tolerance = 2 Å apart up to its convergence slack (it reported a
    # maximum violation of 0.005; measured min O-O 2.00-2.19 Å). 0.98*tolerance allows that slack.
    assert min_oo_distance(box) >= 0.98 * 2.0
    # and the waters are dense: with ~1 g/cm^3 the closest pair is far below bulk 2.8 Å spacing
    assert min_oo_distance(box) < 2.8


def test_min_oo_distance_uses_periodic_images():
    w = molecule("H2O")
    a, b = w.copy(), w.copy()
    a.positions += [0.5, 5.0, 5.0]
    b.positions += [9.0, 5.0, 5.0]  # 8.5 Å apart in the box, 1.5 Å through the x face
    atoms = a + b
    atoms.cell = [10.0, 10.0, 10.0]
    atoms.info["n_solute"] = 0
    atoms.pbc = False
    assert min_oo_distance(atoms) == pytest.approx(8.5)
    atoms.pbc = True
    assert min_oo_distance(atoms) == pytest.approx(1.5)
    # an oxygen's own image (3 Å away through x) is not another water (5.22 Å away)
    atoms.cell = [3.0, 20.0, 20.0]
    atoms.positions[3:] += [-7.0, 5.0, 0.0]  # B at x = 2.0, y = 10.0: dx 1.5 to A, dy 5
    assert min_oo_distance(atoms) == pytest.approx(np.hypot(1.5, 5.0))
    # one water alone: its own image is not another water
    assert min_oo_distance(atoms[:3]) == float("inf")
    with pytest.raises(ValueError, match="not waters"):
        min_oo_distance(atoms, n_solute=1)


def test_density_of_known_box():
    w = molecule("H2O")
    w.cell = [10.0, 10.0, 10.0]
    # 18.015 amu in 1000 Å^3 = 18.015 * 1.66054e-24 g / 1e-21 cm^3
    assert density(w) == pytest.approx(18.015 * 1.66054e-3, rel=1e-4)


# (scale, seed) = ([5, 1, 2], 1) is a case where numpy's eigh returns a reflection
@pytest.mark.parametrize("scale", [(1.0, 5.0, 2.0), (5.0, 1.0, 2.0)])
@pytest.mark.parametrize("seed", range(3))
def test_principal_axes_proper_rotation_longest_along_z(seed, scale):
    rng = np.random.default_rng(seed)
    pos = rng.normal(size=(30, 3)) * scale
    atoms = Atoms("C30", positions=pos)
    rotated, rot = principal_axes_frame(atoms)
    spread = rotated.positions.std(axis=0)
    assert spread[2] == spread.max() and spread[0] == spread.min()
    # a proper rotation (a mirror image would invert the chirality of a peptide)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    assert kabsch_rmsd(rotated.positions, pos) < 1e-10


def test_box_lengths_even_shell_and_aspect():
    lengths = box_lengths([2.0, 4.0, 10.0], 3000.0)
    assert np.prod(lengths) == pytest.approx(3000.0)
    np.testing.assert_allclose(lengths - [2.0, 4.0, 10.0], (lengths[0] - 2.0))  # same shell
    np.testing.assert_allclose(
        box_lengths([1, 1, 1], 1000.0, aspect=(1, 1, 2)), [7.937] * 2 + [15.874], atol=1e-3
    )
    with pytest.raises(ValueError, match="add waters"):
        box_lengths([10.0, 10.0, 10.0], 900.0)
    with pytest.raises(ValueError, match="does not fit"):
        box_lengths([1.0, 1.0, 30.0], 1000.0, aspect=(1, 1, 1))


@needs_packmol
def test_elongated_solute_elongated_box(tmp_path):
    # a straight C chain (about 12 Å) along x: the box is long along z, where the chain is put
    chain = Atoms("C9", positions=[[1.5 * i, 0.0, 0.0] for i in range(9)])
    box = solvate(chain, 60, seed=0, workdir=tmp_path)
    a, b, c = box.cell.lengths()
    assert c > 1.3 * max(a, b)
    assert np.ptp(box.positions[:9, 2]) == pytest.approx(12.0)
    assert (tmp_path / "packmol.log").read_text().count("Success!") == 1
    assert (tmp_path / "packmol.inp").read_text().count("inside box") == 1


def test_missing_packmol_is_a_clear_error(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-packmol"
    with pytest.raises(PackmolError, match="pip install packmol"):
        solvate(molecule("H2O"), 5, executable=missing)
    monkeypatch.setenv(PACKMOL_ENV, str(missing))
    with pytest.raises(PackmolError, match=f"\\${PACKMOL_ENV}=.*does not exist"):
        find_packmol()


def test_packmol_failure_is_reported(tmp_path):
    # a stand-in "packmol" that ends like a real one that could not reach the tolerance
    fake = tmp_path / "packmol"
    fake.write_text("#!/bin/sh\necho 'ENDED WITHOUT PERFECT PACKING'\nexit 173\n")
    fake.chmod(0o755)
    with pytest.raises(PackmolError, match=r"exit status 173(.|\n)*WITHOUT PERFECT PACKING"):
        solvate(molecule("H2O"), 5, executable=fake)


@needs_packmol
def test_packmol_timeout_is_reported(tmp_path):
    # no packing of 40 waters at 1 g/cm^3 keeps all atoms 4 Å apart: packmol would search ~40 s
    with pytest.raises(PackmolError, match="did not finish within 0.5 s"):
        solvate(molecule("H2O"), 40, tolerance=4.0, margin=0.5, timeout=0.5, workdir=tmp_path)
    assert (tmp_path / "packmol.log").exists()


@needs_packmol
def test_paper_ala10_box():
    """Ala10 (104 atoms) + 760 waters = 2,384 atoms at 1 g/cm^3 (the paper's system): a
    25.88 x 26.62 x 34.76 Å box (23,944 Å^3), helix along z, ~9 Å of water on every side."""
    ala = _ala10()
    assert ala.get_chemical_formula(mode="hill") == "C30H53N11O10"
    box = solvate(ala, 760)
    assert len(box) == 2384
    assert density(box) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(box.cell.lengths(), [25.876, 26.622, 34.758], atol=0.01)
    assert min_oo_distance(box) >= 0.98 * 2.0
