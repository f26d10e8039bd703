"""The ``molecules:`` section (issue 23): typed specs (gmnn.refdata.molecules), the design's
checks (gmnn.workflow.molecules) naming the molecule and the key, and the embedded
methanol as one instance of the same spec. No quantum chemistry runs here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _configs import pipeline_config

from gmnn import units
from gmnn.refdata import molecules, qc
from gmnn.workflow import ConfigError, Design
from gmnn.workflow.molecules import MoleculesDesign
from gmnn.workflow.schema import ConfigSchemaError

GOOD = {
    "ase_molecule": "H2O",
    "sampling": {"temperature_K": 300},
    "pretraining": {"method": "HF", "basis": "sto-3g", "n_structures": 10},
    "accurate": {"method": "MP2", "basis": "sto-3g", "n_structures": 12, "forces": False},
    "train_sizes": [2, 4],
    "seeds": [0],
    "n_valid": 2,
    "n_test": 2,
}

WATER_XYZ = "3\nwater\nO 0 0 0\nH 0 0.76 0.58\nH 0 -0.76 0.58\n"


def entry(**changes):
    out = {**GOOD, **changes}
    return {k: v for k, v in out.items() if v is not None}


def design_error(tmp_path, **molecules_section) -> str:
    with pytest.raises(ConfigError) as err:
        Design.from_config(pipeline_config({"molecules": molecules_section}))
    return str(err.value)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------------ good entries


def test_a_good_entry_is_typed(tmp_path):
    structure = write(tmp_path, "w.xyz", WATER_XYZ)
    labels = write(tmp_path, "labels.extxyz", WATER_XYZ)
    config = pipeline_config(
        {
            "molecules": {
                "water": GOOD,
                "water_file": entry(
                    ase_molecule=None,
                    structure=structure,
                    charge=0,
                    accurate={"labels_file": labels, "energy_unit": "Hartree", "forces": False},
                ),
            }
        }
    )
    design = Design.from_config(config)
    study = design.molecules.studies["water"]
    assert study.train_sizes == (2, 4) and study.seeds == (0,)
    assert study.spec.n_frames == 22 and list(study.spec.levels) == ["pretraining", "accurate"]
    assert study.spec.sampling.n_equil == 2000 and study.spec.sampling.relax  # defaults
    assert design.molecules.data_targets() == [
        "data/molecules/water/pretraining.h5",
        "data/molecules/water/accurate.h5",
        "data/molecules/water_file/pretraining.h5",
        "data/molecules/water_file/accurate.h5",
    ]
    imported = design.molecules.studies["water_file"].spec
    assert imported.n_frames == 10 and list(imported.computed_levels) == ["pretraining"]
    # plain data for Snakemake params, and back
    assert molecules.MoleculeSpec.from_dict(json.loads(json.dumps(study.spec.to_dict()))) == (
        study.spec
    )


def test_embedded_methanol_is_one_molecule_spec():
    config = pipeline_config()
    spec = MoleculesDesign.from_config(config).embedded
    section = config["embedded_data"]
    assert spec.name == spec.ase_molecule == section["molecule"]
    assert list(spec.levels) == ["dft", "cc"] and not spec.sampling.relax
    assert spec.n_frames == section["dft"]["n_structures"] + section["cc"]["n_structures"]
    assert spec.levels["cc"].frozen_core and spec.levels["cc"].forces
    assert spec.chunk_size == section["chunk_size"]
    # the record's frame selection and sampling settings are those of the committed files
    split = qc.split_frames(section["dft"]["n_structures"], section["cc"]["n_structures"])
    indices = molecules.frame_indices(spec)
    assert all(np.array_equal(indices[k], split[k]) for k in ("dft", "cc"))
    assert molecules.frame_selection(["dft", "cc"], ["DFT", "CC"]) == qc.FRAME_SELECTION
    assert spec.sampling.record() == section["sampling"]
    assert spec.problems() == []


def test_several_temperatures_share_the_frames():
    sampling = molecules.Sampling(temperature_K=(300, 500, 700))
    assert sampling.frames_per_temperature(10) == [4, 3, 3]
    assert sampling.record()["temperature_K"] == [300, 500, 700]


def test_force_units():
    assert units.force_unit_in_ev_per_angstrom("Hartree/Bohr") == pytest.approx(51.42208619)
    assert units.force_unit_in_ev_per_angstrom("kcal/mol/A") == pytest.approx(units.KCAL_MOL)
    with pytest.raises(KeyError, match="unknown force unit 'eV'"):
        units.force_unit_in_ev_per_angstrom("eV")


# ------------------------------------------------------------------ bad entries: one line
# naming molecules.<name>.<key> each

BAD_XYZ = "3\nwater\nO 0 0 0\nH 0 0.76 0.58\nXq 0 -0.76 0.58\n"
TRUNCATED_XYZ = "3\n\nO 0 0 0\nH 0 0.76 0.58\n"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (  # unknown element in SMILES
            {"ase_molecule": None, "smiles": "[Xx]O"},
            "molecules.m.smiles: unknown element 'Xx' in SMILES '[Xx]O'",
        ),
        (  # a SMILES RDKit cannot parse
            {"ase_molecule": None, "smiles": "C1CC"},
            "molecules.m.smiles: RDKit cannot parse SMILES 'C1CC'",
        ),
        (  # odd electron count with spin 0 (a methyl radical)
            {"ase_molecule": None, "smiles": "[CH3]"},
            "molecules.m.spin: 0: CH3 with charge 0 has 9 electrons, an odd number",
        ),
        (  # an even count with spin 1
            {"spin": 1},
            "molecules.m.spin: 1: H2O with charge 0 has 10 electrons, an even number",
        ),
        (  # open shell with PySCF labels
            {"charge": 1, "spin": 1},
            "molecules.m.pretraining.spin: 1: PySCF labels here are restricted closed-shell",
        ),
        ({"ase_molecule": "unobtainium"}, "molecules.m.ase_molecule: unknown molecule"),
        (
            {"smiles": "O"},
            "molecules.m.smiles: give exactly one of ase_molecule, smiles and structure",
        ),
        (
            {"pretrained": "models/export/ani1x_pretrained"},
            "molecules.m.pretraining: give exactly one of pretraining (a level) and pretrained",
        ),
        (
            {"accurate": {"method": "MP2", "basis": "sto-3g"}},
            "molecules.m.accurate.n_structures: missing: needed to compute labels",
        ),
        (
            {"accurate": {"method": "B3LPY", "basis": "sto-3g", "n_structures": 12}},
            "molecules.m.accurate.method: unknown method 'B3LPY'",
        ),
        (
            {
                "accurate": {
                    "method": "HF",
                    "basis": "sto-3g",
                    "n_structures": 12,
                    "frozen_core": True,
                }
            },
            "molecules.m.accurate.method: frozen_core applies to MP2, CCSD and CCSD(T)",
        ),
        (  # a basis without the element
            {
                "ase_molecule": None,
                "smiles": "[Na+].[Cl-]",
                "accurate": {"method": "HF", "basis": "foo-bar", "n_structures": 12},
            },
            "molecules.m.accurate.basis: foo-bar: PySCF has no such basis for element(s) ['Cl', 'Na']",
        ),
        (
            {"train_sizes": [4, 10]},
            "molecules.m.accurate.n_structures: 12: train_sizes up to 10, n_valid=2 and n_test=2 need 14",
        ),
        ({"train_sizes": [4, 2]}, "molecules.m.train_sizes: [4, 2]: list them in increasing order"),
        ({"sampling": None}, "molecules.m.sampling: missing: computed labels need sampled frames"),
        # the comparison (rules/molecules.smk)
        ({"settings": ["finetune_xx_E"]}, "molecules.m.settings: unknown setting 'finetune_xx_E'"),
        ({"settings": ["pretrain"]}, "molecules.m.settings: pretrain: the pre-training runs"),
        (
            {"settings": ["scratch_E", "finetune_lp_EF"]},
            "molecules.m.settings: finetune_lp_EF needs accurate forces, but accurate.forces is false",
        ),
        (
            {"training": {"epoch": 2}},
            "molecules.m.training.epoch: unknown setting(s) training.epoch",
        ),
        ({"model": {"hidden": [0]}}, "molecules.m.model.hidden: "),
        ({"planner": {"metric": "force_mae"}}, "molecules.m.planner.metric: force errors need"),
        (
            {"md": {"dynamics": {"timestep_fs": -1}}},
            "molecules.m.md.dynamics.timestep_fs: must be > 0",
        ),
        (
            {"n_valid": 2, "pretraining": {"method": "HF", "basis": "sto-3g", "n_structures": 2}},
            "molecules.m.pretraining.n_structures: 2: pre-training needs more than n_valid=2",
        ),
    ],
)
def test_bad_entry_names_molecule_and_key(tmp_path, changes, expected):
    message = design_error(tmp_path, m=entry(**changes))
    assert expected in message, message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        (BAD_XYZ, ".xyz", "cannot read as extxyz: unknown element 'Xq'"),
        (TRUNCATED_XYZ, ".xyz", "cannot read as extxyz: ase.io.extxyz: Frame has 2 atoms"),
        ("ATOM      1  O   HOH A   1    garbage\n", ".pdb", "cannot read as proteindatabank"),
        (WATER_XYZ, ".mol2", "unknown structure format; use one of"),
        ("", ".xyz", "cannot read as extxyz"),
    ],
)
def test_structure_file_that_does_not_parse(tmp_path, text, suffix, expected):
    path = write(tmp_path, f"m{suffix}", text)
    message = design_error(tmp_path, m=entry(ase_molecule=None, structure=path))
    assert f"molecules.m.structure: {path}: {expected}" in message, message


def test_missing_structure_file(tmp_path):
    path = str(tmp_path / "absent.xyz")
    message = design_error(tmp_path, m=entry(ase_molecule=None, structure=path))
    assert f"molecules.m.structure: {path}: no such file" in message


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ({}, "molecules.m.accurate.energy_unit: missing: the unit of the energies in"),
        (
            {"energy_unit": "Hartree"},
            "molecules.m.accurate.force_unit: missing: the unit of the forces",
        ),
        (
            {"energy_unit": "Rydberg", "forces": False},
            "molecules.m.accurate.energy_unit: unknown energy unit 'Rydberg'",
        ),
        (
            {"energy_unit": "eV", "force_unit": "eV"},
            "molecules.m.accurate.force_unit: unknown force unit 'eV'",
        ),
        (
            {"energy_unit": "eV", "forces": False, "n_structures": 5},
            "molecules.m.accurate.n_structures: not with labels_file",
        ),
    ],
)
def test_labels_file_needs_its_units(tmp_path, level, expected):
    labels = write(tmp_path, "labels.extxyz", WATER_XYZ)
    message = design_error(tmp_path, m=entry(accurate={"labels_file": labels, **level}))
    assert expected in message, message


def test_missing_labels_file(tmp_path):
    absent = str(tmp_path / "absent.extxyz")
    accurate = {"labels_file": absent, "energy_unit": "eV", "forces": False}
    message = design_error(tmp_path, m=entry(accurate=accurate))
    assert f"molecules.m.accurate.labels_file: {absent}: no such file" in message


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"m": entry(charge=0.5)}, "config key molecules.m.charge: 0.5 is not of type 'integer'"),
        (
            {"m": entry(accurate={"labels_file": "x", "energy_units": "eV"})},
            "config key molecules.m.accurate: Additional properties",
        ),
        (
            {"m": entry(sampling={"temperature_K": [300, -1]})},
            "config key molecules.m.sampling.temperature_K[1]",
        ),
        (
            {"m": entry(temperature_K=300)},
            "config key molecules.m: Additional properties are not allowed ('temperature_K'",
        ),
        ({"9bad": GOOD}, "config key molecules: '9bad' does not match"),
        ({"m": entry(md={"production_ps": 0})}, "config key molecules.m.md"),
        ({"m": entry(md={"tempearture_K": 300})}, "config key molecules.m.md"),
    ],
)
def test_schema_names_the_key(bad, expected):
    with pytest.raises(ConfigSchemaError) as err:
        pipeline_config({"molecules": bad})
    assert expected in str(err.value), str(err.value)


def test_comparison_of_a_study_for_the_rules():
    """What rules/molecules.smk asks the design: the settings (E only without accurate
    forces), training and model (the study's over the config's), the splits, the
    pre-trained model of each seed (here, or an exported ensemble's member), the
    records of the pre-trained model used directly and the files of the comparison."""
    config = pipeline_config(
        {
            "training": {"epochs": 100, "batch_size": 32},
            "model": {"hidden": [64, 64]},
            "molecules": {
                "w": entry(training={"epochs": 2}, model={"hidden": [16, 16]}),
                "wf": entry(
                    accurate={"method": "MP2", "basis": "sto-3g", "n_structures": 12},
                    pretraining=None,
                    pretrained="no/such/ensemble",
                    seeds=[3, 5],
                    planner={"target": 0.5},
                ),
            },
        }
    )
    d = Design.from_config(config).molecules
    w, wf = d.study("w"), d.study("wf")
    assert w.comparison_settings == ["scratch_E", "finetune_E", "finetune_nd_E", "finetune_lp_E"]
    assert len(wf.comparison_settings) == 8 and "finetune_lp_EF" in wf.comparison_settings
    assert wf.finetuned_settings == [s for s in wf.comparison_settings if s.startswith("fine")]
    assert d.training_params("w", 1) == {
        "epochs": 2,
        "batch_size": 32,
        "seed": 1,
        "progress": False,
    }
    assert d.model_params("w")["hidden"] == [16, 16]
    assert d.model_params("wf")["hidden"] == [64, 64]  # no ensemble yet: the configured one
    assert w.planner_config == {"metric": "energy_mae", "target": 1.0, "max_extrapolation": 4.0}
    assert wf.planner_config["metric"] == "force_mae" and wf.planner_config["target"] == 0.5
    assert d.split_params("w", "accurate") == {"train_sizes": [2, 4], "n_valid": 2, "n_test": 2}
    assert d.split_params("w", "pretraining")["train_sizes"] is None
    assert d.pretrained_input("w", 0) == [
        "models/molecules/w/pretrain/seed0/model/model.json",
        "models/molecules/w/pretrain/seed0/model/weights.npz",
    ]
    assert d.pretrained_member("w", 0) is None
    assert d.pretrained_input("wf", 5) == ["no/such/ensemble"]
    assert d.pretrained_member("wf", 5) == 1  # the seed's place in seeds
    assert d.direct_evaluation("w", "pretrained", 0) == {
        "n_offset": None,
        "record": {"molecule": "w", "setting": "pretrained", "seed": 0, "test_set": "accurate"},
    }
    offset = d.direct_evaluation("w", "pretrained_offset/n4", 0)
    assert offset["n_offset"] == 4 and offset["record"]["n_train"] == 4
    files = d.metrics_files("w")
    assert len(files) == 4 * 2 + 1 + 2 and len(set(files)) == len(files)
    assert d.export_models("w") == [
        f"models/molecules/w/{s}/n4/seed0/model/model.json" for s in w.finetuned_settings
    ]
    assert d.card_targets() == ["results/molecules/w/card.md", "results/molecules/wf/card.md"]
    # MD: the exported ensemble and the from-scratch settings at the largest count
    assert w.md_runs == ["finetuned", "scratch"] and w.md_settings("scratch") == ["scratch_E"]
    assert d.md_models("w", "finetuned") == ["models/export/molecules/w"]
    assert d.md_models("w", "scratch") == ["models/molecules/w/scratch_E/n4/seed0/model/model.json"]
    assert d.md_files("w", "results/molecules/{name}/md/{run}/summary.json") == [
        "results/molecules/w/md/finetuned/summary.json",
        "results/molecules/w/md/scratch/summary.json",
    ]
    config_, sizes = d.training_job(
        "molecule_train", {"name": "w", "setting": "scratch_E", "n": "4", "seed": "0"}
    )
    assert (config_.loss, config_.epochs, sizes["n_train"], sizes["atoms"]) == ("E", 2, 4, 3)
    assert sizes["n_test"] == 2 and sizes["held"] == 12
    config_, sizes = d.training_job("molecule_pretrain", {"name": "w", "seed": "0"})
    assert config_.loss == "EF" and sizes["n_train"] == 10 - 2 and sizes["n_test"] == 0
    assert d.training_job("train_cc", {}) is None
