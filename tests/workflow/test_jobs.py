"""The evaluation job and the record it writes (gmnn.workflow.evaluate_job,
gmnn.workflow.model_record), run on a tiny model trained by the pipeline's training job:
each kind of evaluation writes the keys of the committed records of its rule (results/),
which the error tables are aggregated from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gmnn.workflow import evaluate_job, train_job

REPO = Path(__file__).resolve().parents[2]
# a committed record of each kind (the embedded default's results)
COMMITTED = {
    "train_cc": "results/md17/methanol/scratch_EF/n16/seed0/metrics.json",
    "evaluate_pretrain": "results/md17/methanol/pretrain/seed0/metrics_cc.json",
    "evaluate_comp6": "results/ani/comp6/n960/seed0.json",
    "evaluate_ani_md17": "results/ani/md17/methanol/pre7680/pretrained/n128/seed0/metrics.json",
}
N_TRAIN = 8


def keys(record: dict) -> dict:
    """The keys of a record, and of its training summary."""
    return {"record": sorted(record), "training": sorted(record["training"])}


# Training-summary fields added after some committed records were written (the convergence
# of issue 20: gmnn.analysis.aggregate.TRAINING_SUMMARY, PRETRAINED_SUMMARY); a record of
# the pipeline's next run has them.
ADDED_TRAINING_KEYS = {"late_gain", "steps_run", "best_step"}


def committed(rule: str) -> dict:
    """The committed record of ``rule``, its training summary with the added fields."""
    record = json.loads((REPO / COMMITTED[rule]).read_text())
    return {**record, "training": {**dict.fromkeys(ADDED_TRAINING_KEYS), **record["training"]}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by train_job (as rule train_cc runs it, with its metrics)."""
    from _synthetic import emt_structures

    from gmnn.data import make_split, save_split, write_h5

    work = tmp_path_factory.mktemp("jobs")
    data = write_h5(emt_structures("CH3OH", n=16, seed=3), work / "cc.h5")
    split = work / "split.json"
    save_split(make_split(16, n_train=N_TRAIN, n_valid=4, n_test=4, seed=0), split)
    record = {
        "molecule": "methanol",
        "setting": "scratch_EF",
        "n_train": N_TRAIN,
        "seed": 0,
        "test_set": "cc",
        "n_pretrain": None,
    }
    metrics = train_job(
        data=data,
        split=split,
        n_train=N_TRAIN,
        out_dir=work / "model_dir",
        setting="scratch_EF",
        training={"epochs": 2, "batch_size": 4, "seed": 0, "progress": False},
        model={"hidden": [8], "n_radial": 2},
        record=record,
        metrics=work / "metrics.json",
    )
    return work, data, split, metrics


def test_the_training_job_writes_the_record_of_train_cc(trained):
    work, _, _, metrics = trained
    assert json.loads((work / "metrics.json").read_text()) == metrics
    assert keys(metrics) == keys(committed("train_cc"))
    assert metrics["n_train"] == N_TRAIN and metrics["n_structures"] == 4
    assert metrics["model"] == str(work / "model_dir" / "model")


def test_an_evaluation_on_the_test_split(trained):
    work, data, split, _ = trained
    record = {"molecule": "methanol", "setting": "pretrain", "n_train": N_TRAIN, "seed": 0}
    out = evaluate_job(
        model=work / "model_dir" / "model" / "model.json",
        data=data,
        split=split,
        record={**record, "test_set": "cc"},
        output=work / "metrics_cc.json",
    )
    assert json.loads((work / "metrics_cc.json").read_text()) == out
    assert keys(out) == keys(committed("evaluate_pretrain"))
    assert out["test_data"] == str(data) and len(out["test_data_sha256"]) == 64
    with pytest.raises(ValueError, match=r"trained on 8 structures, but the record says n_train"):
        evaluate_job(
            model=work / "model_dir" / "model", data=data, split=split, record={"n_train": 9}
        )


def test_an_evaluation_on_the_comp6_subsets(trained):
    from _synthetic import emt_structures

    from gmnn.data import write_h5

    work = trained[0]
    files = [
        write_h5(emt_structures("CH3OH", n=3, seed=1), work / "a.h5"),
        write_h5(emt_structures("H2O", n=2, seed=2), work / "b.h5"),
    ]
    record = {"setting": "pretrain", "n_train": N_TRAIN, "seed": 0, "test_set": "comp6"}
    out = evaluate_job(
        model=work / "model_dir" / "model", data=files, subsets=["dimers", "drugs"], record=record
    )
    assert keys(out) == keys(committed("evaluate_comp6"))
    assert sorted(out["subsets"]) == sorted(out["test_data"]) == ["dimers", "drugs"]
    assert out["comp6"]["n_conformers"] == 5 and out["training"]["n_train"] == N_TRAIN
    with pytest.raises(ValueError, match="given twice"):
        evaluate_job(
            model=work / "model_dir" / "model", data=files, subsets=["a", "a"], record=record
        )


def test_an_evaluation_with_the_energy_offset(trained):
    work, data, split, _ = trained
    record = {
        "molecule": "methanol",
        "setting": "pretrained",
        "n_pretrain": N_TRAIN,
        "seed": 0,
        "test_set": "cc",
        "pretraining": "ani1x",
    }
    out = evaluate_job(
        model=work / "model_dir" / "model", data=data, split=split, n_offset=4, record=record
    )
    assert keys(out) == keys(committed("evaluate_ani_md17"))
    assert out["n_offset"] == 4 and out["n_pretrain"] == N_TRAIN
    # n_pretrain from the model when the record lacks it; a wrong one is an error
    del record["n_pretrain"]
    out = evaluate_job(
        model=work / "model_dir" / "model", data=data, split=split, n_offset=4, record=record
    )
    assert out["n_pretrain"] == N_TRAIN
    with pytest.raises(ValueError, match="but the record says n_pretrain = 7"):
        evaluate_job(
            model=work / "model_dir" / "model",
            data=data,
            split=split,
            n_offset=4,
            record={**record, "n_pretrain": 7},
        )
