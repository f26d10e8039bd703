"""benchmarks/ala10_force_check.py on a tiny run: two untrained members on methanol
frames, GFN2-xTB forces from tblite; one line per frame with the errors split at
--peptide-atoms and the spread."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("tblite")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ala10_force_check.py"


def test_force_check_prints_a_line_per_frame(tmp_path, capsys):
    from _synthetic import emt_structures
    from ase.io import Trajectory

    from gmnn.io import save_model
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    data = emt_structures("CH3OH", n=3)
    with Trajectory(str(tmp_path / "md.traj"), "w") as traj:
        for i in range(3):
            atoms = data.atoms(i)
            atoms.calc = None
            traj.write(atoms)
    dirs = []
    for seed in (0, 1):
        save_model(
            GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2), seed=seed), tmp_path / f"m{seed}"
        )
        dirs.append(str(tmp_path / f"m{seed}"))
    spec = importlib.util.spec_from_file_location("ala10_force_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(tmp_path / "md.traj"), *dirs, "--peptide-atoms", "2", "--frames", "0,9"])
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("frame")]
    assert [x.split(":")[0] for x in lines] == ["frame 0 of 3", "frame 2 of 3"]
    assert "peptide" in lines[0] and "other atoms" in lines[0] and "nan" not in lines[0]
