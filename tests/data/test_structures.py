"""Tests of the flat Structures container (no files needed)."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from gmnn import units
from gmnn.data import DataError, Structures


def assert_same(a: Structures, b: Structures, ids: bool = True) -> None:
    for name in ("numbers", "positions", "n_atoms", "energy", "forces", "cell", "pbc"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    if ids:
        np.testing.assert_array_equal(a.ids, b.ids)


def test_basic_properties(make_structures):
    s = make_structures()
    assert len(s) == 4
    assert s.n_total_atoms == 14
    np.testing.assert_array_equal(s.offsets, [0, 3, 8, 10, 14])
    assert s.offsets.dtype == np.int64
    assert s.numbers.dtype == np.int32 and s.positions.dtype == np.float64
    assert s.has_energy and s.has_forces
    assert set(s.species.tolist()) <= {1, 6, 8}
    assert s.cell.shape == (4, 3, 3) and not s.cell.any()
    assert s.pbc.shape == (4, 3) and not s.pbc.any()
    np.testing.assert_array_equal(s.structure_index, np.repeat(np.arange(4), [3, 5, 2, 4]))
    assert "n_structures=4" in repr(s)


def test_arrays_are_read_only_views():
    positions = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.74]])
    s = Structures([1, 1], positions, [2])
    with pytest.raises(ValueError, match="read-only"):
        s.positions[0, 0] = 1.0
    positions[0, 0] = 1.0  # the caller's array stays writeable
    assert s.positions[0, 0] == 1.0


def test_unlabelled_and_empty():
    s = Structures([8, 1, 1], np.eye(3), [3])
    assert not s.has_energy and not s.has_forces
    np.testing.assert_array_equal(s.ids, [0])
    empty = s.subset([])
    assert len(empty) == 0 and empty.n_total_atoms == 0
    assert empty.species_counts()[0].shape == (0, 0)
    assert empty.species_counts([1, 8])[0].shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"numbers": [0, 1, 1]}, r"unknown element Z=0 at atom 0 of structure 0"),
        ({"numbers": [1, 1, 200]}, r"unknown element Z=200 at atom 2 of structure 0"),
        ({"positions": np.zeros((3, 2))}, r"positions has shape \(3, 2\)"),
        ({"n_atoms": [2]}, r"numbers \(sum of n_atoms\) has shape \(3,\); expected \(2,\)"),
        ({"n_atoms": [3, 0]}, r"structure 1 has n_atoms=0"),
        ({"energy": [1.0, 2.0]}, r"energy has shape \(2,\); expected \(1,\)"),
        ({"energy": [np.nan]}, r"non-finite energy"),
        ({"forces": np.zeros((2, 3))}, r"forces has shape"),
        ({"pbc": [[True, False, False]]}, r"periodic along cell vector 0, but that vector is zero"),
        ({"pbc": [[1, 0, 0]]}, r"pbc must be boolean"),
        ({"numbers": [1.5, 1, 1]}, r"numbers must be integers"),
        ({"meta": {"source": "x.npz", "bad": object()}}, r"not JSON-serialisable"),
        ({"groups": [0]}, r"groups given without group_names"),
        ({"groups": [3], "group_names": ["a"]}, r"group index 3"),
    ],
)
def test_validation_errors(kwargs, match):
    base = {
        "numbers": [8, 1, 1],
        "positions": np.zeros((3, 3)),
        "n_atoms": [3],
        "meta": {"source": "water.xyz"},
    }
    base.update(kwargs)
    with pytest.raises(DataError, match=match) as info:
        Structures(**base)
    assert str(info.value).startswith(str(base["meta"].get("source")))


def test_non_finite_positions_and_forces_name_structure_and_atom():
    positions = np.zeros((5, 3))
    positions[4, 1] = np.inf
    with pytest.raises(
        DataError, match=r"water.xyz: non-finite positions .* atom 1 of structure 1"
    ):
        Structures([8, 1, 1, 1, 1], positions, [3, 2], meta={"source": "water.xyz"})
    forces = np.zeros((5, 3))
    forces[2, 0] = np.nan
    with pytest.raises(DataError, match=r"non-finite forces .* atom 2 of structure 0"):
        Structures([8, 1, 1, 1, 1], np.zeros((5, 3)), [3, 2], forces=forces)


def test_subset_and_getitem(make_structures):
    s = make_structures(groups=True)
    sub = s.subset([2, 0])
    np.testing.assert_array_equal(sub.n_atoms, [2, 3])
    np.testing.assert_array_equal(
        sub.positions, np.concatenate([s.positions[8:10], s.positions[0:3]])
    )
    np.testing.assert_array_equal(sub.forces, np.concatenate([s.forces[8:10], s.forces[0:3]]))
    np.testing.assert_array_equal(sub.energy, s.energy[[2, 0]])
    np.testing.assert_array_equal(sub.ids, [102, 100])
    np.testing.assert_array_equal(sub.groups, [0, 0])
    assert sub.group_names == s.group_names
    assert sub.meta == s.meta
    assert_same(s[1:3], s.subset(np.array([1, 2])))
    assert np.shares_memory(s[1:3].positions, s.positions)  # contiguous slices are views
    assert len(s[3:1]) == 0 and len(s[2:100]) == 2
    assert_same(s[::-1], s.subset([3, 2, 1, 0]))
    assert_same(s[np.array([True, False, False, True])], s.subset([0, 3]))
    assert_same(s[[-1]], s.subset([3]))
    with pytest.raises(TypeError, match="atoms"):
        s[0]
    with pytest.raises(IndexError):
        s[[4]]


def test_species_counts():
    s = Structures([8, 1, 1, 6, 1, 1, 1, 1], np.arange(24.0).reshape(8, 3), [3, 5])
    counts, species = s.species_counts()
    np.testing.assert_array_equal(species, [1, 6, 8])
    np.testing.assert_array_equal(counts, [[2, 0, 1], [4, 1, 0]])
    counts, species = s.species_counts([1, 6, 7, 8])
    np.testing.assert_array_equal(counts, [[2, 0, 0, 1], [4, 1, 0, 0]])
    with pytest.raises(ValueError, match=r"species \[8\]"):
        s.species_counts([1, 6])


def test_with_labels_and_without_labels(make_structures):
    s = make_structures()
    shifted = s.with_labels(energy=s.energy - 1.0)
    np.testing.assert_array_equal(shifted.energy, s.energy - 1.0)
    np.testing.assert_array_equal(shifted.forces, s.forces)
    assert shifted.meta == s.meta
    bare = s.without_labels(energy=True, forces=True)
    assert not bare.has_energy and not bare.has_forces
    with pytest.raises(DataError, match="energy has shape"):
        s.with_labels(energy=np.zeros(3))


def test_concatenate(make_structures):
    a, b = make_structures(seed=1), make_structures((2, 2), seed=2)
    c = Structures.concatenate([a, b])
    assert len(c) == 6 and c.n_total_atoms == 18
    assert_same(c[:4], a)
    assert_same(c[4:], b)
    assert c.meta == a.meta  # identical metas are kept
    d = Structures.concatenate([a, make_structures(meta={"source": "other"})])
    assert d.meta["parts"] == [a.meta, {"source": "other"}]
    assert d.meta["part_sizes"] == [4, 4]
    with pytest.raises(DataError, match="no forces labels"):
        Structures.concatenate([a, b.without_labels(forces=True)])


def test_concatenate_merges_groups(make_structures):
    a = make_structures(groups=True)
    b = make_structures((1, 1), meta={"source": "b.npz"})
    c = Structures.concatenate([a, b, a])
    assert c.group_names == ("g0", "g1", "b.npz")
    names = [c.group_names[g] for g in c.groups]
    assert names == ["g0", "g1", "g0", "g1", "b.npz", "b.npz", "g0", "g1", "g0", "g1"]


def test_ase_round_trip(make_structures):
    s = make_structures(groups=True)
    atoms_list = s.to_ase()
    assert len(atoms_list) == 4
    first = atoms_list[1]
    assert len(first) == 5
    assert first.get_potential_energy() == s.energy[1]
    np.testing.assert_array_equal(first.get_forces(), s.forces[3:8])
    assert first.info["gmnn_id"] == 101 and first.info["gmnn_group"] == "g1"
    back = Structures.from_ase(atoms_list, meta=s.meta)
    assert_same(back, s)


def test_from_ase_label_sources_and_errors():
    water = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    info_labelled = water.copy()
    info_labelled.info["energy"] = -1.5
    info_labelled.arrays["forces"] = np.ones((3, 3))
    calc_labelled = water.copy()
    calc_labelled.calc = SinglePointCalculator(calc_labelled, energy=-2.0, forces=np.zeros((3, 3)))
    s = Structures.from_ase([info_labelled, calc_labelled])
    np.testing.assert_array_equal(s.energy, [-1.5, -2.0])
    np.testing.assert_array_equal(s.forces[:3], np.ones((3, 3)))
    with pytest.raises(DataError, match=r"frames.xyz: structure 1 has no energy"):
        Structures.from_ase([info_labelled, water], meta={"source": "frames.xyz"})
    auto = Structures.from_ase([water, water], energy=None, forces=None)
    assert not auto.has_energy and not auto.has_forces
    ignored = Structures.from_ase([info_labelled], energy=False, forces=False)
    assert not ignored.has_energy


def test_periodic_structure():
    atoms = ase.Atoms("Ar", positions=[[0, 0, 0]], cell=np.eye(3) * 5.0, pbc=True)
    s = Structures.from_ase([atoms], energy=False, forces=False)
    np.testing.assert_array_equal(s.cell[0], np.eye(3) * 5.0)
    assert s.pbc.all()
    back = s.atoms(0)
    assert back.pbc.all() and np.allclose(back.cell.array, np.eye(3) * 5.0)


def test_units():
    assert units.KCAL_MOL == pytest.approx(0.0433641, rel=1e-5)
    assert units.HARTREE == pytest.approx(27.211386, rel=1e-6)
    assert units.ev_to_kcal_mol(units.kcal_mol_to_ev(2.5)) == pytest.approx(2.5)
    np.testing.assert_allclose(units.ev_to_kcal_mol(np.array([units.KCAL_MOL])), [1.0])
    assert units.hartree_to_ev(1.0) == units.HARTREE
    assert units.energy_unit_in_ev("Ha") == units.HARTREE
    assert units.length_unit_in_angstrom("bohr") == units.BOHR
    with pytest.raises(KeyError, match="unknown energy unit"):
        units.energy_unit_in_ev("furlong")


def test_lowest_energy_and_molecule_arrays():
    pos = np.arange(3 * 3 * 3, dtype=float).reshape(3, 3, 3)
    s = Structures(
        numbers=np.tile([8, 1, 1], 3),
        positions=pos.reshape(-1, 3),
        n_atoms=[3, 3, 3],
        energy=[-1.0, -0.5, -2.0],
    )
    assert s.lowest_energy() == 2
    numbers, positions = s.molecule_arrays()
    assert numbers.tolist() == [8, 1, 1] and np.array_equal(positions, pos)
    with pytest.raises(ValueError, match="no energy labels"):
        s.without_labels(energy=True).lowest_energy()
    mixed = Structures(
        numbers=[8, 1, 1, 1, 8, 1],
        positions=np.eye(3).repeat(2, axis=0)[[0, 2, 4, 1, 3, 5]],
        n_atoms=[3, 3],
    )
    with pytest.raises(ValueError, match="not one molecule"):
        mixed.molecule_arrays()
