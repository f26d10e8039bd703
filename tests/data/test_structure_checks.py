"""Degenerate structures are refused when built or read (issue 9, class 4): coincident or
overlapping atoms (minimum image for periodic cells), non-finite or absurd labels. Each
error names the source file and the structure at fault."""

from __future__ import annotations

import ase
import ase.io
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from gmnn.data import DataError, Structures, read
from gmnn.data.structures import MAX_ABS_ENERGY_PER_ATOM, MAX_ABS_FORCE, MIN_DISTANCE_A

WATER = np.array([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]])


def waters(n=4, seed=0):
    """``n`` slightly perturbed water molecules as flat (positions, numbers, n_atoms)."""
    rng = np.random.default_rng(seed)
    pos = WATER[None] + rng.normal(scale=0.02, size=(n, 3, 3))
    return pos, np.tile([8, 1, 1], n), np.full(n, 3)


def build(pos, numbers=None, n_atoms=None, **kwargs):
    n = len(pos)
    numbers = np.tile([8, 1, 1], n) if numbers is None else numbers
    n_atoms = np.full(n, 3) if n_atoms is None else n_atoms
    kwargs.setdefault("meta", {"source": "data/bad.h5"})
    return Structures(numbers, np.asarray(pos).reshape(-1, 3), n_atoms, **kwargs)


# ------------------------------------------------------------------ geometry


@pytest.mark.parametrize(
    ("move", "match"),
    [
        # two atoms at exactly the same position
        (lambda p: p[2].__setitem__(1, p[2][0]), r"structure 2: atom 0 \(Z=8\) and atom 1 "),
        # hydrogens on top of each other, 0.05 A apart
        (
            lambda p: p[1].__setitem__(2, p[1][1] + [0.05, 0, 0]),
            r"structure 1: atom 1 \(Z=1\) and atom 2 \(Z=1\) are 0\.05 Å apart",
        ),
        # all atoms of the last structure at the origin
        (lambda p: p[3].__setitem__(slice(None), 0.0), r"in structure 3: atom 0 .* are 0 Å"),
        # just below the limit
        (
            lambda p: p[0].__setitem__(1, p[0][0] + [0, 0, 0.0999]),
            r"are 0\.0999 Å apart, closer than MIN_DISTANCE_A=0\.1",
        ),
    ],
)
def test_coincident_atoms_name_file_structure_and_atoms(move, match):
    pos, _, _ = waters()
    move(pos)
    with pytest.raises(DataError, match=match) as err:
        build(pos)
    assert str(err.value).startswith("data/bad.h5: atoms too close")


def test_close_atoms_count_the_structures_and_name_the_source_index():
    pos, _, _ = waters(6)
    pos[2, 1] = pos[2, 0]
    pos[4, 2] = pos[4, 1]
    with pytest.raises(DataError, match=r"structure 2 \(id 12 in its source\).*2 structures") as e:
        build(pos, ids=np.arange(6) + 10)
    assert "data/bad.h5" in str(e.value)


def test_atoms_at_the_limit_and_in_other_structures_are_accepted():
    pos, _, _ = waters(3)
    pos[1, 1] = pos[1, 0] + [0, 0, MIN_DISTANCE_A]  # exactly the limit: not closer
    pos[2] = pos[0]  # the same geometry twice is fine: different structures
    s = build(pos)
    assert len(s) == 3 and len(s.subset([0, 2])) == 2
    one_atom = Structures([1, 1], [[0.0, 0, 0], [0.0, 0, 0]], [1, 1])  # two structures
    assert len(one_atom) == 2


def test_periodic_cells_use_the_minimum_image():
    cell = np.eye(3)[None] * 5.0
    across = [[0.02, 1.0, 1.0], [4.97, 1.0, 1.0]]  # 0.05 A apart through the boundary
    with pytest.raises(DataError, match=r"atom 0 \(Z=18\) and atom 1 \(Z=18\) are 0\.05 Å"):
        Structures([18, 18], across, [2], cell=cell, pbc=[[True, True, True]])
    # the same positions without periodicity are 4.95 A apart
    s = Structures([18, 18], across, [2], cell=cell, pbc=[[False, False, False]])
    assert len(s) == 1
    # periodic along x only: the image along x is what is close
    with pytest.raises(DataError, match="0.05 Å apart"):
        Structures(
            [18, 18],
            across,
            [2],
            cell=np.diag([5.0, 0, 0])[None],
            pbc=np.array([[True, False, False]]),
        )
    # a cell so small that an atom meets its own periodic image
    with pytest.raises(DataError, match=r"atom 0 \(Z=18\) and a periodic image of atom 0"):
        Structures([18], [[0.0, 0, 0]], [1], cell=np.eye(3)[None] * 0.05, pbc=[[True] * 3])


def test_subsets_and_relabelled_copies_need_no_new_check():
    pos, numbers, n_atoms = waters(50)
    s = build(pos)
    assert len(s[::2]) == 25 and len(s.with_labels(energy=np.zeros(50))) == 50
    assert len(Structures.concatenate([s, s])) == 100


# ------------------------------------------------------------------ labels


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ({"energy": [0.0, np.nan, 0.0, 0.0]}, r"non-finite energy nan in structure 1"),
        ({"energy": [0.0, 0.0, -np.inf, 0.0]}, r"non-finite energy -inf in structure 2"),
        ({"energy": [0.0, 0.0, 0.0, 1e30]}, r"absurd energy 1e\+30 eV in structure 3"),
        (  # a missing-value sentinel
            {"energy": [-9.99e99, 0.0, 0.0, 0.0]},
            r"absurd energy -9\.99e\+99 eV in structure 0 .*MAX_ABS_ENERGY_PER_ATOM",
        ),
        (  # just above the limit per atom (3 atoms)
            {"energy": [0.0, -3.3e7, 0.0, 0.0]},
            r"structure 1 \(-1\.1e\+07 eV per atom; the limit is 1e\+07",
        ),
        (
            {"forces": (5, 0, np.nan)},
            r"non-finite forces \[nan, 0\.0, 0\.0\] at atom 2 of structure 1",
        ),
        ({"forces": (0, 2, np.inf)}, r"non-finite forces .* at atom 0 of structure 0"),
        (
            {"forces": (10, 1, 2e5)},
            r"absurd force \[0\.0, 200000\.0, 0\.0\] eV/Å .* at atom 1 of structure 3",
        ),
        ({"forces": (7, 0, -1e9)}, r"absurd force .*MAX_ABS_FORCE.* structure 2"),
    ],
)
def test_non_finite_and_absurd_labels_name_the_structure(labels, match):
    pos, _, _ = waters()
    kwargs = {}
    if "energy" in labels:
        kwargs["energy"] = np.asarray(labels["energy"], dtype=float)
    else:
        atom, axis, value = labels["forces"]
        forces = np.zeros((12, 3))
        forces[atom, axis] = value
        kwargs["forces"] = forces
    with pytest.raises(DataError, match=match) as err:
        build(pos, **kwargs)
    assert str(err.value).startswith("data/bad.h5: ")


def test_labels_at_the_limits_are_accepted():
    pos, _, _ = waters(2)
    forces = np.zeros((6, 3))
    forces[0, 0] = -MAX_ABS_FORCE
    energy = [-MAX_ABS_ENERGY_PER_ATOM * 3, 1.0]
    s = build(pos, energy=energy, forces=forces)
    assert s.has_energy and s.has_forces
    with pytest.raises(DataError, match="absurd energy"):
        s.with_labels(energy=[1e30, 0.0])  # a relabelled copy is checked too


# ------------------------------------------------------------------ read from files


def write_sgdml(path, R, E=None, F=None):
    arrays = {"R": R, "z": np.array([8, 1, 1])}
    if E is not None:
        arrays["E"] = E
    if F is not None:
        arrays["F"] = F
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("coincident", r"atoms too close in structure 3: atom 1 \(Z=1\) and atom 2 \(Z=1\)"),
        ("energy_sentinel", r"absurd energy .* in structure 1"),
        ("force_unit", r"absurd force .* at atom 0 of structure 2"),
    ],
)
def test_files_with_degenerate_structures_are_refused_naming_the_file(tmp_path, change, match):
    pos, _, _ = waters(5)
    energy = np.full(5, -47000.0)  # kcal/mol
    forces = np.zeros((5, 3, 3))
    if change == "coincident":
        pos[3, 2] = pos[3, 1]
    elif change == "energy_sentinel":
        energy[1] = 1e300
    else:
        forces[2, 0, 0] = 1e9  # kcal/mol/A
    path = write_sgdml(tmp_path / "water.npz", pos, energy, forces)
    with pytest.raises(DataError, match=match) as err:
        read(path)
    assert str(err.value).startswith(str(path))


def test_extxyz_with_coincident_atoms_names_the_file(tmp_path):
    frames = []
    for k in range(3):
        atoms = ase.Atoms("OH2", positions=WATER + 0.01 * k)
        if k == 1:
            atoms.positions[0] = atoms.positions[1]
        atoms.calc = SinglePointCalculator(atoms, energy=-2000.0, forces=np.zeros((3, 3)))
        frames.append(atoms)
    path = tmp_path / "frames.extxyz"
    ase.io.write(path, frames)
    with pytest.raises(DataError, match=r"atoms too close in structure 1: atom 0") as err:
        read(path)
    assert str(path) in str(err.value)


def test_the_committed_data_pass(shared_data):
    """The repository's embedded data and the shared real data sets pass the checks."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    files = sorted((repo / "data" / "embedded").glob("*.h5"))
    files += sorted(shared_data.glob("rmd17/*_01.npz"))
    files += [shared_data / "md17_ccsd" / "ethanol_ccsd_t-train-subset700.npz"]
    files += sorted(shared_data.glob("comp6/*.h5")) + sorted(shared_data.glob("ani1x/*.hdf5"))
    assert len(files) >= 5
    for path in files:
        assert len(read(path)) > 0, path
