"""benchmarks/gpu_check.sh and gpu_check.py: refusals without a GPU, and the CPU dry run
of every part (the GPU run itself happens on a machine with one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SH = ROOT / "benchmarks" / "gpu_check.sh"
PY = ROOT / "benchmarks" / "gpu_check.py"


def _env(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _sh(path_dirs, tmp_path):
    env = _env(PATH=os.pathsep.join(str(d) for d in path_dirs))
    return subprocess.run(
        ["bash", str(SH), "--no-install", "--json", str(tmp_path / "x.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sh_refuses_without_nvidia_smi(tmp_path):
    if any(Path(d, "nvidia-smi").exists() for d in ("/usr/bin", "/bin")):
        pytest.skip("this machine has nvidia-smi in /usr/bin or /bin")
    out = _sh([tmp_path, "/usr/bin", "/bin"], tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no nvidia-smi" in lines[0], out.stderr


def test_sh_refuses_when_nvidia_smi_lists_no_gpu(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    smi = fake / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'No devices were found'\nexit 6\n")
    smi.chmod(0o755)
    out = _sh([fake, "/usr/bin", "/bin"], tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "lists no GPU" in lines[0] and "No devices" in lines[0]
    assert not (tmp_path / "x.json").exists()


def test_py_refuses_without_a_gpu_unless_cpu_smoke(tmp_path):
    out = subprocess.run(
        [sys.executable, str(PY), "--json", str(tmp_path / "x.json")],
        env=_env(CUDA_VISIBLE_DEVICES="-1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "sees no GPU" in out.stderr and "--cpu-smoke" in out.stderr
    assert not (tmp_path / "x.json").exists()


def test_cpu_smoke_runs_every_part_and_compares(tmp_path):
    path = tmp_path / "gpu_check.json"
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(PY), "--cpu-smoke", "--json", str(path)],
        env=_env(CUDA_VISIBLE_DEVICES="-1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - t0
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    res = json.loads(path.read_text())
    assert res["mode"] == "cpu-smoke"
    for part in ("training", "ani", "md", "real_training", "gpu_vs_cpu"):
        assert "error" not in res[part], res[part]
    assert res["training"]["gmnn"]["step_s_median"] > 0
    assert res["md"]["water_box"]["ratio_5_vs_1"] > 0
    assert len(res["real_training"]["history"]) == 2  # validated every 5 of 10 steps
    comparisons = res["gpu_vs_cpu"]["comparisons"]
    assert {"graph/aspirin", "xla/water", "cpu xla vs graph/water"} <= set(comparisons)
    assert res["gpu_vs_cpu"]["passed"] is True
    # the dry run is meant to stay quick (< 60 s alone; the shared test machine is slower)
    assert wall < 180, wall


def test_shell_script_is_strict():
    text = SH.read_text()
    assert "set -euo pipefail" in text
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(SH)], check=True)


def test_cost_model_gpu_speedup_comes_from_a_gpu_measurement(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_gmnn import gpu_speedup

    res = {"ani": {"batch_structures": 2048, "gmnn": {"step_s_median": 2.4}}}
    path = tmp_path / "gpu_check.json"
    # none yet, or only the CPU dry run: the previous value, called an assumption
    assert gpu_speedup(res, path, 20.0)[0] == 20.0
    smoke = {"mode": "cpu-smoke", "ani": {"batch_structures": 8, "gmnn": {"step_s_median": 0.01}}}
    path.write_text(json.dumps(smoke))
    value, note = gpu_speedup(res, path, 20.0)
    assert value == 20.0 and "assumption" in note
    gpu = {
        "mode": "gpu",
        "environment": {"gpus": ["/physical_device:GPU:0"], "measured": "2026-12-08"},
        "ani": {"batch_structures": 2048, "gmnn": {"step_s_median": 0.08}},
    }
    path.write_text(json.dumps(gpu))
    value, note = gpu_speedup(res, path, 20.0)
    assert abs(value - 30.0) < 1e-9 and "gpu_check.json" in note and "GPU:0" in note
