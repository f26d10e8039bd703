"""Unit constants and conversions.

Internally gmnn works in **eV** (energies), **Å** (lengths) and **eV/Å** (forces).
Conversions happen at the edges: readers convert from the units of a file, reporting
converts to kcal/mol and kcal/mol/Å. All constants are taken from :mod:`ase.units`
(CODATA 2014 by default), so gmnn and ASE always agree.

Each ``*_UNIT`` constant is the size of that unit expressed in eV or Å, i.e.
``value_in_eV = value_in_unit * CONSTANT``.
"""

from __future__ import annotations

import ase.units
import numpy as np
from numpy.typing import ArrayLike

KCAL_MOL: float = ase.units.kcal / ase.units.mol
"""One kcal/mol in eV (about 0.0433641 eV)."""

KJ_MOL: float = ase.units.kJ / ase.units.mol
"""One kJ/mol in eV."""

HARTREE: float = ase.units.Hartree
"""One Hartree in eV (about 27.2114 eV)."""

BOHR: float = ase.units.Bohr
"""One Bohr radius in Å (about 0.529177 Å)."""

ENERGY_UNITS: dict[str, float] = {
    "ev": 1.0,
    "mev": 1e-3,
    "kcal/mol": KCAL_MOL,
    "kj/mol": KJ_MOL,
    "hartree": HARTREE,
    "ha": HARTREE,
    "eh": HARTREE,
    "au": HARTREE,
}
"""Energy unit names accepted in data files (lower case) and their size in eV."""

LENGTH_UNITS: dict[str, float] = {
    "ang": 1.0,
    "angstrom": 1.0,
    "a": 1.0,
    "\u00e5": 1.0,
    "nm": 10.0,
    "bohr": BOHR,
    "au": BOHR,
    "a0": BOHR,
}
"""Length unit names accepted in data files (lower case) and their size in Å."""


def _unit_size(table: dict[str, float], kind: str, name: str) -> float:
    key = name.strip().lower()
    if key not in table:
        raise KeyError(f"unknown {kind} unit {name!r}; known: {sorted(table)}")
    return table[key]


def energy_unit_in_ev(name: str) -> float:
    """Size of the energy unit ``name`` (e.g. ``"kcal/mol"``, ``"Ha"``) in eV.

    Raises:
        KeyError: for an unknown unit name; the message lists the known names.
    """
    return _unit_size(ENERGY_UNITS, "energy", name)


def length_unit_in_angstrom(name: str) -> float:
    """Size of the length unit ``name`` (e.g. ``"Ang"``, ``"bohr"``) in Å.

    Raises:
        KeyError: for an unknown unit name; the message lists the known names.
    """
    return _unit_size(LENGTH_UNITS, "length", name)


def force_unit_in_ev_per_angstrom(name: str) -> float:
    """Size of the force unit ``name`` (an energy unit, ``/``, a length unit, e.g.
    ``"Hartree/Bohr"``, ``"kcal/mol/A"``, ``"eV/Angstrom"``) in eV/Å.

    Raises:
        KeyError: for a name that is not ``<energy unit>/<length unit>`` of known units;
            the message lists the known names.
    """
    energy, sep, length = name.strip().rpartition("/")
    if not sep or not energy:
        raise KeyError(
            f"unknown force unit {name!r}: write it as <energy unit>/<length unit>, e.g. "
            "'eV/Angstrom', 'Hartree/Bohr' or 'kcal/mol/A'"
        )
    return energy_unit_in_ev(energy) / length_unit_in_angstrom(length)


def ev_to_kcal_mol(x: ArrayLike) -> np.ndarray | np.floating:
    """Convert energies in eV (or forces in eV/Å) to kcal/mol (or kcal/mol/Å)."""
    return np.divide(x, KCAL_MOL)


def kcal_mol_to_ev(x: ArrayLike) -> np.ndarray | np.floating:
    """Convert energies in kcal/mol (or forces in kcal/mol/Å) to eV (or eV/Å)."""
    return np.multiply(x, KCAL_MOL)


def ev_to_hartree(x: ArrayLike) -> np.ndarray | np.floating:
    """Convert energies in eV to Hartree."""
    return np.divide(x, HARTREE)


def hartree_to_ev(x: ArrayLike) -> np.ndarray | np.floating:
    """Convert energies in Hartree (or forces in Hartree/Å) to eV (or eV/Å)."""
    return np.multiply(x, HARTREE)
