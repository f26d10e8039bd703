"""Recompute one COMP6 S66x8 dimer with PySCF: level of theory and the sign of 'forces'.

COMP6 v1 gives ωB97X/6-31G* energies (Hartree) and an array named ``forces``; the README
does not say whether it holds forces or gradients, and :func:`gmnn.data.sources.load_comp6`
negates it (gradients, +dE/dR). This script recomputes one conformer of the file,

* energy: ωB97X/6-31G* with Cartesian d functions (``cart=True``, Gaussian's 6D
  convention), DFT grids level 4, no density fitting, tight SCF; target: the file's
  energy within 0.1 mHa;
* gradient: PySCF's analytic nuclear gradient dE/dR (Hartree/Bohr, converted to
  Hartree/Å) against the file's ``forces`` (Hartree/Å): equal if the file holds
  gradients, opposite if it holds forces,

prints both and writes a Markdown report (``--out``, default
``results/checks/comp6_s66x8_pyscf.md``).

Run (about a minute on 2 threads)::

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/comp6_s66x8_pyscf.py

Options: ``--file`` (default ``../shared/data/comp6/s66x8_wb97x6-31gd.h5``), ``--group``
(``s66x8/mol00``, the water dimer), ``--conformer`` (3), ``--spherical`` (spherical d
functions instead, for comparison).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from gmnn.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "comp6" / "s66x8_wb97x6-31gd.h5"
BOHR_PER_ANGSTROM = 1.0 / 0.52917721092  # PySCF's lib.param.BOHR is 0.52917721092 Å


def compute(file: Path, group: str, conformer: int, cart: bool) -> dict:
    """PySCF energy and gradient of one conformer next to the file's values (Hartree, Å)."""
    import pyscf
    from pyscf import dft

    with h5py.File(file, "r") as f:
        g = f[group]
        symbols = [s.decode() for s in g["species"][()]]
        coords = np.asarray(g["coordinates"][conformer], dtype=np.float64)
        e_file = float(g["energies"][conformer])
        f_file = np.asarray(g["forces"][conformer], dtype=np.float64)
        lot = np.asarray(g["lot"][()]).ravel()[0].decode() if "lot" in g else "?"
    mol = pyscf.M(
        atom=list(zip(symbols, coords.tolist(), strict=True)),
        basis="6-31g*",
        cart=cart,
        unit="Angstrom",
        verbose=0,
    )
    mf = dft.RKS(mol)
    mf.xc = "wb97x"
    mf.grids.level = 4
    mf.conv_tol = 1e-10
    t0 = time.perf_counter()
    e_pyscf = float(mf.kernel())
    t_scf = time.perf_counter() - t0
    if not mf.converged:
        raise SystemExit(f"{file}:{group}[{conformer}]: the SCF did not converge")
    t0 = time.perf_counter()
    grad = mf.nuc_grad_method().kernel() * BOHR_PER_ANGSTROM  # dE/dR in Hartree/Å
    t_grad = time.perf_counter() - t0
    diff_plus = f_file - grad  # file = +dE/dR ?
    diff_minus = f_file + grad  # file = -dE/dR ?
    factor = float(np.sum(f_file * grad) / np.sum(grad * grad))  # least squares file ~ k grad
    return {
        "file": str(file),
        "group": group,
        "conformer": conformer,
        "lot": lot,
        "symbols": symbols,
        "cart": cart,
        "e_file": e_file,
        "e_pyscf": e_pyscf,
        "de_mha": (e_pyscf - e_file) * 1e3,
        "f_file": f_file,
        "grad": grad,
        "max_abs_plus": float(np.abs(diff_plus).max()),
        "max_abs_minus": float(np.abs(diff_minus).max()),
        "corr": float(np.corrcoef(f_file.ravel(), grad.ravel())[0, 1]),
        "factor": factor,
        "t_scf": t_scf,
        "t_grad": t_grad,
        "pyscf": pyscf.__version__,
    }


def report(r: dict, command: str) -> str:
    """The Markdown report of :func:`compute`'s result."""
    d_label = "Cartesian (6D, cart=True)" if r["cart"] else "spherical (5D)"
    sign = "+dE/dR (gradients)" if r["max_abs_plus"] < r["max_abs_minus"] else "-dE/dR (forces)"
    rows = "\n".join(
        f"| {k} {s} | "
        + " ".join(f"{v:+.6f}" for v in r["f_file"][k])
        + " | "
        + " ".join(f"{v:+.6f}" for v in r["grad"][k])
        + " |"
        for k, s in enumerate(r["symbols"])
    )
    return f"""# COMP6 S66x8 recomputed with PySCF

Command: `{command}` (PySCF {r["pyscf"]}; SCF {r["t_scf"]:.1f} s, gradient {r["t_grad"]:.1f} s).

File `{r["file"]}`, group `/{r["group"]}`, conformer {r["conformer"]} (file `lot`:
`{r["lot"]}`). PySCF: RKS ωB97X (`xc="wb97x"`), basis 6-31G* with {d_label} d functions,
grids level 4, no density fitting, `conv_tol=1e-10`.

## Energy

| | Hartree |
|---|---|
| file `energies` | {r["e_file"]:.8f} |
| PySCF | {r["e_pyscf"]:.8f} |
| PySCF - file | {r["de_mha"]:+.4f} mHa (target: within 0.1 mHa) |

## Gradient: what the file's `forces` hold

PySCF's analytic gradient dE/dR converted from Hartree/Bohr to Hartree/Å (x {BOHR_PER_ANGSTROM:.6f}).

| | value |
|---|---|
| max \\|file - dE/dR\\| | {r["max_abs_plus"]:.2e} Ha/Å |
| max \\|file + dE/dR\\| | {r["max_abs_minus"]:.2e} Ha/Å |
| correlation(file, dE/dR) | {r["corr"]:+.6f} |
| least-squares factor file ≈ k · dE/dR | {r["factor"]:+.5f} |

Conclusion: the file's `forces` are {sign}, in Hartree/Å
(`gmnn.data.sources.load_comp6` and `gmnn.data.sources.convert_comp6` negate them).

| atom | file `forces` x y z (Ha/Å) | PySCF dE/dR x y z (Ha/Å) |
|---|---|---|
{rows}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--group", default="s66x8/mol00")
    parser.add_argument("--conformer", type=int, default=3)
    parser.add_argument("--spherical", action="store_true", help="spherical d functions")
    parser.add_argument("--out", type=Path, default=ROOT / "results/checks/comp6_s66x8_pyscf.md")
    args = parser.parse_args(argv)
    if not args.file.exists():
        raise SystemExit(f"{args.file}: not found (pass --file)")
    r = compute(args.file, args.group, args.conformer, cart=not args.spherical)
    print(
        f"energy  file {r['e_file']:.8f} Ha  PySCF {r['e_pyscf']:.8f} Ha  "
        f"diff {r['de_mha']:+.4f} mHa"
    )
    print(
        f"forces  max|file - dE/dR| {r['max_abs_plus']:.2e}  max|file + dE/dR| "
        f"{r['max_abs_minus']:.2e} Ha/Å  corr {r['corr']:+.6f}  factor {r['factor']:+.5f}"
    )
    print("file forces (Ha/Å):\n", r["f_file"])
    print("PySCF dE/dR (Ha/Å):\n", r["grad"])
    command = "OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/comp6_s66x8_pyscf.py"
    if argv or sys.argv[1:]:
        command += " " + " ".join(argv if argv is not None else sys.argv[1:])
    atomic_write_text(args.out, report(r, command))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
