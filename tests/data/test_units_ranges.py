"""Wrong units and empty data are refused by the readers (issue 22): energies beyond any
total energy of their atoms (ANI energies in kcal/mol or eV where Hartree is stated, an
extxyz in kcal/mol), one molecule's energies spanning hundreds of eV per atom (frames in
two units), files left with no structures (every energy NaN), and forces missing in one
ANI group (read without forces, said with the group; required, an error naming it)."""

from __future__ import annotations

import logging

import h5py
import numpy as np
import pytest
from _synthetic import emt_structures
from ase.io import write

from gmnn import units
from gmnn.data import DataError, Structures, read, read_ani_h5, read_h5, write_h5
from gmnn.data.ani import convert_ani_h5
from gmnn.data.structures import check_energies_plausible

ETHANOL_HARTREE = -154.9  # about the all-electron wB97x energy of ethanol


def _ethanol(n=6, seed=0):
    return emt_structures("CH3CH2OH", n=n, seed=seed)


def write_ani(path, groups, with_forces=None):
    """An ANI-1/COMP6 layout file: ``groups`` maps a group name to Hartree energies of
    ethanol conformers; ``with_forces`` the groups that get forces (default: all)."""
    with h5py.File(path, "w") as f:
        for g, (name, energies) in enumerate(groups.items()):
            s = _ethanol(len(energies), seed=g)
            leaf = f.create_group(f"set/{name}")
            n = int(s.n_atoms[0])
            numbers = s.numbers.reshape(len(s), n)[0]
            symbols = {1: b"H", 6: b"C", 8: b"O"}
            leaf["species"] = np.array([symbols[int(z)] for z in numbers])
            leaf["coordinates"] = s.positions.reshape(len(s), n, 3).astype(np.float32)
            leaf["energies"] = np.asarray(energies, dtype=np.float64)
            if with_forces is None or name in with_forces:
                leaf["forces"] = (s.forces.reshape(len(s), n, 3) / units.HARTREE).astype(np.float32)
    return path


def hartree(n, seed=0):
    return ETHANOL_HARTREE + 0.01 * np.random.default_rng(seed).standard_normal(n)


def test_plausible_ani_energies_are_read(tmp_path):
    path = write_ani(tmp_path / "ok.h5", {"a": hartree(4), "b": hartree(3, 1)})
    s = read(path)
    assert len(s) == 7 and s.forces is not None
    np.testing.assert_allclose(s.energy[:4], hartree(4) * units.HARTREE)


@pytest.mark.parametrize(
    ("factor", "unit"), [(627.509, "kcal/mol"), (units.HARTREE, "eV"), (2625.5, "kJ/mol")]
)
def test_ani_energies_in_another_unit_are_refused(tmp_path, raises_naming, factor, unit):
    path = write_ani(tmp_path / "wrong.h5", {"a": hartree(4), "b": hartree(3, 1) * factor})
    with raises_naming(path, r"group /set/b: structure 0.*beyond any total energy.*wrong unit"):
        read_ani_h5(path)
    with raises_naming(path, r"group /set/b: .*beyond any total energy"):
        convert_ani_h5([path], tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()


def test_one_molecules_energies_spanning_thousands_of_ev_are_refused(tmp_path, raises_naming):
    # the same molecule, half at an all-electron level, half at a valence-only one
    energies = np.concatenate([hartree(3), hartree(3, 1) + 130.0])
    path = write_ani(tmp_path / "mixed.h5", {"a": energies})
    with raises_naming(
        path, r"group /set/a: energies of one molecule \(C2H6O\) span 3\d{3}.* eV.* Hartree"
    ):
        read(path)
    # two groups of the same molecule at two levels: the file as a whole is refused
    path = write_ani(tmp_path / "mixed2.h5", {"a": hartree(3), "b": hartree(3, 1) + 130.0})
    with raises_naming(path, r"span .*group /set/a: structure \d.*group /set/b"):
        read(path)


def test_a_file_left_with_no_structures_is_refused(tmp_path, raises_naming):
    path = write_ani(tmp_path / "nan.h5", {"a": np.full(3, np.nan), "b": np.full(2, np.nan)})
    with raises_naming(path, r"no structures left: all 5 conformers .* NaN 'energies'"):
        read(path)
    with raises_naming(path, "no structures left"):
        convert_ani_h5([path], tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
    empty = tmp_path / "empty.npz"
    np.savez(empty, R=np.zeros((0, 3, 3)), z=np.array([1, 1, 8]), E=np.zeros(0))
    with raises_naming(empty, "no structures"):
        read(empty)


def test_forces_missing_in_one_group_are_said_never_dropped_silently(
    tmp_path, raises_naming, caplog
):
    path = write_ani(
        tmp_path / "partial.h5", {"a": hartree(3), "b": hartree(2, 1)}, with_forces={"a"}
    )
    with caplog.at_level(logging.WARNING, logger="gmnn.data.ani"):
        s = read(path)
    assert s.forces is None
    assert s.meta["forces_missing_in"] == {"key": "forces", "missing_in": ["/set/b"]}
    assert any("/set/b" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    with raises_naming(path, "group /set/b has no 'forces'"):
        read_ani_h5(path, require_forces=True)


def test_extxyz_in_kcal_mol_or_mixing_units_is_refused(tmp_path, raises_naming):
    s = _ethanol(4)
    frames = s.to_ase()
    shifted = s.with_labels(energy=s.energy + ETHANOL_HARTREE * units.HARTREE)
    ok = tmp_path / "ok.extxyz"
    write(ok, shifted.to_ase())
    assert len(read(ok)) == 4
    kcal = shifted.with_labels(energy=shifted.energy / units.KCAL_MOL)
    write(tmp_path / "kcal.extxyz", kcal.to_ase())
    with raises_naming(tmp_path / "kcal.extxyz", r"structure 0: energy -97\d{3}.* eV of C2H6O"):
        read(tmp_path / "kcal.extxyz")
    # frames alternate between eV and Hartree
    energy = shifted.energy.copy()
    energy[1::2] /= units.HARTREE
    write(tmp_path / "alt.extxyz", shifted.with_labels(energy=energy).to_ase())
    with raises_naming(tmp_path / "alt.extxyz", r"energies of one molecule .* span 4\d{3}"):
        read(tmp_path / "alt.extxyz")
    del frames


def test_npz_with_a_stated_unit_that_does_not_fit_is_refused(tmp_path, raises_naming):
    s = _ethanol(3)
    n = int(s.n_atoms[0])
    path = tmp_path / "e_unit.npz"
    energy = s.energy / units.KCAL_MOL - 97000.0  # kcal/mol, but the file says Hartree
    np.savez(
        path,
        R=s.positions.reshape(3, n, 3),
        z=s.numbers[:n],
        E=energy,
        e_unit="Ha",
    )
    with raises_naming(path, r"energy -970\d\d.* Ha of C2H6O is beyond .*\(|E| <= \d+.* Ha"):
        read(path)


def test_a_gmnn_h5_file_is_checked_and_named(tmp_path, raises_naming):
    s = _ethanol(3)
    bad = Structures(
        numbers=s.numbers,
        positions=s.positions,
        n_atoms=s.n_atoms,
        energy=s.energy * 1e4 - 1e6,
        meta={"source": "somewhere.extxyz"},
    )
    write_h5(bad, tmp_path / "bad.h5")
    with raises_naming(tmp_path / "bad.h5", "beyond any total energy"):
        read_h5(tmp_path / "bad.h5")


def test_the_check_takes_energy_shifted_and_heavy_element_data():
    # small (shifted, pseudopotential, semi-empirical) energies and heavy atoms pass
    s = _ethanol(3)
    check_energies_plausible(s)
    iodine = Structures(
        numbers=[53, 53],
        positions=[[0, 0, 0], [2.7, 0, 0]],
        n_atoms=[2],
        energy=[-2 * 7115.0 * units.HARTREE],  # I2, all-electron, relativistic
    )
    check_energies_plausible(iodine)
    with pytest.raises(DataError, match="beyond any total energy"):
        check_energies_plausible(iodine.with_labels(energy=iodine.energy * 27.2))
