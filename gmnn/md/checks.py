"""Divergence checks: small objects that look at a running structure for signs of an
unstable potential.

Each check has ``name``, ``settings()`` (its thresholds, for the record) and
``check(atoms) -> str | None``: a reason string when ``atoms`` looks diverged, else None.
:func:`build_checks` makes the tuple a run iterates over from a
:class:`~gmnn.md.config.DivergenceConfig`; a check whose threshold is null, or that does
not apply (bonds and escapes in a periodic cell), is not built. New checks (e.g. a cell
collapsing under NPT, an ensemble's force spread) are new classes added there.
"""

from __future__ import annotations

import numpy as np
from ase.data import covalent_radii
from scipy.spatial import cKDTree

from gmnn.md.config import DivergenceConfig

__all__ = [
    "BondStretchCheck",
    "EscapeCheck",
    "FiniteCheck",
    "MaxForceCheck",
    "build_checks",
]


class FiniteCheck:
    """Non-finite energy, forces or positions (always on)."""

    name = "finite"

    def settings(self) -> dict:
        return {}

    def check(self, atoms) -> str | None:
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            return "non-finite energy or forces"
        if not np.all(np.isfinite(atoms.positions)):
            return "non-finite positions"
        return None


class MaxForceCheck:
    """A force above ``max_force`` (eV/Å) on any atom."""

    name = "max_force"

    def __init__(self, max_force: float):
        self.max_force = float(max_force)

    def settings(self) -> dict:
        return {"max_force": self.max_force}

    def check(self, atoms) -> str | None:
        fmax = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
        if fmax > self.max_force:
            return f"force {fmax:.1f} eV/Å above {self.max_force} eV/Å"
        return None


class BondStretchCheck:
    """A covalent bond of the start structure longer than ``bond_factor`` times its
    initial length.

    Bonds are the pairs closer than 1.2 times the sum of their covalent radii in the
    start structure, found with a k-d tree (O(N log N), no N x N distance matrix).
    """

    name = "bond_stretch"

    def __init__(self, start, bond_factor: float):
        self.bond_factor = float(bond_factor)
        self.bonds = np.zeros((0, 2), int)
        if len(start) > 1:
            pos, radii = start.positions, covalent_radii[start.numbers]
            pairs = np.array(sorted(cKDTree(pos).query_pairs(1.2 * 2 * radii.max())), int)
            if len(pairs):
                d = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
                self.bonds = pairs[d < 1.2 * (radii[pairs[:, 0]] + radii[pairs[:, 1]])]
        self.bond_length = np.linalg.norm(
            start.positions[self.bonds[:, 0]] - start.positions[self.bonds[:, 1]], axis=1
        )

    def settings(self) -> dict:
        return {"bond_factor": self.bond_factor}

    def check(self, atoms) -> str | None:
        if not len(self.bonds):
            return None
        pos = atoms.positions
        length = np.linalg.norm(pos[self.bonds[:, 0]] - pos[self.bonds[:, 1]], axis=1)
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


class EscapeCheck:
    """An atom farther than ``escape_distance`` (Å) from its nearest neighbour."""

    name = "escape"

    def __init__(self, escape_distance: float):
        self.escape_distance = float(escape_distance)

    def settings(self) -> dict:
        return {"escape_distance": self.escape_distance}

    def check(self, atoms) -> str | None:
        pos = atoms.positions
        nearest = cKDTree(pos).query(pos, k=2)[0][:, 1]
        k = int(np.argmax(nearest))
        if nearest[k] > self.escape_distance:
            return f"atom {k} flew off: {nearest[k]:.1f} Å from its nearest neighbour"
        return None


def build_checks(start, config: DivergenceConfig | None = None) -> tuple:
    """The checks of ``config`` for a run from the structure ``start``, in the order they
    are run (the first reason found is the one recorded)."""
    config = config if config is not None else DivergenceConfig()
    checks: list = [FiniteCheck()]
    if config.max_force is not None:
        checks.append(MaxForceCheck(config.max_force))
    molecular = not np.any(start.pbc) and len(start) > 1
    if molecular and config.bond_factor is not None:
        checks.append(BondStretchCheck(start, config.bond_factor))
    if molecular and config.escape_distance is not None:
        checks.append(EscapeCheck(config.escape_distance))
    return tuple(checks)


def first_reason(checks, atoms) -> str | None:
    """The reason of the first check that finds ``atoms`` diverged, else None."""
    for check in checks:
        reason = check.check(atoms)
        if reason is not None:
            return reason
    return None
