"""Readers: real files under shared/data (skipped when absent) and bad files in tmp_path."""

from __future__ import annotations

from pathlib import Path

import ase
import ase.io
import h5py
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from gmnn import units
from gmnn.data import DataError, read, sniff_format
from gmnn.data.readers import read_ani_h5, read_ase, read_rmd17_npz, read_sgdml_npz

MD17_CCSD = "md17_ccsd/ethanol_ccsd_t-train-subset700.npz"
RMD17_TRAIN = "rmd17/rmd17_ethanol_train_01.npz"
RMD17_TEST = "rmd17/rmd17_ethanol_test_01.npz"
ZAVERKIN = "ethanol_zaverkin/ethanol_500K.npz"
COMP6 = "comp6/s66x8_wb97x6-31gd.h5"
ANI1X = "ani1x/ani1x_subset_n5_modelforge.hdf5"


def need(root: Path, relative: str) -> Path:
    path = root / relative
    if not path.exists():
        pytest.skip(f"{path} not found in the shared data directory")
    return path


# ---------------------------------------------------------------------- real files


def test_md17_ccsd_ethanol(shared_data):
    path = need(shared_data, MD17_CCSD)
    raw = np.load(path)
    s = read_sgdml_npz(path)
    assert len(s) == 700 and s.n_total_atoms == 700 * 9
    np.testing.assert_array_equal(s.numbers[:9], [6, 6, 8, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(s.species, [1, 6, 8])
    assert s.energy[0] == raw["E"][0, 0] * units.KCAL_MOL
    np.testing.assert_allclose(s.energy[0], -97089.07088252 * 0.0433641, rtol=1e-6)
    np.testing.assert_array_equal(s.forces[:9], raw["F"][0] * units.KCAL_MOL)
    np.testing.assert_array_equal(s.positions[9:18], raw["R"][1])
    np.testing.assert_array_equal(s.ids, np.arange(700))
    assert s.meta["level_of_theory"] == "Psi4: CCSD(T), cc-pVTZ"
    assert s.meta["name"] == "ethanol_ccsd"
    assert s.meta["format"] == "sgdml" and s.meta["source"] == str(path)
    assert s.meta["original_energy_unit"] == "kcal/mol"


def test_rmd17_ethanol_train_and_test(shared_data):
    train_path, test_path = need(shared_data, RMD17_TRAIN), need(shared_data, RMD17_TEST)
    raw = np.load(train_path)
    train = read_rmd17_npz(train_path)
    assert len(train) == 1000 and train.n_total_atoms == 9000
    assert train.energy[0] == raw["energies"][0] * units.KCAL_MOL
    np.testing.assert_array_equal(train.forces[9:18], raw["forces"][1] * units.KCAL_MOL)
    np.testing.assert_array_equal(train.ids, raw["old_indices"])
    assert train.meta["level_of_theory"] == "PBE/def2-SVP (ORCA)"
    old = read_rmd17_npz(train_path, labels="old")
    assert old.energy[0] == raw["old_energies"][0] * units.KCAL_MOL
    np.testing.assert_array_equal(old.positions, train.positions)
    assert "vdW-TS" in old.meta["level_of_theory"]
    test = read_rmd17_npz(test_path)
    assert len(test) == 1000
    assert not set(test.ids.tolist()) & set(train.ids.tolist())
    with pytest.raises(ValueError, match="labels"):
        read_rmd17_npz(train_path, labels="newest")


def test_zaverkin_per_structure_z(shared_data):
    path = need(shared_data, ZAVERKIN)
    raw = np.load(path)
    s = read_sgdml_npz(path)
    assert len(s) == 5000 and s.n_total_atoms == 45000
    np.testing.assert_array_equal(s.numbers[:9], [1, 6, 1, 1, 6, 1, 1, 8, 1])
    assert s.energy[0] == np.float64(raw["E"][0, 0]) * units.KCAL_MOL
    assert s.positions.dtype == np.float64
    np.testing.assert_array_equal(s.positions[:9], raw["R"][0].astype(np.float64))
    assert "level_of_theory" not in s.meta  # the file does not say


def test_comp6_s66x8(shared_data):
    path = need(shared_data, COMP6)
    s = read_ani_h5(path)
    assert len(s) == 528
    assert s.meta["layout"] == "ani1"
    assert s.meta["level_of_theory"] == "wb97x/6-31g*"
    assert s.meta["forces_key"] == "forces" and s.has_forces
    assert s.meta["n_dropped_nan_energy"] == 0
    assert len(s.group_names) == 66 and s.group_names[0] == "s66x8/mol00"
    np.testing.assert_array_equal(s.groups[:9], [0] * 8 + [1])
    with h5py.File(path) as f:
        mol00 = f["s66x8/mol00"]
        assert s.energy[0] == mol00["energies"][0] * units.HARTREE
        np.testing.assert_array_equal(s.positions[:6], mol00["coordinates"][0].astype(np.float64))
        np.testing.assert_array_equal(
            s.forces[:6], mol00["forces"][0].astype(np.float64) * units.HARTREE
        )
    np.testing.assert_array_equal(s.numbers[:6], [8, 1, 1, 8, 1, 1])  # water dimer


def test_ani1x_fixture_layout_and_keys(shared_data):
    path = need(shared_data, ANI1X)
    dft = read_ani_h5(path)
    assert len(dft) == 8 and dft.meta["layout"] == "ani1x"
    assert (
        dft.meta["energy_key"] == "wb97x_dz.energy" and dft.meta["forces_key"] == "wb97x_dz.forces"
    )
    assert dft.meta["level_of_theory"] == "wB97x/6-31G(d)"
    np.testing.assert_array_equal(dft.species, [1, 6, 7, 8])
    with h5py.File(path) as f:
        assert dft.energy[0] == f["C1H4N4O4/wb97x_dz.energy"][0] * units.HARTREE

    cc = read_ani_h5(path, energy_key="ccsd(t)_cbs.energy")
    assert len(cc) == 6 and cc.meta["n_dropped_nan_energy"] == 2
    assert not cc.has_forces  # never paired with DFT forces
    assert cc.meta["level_of_theory"] == "CCSD(T)*/CBS"
    assert cc.group_names == dft.group_names
    # The two NaN conformers are the 2nd and 3rd of group C1H6N2O5 (ids 4 and 5).
    np.testing.assert_array_equal(cc.ids, [0, 1, 2, 3, 6, 7])
    within = cc.ids - np.asarray(cc.meta["group_first_id"])[cc.groups]
    np.testing.assert_array_equal(within, [0, 1, 0, 0, 0, 0])
    with pytest.raises(DataError, match="no forces matching"):
        read_ani_h5(path, energy_key="ccsd(t)_cbs.energy", require_forces=True)
    explicit = read_ani_h5(path, energy_key="wb97x_tz.energy", forces_key="wb97x_tz.forces")
    assert explicit.has_forces and explicit.meta["level_of_theory"] == "wB97x/def2-TZVPP"
    with pytest.raises(DataError, match=r"C1H4N4O4: missing dataset 'nope.energy'"):
        read_ani_h5(path, energy_key="nope.energy")


@pytest.mark.parametrize(
    ("relative", "fmt"),
    [
        (MD17_CCSD, "sgdml"),
        (RMD17_TRAIN, "rmd17"),
        (ZAVERKIN, "sgdml"),
        (COMP6, "ani"),
        (ANI1X, "ani"),
    ],
)
def test_read_dispatch_by_contents(shared_data, relative, fmt):
    path = need(shared_data, relative)
    assert sniff_format(path) == fmt
    assert read(path).meta["format"] == fmt


# ---------------------------------------------------------------------- ASE files


def test_read_ase_extxyz(tmp_path):
    frames = []
    for i in range(4):
        atoms = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0.01 * i], [-0.24, 0.93, 0]])
        atoms.calc = SinglePointCalculator(atoms, energy=-10.0 - i, forces=np.full((3, 3), 0.1 * i))
        frames.append(atoms)
    path = tmp_path / "water.extxyz"
    ase.io.write(path, frames, format="extxyz")
    s = read_ase(path)
    assert len(s) == 4 and s.meta["format"] == "ase:extxyz"
    np.testing.assert_allclose(s.energy, [-10.0, -11.0, -12.0, -13.0])
    np.testing.assert_allclose(s.forces[3:6], 0.1)
    part = read(path, index="1::2")
    np.testing.assert_array_equal(part.ids, [1, 3])
    np.testing.assert_allclose(part.energy, [-11.0, -13.0])
    last = read_ase(path, index=-1)
    np.testing.assert_array_equal(last.ids, [3])
    assert sniff_format(path) == "ase"

    plain = tmp_path / "plain.xyz"
    ase.io.write(plain, [ase.Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]])], format="xyz")
    assert not read_ase(plain).has_energy
    with pytest.raises(DataError, match=r"plain.xyz: structure 0 has no energy"):
        read_ase(plain, energy=True)


def test_read_ase_unreadable(tmp_path):
    path = tmp_path / "garbage.xyz"
    path.write_text("not a number\n\nfoo\n")
    with pytest.raises(DataError, match="garbage.xyz: ASE cannot read"):
        read_ase(path)


# ---------------------------------------------------------------------- bad files


def write_sgdml(path: Path, **overrides) -> Path:
    data = {
        "R": np.zeros((2, 3, 3)) + np.arange(3)[None, :, None],
        "z": np.array([8, 1, 1], dtype=np.uint8),
        "E": np.array([[-1.0], [-2.0]]),
        "F": np.zeros((2, 3, 3)),
    }
    data.update(overrides)
    np.savez(path, **{k: v for k, v in data.items() if v is not None})
    return path


def test_sgdml_units_keys(tmp_path):
    path = write_sgdml(tmp_path / "bohr.npz", e_unit=np.array("Ha"), r_unit=np.array("bohr"))
    s = read_sgdml_npz(path)
    assert s.energy[0] == -1.0 * units.HARTREE
    np.testing.assert_allclose(s.positions[1], [units.BOHR] * 3)
    assert s.meta["original_energy_unit"] == "Ha"
    bad = write_sgdml(tmp_path / "furlong.npz", r_unit=np.array("furlong"))
    with pytest.raises(DataError, match=r"furlong.npz: unknown length unit 'furlong'"):
        read_sgdml_npz(bad)


def test_sgdml_padded_per_structure_z(tmp_path):
    z = np.array([[8, 1, 1], [1, 1, 0]])
    path = write_sgdml(tmp_path / "padded.npz", z=None, Z=z, N=np.array([3, 2]))
    s = read_sgdml_npz(path)
    np.testing.assert_array_equal(s.n_atoms, [3, 2])
    np.testing.assert_array_equal(s.numbers, [8, 1, 1, 1, 1])
    assert s.forces.shape == (5, 3)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"R": None}, r"missing key 'R'"),
        ({"z": None}, r"missing key 'z' or 'Z'"),
        ({"F": np.zeros((2, 3))}, r"key 'F' has shape \(2, 3\); expected \(2, 3, 3\)"),
        ({"E": np.zeros((3, 1))}, r"key 'E' has shape \(3,\); expected \(2,\)"),
        ({"z": np.array([8, 1])}, r"key 'z' has shape \(2,\); expected \(3,\)"),
        ({"z": np.array([0, 1, 1])}, r"unknown element Z=0 at atom 0 of structure 0"),
        ({"z": np.array([200, 1, 1])}, r"unknown element Z=200"),
        ({"R": np.full((2, 3, 3), np.nan)}, r"non-finite values in 'R' of structure 0"),
        (
            {"F": np.where(np.arange(18).reshape(2, 3, 3) == 10, np.nan, 0.0)},
            r"non-finite values in 'F' of structure 1",
        ),
        ({"N": np.array([3, 4])}, r"N\[1\]=4 is outside 1..3"),
    ],
)
def test_sgdml_bad_files(tmp_path, raises_naming, overrides, match):
    path = write_sgdml(tmp_path / "bad_sgdml.npz", **overrides)
    with raises_naming(path, match):
        read_sgdml_npz(path)


def write_rmd17(path: Path, **overrides) -> Path:
    data = {
        "nuclear_charges": np.array([8, 1, 1], dtype=np.uint8),
        "coords": np.zeros((2, 3, 3)) + np.eye(3),  # distinct atoms (Structures checks)
        "energies": np.array([-1.0, -2.0]),
        "forces": np.zeros((2, 3, 3)),
        "old_indices": np.array([10, 20]),
        "old_energies": np.array([-1.5, -2.5]),
        "old_forces": np.zeros((2, 3, 3)),
    }
    data.update(overrides)
    np.savez(path, **{k: v for k, v in data.items() if v is not None})
    return path


@pytest.mark.parametrize(
    ("overrides", "labels", "match"),
    [
        ({"old_indices": None}, "new", r"missing key 'old_indices'"),
        ({"old_forces": None}, "old", r"missing key 'old_forces'"),
        ({"energies": np.zeros(3)}, "new", r"key 'energies' has shape \(3,\); expected \(2,\)"),
        (
            {"coords": np.zeros((2, 4, 3))},
            "new",
            r"key 'coords' has shape \(2, 4, 3\); expected \(\*, 3, 3\)",
        ),
        (
            {"forces": np.full((2, 3, 3), np.inf)},
            "new",
            r"non-finite values in 'forces' of structure 0",
        ),
        (
            {"nuclear_charges": np.array([8, 1, 0])},
            "new",
            r"unknown element Z=0 at atom 2 of structure 0",
        ),
    ],
)
def test_rmd17_bad_files(tmp_path, raises_naming, overrides, labels, match):
    path = write_rmd17(tmp_path / "bad_rmd17.npz", **overrides)
    with raises_naming(path, match):
        read_rmd17_npz(path, labels=labels)


def test_rmd17_synthetic_units(tmp_path):
    s = read_rmd17_npz(write_rmd17(tmp_path / "ok.npz"), labels="old")
    np.testing.assert_array_equal(s.energy, np.array([-1.5, -2.5]) * units.KCAL_MOL)
    np.testing.assert_array_equal(s.ids, [10, 20])


def write_ani1(
    path: Path, species=(b"O", b"H", b"H"), energies=(-76.0, np.nan, -76.1), forces=True
) -> Path:
    with h5py.File(path, "w") as f:
        g = f.create_group("set/mol0")
        g["species"] = np.array(species)
        g["coordinates"] = (
            np.eye(len(species), 3, dtype=np.float32)[None]  # distinct atoms
            + np.arange(3, dtype=np.float32)[:, None, None]
        )
        g["energies"] = np.array(energies)
        if forces:
            g["forces"] = np.ones((3, len(species), 3), dtype=np.float32)
    return path


def test_ani1_layout_synthetic(tmp_path):
    s = read_ani_h5(write_ani1(tmp_path / "ani1.h5"))
    assert len(s) == 2 and s.meta["n_dropped_nan_energy"] == 1
    np.testing.assert_array_equal(s.ids, [0, 2])
    np.testing.assert_array_equal(s.positions[3:], 2.0 + np.eye(3))  # third conformer
    np.testing.assert_array_equal(s.forces, units.HARTREE)
    assert s.group_names == ("set/mol0",)
    assert "level_of_theory" not in s.meta
    no_forces = read_ani_h5(write_ani1(tmp_path / "noforces.h5", forces=False))
    assert not no_forces.has_forces


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"species": (b"O", b"H", b"Xx")},
            r"group /set/mol0: unknown element symbol\(s\) \['Xx'\]",
        ),
        (
            {"energies": (-76.0, -76.1)},
            r"group /set/mol0: 'energies' has shape \(2,\); expected \(3,\)",
        ),
    ],
)
def test_ani_bad_files(tmp_path, raises_naming, kwargs, match):
    path = write_ani1(tmp_path / "bad_ani.h5", **kwargs)
    with raises_naming(path, match):
        read_ani_h5(path)


def test_ani_require_forces_and_nan_coordinates(tmp_path):
    path = write_ani1(tmp_path / "noforces.h5", forces=False)
    with pytest.raises(DataError, match="noforces.h5: no forces matching energy key 'energies'"):
        read_ani_h5(path, require_forces=True)
    path = write_ani1(tmp_path / "nan.h5")
    with h5py.File(path, "r+") as f:
        f["set/mol0/coordinates"][2, 1, 0] = np.nan
    with pytest.raises(
        DataError, match=r"nan.h5: non-finite values in '/set/mol0/coordinates' of structure 2"
    ):
        read_ani_h5(path)


def test_unrecognised_files(tmp_path):
    npz = tmp_path / "other.npz"
    np.savez(npz, x=np.zeros(3))
    with pytest.raises(DataError, match=r"other.npz: unrecognised .npz layout \(keys: \['x'\]\)"):
        read(npz)
    h5 = tmp_path / "other.h5"
    with h5py.File(h5, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DataError, match=r"other.h5: unrecognised HDF5 layout"):
        read(h5)
    with pytest.raises(DataError, match=r"other.h5: no ANI groups found"):
        read_ani_h5(h5)
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="unknown format"):
        read(npz, format="xyzzy")
    with pytest.raises(DataError, match=r"other.h5: cannot read as .npz"):
        read_sgdml_npz(h5)
