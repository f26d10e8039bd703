"""The cost model of the pipeline's jobs (gmnn.workflow.resources) and `gmnn cost`."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gmnn.cli import main
from gmnn.train import TrainConfig
from gmnn.workflow import resources as cost

REPO = Path(__file__).resolve().parents[1]

SIMPLE = {
    "machine": "test",
    "measured": "2026-01-02",
    "command": "hand-written",
    "load_average": 0.0,
    "note": "round numbers for hand-computed values",
    "training_s_per_atom_step": {"EF": 1e-3, "E": 5e-4},
    "training_s_per_step_floor": 0.01,
    "validation_fraction": 0.5,
    "load_s_per_structure": 1e-3,
    "md_s_per_atom_step": [[10, 1e-3], [1000, 1e-4]],
    "md_s_per_step_floor": 0.002,
    "ensemble_factor": {"5": 4.0},
    "startup_s": 10.0,
    "gpu_speedup": 10.0,
    "memory": {"base_mb": 700, "bytes_per_atom_held": 131, "bytes_per_batch_atom": 100000},
}


@pytest.fixture
def ref():
    return cost.parse_reference(copy.deepcopy(SIMPLE), "simple.json")


def test_training_seconds_by_hand(ref):
    training = TrainConfig.from_dict(
        {"epochs": 10, "batch_size": 4, "valid_batch_size": 5, "loss": "EF"}
    )
    kw = {"n_train": 10, "n_valid": 10, "atoms": 3, "n_test": 4, "held": 100}
    # 3 steps per epoch x 10 epochs, 10 validations of 2 batches, 1 test batch: 51 calls;
    # per atom: 30 x 10/3 x 3 x 1e-3 + 10 x 10 x 3 x 1e-3 x 0.5 + 4 x 3 x 1e-3 x 0.5
    fixed, calls, atoms = 10 + 100 * 1e-3, 51 * 0.01, 0.3 + 0.15 + 0.006
    assert cost.training_seconds(ref, training, **kw) == pytest.approx(fixed + calls + atoms)
    # on a GPU only the per-atom part is faster
    gpu = cost.training_seconds(ref, training, gpu=True, **kw)
    assert gpu == pytest.approx(fixed + calls + atoms / 10)
    # energies only: half the per-atom cost of the steps and validations (not of the test)
    e_only = TrainConfig.from_dict({**training.to_dict(), "loss": "E"})
    assert cost.training_seconds(ref, e_only, **kw) == pytest.approx(
        fixed + calls + (0.3 + 0.15) / 2 + 0.006
    )
    # by steps: 7 steps (one epoch = 3), validated every ceil(7/20) = 1 step
    by_steps = TrainConfig.from_dict({"steps": 7, "batch_size": 4, "valid_batch_size": 5})
    kw.update(n_test=0, held=0)
    expected = 10 + (7 + 7 * 2) * 0.01 + 7 * 10 / 3 * 3 * 1e-3 + 7 * 10 * 3 * 1e-3 * 0.5
    assert cost.training_seconds(ref, by_steps, **kw) == pytest.approx(expected)


def test_md_seconds_ensembles_and_limits_by_hand(ref):
    # log-log midpoint of (10, 1e-3) and (1000, 1e-4) at 100 atoms: 10^-3.5
    assert cost.md_s_per_atom_step(ref, 100) == pytest.approx(10**-3.5)
    per_step = 0.002 + 100 * 10**-3.5
    assert cost.md_seconds(ref, steps=100, atoms=100) == pytest.approx(10 + 100 * per_step)
    assert cost.md_seconds(ref, steps=100, atoms=100, members=5) == pytest.approx(
        10 + 100 * per_step * 4.0
    )
    assert cost.md_seconds(ref, steps=100, atoms=100, gpu=True) == pytest.approx(
        10 + 100 * (0.002 + 100 * 10**-3.5 / 10)
    )
    # ensembles: 1 -> 1, linear up to the listed 5 -> 4, proportional beyond
    assert [cost.ensemble_factor(ref, k) for k in (1, 3, 5, 10)] == [1.0, 2.5, 4.0, 8.0]
    with pytest.raises(ValueError, match="at least one member"):
        cost.ensemble_factor(ref, 0)
    # limits: ceil(2 x expected / 60) + 10 minutes
    assert cost.runtime_minutes(90) == 13 and cost.runtime_minutes(91) == 14
    assert cost.runtime_minutes(0) == cost.RUNTIME_FLOOR_MINUTES
    assert cost.runtime_minutes(600, safety=3, floor=0) == 30
    # memory: (700 MB + 1e6 atoms x 131 B + 1000 atoms x 1e5 B) x 1.5, in steps of 500 MB
    mib = 700 + (1e6 * 131 + 1000 * 1e5) / 2**20
    assert cost.memory_mb(ref, held_atoms=1e6, batch_atoms=1000) == 500 * math.ceil(1.5 * mib / 500)
    assert cost.memory_mb(ref, held_atoms=1e6, batch_atoms=1000) == 1500


def test_interpolation_clamps_at_the_ends(ref):
    assert cost.md_s_per_atom_step(ref, 1) == cost.md_s_per_atom_step(ref, 10) == 1e-3
    assert cost.md_s_per_atom_step(ref, 10**6) == cost.md_s_per_atom_step(ref, 1000) == 1e-4
    one = cost.parse_reference({**SIMPLE, "md_s_per_atom_step": [[21, 2e-4]]})
    assert {cost.md_s_per_atom_step(one, n) for n in (1, 21, 30000)} == {2e-4}


def test_runtime_grows_with_steps_and_atoms():
    ref = cost.load_reference()  # the committed reference file

    def train(epochs, atoms, n_train=256):
        training = TrainConfig.from_dict({"epochs": epochs})
        return cost.training_seconds(ref, training, n_train=n_train, n_valid=50, atoms=atoms)

    assert train(10, 9) < train(100, 9) < train(1000, 9)
    assert train(100, 6) < train(100, 9) < train(100, 21)
    assert train(100, 9, n_train=32) < train(100, 9, n_train=950)
    md = [cost.md_seconds(ref, steps=s, atoms=a) for s, a in [(1000, 21), (10**4, 21)]]
    md += [cost.md_seconds(ref, steps=10**4, atoms=a) for a in (375, 3000, 30000)]
    assert md == sorted(md) and len(set(md)) == len(md)
    minutes = [cost.runtime_minutes(s) for s in md]
    assert minutes == sorted(minutes) and minutes[-1] > minutes[0]


def write(tmp_path, data, name="costs.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def changed(key, value):
    data = copy.deepcopy(SIMPLE)
    if value is None:
        del data[key]
    else:
        data[key] = value
    return data


@pytest.mark.parametrize(
    "data, key",
    [
        (changed("startup_s", None), "startup_s"),
        (changed("startup_s", "10 s"), "startup_s"),
        (changed("gpu_speedup", 0), "gpu_speedup"),
        (changed("measured", "1 Dec 2026"), "measured"),
        (changed("training_s_per_atom_step", {"EF": 1e-4}), "training_s_per_atom_step.E"),
        (changed("md_s_per_atom_step", [[375, 1e-4], [21, 3e-4]]), "md_s_per_atom_step[1]"),
        (changed("md_s_per_atom_step", [[21]]), "md_s_per_atom_step[0]"),
        (changed("md_s_per_atom_step", []), "md_s_per_atom_step"),
        (changed("ensemble_factor", {"five": 5}), "ensemble_factor.five"),
        (changed("memory", {"base_mb": 700}), "memory.bytes_per_atom_held"),
        (changed("gpu_speed", 20), "gpu_speed"),
    ],
)
def test_malformed_reference_names_the_file_and_key(tmp_path, data, key):
    path = write(tmp_path, data)
    with pytest.raises(cost.ReferenceCostsError) as err:
        cost.load_reference(path)
    assert err.value.key == key
    assert str(path) in str(err.value) and f": {key}: " in str(err.value)


def test_unreadable_reference_names_the_file(tmp_path):
    for path in (write(tmp_path, '{"machine": ', "broken.json"), tmp_path / "missing.json"):
        with pytest.raises(cost.ReferenceCostsError, match=str(path)):
            cost.load_reference(path)


def test_committed_reference_and_gpu_rules():
    ref = cost.load_reference(REPO / "benchmarks" / "reference_costs.json")
    assert ref.gpu_speedup > 1 and ref.ensemble_factor[5] > 0 and "--write-costs" in ref.command
    gpu = cost.gpu_rules(REPO / "profiles" / "slurm" / "config.yaml")
    assert {"pretrain_ani", "train_ani1ccx", "finetune_ani1ccx"} <= gpu
    assert "train_cc" not in gpu
    assert cost.gpu_rules(REPO / "profiles" / "missing.yaml") == frozenset()


def test_cost_command_rejects_a_missing_configfile(tmp_path, capsys):
    assert main(["cost", "--configfile", str(tmp_path / "missing.yaml")]) == 2
    assert "--configfile" in capsys.readouterr().err


SCRIPT = """
import json, sys
from gmnn.workflow import resources as cost
report = cost.workflow_costs(sys.argv[1], [sys.argv[2]])
print(cost.format_costs(report, by_rule=True))
checks = [
    [j.rule, j.expected_s, j.runtime_min, j.mem_mb, j.gpu] for j in report.union.jobs
]
print("JSON", json.dumps({
    "targets": {t.target: [len(t.jobs), t.core_hours, t.gpu_hours] for t in report.targets},
    "jobs": checks,
}))
"""


def test_cost_of_the_embedded_preset():
    """The DAG of every figure of the embedded preset: each figure listed with a positive
    cost, the training and MD rules' limits are the cost model's."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(REPO / "Snakefile"), "presets/embedded.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table, _, data = proc.stdout.rpartition("JSON ")
    data = json.loads(data)
    figures = ["fig2", "fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5"]
    expected = [f"figures/{f}.pdf" for f in figures]
    expected += ["figures/table1.md", "figures/fig5.pdf", "figures/fig6.pdf"]
    expected += ["figures/fig7.pdf", "figures/fig8.pdf", "figures/claims.md"]
    assert sorted(data["targets"]) == sorted(expected)
    for target, (jobs, core_h, gpu_h) in data["targets"].items():
        assert jobs > 0 and core_h + gpu_h > 0, target
        assert target in table
    assert data["targets"]["figures/fig5.pdf"][2] > 0  # ANI training on the GPU partition
    modelled = {rule for rule, seconds, *_ in data["jobs"] if seconds is not None}
    assert {"pretrain", "train_cc", "pretrain_size", "finetune_pretrain_size", "md"} <= modelled
    assert {"pretrain_ani", "train_ani1ccx", "finetune_ani1ccx", "finetune_ani_md17"} <= modelled
    assert "ala10_md" in modelled
    for rule, seconds, runtime, mem_mb, _ in data["jobs"]:
        if seconds is not None:
            assert runtime == cost.runtime_minutes(seconds), rule
            assert 0 < seconds < 600 and 1000 <= mem_mb <= 4000, rule  # embedded: small
    assert "all (distinct jobs)" in table and "core-h" in table


def test_each_target_costs_its_upstream_jobs():
    """The jobs of a target: its own and those that make the files it reads, transitively
    (from the dry run's inputs and outputs)."""

    def job(jobid, rule, inputs, outputs):
        return cost.PlannedJob(jobid, rule, {}, inputs, outputs, 2, {"runtime": 30, "mem_mb": 1})

    jobs = [
        job(1, "data", (), ("d.h5",)),
        job(2, "train", ("d.h5",), ("m/model.json",)),
        job(3, "figA", ("m/model.json",), ("a.pdf",)),
        job(4, "figB", ("d.h5",), ("b.pdf",)),
    ]
    seconds = {"train": 3600.0}
    report = cost._target_costs(
        jobs, ["a.pdf", "figB"], lambda rule, wc: seconds.get(rule), None, {"train"}
    )
    a, b = report.targets
    assert [j.rule for j in a.jobs] == ["data", "train", "figA"]
    assert [j.rule for j in b.jobs] == ["data", "figB"]
    assert a.gpu_hours == 1.0 and a.core_hours == 0 and a.unmodelled_hours == 2 * 2 * 0.5
    assert len(report.union.jobs) == 4 and a.largest.rule == "train"
    with pytest.raises(ValueError, match="no job of the DAG makes it"):
        cost._target_costs(jobs, ["c.pdf"], lambda rule, wc: None, None, set())
