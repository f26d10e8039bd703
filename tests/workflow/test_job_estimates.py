"""Job estimates (gmnn.workflow.resources.job_estimate): each training and MD rule's
expected seconds and memory from the design, the rule name and the wildcards as a dict;
no Snakemake."""

from __future__ import annotations

import pytest
from _configs import EMBEDDED, REPO, pipeline_config

from gmnn.workflow import Design
from gmnn.workflow import resources as cost


@pytest.fixture(scope="module")
def design():
    return Design.from_config(pipeline_config(EMBEDDED))


@pytest.fixture(scope="module")
def ref():
    return cost.load_reference(REPO / "benchmarks" / "reference_costs.json")


MD17 = {"molecule": "methanol", "seed": "0"}
JOBS = [
    ("pretrain", MD17),
    ("pretrain_size", {**MD17, "npre": "100"}),
    ("train_cc", {**MD17, "setting": "scratch_EF", "n": "16"}),
    ("finetune_pretrain_size", {**MD17, "npre": "100", "setting": "finetune_E", "n": "16"}),
    ("finetune_ani_md17", {**MD17, "npre": "100", "setting": "finetune_EF", "n": "16"}),
    ("pretrain_ani", {"npre": "200", "seed": "0"}),
    ("train_ani1ccx", {"setting": "scratch_E", "n": "50", "seed": "0"}),
    ("finetune_ani1ccx", {"npre": "200", "setting": "finetune_E", "n": "50", "seed": "0"}),
    ("md", {**MD17, "setting": "scratch_EF", "n": "16", "temp": "300"}),
    ("ala10_md", {"phase": "gas", "model": "scratch", "stage": "0"}),
]


@pytest.mark.parametrize(("rule", "wildcards"), JOBS)
def test_every_training_and_md_rule_has_an_estimate(design, ref, rule, wildcards):
    seconds, mem_mb = cost.job_estimate(design, rule, wildcards, ref)
    gpu_seconds, gpu_mem = cost.job_estimate(design, rule, wildcards, ref, gpu=True)
    assert 0 < gpu_seconds < seconds and gpu_mem == mem_mb >= 500
    assert cost.runtime_minutes(seconds) >= cost.RUNTIME_FLOOR_MINUTES


def test_rules_without_a_cost_model(design, ref):
    assert cost.job_estimate(design, "aggregate", {}, ref) is None
    assert cost.training_job(design, "split_md17", MD17) is None


def test_estimates_follow_the_job_size(design, ref):
    def seconds(rule, **wildcards):
        return cost.job_estimate(design, rule, wildcards, ref)[0]

    small = seconds("train_cc", **MD17, setting="scratch_EF", n="16")
    assert small < seconds("train_cc", **MD17, setting="scratch_EF", n="128")
    # energies only: cheaper steps
    assert seconds("train_cc", **MD17, setting="scratch_E", n="16") < small
    # the solvated helix: more atoms per step (same members)
    gas, water = ({"phase": p, "model": "scratch", "stage": "0"} for p in ("gas", "water"))
    steps = [design.ala10.stage_configs(p)[0].steps for p in ("gas", "water")]
    per_step = [
        cost.job_estimate(design, "ala10_md", w, ref)[0] / n
        for w, n in zip((gas, water), steps, strict=True)
    ]
    assert per_step[0] < per_step[1]
    # the TrainConfig of a job is the `training` section with its seed and loss
    training, size = cost.training_job(
        design, "train_cc", {**MD17, "setting": "finetune_E", "n": "32"}
    )
    assert training.loss == "E" and training.seed == 0 and size["n_train"] == 32
    held, n_test = design.grid.structures("cc")
    assert size["held"] == held and size["n_test"] == n_test
