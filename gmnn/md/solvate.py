"""Solvate a solute (e.g. the Ala10 helix) in a periodic, orthorhombic water box with packmol.

>>> from gmnn.data.ala10 import read_ala10_pdb
>>> from gmnn.md.solvate import solvate, min_oo_distance, density
>>> ala = read_ala10_pdb("deca-ala_helix_104atoms.pdb")
>>> box = solvate(ala, n_water=760)   # the paper's 2,384 atoms
>>> density(box), min_oo_distance(box)

The paper's system, Ala10 (C30H53N11O10, 727.8 amu) + 760 waters at 1 g/cm³: 23,944 Å³, a
25.88 x 26.62 x 34.76 Å box (helix extent 7.9 x 8.7 x 16.8 Å, so 9.0 Å of water on every side
and 18 Å between the helix and its periodic images); packmol packs it in about 3 s, minimum
O-O distance 2.20 Å. (Read the shared PDB with :func:`gmnn.data.ala10.read_ala10_pdb`:
it has no element column, and ASE's reader takes atom ``CA`` for calcium.)

How the box is built (:func:`solvate`):

1. The solute is rotated rigidly (a proper rotation, never a reflection: chirality is kept) onto
   the principal axes of its atomic positions (unweighted covariance), its longest axis along z,
   its shortest along x.
2. Box volume from the **mass** density: ``V = (M_solute + n_water * M_H2O) / density``, i.e.
   the density of the whole box, solute included (``V[Å³] = M[amu] * 1.66054 / ρ[g/cm³]``).
3. Box shape: by default the box is the solute's bounding box grown by the same solvent-shell
   thickness ``s`` on every side (``prod(extent_i + 2 s) = V``), so an elongated solute gets an
   elongated box with an even water layer; ``aspect=(a, b, c)`` instead fixes the ratios of the
   edge lengths. The solute's bounding box is centred in the box.
4. packmol keeps the solute fixed and places ``n_water`` waters ``inside box`` at ``margin`` Å
   from every face (packmol does not separate molecules across periodic faces, so two waters on
   opposite faces are at least ``2 * margin`` apart through the face), at least ``tolerance`` Å
   from any other atom, with random ``seed``. The box becomes the cell, ``pbc=True``.

The water geometry is ASE's ``molecule("H2O")`` (O-H 0.969 Å, H-O-H 103.9°), close to the DFT
minimum the potentials are trained on; another rigid water (e.g. SPC/E, O-H 1 Å, 109.47°) can be
passed as ``water=``. The packmol binary comes from the PyPI wheel ``packmol`` (``pip install
packmol``, which installs ``packmol`` next to the Python interpreter); ``$GMNN_PACKMOL`` or
``executable=`` name another one.

Written by hand: the box geometry (a one-dimensional root find), the packmol input file and the
read-back (packmol itself does the packing), and the checks :func:`min_oo_distance` (vesin's
periodic neighbour list) and :func:`density`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import molecule
from ase.io import read, write
from ase.units import _amu
from scipy.optimize import brentq

__all__ = [
    "PACKMOL_ENV",
    "PackmolError",
    "box_lengths",
    "density",
    "find_packmol",
    "min_oo_distance",
    "principal_axes_frame",
    "solvate",
]

#: Environment variable naming a packmol executable (overrides the one found on the path).
PACKMOL_ENV = "GMNN_PACKMOL"

_INSTALL_HINT = (
    "install it with `pip install packmol` (the PyPI wheel ships the binary), or point "
    f"${PACKMOL_ENV} at a packmol executable"
)
# 1 amu / 1 Å^3 in g/cm^3: 1.66053906660e-24 g / 1e-24 cm^3.
_AMU_PER_A3_IN_G_CM3 = _amu * 1e3 / 1e-24


class PackmolError(RuntimeError):
    """packmol is missing, failed, timed out, or did not reach the requested tolerance."""


def find_packmol(executable: str | os.PathLike[str] | None = None) -> Path:
    """The packmol executable to run.

    Looks in this order at ``executable``, ``$GMNN_PACKMOL``, ``packmol`` next to the running
    Python (a virtual environment's ``bin/``), and ``packmol`` on ``$PATH``.

    Raises:
        PackmolError: the named executable does not exist, or none was found; the message says
            how to install it.
    """
    named = executable if executable is not None else os.environ.get(PACKMOL_ENV)
    if named:
        path = Path(named)
        found = shutil.which(str(path)) if path.parent == Path(".") else None
        if found:
            return Path(found)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        source = "executable=" if executable is not None else f"${PACKMOL_ENV}="
        raise PackmolError(
            f"packmol executable {source}{str(named)!r} does not exist or is not executable; "
            + _INSTALL_HINT
        )
    beside_python = Path(sys.executable).parent / "packmol"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which("packmol")
    if found:
        return Path(found)
    raise PackmolError(f"no packmol executable found (nor ${PACKMOL_ENV}); " + _INSTALL_HINT)


def principal_axes_frame(atoms: Atoms) -> tuple[Atoms, np.ndarray]:
    """A copy of ``atoms`` rotated onto its principal axes, longest along z.

    The axes are the eigenvectors of the covariance of the (unweighted) positions; the rotation
    is proper (determinant +1), so a chiral solute keeps its handedness. The copy's centroid is
    at the origin.

    Returns:
        ``(rotated, R)`` with ``rotated.positions == (atoms.positions - centroid) @ R``.
    """
    pos = np.asarray(atoms.positions, dtype=float)
    centred = pos - pos.mean(axis=0)
    if len(atoms) < 2:
        rotation = np.eye(3)
    else:
        _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending: smallest spread -> x
        rotation = vectors
        if np.linalg.det(rotation) < 0:
            rotation[:, 0] *= -1.0
    rotated = atoms.copy()
    rotated.positions = centred @ rotation
    return rotated, rotation


def box_lengths(
    extent: Sequence[float], volume: float, aspect: Sequence[float] | None = None
) -> np.ndarray:
    """Orthorhombic edge lengths (Å) of volume ``volume`` (Å³) for a solute of ``extent`` (Å).

    Without ``aspect``: ``extent + 2 s`` with the shell thickness ``s > 0`` solving
    ``prod(extent + 2 s) = volume``. With ``aspect``: ``k * aspect`` scaled to ``volume``.

    Raises:
        ValueError: ``volume`` is not larger than the solute's bounding box (too few waters), or
            the solute does not fit in the box ``aspect`` gives, or ``aspect`` is not 3 positive
            numbers.
    """
    ext = np.asarray(extent, dtype=float)
    if aspect is not None:
        ratios = np.asarray(aspect, dtype=float)
        if ratios.shape != (3,) or not np.all(ratios > 0):
            raise ValueError(f"aspect must be 3 positive numbers, got {aspect!r}")
        lengths = ratios * (volume / np.prod(ratios)) ** (1.0 / 3.0)
        if np.any(lengths <= ext):
            raise ValueError(
                f"solute (extent {np.round(ext, 2).tolist()} Å after rotation, longest along z) "
                f"does not fit the box {np.round(lengths, 2).tolist()} Å from aspect={aspect!r}; "
                "add waters or change aspect"
            )
        return lengths
    if np.prod(ext) >= volume:
        raise ValueError(
            f"the solute's bounding box ({np.prod(ext):.0f} Å³) already fills the volume "
            f"{volume:.0f} Å³ the requested density gives; add waters"
        )
    shell = brentq(lambda s: float(np.prod(ext + 2.0 * s)) - volume, 0.0, volume ** (1.0 / 3.0))
    return ext + 2.0 * shell


def _check_tolerance_reached(stdout: str) -> bool:
    return "Success!" in stdout


def solvate(
    solute: Atoms,
    n_water: int,
    density_g_cm3: float = 1.0,
    margin: float = 2.0,
    tolerance: float = 2.0,
    seed: int = 0,
    aspect: Sequence[float] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    *,
    water: Atoms | None = None,
    executable: str | os.PathLike[str] | None = None,
    timeout: float = 600.0,
) -> Atoms:
    """Solvate ``solute`` with ``n_water`` waters in a periodic orthorhombic box (module docs).

    Args:
        solute: the molecule (positions in Å); it is moved rigidly only.
        n_water: number of water molecules (>= 1).
        density_g_cm3: mass density of the whole box, solute included (g/cm³).
        margin: distance (Å) between the waters' atoms and every face of the box.
        tolerance: packmol's minimum distance (Å) between atoms of different molecules.
        seed: packmol's random seed.
        aspect: edge-length ratios (x, y, z) of the box; None grows the solute's bounding box
            by an even shell.
        workdir: directory to keep packmol's input, output and ``packmol.log`` (stdout) in;
            None uses a temporary directory that is removed afterwards.
        water: the water molecule, atoms in the order O, H, H (default ``molecule("H2O")``).
        executable: the packmol binary (default: :func:`find_packmol`).
        timeout: seconds packmol may run.

    Returns:
        Atoms: the solute (first ``len(solute)`` atoms, rotated onto its principal axes and
        centred) followed by ``n_water`` waters (O, H, H each), ``cell`` the box, ``pbc=True``.
        ``info`` holds ``n_solute``, ``n_water``, ``density_g_cm3``, ``margin``,
        ``tolerance``, ``seed``.

    Raises:
        ValueError: bad arguments or a box too small for the solute.
        PackmolError: packmol missing, failing, timing out or not reaching ``tolerance``; the
            message quotes the end of its output.
    """
    if int(n_water) != n_water or n_water < 1:
        raise ValueError(f"n_water must be a positive integer, got {n_water!r}")
    n_water = int(n_water)
    for name, value in (("density_g_cm3", density_g_cm3), ("tolerance", tolerance)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a non-negative number, got {margin!r}")
    if len(solute) == 0:
        raise ValueError("solute has no atoms")
    water = molecule("H2O") if water is None else water.copy()
    if water.get_chemical_symbols() != ["O", "H", "H"]:
        raise ValueError(
            f"water must have atoms O, H, H in this order, got {water.get_chemical_symbols()}"
        )
    binary = find_packmol(executable)

    frame, _ = principal_axes_frame(solute)
    lo, hi = frame.positions.min(axis=0), frame.positions.max(axis=0)
    mass = float(frame.get_masses().sum() + n_water * water.get_masses().sum())
    volume = mass * _AMU_PER_A3_IN_G_CM3 / density_g_cm3
    lengths = box_lengths(hi - lo, volume, aspect)
    if np.any(lengths <= 2.0 * margin):
        raise ValueError(f"margin={margin} Å leaves no room in the box {lengths.round(2)} Å")
    frame.positions += 0.5 * lengths - 0.5 * (lo + hi)
    frame.cell = np.diag(lengths)
    frame.pbc = True

    with tempfile.TemporaryDirectory(prefix="gmnn-solvate-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        waters = _run_packmol(
            binary, frame, water, n_water, lengths, margin, tolerance, seed, work, timeout
        )

    out = frame.copy()
    out.extend(waters)
    out.cell = np.diag(lengths)
    out.pbc = True
    out.info.update(
        n_solute=len(frame),
        n_water=n_water,
        density_g_cm3=float(density_g_cm3),
        margin=float(margin),
        tolerance=float(tolerance),
        seed=int(seed),
    )
    return out


def _run_packmol(
    binary: Path,
    frame: Atoms,
    water: Atoms,
    n_water: int,
    lengths: np.ndarray,
    margin: float,
    tolerance: float,
    seed: int,
    work: Path,
    timeout: float,
) -> Atoms:
    """Write the input, run packmol in ``work``, and return the packed waters (Å)."""
    write(work / "solute.xyz", frame, format="xyz")
    water_centred = water.copy()
    water_centred.positions -= water_centred.positions.mean(axis=0)
    write(work / "water.xyz", water_centred, format="xyz")
    hi = lengths - margin
    inp = "\n".join(
        [
            f"tolerance {tolerance:.6f}",
            "filetype xyz",
            "output packed.xyz",
            f"seed {int(seed)}",
            "structure solute.xyz",
            "  number 1",
            "  fixed 0. 0. 0. 0. 0. 0.",
            "end structure",
            "structure water.xyz",
            f"  number {n_water}",
            f"  inside box {margin:.6f} {margin:.6f} {margin:.6f} "
            f"{hi[0]:.6f} {hi[1]:.6f} {hi[2]:.6f}",
            "end structure",
            "",
        ]
    )
    (work / "packmol.inp").write_text(inp)
    # packmol reads its input from stdin, which must be a seekable file (not a pipe).
    try:
        with open(work / "packmol.inp") as stdin:
            proc = subprocess.run(
                [str(binary)],
                stdin=stdin,
                capture_output=True,
                text=True,
                cwd=work,
                timeout=timeout,
            )
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stdout = stdout or ""
        (work / "packmol.log").write_text(stdout)
        raise PackmolError(
            f"packmol ({binary}) did not finish within {timeout} s packing {n_water} waters "
            f"in {lengths.round(2).tolist()} Å; raise timeout, lower tolerance or the density"
        ) from exc
    except OSError as exc:
        raise PackmolError(f"cannot run packmol ({binary}): {exc}; " + _INSTALL_HINT) from exc
    (work / "packmol.log").write_text(proc.stdout + proc.stderr)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    if proc.returncode != 0 or not _check_tolerance_reached(proc.stdout):
        raise PackmolError(
            f"packmol ({binary}) failed (exit status {proc.returncode}) packing {n_water} "
            f"waters in a {lengths.round(2).tolist()} Å box with tolerance {tolerance} Å and "
            f"margin {margin} Å (without 'Success!' the tolerance was not reached: lower the "
            f"density, tolerance or margin, or add volume). End of its output:\n{tail}"
        )
    packed = read(work / "packed.xyz", format="xyz")
    n_solute = len(frame)
    expected = n_solute + 3 * n_water
    if len(packed) != expected:
        raise PackmolError(
            f"packmol output {work / 'packed.xyz'} has {len(packed)} atoms, expected {expected}"
        )
    # packmol prints 3 decimals or so; the solute is taken from our own (exact) coordinates.
    drift = np.abs(packed.positions[:n_solute] - frame.positions).max()
    if drift > 1e-2:
        raise PackmolError(f"packmol moved the fixed solute by {drift:.3g} Å; unexpected")
    waters = packed[n_solute:]
    waters.set_chemical_symbols(water.get_chemical_symbols() * n_water)
    return waters


def density(atoms: Atoms) -> float:
    """Mass density of ``atoms`` in its cell, in g/cm³ (ASE standard atomic masses)."""
    volume = atoms.get_volume()
    if not volume > 0:
        raise ValueError(f"atoms have no cell volume (cell {atoms.cell.cellpar().round(3)})")
    return float(atoms.get_masses().sum() * _AMU_PER_A3_IN_G_CM3 / volume)


def min_oo_distance(atoms: Atoms, n_solute: int | None = None) -> float:
    """Smallest distance (Å) between the oxygens of two different waters, over periodic images.

    Waters are the atoms after the first ``n_solute`` (default ``atoms.info["n_solute"]``), in
    O, H, H order as :func:`solvate` writes them. Uses vesin's neighbour list on the oxygens
    (periodic along the axes where ``atoms.pbc`` is set), growing the cutoff until a pair is
    found. Returns ``inf`` for fewer than two waters.
    """
    if n_solute is None:
        if "n_solute" not in atoms.info:
            raise ValueError("pass n_solute: atoms.info has no 'n_solute' (not from solvate?)")
        n_solute = int(atoms.info["n_solute"])
    symbols = np.asarray(atoms.get_chemical_symbols()[n_solute:])
    if len(symbols) % 3 or np.any(symbols.reshape(-1, 3) != ["O", "H", "H"]):
        raise ValueError(f"atoms after the first {n_solute} are not waters in O, H, H order")
    oxygens = atoms.positions[n_solute::3]
    if len(oxygens) < 2:
        return float("inf")
    from vesin import NeighborList

    periodic = np.asarray(atoms.pbc, dtype=bool)
    box = np.asarray(atoms.cell[:], dtype=float)
    cutoff = 4.0
    for _ in range(8):
        i, j, dist = NeighborList(cutoff=cutoff, full_list=False).compute(
            oxygens, box, periodic, quantities="ijd"
        )
        dist = dist[i != j]  # an oxygen and its own periodic image are the same water
        if len(dist):
            return float(dist.min())
        cutoff *= 2.0
    return float("inf")
