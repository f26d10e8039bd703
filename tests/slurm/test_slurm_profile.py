"""profiles/slurm against a real SLURM (issue 22): a tiny Fig. 2 graph (EMT stand-in
methanol data, one seed, two sizes, four settings, two epochs) submitted through the
profile to a running cluster, here one without accounting storage, whose node may have
fewer CPUs than a rule asks for (pretrain: 4). Run by tests/slurm/run_slurm_check.sh,
which brings up a single-node cluster; skipped where no SLURM answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _pipeline import tiny_config  # noqa: E402
from test_experiments import stand_in  # noqa: E402

from gmnn.analysis.aggregate import LEARNING_CURVES  # noqa: E402
from gmnn.data import write_h5  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.slurm]


def sinfo_cpus() -> int | None:
    if not shutil.which("sinfo"):
        return None
    run = subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True)
    cpus = [int(x.rstrip("+")) for x in run.stdout.split()] if run.returncode == 0 else []
    return max(cpus) if cpus else None


@pytest.fixture(scope="module")
def node_cpus():
    cpus = sinfo_cpus()
    if cpus is None:
        pytest.skip("no SLURM cluster answers sinfo (tests/slurm/run_slurm_check.sh starts one)")
    if not os.environ.get("GMNN_SLURM_PARTITION"):
        pytest.skip("GMNN_SLURM_PARTITION is not set")
    return cpus


def test_tiny_graph_through_the_slurm_profile(tmp_path, node_cpus):
    work = tmp_path
    (work / "data" / "embedded").mkdir(parents=True)
    write_h5(stand_in(36, seed=1), work / "data" / "embedded" / "methanol_dft.h5")
    write_h5(stand_in(28, 2, -0.3, 1.05), work / "data" / "embedded" / "methanol_cc.h5")
    tiny = tiny_config(
        dft=(16, 8), cc_valid=8, structures=(36, 28), md=None, ani=None, pretrain_size=None
    )
    (work / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", work / "tiny.yaml"]
    target = "results/md17/fig2_learning_curves.csv"
    cmd = [sys.executable, "-m", "snakemake", target, "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(work), "--profile", str(REPO / "profiles/slurm")]
    cmd += ["--verbose", "--configfile", *map(str, configs)]  # --verbose: the sbatch calls
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.setdefault("GMNN_SLURM_CPUS", str(node_cpus))
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # a job the node cannot hold would stay pending for ever: the timeout says so
    run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=1200, env=env)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    rows = LEARNING_CURVES.read(work / target).to_dict("records")
    assert {(r["setting"], r["n_train"]) for r in rows} == {
        (s, n) for s in ("scratch_E", "scratch_EF", "finetune_E", "finetune_EF") for n in (4, 8)
    }
    # every job asked for at most the node's CPUs (pretrain asks for 4)
    asked = [int(x) for x in _cpus_per_task(out)]
    assert asked and max(asked) <= node_cpus, asked


def _cpus_per_task(out: str):
    import re

    return re.findall(r"--cpus-per-task[= ](\d+)", out) or re.findall(r"cpus_per_task=(\d+)", out)
