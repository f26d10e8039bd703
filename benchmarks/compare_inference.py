#!/usr/bin/env python
"""A/B of gmnn's inference: before the speed issue (commit 2801eee's ``GMNN.predict``: flat
pair list, TensorFlow graph, one call per ensemble member) against the ``Predictor`` of
``gmnn.model.inference`` (dense layout, XLA for small calls, members in one computation).

    python benchmarks/compare_inference.py [--ref 2801eee]

The old ``gmnn/model/potential.py`` is taken from git (``git show REF:...``) into a temporary
directory and imported beside the current package (its descriptor and neighbour lists are
today's: only the model evaluation differs).  For aspirin (21 atoms, rMD17 or a stand-in),
the 104-atom Ala10, a 3000-atom and a 2382-atom water box it prints the median time of one
call (neighbour list and inputs included) with 1 and 5 models, old and new, interleaved in
one process, and the largest force deviation between the two.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def med_time(fn, n: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def compare(old_potential, name, atoms, cutoff, n) -> str:
    """One line: old and new call times with 1 and 5 models, and the force deviation."""
    from gmnn.model import GMNN
    from gmnn.model.batch import atoms_inputs
    from gmnn.model.inference import Predictor

    species = sorted(set(atoms.numbers.tolist()))
    new_models = [GMNN(species, cutoff=cutoff, seed=k) for k in range(5)]
    old_models = []
    for m in new_models:
        old = old_potential.GMNN(species, cutoff=cutoff)
        old.set_weights(m.get_weights())
        old_models.append(old)
    one, five = Predictor(new_models[:1]), Predictor(new_models)
    feed = atoms_inputs(new_models[0], atoms)
    f_old = old_models[0].predict(feed)["forces"]
    dev = np.abs(f_old - one.predict(feed)["forces"][0]).max() / np.abs(f_old).max()
    t_old1 = med_time(lambda: old_models[0].predict(atoms_inputs(old_models[0], atoms)), n)
    t_new1 = med_time(lambda: one.predict(atoms_inputs(new_models[0], atoms)), n)
    n5 = max(2, n // 5)
    t_old5 = med_time(lambda: [m.predict(atoms_inputs(m, atoms)) for m in old_models], n5)
    t_new5 = med_time(lambda: five.predict(atoms_inputs(new_models[0], atoms)), n5)
    return (
        f"{name:12s} {len(atoms):5d} atoms | 1 model: old {t_old1 * 1e3:8.2f} ms, new "
        f"{t_new1 * 1e3:8.2f} ms ({t_old1 / t_new1:4.2f}x) | 5 models: old "
        f"{t_old5 * 1e3:8.2f} ms, new {t_new5 * 1e3:8.2f} ms ({t_old5 / t_new5:4.2f}x; new "
        f"5/1 = {t_new5 / t_new1:4.2f}) | force deviation {dev:.1e}"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ref", default="2801eee", help="git revision of the old implementation")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    source = subprocess.run(
        ["git", "show", f"{args.ref}:gmnn/model/potential.py"],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp / "old_potential.py").write_text(source)
    sys.path[:0] = [str(tmp), str(HERE)]
    import bench_gmnn as bench
    import old_potential
    from ase import Atoms

    structures, _ = bench.load_aspirin(bench.default_data(), 1)
    n0 = int(structures.n_atoms[0])
    aspirin = Atoms(structures.numbers[:n0], positions=structures.positions[:n0])
    ala10, _ = bench.ala10_atoms()
    cases = [
        ("aspirin", aspirin, 4.0, 200),
        ("Ala10", ala10, 5.0, 100),
        ("water 3000", bench.water_cell().repeat((2, 2, 2)), 5.0, 5),
        ("water 2382", bench.solvated_atoms(), 5.0, 5),
    ]
    print(f"old: {args.ref} GMNN.predict; new: Predictor (this checkout)")
    for case in cases:
        print(compare(old_potential, *case), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
