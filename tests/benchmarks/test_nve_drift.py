"""Smoke test of benchmarks/nve_drift.py: the --quick pass (tiny model, 0.5 ps of NVE in
float32 and float64) runs and writes both precisions with finite drifts.

No drift or timing target is asserted (a 20-step model says nothing about either).
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "nve_drift.py"


def _default_data() -> Path:
    spec = importlib.util.spec_from_file_location("nve_drift", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.default_data()


@pytest.mark.slow  # trains a small model (about 30 s on 2 cores): run with -m slow
def test_quick_nve_drift_writes_both_precisions(tmp_path):
    data = _default_data()
    if not data.is_file():
        pytest.skip(f"rMD17 aspirin not found at {data} (set GMNN_SHARED_DATA)")
    out_json = tmp_path / "nve.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--data",
            str(data),
            "--model-dir",
            str(tmp_path / "model"),
            "--json",
            str(out_json),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for needle in ("float32", "float64", "drift meV/ps", "verdict:"):
        assert needle in proc.stdout, f"{needle!r} missing from the output:\n{proc.stdout}"
    res = json.loads(out_json.read_text())
    assert res["quick"] is True
    assert set(res["runs"]) == {"float32", "float64"}
    for dtype, r in res["runs"].items():
        assert r["finite"], dtype
        assert r["steps"] == r["steps_planned"] == 1000, dtype
        for key in ("drift_meV_per_ps", "drift_se_meV_per_ps", "rms_fluctuation_meV"):
            assert r[key] is not None and math.isfinite(r[key]), (dtype, key)
        assert len(r["series"]["t_ps"]) == len(r["series"]["e_tot_minus_e0_meV"]) > 10
    assert res["comparison"]["target_ratio"] == 2.0
    assert math.isfinite(res["model"]["valid_force_mae_kcal_mol_A"])
    # the model is cached: a second call reuses it (and --ps shortens the run)
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--ps",
            "0.05",
            "--data",
            str(data),
            "--model-dir",
            str(tmp_path / "model"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reusing the model" in proc.stdout


def test_missing_data_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.npz"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--data", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert str(missing) in proc.stderr and "--data" in proc.stderr, proc.stderr
