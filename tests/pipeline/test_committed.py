"""The embedded default's expensive artifacts are committed and a fresh clone's main job
does not regenerate them: the QC data (data/embedded/), the pre-trained ANI-like models
and their splits (models/ani/ani1x/, data/splits/ani/; docs/embedded_default.md), while
the runs downstream of them (fine-tuning, from-scratch, MD, figures) are planned."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# never planned by the main job of a fresh clone
COMMITTED_RULES = {
    "embedded_sample",
    "embedded_label",
    "embedded_merge",
    "embedded_ani_sample",
    "embedded_ani_label",
    "embedded_ani_merge",
    "split_ani",
    "pretrain_ani",
}
# planned, since their models are not committed (the COMP6 errors of the committed models
# are committed with them: evaluate_comp6 is up to date in a fresh clone)
DOWNSTREAM_RULES = {"train_ani1ccx", "finetune_ani1ccx", "finetune_ani_md17"}


def planned_rules(clone: Path, *args: str) -> dict[str, int]:
    """Rule -> job count of the main job's dry run in ``clone`` (``args`` added)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--profile", "profiles/embedded", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stats = result.stdout.split("Job stats:", 1)[1].split("Reasons:", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, flags=re.M)}


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the repository's git history (a clone, not an unpacked archive)")
    target = tmp_path_factory.mktemp("clone") / "gmnn-tl"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    return target


def test_a_fresh_clone_plans_no_committed_artifact(clone):
    committed = sorted(
        p.relative_to(clone).as_posix() for p in (clone / "models/ani/ani1x").glob("*/*/model")
    )
    assert committed, "no pre-trained ANI-like model is committed (docs/models.md)"
    rules = planned_rules(clone)
    assert not COMMITTED_RULES & set(rules), {r: rules[r] for r in COMMITTED_RULES & set(rules)}
    assert DOWNSTREAM_RULES <= set(rules), sorted(rules)


def test_newer_data_files_do_not_plan_the_committed_models(clone):
    """The committed models' inputs are ancient: a data file touched after the checkout
    (a copy, an unpacked archive) does not plan their regeneration."""
    for path in [*(clone / "data/embedded").glob("ani_*.h5"), *(clone / "data/splits").rglob("*")]:
        os.utime(path)
    rules = planned_rules(clone)
    assert not {"split_ani", "pretrain_ani"} & set(rules), rules
    assert "finetune_ani1ccx" in rules


def test_the_documented_regeneration_plans_the_models_alone(clone):
    """docs/embedded_default.md: remove the committed models and splits, then
    `--until pretrain_ani` plans every split and pre-training and nothing after them."""
    shutil.rmtree(clone / "models/ani/ani1x")
    shutil.rmtree(clone / "data/splits/ani")
    rules = planned_rules(clone, "--until", "pretrain_ani")
    assert rules.pop("split_ani") == 4 and rules.pop("pretrain_ani") == 8, rules
    assert rules == {"total": 12}, rules
