"""Degenerate numbers (issue 9, class 4): out-of-range settings, empty training,
validation or evaluation sets, non-finite predictions and degenerate data files are
errors naming the key, value, file or structure, in the library and the CLI (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import emt_structures

from gmnn.analysis import error_metrics
from gmnn.cli import main
from gmnn.data import Split, save_split, write_h5
from gmnn.io import save_model
from gmnn.settings import SettingsError
from gmnn.train import TrainConfig, Trainer, fit
from gmnn.train.api import build_model

SMALL = {"hidden": (16,), "n_radial": 2, "n_basis": 3}
QUICK = TrainConfig(epochs=1, batch_size=8, progress=False)


@pytest.fixture(scope="module")
def data():
    return emt_structures("CH3CH2OH", n=12, seed=3)


@pytest.fixture(scope="module")
def files(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("degenerate")
    model = build_model(data[:8], data[8:], SMALL)
    return {
        "root": root,
        "data": write_h5(data, root / "ethanol.h5"),
        "model": save_model(model, root / "model"),
    }


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.err + out.out


# ------------------------------------------------------------------ typed settings


@pytest.mark.parametrize(
    ("section", "values", "named"),
    [
        ("model", {"cutoff": -4.0}, "model.cutoff: must be > 0.0, got -4.0"),
        ("model", {"cutoff": 0.0}, "model.cutoff: must be > 0.0, got 0.0"),
        ("model", {"n_basis": 0}, "model.n_basis: must be >= 1, got 0"),
        ("model", {"n_radial": 0}, "model.n_radial: must be >= 1, got 0"),
        ("model", {"hidden": [512, 0]}, "model.hidden: must be >= 1, got 0"),
        ("model", {"r_min": 4.0}, "model.r_min: must be below the cutoff 4.0"),
        ("training", {"energy_weight": -1.0}, "training.energy_weight: must be >= 0.0"),
        ("training", {"force_weight": -0.5}, "training.force_weight: must be >= 0.0"),
        ("training", {"batch_size": 0}, "training.batch_size: must be >= 1, got 0"),
        ("training", {"learning_rates": {"nn": -1e-3}}, "training.learning_rates.nn: must"),
        ("md", {"steps": -10}, "md.dynamics.steps: must be >= 1, got -10"),
        ("md", {"timestep_fs": 0.0}, "md.dynamics.timestep_fs: must be > 0.0, got 0.0"),
        ("md", {"temperature_K": -300.0}, "md.dynamics.temperature_K: must be > 0.0"),
        ("spectra", {"max_lag_ps": 0.0}, "spectra.max_lag_ps: must be > 0.0, got 0.0"),
    ],
)
def test_out_of_range_settings_name_key_and_value(section, values, named):
    from gmnn.analysis.spectra import SpectraConfig
    from gmnn.md import MDConfig
    from gmnn.model.config import ModelConfig

    cls = {"model": ModelConfig, "training": TrainConfig, "md": MDConfig}.get(
        section, SpectraConfig
    )
    if section == "md":
        values = {"steps": 10, "temperature_K": 300.0, **values}
    with pytest.raises(SettingsError) as err:
        cls.from_dict(values)
    assert str(err.value).startswith(named)


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--steps", "-10"], "--steps: must be >= 1, got -10"),
        (["--steps", "10", "--timestep-fs", "0"], "--timestep-fs: must be > 0.0, got 0.0"),
        (["--steps", "10", "--temperature-K", "-300"], "--temperature-K: must be > 0.0, got -300"),
    ],
)
def test_md_cli_refuses_degenerate_numbers(capsys, tmp_path, option, named):
    code, text = cli(capsys, "md", "--model", tmp_path, "--structure", tmp_path / "x", *option)
    assert code == 2 and named in text


# ------------------------------------------------------------------ empty sets


def test_fit_refuses_empty_training_and_validation_sets(tmp_path, data):
    with pytest.raises(ValueError, match=r"the training set is empty \(n_train=0\)"):
        fit(data[:0], data[8:], tmp_path / "a", QUICK, model_config=SMALL)
    with pytest.raises(ValueError, match=r"the validation set is empty \(n_valid=0\)") as err:
        fit(data[:8], data[:0], tmp_path / "b", QUICK, model_config=SMALL)
    assert "emt:CH3CH2OH" in str(err.value)  # the data's source
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_trainer_refuses_an_empty_training_set(tmp_path, data):
    model = build_model(data[:8], data[8:], SMALL)
    with pytest.raises(ValueError, match=r"the training set is empty \(n_train=0\)"):
        Trainer(model, data[:0], data[8:], QUICK, tmp_path)


def test_cli_train_with_n_train_0_is_an_error_naming_it(capsys, files):
    out = files["root"] / "n0"
    code, text = cli(
        capsys, "train", "--data", files["data"], "--n-train", 0, "--n-valid", 4, "--out", out
    )
    assert code == 2 and "n_train=0" in text and "Traceback" not in text
    assert not (out / "model").exists()


def test_cli_train_with_an_empty_validation_split_names_it(capsys, files):
    split = files["root"] / "novalid.json"
    save_split(Split(np.arange(8), np.zeros(0, int), np.arange(8, 12), seed=0, n_total=12), split)
    out = files["root"] / "novalid"
    code, text = cli(capsys, "train", "--data", files["data"], "--split", split, "--out", out)
    assert code == 2 and "n_valid=0" in text
    assert not (out / "model").exists()


def test_error_metrics_refuses_zero_structures(files, data):
    from gmnn.io import load_model

    with pytest.raises(ValueError, match=r"emt:CH3CH2OH: no structures to evaluate on"):
        error_metrics(load_model(files["model"]), data[:0])


def test_cli_evaluate_on_an_empty_subset_exits_2(capsys, files):
    split = files["root"] / "notest.json"
    save_split(Split(np.arange(8), np.arange(8, 12), np.zeros(0, int), seed=0, n_total=12), split)
    code, text = cli(
        capsys, "evaluate", "--model", files["model"], "--data", files["data"], "--split", split
    )
    assert code == 2 and "no structures to evaluate on" in text
    assert "emt:CH3CH2OH" in text  # the data's source (meta["source"] of the file)


def test_non_finite_predictions_are_an_error_naming_the_structure(files, data):
    from gmnn.io import load_model

    model = load_model(files["model"])
    model.energy_scale.assign(np.nan)
    with pytest.raises(ValueError, match=r"non-finite energy or force for structure 0 \(12 of"):
        error_metrics(model, data)


# ------------------------------------------------------------------ degenerate data files


def degenerate_file(root, name, change):
    s = emt_structures("CH3CH2OH", n=12, seed=3)
    positions, energy = s.positions.copy(), s.energy.copy()
    if change == "coincident":
        positions[9 * 5 + 1] = positions[9 * 5]  # structure 5, atoms 0 and 1
    else:
        energy[7] = 1e12
    path = root / name
    np.savez(
        path,
        R=positions.reshape(12, 9, 3),
        z=s.numbers[:9],
        E=energy / 0.0433641,  # kcal/mol
        F=s.forces.reshape(12, 9, 3) / 0.0433641,
    )
    return path


def test_cli_evaluate_on_coincident_atoms_names_file_and_structure(capsys, files):
    path = degenerate_file(files["root"], "coincident.npz", "coincident")
    code, text = cli(capsys, "evaluate", "--model", files["model"], "--data", path)
    assert code == 2 and str(path) in text
    assert "atoms too close in structure 5: atom 0 (Z=6) and atom 1 (Z=6)" in text


def test_cli_train_on_an_absurd_energy_names_file_and_structure(capsys, files):
    path = degenerate_file(files["root"], "absurd.npz", "energy")
    out = files["root"] / "absurd"
    code, text = cli(capsys, "train", "--data", path, "--n-train", 6, "--n-valid", 4, "--out", out)
    assert code == 2 and str(path) in text and "absurd energy" in text
    assert "in structure 7" in text and not out.exists()
