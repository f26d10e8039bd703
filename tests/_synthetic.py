"""Small synthetic data sets for fast tests: perturbed molecules labelled with ASE's EMT.

EMT is not chemistry, but it is a smooth many-body potential with exact forces,
which is all the training tests need; it runs without any downloaded data.
"""

from __future__ import annotations

import numpy as np
from ase.build import molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from gmnn.data import Structures


def perturbed(name: str, n: int, seed: int = 0, sigma: float = 0.08):
    base = molecule(name)
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=sigma, size=atoms.positions.shape)
        atoms.calc = EMT()
        e, f = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f)
        frames.append(atoms)
    return frames


def emt_structures(name: str = "CH3CH2OH", n: int = 48, seed: int = 0) -> Structures:
    return Structures.from_ase(perturbed(name, n, seed), meta={"source": f"emt:{name}"})


def mixed_structures(n_each: int = 12, seed: int = 0) -> Structures:
    frames = []
    for k, name in enumerate(["CH3CH2OH", "H2O", "CH4", "CH3OH"]):
        frames += perturbed(name, n_each, seed + k)
    return Structures.from_ase(frames, meta={"source": "emt:mixed"})


class PushLastAtom(Calculator):
    """Zero energy and forces except a constant push on the last atom, which therefore
    leaves the molecule (a potential that makes MD diverge)."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        forces = np.zeros((len(self.atoms), 3))
        forces[-1] = [20.0, 0.0, 0.0]
        self.results = {"energy": 0.0, "forces": forces}
