"""Smoke test of benchmarks/bench_gmnn.py: the quick pass runs and prints its table.

No timing is asserted (the numbers depend on the machine and its load).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gmnn.py"


def test_quick_benchmark_prints_table(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--no-apax", "--json", str(out_json)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout
    for needle in (
        "TRAINING",
        "gmnn (Trainer train_step)",
        "bare network floor",
        "MD  ASE Langevin",
        "aspirin",
        "water 375",
        "RATIOS",
        "training gmnn/floor",
        "training gmnn/apax",
        "not run (--no-apax)",
        "TARGETS (speed issue)",
        "aspirin E+F call",
        "aspirin ASE MD step",
        "5 members / 1, Ala10 gas",
        "NVE drift f32 / f64",
    ):
        assert needle in table, f"{needle!r} missing from the benchmark output:\n{table}"
    res = json.loads(out_json.read_text())
    assert res["quick"] is True
    assert res["training"]["gmnn"]["structures_per_s"] > 0
    assert res["training"]["floor"]["structures_per_s"] > 0
    assert res["ratios"]["train_gmnn_floor"] > 0
    assert {r["name"] for r in res["md"]["systems"]} == {"aspirin", "water 375"}
    assert res["apax"] == {"error": "not run (--no-apax)"}
    (ala10,) = res["ensemble"]["systems"]
    assert ala10["n_atoms"] == 104 and ala10["ratio_5_vs_1"] > 0


def test_ani_throughput_quick(tmp_path):
    """benchmarks/ani_throughput.py runs on a small batch and prints its table beside the
    floor (no timing is asserted; ani_memory.py has its own test in tests/data)."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT.parent / "ani_throughput.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "floor" in proc.stdout, proc.stdout
