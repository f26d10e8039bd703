"""benchmarks/startup.py (fixed cost per job) and the light imports it relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_import_gmnn_and_help_load_no_heavy_module():
    code = (
        "import sys, contextlib, io\n"
        "import gmnn, gmnn.md, gmnn.model\n"
        "heavy = ('tensorflow', 'numpy', 'scipy', 'ase', 'h5py', 'pandas')\n"
        "print('import:', sorted(m for m in heavy if m in sys.modules))\n"
        "import gmnn.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        gmnn.cli.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('help:', sorted(m for m in ('tensorflow', 'h5py', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True
    ).stdout
    assert "import: []" in out, out
    assert "help: []" in out, out


def test_startup_breakdown_runs(tmp_path):
    out = tmp_path / "startup.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "startup.py"),
            "--epochs",
            "2",
            "--md-steps",
            "5",
            "--jobs",
            "train,md",
            "--json",
            str(out),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    for job in ("train", "md", "md_cached"):
        fc = res[job]["fixed_cost"]
        assert 0 < fc["cpu_s"] <= fc["job_cpu_s"] * 1.05
        assert "import tensorflow" in fc["parts"]
    assert res["train"]["n_steps"] == 2
    assert "before the first useful step" in proc.stdout
