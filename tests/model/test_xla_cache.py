"""The persistent XLA compilation cache (gmnn._lazy.use_persistent_xla_cache): a second
process loads the compiled predictor instead of compiling it, with the same results; an
unusable directory or GMNN_XLA_CACHE=off leaves the cache off (and the calls working)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

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


def _run(seed, stderr=False, **env):
    full = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    full.pop("TF_XLA_FLAGS", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(seed)], env=full, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return (res, out.stderr) if stderr else res


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


def test_damaged_cache_entry_is_removed_and_the_call_still_succeeds(tmp_path):
    """TensorFlow fails a compiled call whose cache entry is truncated (a full disk, a
    killed writer): the predictor removes the cache, warns naming it, and evaluates as a
    graph; the next job compiles anew."""
    cache = tmp_path / "xla"
    first = _run(1, GMNN_XLA_CACHE=str(cache))
    (entry,) = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:1000])
    second, err = _run(1, stderr=True, GMNN_XLA_CACHE=str(cache))
    assert "persistent XLA cache" in err and str(cache) in err, err[-2000:]
    assert not cache.exists()
    deviation = np.abs(np.array(first["forces"]) - np.array(second["forces"])).max()
    assert deviation < 1e-5  # the graph instead of XLA: float32 round-off
    third = _run(1, GMNN_XLA_CACHE=str(cache))
    assert third["forces"] == first["forces"] and len(list(cache.iterdir())) == 1
