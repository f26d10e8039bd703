"""The embedded ANI-like data set: named systems, sampling, accurate labels and merging
(gmnn.refdata.systems, gmnn.refdata.embedded_ani), and the committed data files themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from gmnn.data import read_h5
from gmnn.refdata import embedded_ani, systems

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["embedded_ani"]


def test_catalogue_of_the_config_has_enough_systems():
    cat = embedded_ani.catalogue(CONFIG)
    train = [n for n, s in cat.items() if s["role"] == "train"]
    assert len(train) >= 30
    assert sum(cat[n]["frames"] for n in train) >= 8192
    assert len(CONFIG["heldout"]) >= 3
    # the peptide fragments deca-alanine is made of, and the water clusters
    assert {"nma", "ace_ala_nme", "ace_ala2_nme", "ace_ala3_nme"} <= set(train)
    assert {f"water{n}" for n in range(2, 7)} <= set(train)
    # held-out systems are absent from training
    assert not {n for n, s in cat.items() if s["role"] == "heldout"} & set(train)


def test_catalogue_rejects_a_system_in_two_groups():
    config = {
        "train": {"a": {"temperature_K": 300, "frames": 2, "systems": ["H2O"]}},
        "heldout": {"b": {"temperature_K": 300, "frames": 2, "systems": ["H2O"]}},
    }
    with pytest.raises(ValueError, match=r"'H2O' is in train\.a and in heldout\.b"):
        embedded_ani.catalogue(config)


def test_unknown_and_open_shell_systems_are_errors():
    with pytest.raises(ValueError, match="unknown system 'H2Oo'.*nma"):
        systems.build_system("H2Oo")
    with pytest.raises(ValueError, match="odd number of electrons"):
        systems.build_system("NO")  # a G2 radical
    with pytest.raises(ValueError, match=r"Z=\[17\]"):
        systems.build_system("CH3Cl")


def test_peptides_from_smiles_are_reproducible_and_complete():
    pytest.importorskip("rdkit")
    a = systems.build_system("ace_ala_nme")
    b = systems.build_system("ace_ala_nme")
    assert a.get_chemical_formula() == "C6H12N2O2"  # Ace-Ala-NMe, hydrogens included
    np.testing.assert_array_equal(a.positions, b.positions)
    d = a.get_all_distances() + 10 * np.eye(len(a))
    assert d.min() > 0.9


def test_clusters_place_monomers_at_contact():
    atoms = systems.build_system("water4", seed=3)
    assert atoms.get_chemical_formula() == "H8O4"
    d = atoms.get_all_distances()
    for k in range(1, 4):  # each monomer touches the ones before it
        gap = d[3 * k : 3 * k + 3, : 3 * k].min()
        assert systems.CONTACT_DISTANCE_A - 0.11 < gap <= systems.CONTACT_DISTANCE_A + 1e-9
    np.testing.assert_array_equal(atoms.positions, systems.build_system("water4", 3).positions)


def test_accurate_frames_are_evenly_spaced_and_distinct():
    frames = embedded_ani.accurate_frames(200, 22)
    assert len(np.unique(frames)) == 22 and frames.min() >= 0 and frames.max() < 200
    assert np.ptp(np.diff(frames)) <= 1
    with pytest.raises(ValueError, match="cannot pick 5 accurate frames of 4"):
        embedded_ani.accurate_frames(4, 5)


def test_system_seeds_do_not_depend_on_the_other_systems():
    assert embedded_ani.system_seed("H2O", 0) == embedded_ani.system_seed("H2O", 0)
    assert embedded_ani.system_seed("H2O", 0) != embedded_ani.system_seed("H2O", 1)
    assert embedded_ani.system_seed("H2O", 0) != embedded_ani.system_seed("NH3", 0)


def _fake_sample(name: str, n_frames: int, rng) -> dict:
    atoms = systems.build_system(name)
    positions = atoms.positions + 0.05 * rng.normal(size=(n_frames, len(atoms), 3))
    return {
        "numbers": atoms.numbers,
        "positions": positions,
        "energy": rng.normal(size=n_frames),
        "forces": rng.normal(size=(n_frames, len(atoms), 3)),
        "wall_s": np.array(1.0),
    }


def test_merge_keeps_the_ids_of_the_accurate_geometries():
    """The ANI-1ccx role is a subset of the ANI-1x role: same geometries, same ids."""
    config = {
        "sampling": {
            "method": "GFN2-xTB",
            "timestep_fs": 0.5,
            "n_equil": 0,
            "stride": 1,
            "seed": 0,
        },
        "train": {
            "small": {"temperature_K": 500, "frames": 6, "systems": ["H2O", "CH3OH"]},
            "big": {"temperature_K": 500, "frames": 4, "systems": ["C6H6"]},
        },
        "accurate": {"method": "wB97X", "basis": "6-31G*", "max_atoms": 9, "frames": 3},
        "heldout": {"dimers": {"temperature_K": 300, "frames": 5, "systems": ["water2"]}},
    }
    rng = np.random.default_rng(0)
    cat = embedded_ani.catalogue(config)
    samples = {n: _fake_sample(n, s["frames"], rng) for n, s in cat.items()}
    assert embedded_ani.accurate_systems(config) == ["H2O", "CH3OH"]
    labels = {}
    for name in ("H2O", "CH3OH"):
        frames = embedded_ani.accurate_frames(6, 3)
        energy = rng.normal(size=3)
        energy[1] = np.nan if name == "CH3OH" else energy[1]  # a failed SCF is dropped
        labels[name] = {
            "frames": frames,
            "energy": energy,
            "info": {"wall_s": [1.0, 2.0, 3.0], "failures": [], "code_versions": {}},
        }
    sets = embedded_ani.merge(config, samples, labels, {"tblite": "x"})
    train, accurate = sets["train"], sets["accurate"]
    assert len(train) == 16 and train.forces is not None
    assert len(accurate) == 5 and accurate.forces is None
    assert list(train.group_names) == ["H2O", "CH3OH", "C6H6"]
    for k, i in enumerate(accurate.ids):
        j = int(np.flatnonzero(train.ids == i)[0])
        np.testing.assert_array_equal(accurate.atoms(k).positions, train.atoms(j).positions)
    assert set(sets["heldout"]) == {"dimers"} and len(sets["heldout"]["dimers"]) == 5
    assert train.meta["level_of_theory"] == "GFN2-xTB (tblite)"
    assert accurate.meta["level_of_theory"] == "wB97X/6-31G*"


def test_sampling_and_energies_only_labels_on_water():
    """The real chain on the smallest system: GFN2-xTB frames with unconstrained forces,
    then wB97X/6-31G* energies without forces."""
    pytest.importorskip("tblite")
    pytest.importorskip("pyscf")
    sampling = {"method": "GFN2-xTB", "timestep_fs": 0.5, "n_equil": 10, "stride": 5, "seed": 0}
    sample = embedded_ani.sample_system("H2O", 500.0, 3, sampling)
    assert sample["positions"].shape == (3, 3, 3) and sample["forces"].shape == (3, 3, 3)
    assert np.all(np.isfinite(sample["energy"])) and np.abs(sample["forces"]).max() > 0.01
    config = {"accurate": {"method": "wB97X", "basis": "6-31G*", "max_atoms": 9, "frames": 1}}
    labels = embedded_ani.label_accurate(sample, config, n_threads=1)
    assert labels["frames"].tolist() == [1]
    assert labels["info"]["forces"] is False and labels["info"]["cartesian"] is True
    # about -76.38 Hartree for water at wB97X/6-31G*
    assert -76.45 < labels["energy"][0] / 27.211386 < -76.3


EMBEDDED = REPO / "data" / "embedded"


@pytest.mark.skipif(
    not (EMBEDDED / "ani_xtb.h5").exists(), reason="embedded ANI data not generated yet"
)
def test_committed_embedded_ani_data():
    train = read_h5(EMBEDDED / "ani_xtb.h5")
    accurate = read_h5(EMBEDDED / "ani_wb97x.h5")
    assert len(train) >= 8192 and train.forces is not None
    assert len(accurate) >= 512 and accurate.forces is None
    assert len(set(train.group_names)) >= 30
    assert set(np.unique(train.numbers)) == {1, 6, 7, 8}
    assert np.isin(accurate.ids, train.ids).all()
    heldout = sorted(EMBEDDED.glob("comp6_*.h5"))
    assert len(heldout) >= 3
    for path in heldout:
        s = read_h5(path)
        assert s.forces is not None and not set(s.group_names) & set(train.group_names)


def test_systems_above_max_atoms_get_no_accurate_labels():
    """Such systems get an empty label file (so the rules need not build systems)."""
    sample = _fake_sample("C6H6", 4, np.random.default_rng(1))
    config = {"accurate": {"method": "wB97X", "basis": "6-31G*", "max_atoms": 9, "frames": 2}}
    labels = embedded_ani.label_accurate(sample, config)
    assert labels["frames"].size == 0 and labels["energy"].size == 0
    assert "max_atoms" in labels["info"]["skipped"]
