"""The embedded ANI-like data set: named systems, sampling, accurate labels and merging
(gmnn.refdata.systems, gmnn.refdata.embedded_ani), and the committed data files themselves."""

from __future__ import annotations

import copy
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


def _with(**accurate_or_train) -> dict:
    """The config's embedded_ani section with ``accurate`` keys and train groups replaced."""
    config = copy.deepcopy(CONFIG)
    for key, value in accurate_or_train.items():
        if key in config["accurate"] or key == "extra_systems":
            config["accurate"][key] = value
        else:
            config["train"][key] = value
    return config


NEW_GROUPS = {  # the groups of issue 20, appended to the first version (docs/embedded_data.md)
    "helices": {
        "temperature_K": 350,
        "frames": 256,
        "systems": ["ace_ala5_nme_helix", "ace_ala6_nme_helix"],
    },
    "water_bulk": {"temperature_K": 300, "frames": 160, "systems": ["water16", "water20"]},
    "solvated": {"temperature_K": 300, "frames": 192, "systems": ["ace_ala_nme_water10"]},
}
NEW_EXTRA = {"nma": 22, "ace_ala_nme": 20, "water4": 16, "water5": 16, "water6": 16}


def test_new_groups_are_appended_after_the_existing_ones():
    """Structure ids run over the systems in config order: the groups of issue 20 come
    after those of the first version, so every id of the earlier systems is kept."""
    assert {g: CONFIG["train"][g] for g in NEW_GROUPS} == NEW_GROUPS
    assert CONFIG["accurate"]["extra_systems"] == NEW_EXTRA
    first = copy.deepcopy(CONFIG)
    for group in NEW_GROUPS:
        del first["train"][group]
    del first["accurate"]["extra_systems"]
    before = [n for n, s in embedded_ani.catalogue(first).items() if s["role"] == "train"]
    train = [n for n, s in embedded_ani.catalogue(CONFIG).items() if s["role"] == "train"]
    assert train[: len(before)] == before
    assert train[len(before) :] == [n for g in NEW_GROUPS.values() for n in g["systems"]]
    assert set(embedded_ani.extra_accurate_systems(CONFIG)) == set(NEW_EXTRA)
    assert CONFIG["accurate"]["max_atoms"] == 9  # the labels of the small systems unchanged


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"helices": {"temperature_K": 350, "frames": 2, "systems": ["ace_ala7_helix"]}},
            r"embedded_ani\.train\.helices\.systems: unknown system 'ace_ala7_helix'",
        ),
        (
            {"extra_systems": {"aspirin": 4}},
            r"embedded_ani\.accurate\.extra_systems: 'aspirin' is not a train system "
            r"\(in heldout\.drugs\)",
        ),
        (
            {"extra_systems": {"benzene": 4}},
            r"embedded_ani\.accurate\.extra_systems: 'benzene' is not a train system "
            r"\(unknown\)",
        ),
        (
            {"extra_systems": {"nma": 1000}},
            r"embedded_ani\.accurate\.extra_systems\.nma: 1000 accurate frames of 384 sampled",
        ),
    ],
)
def test_config_errors_name_the_key(change, message):
    with pytest.raises(ValueError, match=message):
        embedded_ani.catalogue(_with(**change))


def test_the_design_reports_embedded_ani_errors_by_key():
    """The pipeline's config check (schema, then gmnn.workflow.Design) names the key."""
    from gmnn.workflow import ConfigError, Design
    from gmnn.workflow.schema import validate_config as validate

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["embedded_ani"]["accurate"]["extra_systems"] = {"water7": 8}
    validate(config, str(REPO / "rules" / "schemas" / "config.schema.yaml"))
    with pytest.raises(ConfigError, match=r"embedded_ani\.accurate\.extra_systems: 'water7'"):
        Design.from_config(config)
    config["embedded_ani"]["accurate"]["extra_systems"] = {"water4": 0}
    with pytest.raises(Exception, match="extra_systems"):
        validate(config, str(REPO / "rules" / "schemas" / "config.schema.yaml"))


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


def _central_water_shell(atoms) -> int:
    """Water O atoms within 5 Å of the O of the water nearest the centroid of the O atoms."""
    oxygens = atoms.positions[atoms.numbers == 8]
    centre = np.argmin(np.linalg.norm(oxygens - oxygens.mean(axis=0), axis=1))
    return int((np.linalg.norm(oxygens - oxygens[centre], axis=1) < 5.0).sum() - 1)


@pytest.mark.parametrize(("name", "shell"), [("water16", 12), ("water20", 14)])
def test_bulk_like_water_clusters_are_compact(name, shell):
    """A 5 Å sphere in liquid water holds about 17 waters: the central water of the built
    clusters has at least 12 (water16) or 14 (water20) O within 5 Å (measured 13 and 15
    built; see docs/embedded_data.md for the relaxed clusters), and no two atoms of
    different waters closer than 1.5 Å."""
    atoms = systems.build_system(name)
    n = int(name.removeprefix("water"))
    assert atoms.get_chemical_formula() == f"H{2 * n}O{n}"
    assert _central_water_shell(atoms) >= shell
    d = atoms.get_all_distances()
    molecule = np.arange(len(atoms)) // 3
    assert d[molecule[:, None] != molecule[None, :]].min() > 1.5
    # compact: every O within 8 Å of the centroid (a sphere of n waters at 1 g/cm3 has
    # a radius of about 5 Å)
    oxygens = atoms.positions[atoms.numbers == 8]
    assert np.linalg.norm(oxygens - oxygens.mean(axis=0), axis=1).max() < 8.0


def test_solvated_dipeptide_has_water_on_its_amide_groups():
    pytest.importorskip("rdkit")
    atoms = systems.build_system("ace_ala_nme_water10")
    assert atoms.get_chemical_formula() == "C6H32N2O12"  # Ace-Ala-NMe + 10 H2O
    peptide, water = np.arange(22), np.arange(22, len(atoms))
    assert atoms[peptide].get_chemical_formula() == "C6H12N2O2"
    d = atoms.get_all_distances()
    assert d[np.ix_(peptide, water)].min() > 1.5  # no clash with the peptide
    polar = peptide[np.isin(atoms.numbers[peptide], (7, 8))]  # amide N and carbonyl O
    water_o = water[atoms.numbers[water] == 8]
    near = d[np.ix_(water_o, polar)].min(axis=1)
    assert (near < 3.5).sum() >= 5  # most waters on the amide groups


def test_helices_are_systems():
    pytest.importorskip("rdkit")
    for name, formula in [
        ("ace_ala5_nme_helix", "C18H32N6O6"),
        ("ace_ala6_nme_helix", "C21H37N7O7"),
    ]:
        atoms = systems.build_system(name)
        assert atoms.get_chemical_formula() == formula
        assert atoms.info["name"] == name
    systems.check_system_name("ace_ala5_nme_helix")
    with pytest.raises(ValueError, match="unknown system 'ace_ala10_nme_helix'"):
        systems.check_system_name("ace_ala10_nme_helix")  # Ala10 stays out of the data


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
    labels = embedded_ani.label_accurate("H2O", sample, config, n_threads=1)
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


def test_extra_systems_are_labelled_whatever_their_size(monkeypatch):
    """An accurate.extra_systems entry above max_atoms gets its own number of frames."""
    calls = []

    def fake_label_pyscf(atoms_list, method, basis, **kwargs):
        calls.append([a.info["frame"] for a in atoms_list])
        n = len(atoms_list)
        return np.arange(n, dtype=float), None, {"wall_s": [1.0] * n, "failures": []}

    monkeypatch.setattr(embedded_ani.qc, "label_pyscf", fake_label_pyscf)
    sample = _fake_sample("C6H6", 8, np.random.default_rng(1))
    config = {
        "accurate": {
            "method": "wB97X",
            "basis": "6-31G*",
            "max_atoms": 9,
            "frames": 2,
            "extra_systems": {"C6H6": 4},
        }
    }
    labels = embedded_ani.label_accurate("C6H6", sample, config)
    assert labels["frames"].tolist() == [1, 3, 5, 7] == calls[0]
    assert "skipped" not in labels["info"]
    assert embedded_ani.label_accurate("benzene", sample, config)["frames"].size == 0
    config["train"] = {"a": {"temperature_K": 300, "frames": 8, "systems": ["H2O", "C6H6"]}}
    config["heldout"] = {}
    assert embedded_ani.accurate_systems(config) == ["H2O", "C6H6"]


def _regenerated() -> bool:
    path = EMBEDDED / "ani_xtb.h5"
    return path.exists() and "ace_ala5_nme_helix" in read_h5(path).group_names


@pytest.mark.skipif(
    not _regenerated(),
    reason="data/embedded/ani_xtb.h5 predates the issue-20 systems (regenerate: "
    "docs/embedded_data.md)",
)
def test_committed_data_follow_the_config():
    """The committed files hold every system of the config, in config order, with its
    frames (ids 0, 1, ... over the systems), the wB97X-role subset the small systems and
    accurate.extra_systems, and the helix frames: most keep a helical hydrogen bond, some
    have lost them all."""
    from gmnn.refdata.peptide import (
        build_capped_ala_helix,
        helical_hbond_fraction,
        helix_hbond_pairs,
    )

    cat = embedded_ani.catalogue(CONFIG)
    train_names = [n for n, s in cat.items() if s["role"] == "train"]
    train = read_h5(EMBEDDED / "ani_xtb.h5")
    assert list(train.group_names) == train_names
    counts = np.bincount(train.groups, minlength=len(train_names))
    assert counts.tolist() == [cat[n]["frames"] for n in train_names]
    np.testing.assert_array_equal(train.ids, np.arange(len(train)))
    accurate = read_h5(EMBEDDED / "ani_wb97x.h5")
    extra = embedded_ani.extra_accurate_systems(CONFIG)
    size = {n: int(train.n_atoms[train.groups == g][0]) for g, n in enumerate(train_names)}
    expected = [n for n in train_names if n in extra or size[n] <= CONFIG["accurate"]["max_atoms"]]
    assert list(accurate.group_names) == expected
    for g, name in enumerate(expected):
        wanted = extra.get(name, CONFIG["accurate"]["frames"])
        assert wanted - 2 <= (accurate.groups == g).sum() <= wanted  # a failed SCF is dropped
    # helical and partly unfolded backbones: measured at 350 K, 0.47 (Ala5, unfolds after
    # about 1.5 ps) and 0.90 (Ala6) of the frames keep an i -> i+4 H-bond below 2.5 Å
    fractions = {}
    for name in ("ace_ala5_nme_helix", "ace_ala6_nme_helix"):
        rows = np.flatnonzero(train.groups == train_names.index(name))
        positions = np.stack([train.atoms(int(i)).positions for i in rows])
        pairs = helix_hbond_pairs(build_capped_ala_helix(systems.HELICES[name]))
        fractions[name] = helical_hbond_fraction(positions, pairs)
        assert 0.25 <= fractions[name] < 1.0, (name, fractions[name])
    assert np.mean(list(fractions.values())) >= 0.6, fractions


def test_systems_above_max_atoms_get_no_accurate_labels():
    """Such systems get an empty label file (so the rules need not build systems)."""
    sample = _fake_sample("C6H6", 4, np.random.default_rng(1))
    config = {"accurate": {"method": "wB97X", "basis": "6-31G*", "max_atoms": 9, "frames": 2}}
    labels = embedded_ani.label_accurate("C6H6", sample, config)
    assert labels["frames"].size == 0 and labels["energy"].size == 0
    assert "max_atoms" in labels["info"]["skipped"]
