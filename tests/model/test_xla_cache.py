"""The persistent XLA compilation cache (gmnn._lazy.use_persistent_xla_cache): a second
process loads the compiled predictor instead of compiling it, with the same results; an
unusable directory or GMNN_XLA_CACHE=off leaves the cache off (and the calls working)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, sys
import gmnn
from ase.build import molecule
from gmnn.calculator import GMNNCalculator
from gmnn.model import GMNN
atoms = molecule("CH3CH2OH")
atoms.calc = GMNNCalculator(GMNN([1, 6, 8], {"hidden": [16, 16]}, seed=int(sys.argv[1])))
print(json.dumps({"flags": os.environ.get("TF_XLA_FLAGS", ""),
                  "forces": atoms.get_forces().tolist()}))
"""


def _run(seed, **env):
    full = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    full.pop("TF_XLA_FLAGS", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(seed)], env=full, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_the_cache_with_identical_results(tmp_path):
    cache = tmp_path / "xla"
    first = _run(1, GMNN_XLA_CACHE=str(cache))
    assert f"--tf_xla_persistent_cache_directory={cache}" in first["flags"]
    entries = sorted(p.name for p in cache.iterdir())
    assert entries, "nothing was written to the cache"
    # another model of the same architecture: the compiled program is the same one
    second = _run(2, GMNN_XLA_CACHE=str(cache))
    assert sorted(p.name for p in cache.iterdir()) == entries
    fresh = _run(2, GMNN_XLA_CACHE="off")
    assert "persistent_cache" not in fresh["flags"]
    assert second["forces"] == fresh["forces"]  # bit for bit


def test_unusable_cache_directory_leaves_the_cache_off(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = _run(1, GMNN_XLA_CACHE=str(blocker / "xla"))
    assert "persistent_cache" not in out["flags"]
    assert len(out["forces"]) == 9
