"""Force errors of an Ala10 ensemble against GFN2-xTB on frames of one of its MD runs,
peptide atoms and solvent atoms apart, beside the ensemble's own spread (docs/ala10.md,
"Why the water run breaks"). Needs the `qc` extra (tblite); a periodic frame of the
solvated box (584 atoms) takes about a minute of GFN2-xTB on one core.

    .venv/bin/python benchmarks/ala10_force_check.py \\
        trajectories/ani/ala10/water/pretrained/stage2/md.traj \\
        models/ani/ani1x/n7680/seed0/model models/ani/ani1x/n7680/seed1/model \\
        --peptide-atoms 104 --frames 20,38
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trajectory", help="an ASE trajectory of the run (md.traj)")
    ap.add_argument("models", nargs="+", help="the ensemble's model directories")
    ap.add_argument(
        "--peptide-atoms", type=int, default=104, help="the first atoms are the peptide"
    )
    ap.add_argument("--frames", default="0", help="comma-separated frame indices (clipped)")
    args = ap.parse_args(argv)

    from ase.io import Trajectory
    from tblite.ase import TBLite

    from gmnn.calculator import EnsembleCalculator

    calc = EnsembleCalculator(args.models)

    def rms(x) -> float:
        return float(np.sqrt(np.mean(np.square(x)))) if len(x) else float("nan")

    with Trajectory(args.trajectory) as traj:
        n = len(traj)
        for k in (min(int(f), n - 1) for f in args.frames.split(",")):
            atoms = traj[k]
            atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
            start = time.perf_counter()
            reference = atoms.get_forces()
            seconds = time.perf_counter() - start
            model = atoms.copy()
            model.calc = calc
            error = np.linalg.norm(model.get_forces() - reference, axis=1)
            spread = np.linalg.norm(calc.results["forces_std"], axis=1)
            pep, rest = slice(0, args.peptide_atoms), slice(args.peptide_atoms, len(atoms))
            print(
                f"frame {k} of {n}: GFN2-xTB {seconds:.0f} s; force error RMS (eV/Å) peptide "
                f"{rms(error[pep]):.3f}, other atoms {rms(error[rest]):.3f}, largest "
                f"{error.max():.2f} (atom {int(error.argmax())}); ensemble spread RMS peptide "
                f"{rms(spread[pep]):.3f}, other {rms(spread[rest]):.3f}; reference |F| RMS "
                f"{rms(np.linalg.norm(reference, axis=1)):.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
