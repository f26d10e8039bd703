"""Exported ensembles (gmnn.export): members copied with checksums, a model card from the
members' provenance and the given test errors, checks that name the member at fault, and
the pipeline's job script (workflow_scripts/export_models.py)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from _synthetic import emt_structures
from test_workflow_boundary import SCRIPTS, run_job

from gmnn.analysis import predict
from gmnn.export import (
    error_rows,
    export_ensemble,
    load_ensemble,
    member_dirs,
    model_paths,
    read_card,
    read_ensemble,
)
from gmnn.fingerprints import file_sha256
from gmnn.io import FileError, check_model_dir, load_model, save_model
from gmnn.settings import SettingsError
from gmnn.train import TrainConfig, fit

TINY = {"hidden": (8,), "n_radial": 2, "cutoff": 5.0}
N_TRAIN = 10

CARD = {
    "name": "GM-NN tiny test ensemble",
    "description": "Two tiny models for the tests.",
    "pretraining": {"data": "EMT ethanol", "level_of_theory": "EMT", "labels": "EF"},
    "n_train": N_TRAIN,
    "seeds": [0, 1],
}

ERRORS = pd.DataFrame(
    [
        # subset, n_train, quantity, metric, mean, sem
        ("S66x8", N_TRAIN, "energy", "MAE", 2.95, 0.04),
        ("S66x8", N_TRAIN, "force", "RMSE", 1.67, 0.02),
        ("COMP6", N_TRAIN, "energy", "RMSE", 3.02, 0.05),
        ("COMP6", 4194304, "energy", "RMSE", 2.79, 0.03),
    ],
    columns=["subset", "n_train", "quantity", "metric", "mean", "sem"],
)


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Two tiny trained models (seeds 0 and 1) with the provenance fit writes."""
    root = tmp_path_factory.mktemp("members")
    data = emt_structures("CH3OH", n=14, seed=3)
    out = []
    for seed in (0, 1):
        cfg = TrainConfig(epochs=1, batch_size=5, seed=seed, progress=False)
        fit(data[:N_TRAIN], data[N_TRAIN:], root / f"seed{seed}", cfg, model_config=TINY)
        out.append(root / f"seed{seed}" / "model")
    return out


@pytest.fixture(scope="module")
def exported(members, tmp_path_factory):
    return export_ensemble(members, tmp_path_factory.mktemp("exp") / "tiny", CARD, ERRORS)


def test_round_trip_gives_the_members_predictions(members, exported):
    data = emt_structures("CH3OH", n=3, seed=8)
    loaded = load_ensemble(exported)
    assert len(loaded) == 2
    for source, model in zip(members, loaded, strict=True):
        want, got = predict(load_model(source), data), predict(model, data)
        np.testing.assert_array_equal(got["energy"], want["energy"])
        np.testing.assert_array_equal(got["forces"], want["forces"])
    meta = read_ensemble(exported)
    assert meta["format"] == "gmnn-ensemble" and meta["cutoff"] == 5.0
    assert meta["species"] == [1, 6, 8] and meta["dtype"] == "float32"
    assert meta["architecture"]["hidden"] == [8]
    assert [m["seed"] for m in meta["members"]] == [0, 1]
    for m, source in zip(meta["members"], members, strict=True):
        assert m["weights_sha256"] == file_sha256(source / "weights.npz")
        assert m["n_train"] == N_TRAIN
    assert member_dirs(exported) == [exported / "member0", exported / "member1"]
    assert model_paths([exported, members[0]]) == [*member_dirs(exported), members[0]]


def test_card_lists_data_seeds_sizes_settings_and_errors(exported):
    card = read_card(exported)
    assert card["name"] == CARD["name"]
    assert card["seeds"] == [0, 1] and card["n_train"] == N_TRAIN and card["n_valid"] == [4, 4]
    assert card["data"]["pretraining"] == {
        "data": "EMT ethanol",
        "level_of_theory": "EMT",
        "labels": "EF",
        "n_train": N_TRAIN,  # filled from the members' provenance
    }
    assert card["model"]["elements"] == ["H", "C", "O"] and card["model"]["cutoff_angstrom"] == 5.0
    # the members' settings, the seed (which differs) left out
    settings = card["training_settings"]
    assert settings["training"]["epochs"] == 1 and "seed" not in settings["training"]
    assert settings["learning_rates"]["dense_0"] == 0.03
    # only the rows of the members' training set size, with their units
    assert [(e["subset"], e["metric"], e["mean"], e["unit"]) for e in card["errors"]] == [
        ("S66x8", "MAE", 2.95, "kcal/mol"),
        ("S66x8", "RMSE", 1.67, "kcal/mol/Å"),
        ("COMP6", "RMSE", 3.02, "kcal/mol"),
    ]
    text = (exported / "MODEL_CARD.md").read_text(encoding="utf-8")
    for part in (
        "# GM-NN tiny test ensemble",
        "Cutoff: 5 Å",
        "Elements: H, C, O",
        "training seeds 0, 1",
        "| pretraining | EMT ethanol | EMT | energies and forces | 10 |",
        "| S66x8 | force | RMSE | 1.670 | 0.020 | kcal/mol/Å |",
        "10.1039/D2CP05793J",
        "gmnn finetune --pretrained tiny",
    ):
        assert part in text, part
    assert "2.790" not in text  # the row of another training set size


def test_member_with_another_cutoff_is_rejected_by_name(members, tmp_path):
    from gmnn.model import GMNN

    other = tmp_path / "cutoff4"
    save_model(GMNN([1, 6, 8], {**TINY, "cutoff": 4.0}, seed=5), other)
    with pytest.raises(ValueError, match=rf"{other}: member 2 has cutoff = 4.0.*member 0"):
        export_ensemble([*members, other], tmp_path / "out", CARD)
    assert not (tmp_path / "out").exists()


def test_a_member_that_is_not_a_model_is_named(members, tmp_path):
    empty = tmp_path / "not_a_model"
    empty.mkdir()
    with pytest.raises(FileError, match=rf"{empty}: member 1 of the ensemble is not a load"):
        export_ensemble([members[0], empty], tmp_path / "out", CARD)
    with pytest.raises(ValueError, match="member 1 has the same weights as member 0"):
        export_ensemble([members[0], members[0]], tmp_path / "out", CARD)


def test_card_must_agree_with_the_members(members, tmp_path):
    with pytest.raises(SettingsError, match=r"card.seeds: \[0, 2\] in the card.*\[0, 1\]"):
        export_ensemble(members, tmp_path / "out", {**CARD, "seeds": [0, 2]})
    with pytest.raises(SettingsError, match="card.n_train: 512 in the card"):
        export_ensemble(members, tmp_path / "out", {**CARD, "n_train": 512})
    bad = {**CARD, "pretraining": {"data": "ANI-1x"}}
    with pytest.raises(SettingsError, match="card.pretraining.level_of_theory: is required"):
        export_ensemble(members, tmp_path / "out", bad)
    with pytest.raises(ValueError, match=r"no rows with n_train = 10 .*\[4194304\]"):
        export_ensemble(members, tmp_path / "out", CARD, ERRORS[ERRORS.n_train > N_TRAIN])
    assert not (tmp_path / "out").exists()


def test_a_failed_export_leaves_the_old_one(members, exported, tmp_path):
    out = shutil.copytree(exported, tmp_path / "tiny")
    before = (out / "ensemble.json").read_text()
    with pytest.raises(ValueError):
        export_ensemble([members[0], members[0]], out, CARD)
    assert (out / "ensemble.json").read_text() == before


def test_an_ensemble_is_not_taken_for_one_model_and_changes_are_found(exported, tmp_path):
    with pytest.raises(FileError, match="an exported ensemble.*member0"):
        check_model_dir(exported)
    with pytest.raises(FileError, match="single model directory, not an exported ensemble"):
        read_ensemble(exported / "member0")
    ens = shutil.copytree(exported, tmp_path / "ens")
    weights = dict(np.load(ens / "member1" / "weights.npz"))
    weights["shift"] = weights["shift"] + 1.0
    np.savez(ens / "member1" / "weights.npz", **weights)
    with pytest.raises(FileError, match=r"member1/weights.npz: changed or damaged since export"):
        load_ensemble(ens)


def test_error_rows_read_a_table_file(tmp_path):
    path = tmp_path / "table1.csv"
    path.write_text("# Table 1\n" + ERRORS.assign(n_seeds=5).to_csv(index=False))
    rows = error_rows(path, n_train=4194304)
    assert rows == [
        {
            "subset": "COMP6",
            "quantity": "energy",
            "metric": "RMSE",
            "mean": 2.79,
            "sem": 0.03,
            "unit": "kcal/mol",
            "n_seeds": 5,
        }
    ]
    path.write_text(ERRORS.drop(columns="sem").to_csv(index=False))
    with pytest.raises(ValueError, match=rf"{path}: missing column\(s\) \['sem'\]"):
        error_rows(path)
    with pytest.raises(ValueError, match="quantity 'dipole' is neither"):
        error_rows(ERRORS.assign(quantity="dipole"))


def test_export_job_script(members, tmp_path):
    errors = tmp_path / "table1.csv"
    errors.write_text("# Table 1\n" + ERRORS.to_csv(index=False))
    out = tmp_path / "exported"
    inputs = {"models": [str(m / "model.json") for m in members], "errors": str(errors)}
    done, log = run_job(
        SCRIPTS / "export_models.py",
        "export_models",
        tmp_path,
        inputs,
        outputs={"ensemble": str(out)},
        params={"card": CARD},
    )
    assert done.returncode == 0, done.stderr + (log.read_text() if log.exists() else "")
    assert len(load_ensemble(out)) == 2
    assert [e["subset"] for e in json.loads((out / "card.json").read_text())["errors"]] == [
        "S66x8",
        "S66x8",
        "COMP6",
    ]
    # a bad card: one line naming the key, exit 1
    done, log = run_job(
        SCRIPTS / "export_models.py",
        "export_models",
        tmp_path,
        inputs,
        outputs={"ensemble": str(tmp_path / "bad")},
        params={"card": {**CARD, "seeds": [3, 4]}},
    )
    assert done.returncode == 1 and "rule export_models: error: card.seeds" in done.stderr
