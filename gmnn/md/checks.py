"""Divergence checks: small objects that look at a running structure for signs of an
unstable potential.

Each check has ``name``, ``settings()`` (its thresholds, for the record) and
``check(atoms) -> str | None``: a reason string when ``atoms`` looks diverged, else None.
:func:`build_checks` makes the tuple a run iterates over from a
:class:`~gmnn.md.config.DivergenceConfig`; a check whose threshold is null, or that does
not apply (bonds and escapes of a single atom), is not built. Bonds and escapes work in
periodic cells too (minimum-image bond vectors; neighbours over periodic images), for a
solvated peptide as for a molecule. An ensemble's disagreement (:class:`ForceSpreadCheck`) is off unless
``max_force_spread`` is set. New checks (e.g. a cell collapsing under NPT) are new classes
added there.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from ase.geometry import find_mic
from ase.neighborlist import neighbor_list
from scipy.spatial import cKDTree

from gmnn.analysis.structure import covalent_bonds
from gmnn.md.config import DivergenceConfig

__all__ = [
    "BondStretchCheck",
    "EscapeCheck",
    "FiniteCheck",
    "ForceSpreadCheck",
    "MaxForceCheck",
    "build_checks",
    "check_start_structure",
]


class _Check:
    """A check whose thresholds are its fields (floats): each subclass, given its
    ``name`` as a class keyword, is made a frozen dataclass."""

    name: ClassVar[str]

    def __init_subclass__(cls, name: str, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = name
        dataclass(frozen=True)(cls)

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, float(getattr(self, f.name)))

    def settings(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FiniteCheck(_Check, name="finite"):
    """Non-finite energy, forces or positions (always on)."""

    def check(self, atoms) -> str | None:
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            return "non-finite energy or forces"
        if not np.all(np.isfinite(atoms.positions)):
            return "non-finite positions"
        return None


class MaxForceCheck(_Check, name="max_force"):
    """A force above ``max_force`` (eV/Å) on any atom."""

    max_force: float

    def check(self, atoms) -> str | None:
        fmax = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
        if fmax > self.max_force:
            return f"force {fmax:.1f} eV/Å above {self.max_force} eV/Å"
        return None


def _bond_vectors(atoms, bonds: np.ndarray) -> np.ndarray:
    """Vectors of the bonds ``(i, j)`` of ``atoms``: minimum-image in a periodic cell (a
    bond is shorter than half the cell, so the nearest image is the bonded one)."""
    d = atoms.positions[bonds[:, 1]] - atoms.positions[bonds[:, 0]]
    if np.any(atoms.pbc) and len(d):
        d, _ = find_mic(d, atoms.cell, atoms.pbc)
    return d


class BondStretchCheck:
    """A covalent bond of the start structure longer than ``bond_factor`` times its
    initial length.

    Bonds are the pairs closer than 1.2 times the sum of their covalent radii in the
    start structure (:func:`gmnn.analysis.structure.covalent_bonds`, periodic images
    included);
    lengths are measured with the minimum-image convention in periodic cells, so a bond
    across a face is one bond.
    """

    name = "bond_stretch"

    def __init__(self, start, bond_factor: float):
        self.bond_factor = float(bond_factor)
        self.bonds = np.zeros((0, 2), int)
        if len(start) > 1:
            self.bonds = covalent_bonds(start.numbers, start.positions, start.cell, start.pbc)
        self.bond_length = np.linalg.norm(_bond_vectors(start, self.bonds), axis=1)

    def settings(self) -> dict:
        return {"bond_factor": self.bond_factor}

    def check(self, atoms) -> str | None:
        if not len(self.bonds):
            return None
        length = np.linalg.norm(_bond_vectors(atoms, self.bonds), axis=1)
        ratio = length / self.bond_length
        k = int(np.argmax(ratio))
        if ratio[k] > self.bond_factor:
            a, b = self.bonds[k]
            symbols = atoms.get_chemical_symbols()
            return (
                f"bond {a}-{b} ({symbols[a]}-{symbols[b]}) stretched to {length[k]:.2f} Å "
                f"({ratio[k]:.1f}x its initial length)"
            )
        return None


class EscapeCheck(_Check, name="escape"):
    """An atom farther than ``escape_distance`` (Å) from its nearest neighbour."""

    escape_distance: float

    def check(self, atoms) -> str | None:
        if np.any(atoms.pbc):
            # neighbours within escape_distance over periodic images: none means escaped
            i = neighbor_list("i", atoms, self.escape_distance / 2.0)
            alone = np.flatnonzero(np.bincount(i, minlength=len(atoms)) == 0)
            if len(alone):
                return (
                    f"atom {int(alone[0])} flew off: no neighbour within "
                    f"{self.escape_distance} Å (periodic images included)"
                )
            return None
        pos = atoms.positions
        nearest = cKDTree(pos).query(pos, k=2)[0][:, 1]
        k = int(np.argmax(nearest))
        if nearest[k] > self.escape_distance:
            return f"atom {k} flew off: {nearest[k]:.1f} Å from its nearest neighbour"
        return None


class ForceSpreadCheck(_Check, name="force_spread"):
    """An ensemble's members disagreeing: the largest per-atom norm of the force standard
    deviation (``forces_std_max`` of :class:`gmnn.calculator.EnsembleCalculator`, eV/Å)
    above ``max_force_spread``. Off by default (the spread is recorded with every frame
    either way); a calculator without the spread (a single model) never triggers it."""

    max_force_spread: float

    def check(self, atoms) -> str | None:
        atoms.get_forces()  # the spread is computed with the forces
        spread = (getattr(atoms.calc, "results", None) or {}).get("forces_std_max")
        if spread is not None and spread > self.max_force_spread:
            return (
                f"ensemble disagreement: force spread {spread:.2f} eV/Å above "
                f"{self.max_force_spread} eV/Å"
            )
        return None


def build_checks(start, config: DivergenceConfig | None = None) -> tuple:
    """The checks of ``config`` for a run from the structure ``start``, in the order they
    are run (the first reason found is the one recorded)."""
    config = config if config is not None else DivergenceConfig()
    checks: list = [FiniteCheck()]
    if config.max_force is not None:
        checks.append(MaxForceCheck(config.max_force))
    several = len(start) > 1
    if several and config.bond_factor is not None:
        checks.append(BondStretchCheck(start, config.bond_factor))
    if several and config.escape_distance is not None:
        checks.append(EscapeCheck(config.escape_distance))
    if config.max_force_spread is not None:
        checks.append(ForceSpreadCheck(config.max_force_spread))
    return tuple(checks)


def first_reason(checks, atoms) -> str | None:
    """The reason of the first check that finds ``atoms`` diverged, else None."""
    for check in checks:
        reason = check.check(atoms)
        if reason is not None:
            return reason
    return None


def check_start_structure(atoms, cutoff: float | None = None, source=None, species=None) -> None:
    """Refuse a start structure that no MD can start from, before any step (a
    :class:`gmnn.data.DataError` naming ``source``, else a ValueError):

    * what every data reader refuses (:class:`gmnn.data.Structures`): unknown elements,
      non-finite coordinates or cell, atoms closer than ``MIN_DISTANCE_A`` (minimum image);
    * elements the model does not know (with its ``species``);
    * with the model's ``cutoff`` (Å): a periodic cell thinner than the cutoff along a
      periodic direction (an atom would meet its own image inside the cutoff: repeat the
      cell), and an atom with no other atom within the cutoff (it feels no force; the
      message gives the distance to its nearest neighbour).
    """
    from gmnn.data import DataError, Structures

    where = str(source) if source is not None else "start structure"
    try:
        Structures.from_ase([atoms], energy=False, forces=False, meta={"source": where})
    except DataError as err:
        raise DataError(where, err.problem.replace("structure 0", "the structure")) from err
    if species is not None:
        unknown = sorted(set(atoms.numbers.tolist()) - {int(z) for z in species})
        if unknown:
            from ase.data import chemical_symbols

            k = int(np.flatnonzero(np.isin(atoms.numbers, unknown))[0])
            names = ", ".join(f"{chemical_symbols[z]} (Z={z})" for z in unknown)
            known = ", ".join(chemical_symbols[int(z)] for z in species)
            raise DataError(
                where,
                f"element(s) {names} (first: atom {k}) are not among the model's elements {known}",
            )
    if cutoff is None or len(atoms) < 2:
        return
    cutoff = float(cutoff)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any():
        cell = np.asarray(atoms.cell.array, dtype=float)
        volume = abs(np.linalg.det(cell))
        for axis in np.flatnonzero(pbc):
            others = [k for k in range(3) if k != axis]
            area = np.linalg.norm(np.cross(cell[others[0]], cell[others[1]]))
            width = volume / area if area > 0 else 0.0
            if width < cutoff:
                raise DataError(
                    where,
                    f"the periodic cell is {width:.4g} Å wide along cell vector {axis}, "
                    f"less than the model's cutoff {cutoff:g} Å: each atom would interact "
                    "with its own periodic image; repeat the cell (atoms.repeat) or give a "
                    "larger one",
                )
    i = neighbor_list("i", atoms, cutoff)
    lonely = np.setdiff1d(np.arange(len(atoms)), i)
    if lonely.size:
        k = int(lonely[0])
        others = np.delete(np.arange(len(atoms)), k)
        vectors = atoms.positions[others] - atoms.positions[k]
        if pbc.any():
            vectors, _ = find_mic(vectors, atoms.cell, atoms.pbc)
        nearest = float(np.linalg.norm(vectors, axis=1).min())
        raise DataError(
            where,
            f"atom {k} ({atoms.get_chemical_symbols()[k]}) has no other atom within the "
            f"model's cutoff {cutoff:g} Å (its nearest neighbour is {nearest:.4g} Å away; "
            f"{lonely.size} such atoms): an isolated atom feels no force",
        )
