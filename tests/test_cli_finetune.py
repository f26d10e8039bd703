"""`gmnn finetune --pretrained <exported ensemble>` on a user's own small extxyz file:
every member (or one) is fine-tuned and exported again with a card recording its parent;
elements the model never saw, too little data and force-less data with an E+F loss are
one-line errors; `gmnn md`/`evaluate`/`info` take the ensemble directory as well."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _synthetic import perturbed
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from gmnn.cli import main
from gmnn.export import export_ensemble, load_ensemble, read_card, read_ensemble

FAST = ["--epochs", "1", "--batch-size", "4", "--no-progress"]


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    """An exported two-member ensemble (H, C, O; cutoff 5 Å) and the user's files."""
    from gmnn.data import Structures
    from gmnn.io import save_model
    from gmnn.model import GMNN

    d = tmp_path_factory.mktemp("ft")
    pre = Structures.from_ase(perturbed("CH3CH2OH", 6, seed=1))
    dirs = []
    for seed in (0, 1):
        model = GMNN([1, 6, 8], {"hidden": (8,), "n_radial": 2, "cutoff": 5.0}, seed=seed)
        model.init_scale_shift(pre)
        prov = {"training": {"seed": seed, "loss": "EF"}, "n_train": 6, "n_valid": 2}
        dirs.append(save_model(model, d / f"pre{seed}", provenance=prov))
    card = {
        "name": "tiny parent",
        "pretraining": {"data": "EMT", "level_of_theory": "EMT", "labels": "EF"},
        "seeds": [0, 1],
    }
    export_ensemble(dirs, d / "parent", card)
    # the user's own molecule: methanol labelled (here) with EMT
    write(d / "mine.extxyz", perturbed("CH3OH", 10, seed=4))
    return d


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_finetune_an_exported_ensemble_on_an_extxyz_file(parent, tmp_path, capsys):
    out = tmp_path / "mine"
    argv = ["finetune", "--pretrained", parent / "parent", "--data", parent / "mine.extxyz"]
    argv += ["--valid-fraction", "0.2", "--level-of-theory", "EMT (test)", "--out", out, *FAST]
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert f"ensemble written to {out / 'ensemble'}" in stdout
    models = load_ensemble(out / "ensemble")
    before = load_ensemble(parent / "parent")
    assert len(models) == 2
    for k, (new, old) in enumerate(zip(models, before, strict=True)):
        # discriminative fine-tuning by default: the descriptor is frozen, the network moved
        w_new, w_old = new.get_weights(), old.get_weights()
        np.testing.assert_array_equal(w_new["descriptor/beta"], w_old["descriptor/beta"])
        assert not np.array_equal(w_new["dense_0/w"], w_old["dense_0/w"])
        assert new.cutoff == 5.0
        assert new.provenance["finetune"]["mode"] == "discriminative"
        assert new.provenance["finetune"]["pretrained"] == str(parent / "parent" / f"member{k}")
        assert new.provenance["pretrained_ensemble"]["member"] == k
    card = read_card(out / "ensemble")
    assert card["seeds"] == [0, 1] and card["n_train"] == 8 and card["n_valid"] == [2, 2]
    assert card["data"]["finetuning"] == {
        "data": str(parent / "mine.extxyz"),
        "level_of_theory": "EMT (test)",
        "n_train": 8,
        "labels": "EF",
    }
    assert card["data"]["pretraining"]["data"] == "EMT"
    assert card["parent"]["name"] == "tiny parent"
    assert card["parent"]["exported_from"] == str(parent / "parent")
    assert card["parent"]["members_used"] == [0, 1]
    text = (out / "ensemble" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Fine-tuned from" in text and "tiny parent" in text
    # the same command again resumes its (finished) runs: the same models
    first = [m["weights_sha256"] for m in read_ensemble(out / "ensemble")["members"]]
    assert run(capsys, *argv)[0] == 0
    again = read_ensemble(out / "ensemble")["members"]
    assert [m["weights_sha256"] for m in again] == first

    # the result runs MD as an ensemble, and evaluates member by member
    write(tmp_path / "start.xyz", perturbed("CH3OH", 1, seed=9)[0])
    md = ["md", "--model", out / "ensemble", "--structure", tmp_path / "start.xyz"]
    md += ["--steps", "4", "--write-interval", "2", "--summary", tmp_path / "md.json"]
    code, _, err = run(capsys, *md)
    assert code == 0, err
    summary = json.loads((tmp_path / "md.json").read_text())
    assert summary["steps_done"] == 4
    code, stdout, err = run(
        capsys, "evaluate", "--model", out / "ensemble", "--data", parent / "mine.extxyz"
    )
    assert code == 0, err
    assert sorted(json.loads(stdout)) == [str(out / "ensemble" / f"member{k}") for k in (0, 1)]
    code, stdout, _ = run(capsys, "info", out / "ensemble")
    assert code == 0 and json.loads(stdout)["format"] == "gmnn-ensemble"


def test_one_member_energies_only(parent, tmp_path, capsys):
    out = tmp_path / "one"
    argv = ["finetune", "--pretrained", parent / "parent", "--member", "1", "--loss", "E"]
    argv += ["--data", parent / "mine.extxyz", "--n-valid", "3", "--seed", "5", "--out", out]
    code, _, err = run(capsys, *argv, *FAST)
    assert code == 0, err
    card = read_card(out / "ensemble")
    assert card["seeds"] == [6]  # --seed + the member's index
    assert card["data"]["finetuning"]["labels"] == "E" and card["n_train"] == 7
    assert card["parent"]["members_used"] == [1]
    assert len(load_ensemble(out / "ensemble")) == 1


def refused(capsys, *argv, names=()):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("gmnn finetune: error: ") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for name in names:
        assert str(name) in err, (name, err)


def test_clear_errors(parent, tmp_path, capsys):
    ens = parent / "parent"
    base = ["finetune", "--pretrained", ens, "--out", tmp_path / "x", *FAST]
    # an element the pre-trained model never saw, named
    write(tmp_path / "nh3.extxyz", perturbed("NH3", 4, seed=0))
    refused(
        capsys,
        *base,
        "--data",
        tmp_path / "nh3.extxyz",
        "--n-valid",
        "1",
        names=[tmp_path / "nh3.extxyz", "N (Z=7)", "elements H, C, O"],
    )
    # too little data
    write(tmp_path / "one.extxyz", perturbed("CH3OH", 1, seed=0))
    refused(
        capsys,
        *base,
        "--data",
        tmp_path / "one.extxyz",
        "--valid-fraction",
        "0.5",
        names=["one.extxyz: 1 structure(s)", "at least 2"],
    )
    mine = parent / "mine.extxyz"
    refused(capsys, *base, "--data", mine, "--n-valid", "4", "--n-train", "7", names=["too little"])
    refused(capsys, *base, "--data", mine, names=["--valid-fraction"])
    refused(capsys, *base, "--data", mine, "--valid-fraction", "1.5", names=["(0, 1)"])
    refused(capsys, *base, "--data", mine, "--n-valid", "2", "--member", "2", names=["0 to 1"])
    # energies only, but an E+F loss (the default)
    frames = perturbed("CH3OH", 4, seed=2)
    for atoms in frames:
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy())
    write(tmp_path / "e_only.extxyz", frames)
    refused(
        capsys, *base, "--data", tmp_path / "e_only.extxyz", "--n-valid", "1", names=["--loss E"]
    )
    # --member needs an ensemble
    single = ["finetune", "--pretrained", ens / "member0", "--member", "0", "--data", mine]
    refused(capsys, *single, "--n-valid", "2", "--out", tmp_path / "y", names=["not an exported"])
    assert not (tmp_path / "x").exists()
