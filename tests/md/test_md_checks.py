"""gmnn.md.checks: each divergence check and its reason string; a check whose threshold
is null is not built, and a run without it does not stop for it."""

from __future__ import annotations

import numpy as np
from _synthetic import PushLastAtom
from ase import Atoms
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator

from gmnn.md import (
    BondStretchCheck,
    DivergenceConfig,
    EscapeCheck,
    FiniteCheck,
    MaxForceCheck,
    MDConfig,
    MDRun,
    build_checks,
    first_reason,
)


def water(forces=None, energy=0.0, positions=None):
    atoms = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    if positions is not None:
        atoms.positions = positions
    forces = np.zeros((3, 3)) if forces is None else np.asarray(forces, float)
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    return atoms


def test_each_check_and_its_reason():
    start = water()
    bonds = BondStretchCheck(start, 2.0)
    assert bonds.bonds.tolist() == [[0, 1], [0, 2]]
    escape, force, finite = EscapeCheck(10.0), MaxForceCheck(50.0), FiniteCheck()
    for check in (bonds, escape, force, finite):
        assert check.check(start) is None
    assert finite.check(water(energy=np.nan)) == "non-finite energy or forces"
    assert finite.check(water(forces=[[np.inf, 0, 0], [0, 0, 0], [0, 0, 0]])) == (
        "non-finite energy or forces"
    )
    nan_pos = water()
    nan_pos.positions[0, 0] = np.nan
    nan_pos.calc = PushLastAtom()  # (a single point's cache never matches NaN positions)
    assert finite.check(nan_pos) == "non-finite positions"
    assert force.check(water(forces=[[0, 0, 0], [60.0, 0, 0], [0, 0, 0]])) == (
        "force 60.0 eV/Å above 50.0 eV/Å"
    )
    stretched = water(positions=[[0, 0, 0], [2.5, 0, 0], [-0.24, 0.93, 0]])
    assert bonds.check(stretched) == "bond 0-1 (O-H) stretched to 2.50 Å (2.6x its initial length)"
    far = water(positions=[[0, 0, 0], [0.96, 0, 0], [0, 15.0, 0]])
    assert escape.check(far) == "atom 2 flew off: 15.0 Å from its nearest neighbour"


def test_null_thresholds_and_periodic_cells_build_no_check():
    mol = molecule("CH3OH")
    kinds = [type(c) for c in build_checks(mol, DivergenceConfig())]
    assert kinds == [FiniteCheck, MaxForceCheck, BondStretchCheck, EscapeCheck]
    off = DivergenceConfig(max_force=None, bond_factor=None, escape_distance=None)
    assert [type(c) for c in build_checks(mol, off)] == [FiniteCheck]
    only_escape = DivergenceConfig(max_force=None, bond_factor=None)
    assert [type(c) for c in build_checks(mol, only_escape)] == [FiniteCheck, EscapeCheck]
    crystal = mol.copy()
    crystal.cell, crystal.pbc = [6.0, 6.0, 6.0], True
    assert [type(c) for c in build_checks(crystal)] == [FiniteCheck, MaxForceCheck]
    assert first_reason(build_checks(water(), off), water(energy=np.nan)) == (
        "non-finite energy or forces"
    )


def test_a_switched_off_check_is_not_run(tmp_path):
    """The same escaping atom: stopped by the bond check by default, by the escape check
    without it, not at all with both off."""
    atoms = molecule("CH3OH")
    reasons = []
    for divergence in (
        {},
        {"bond_factor": None},
        {"bond_factor": None, "escape_distance": None},
    ):
        cfg = MDConfig.from_dict({"steps": 400, "write_interval": 4, "divergence": divergence})
        run = MDRun(atoms, PushLastAtom(), cfg)
        assert len(run.checks) == 4 - len(divergence)
        summary = run.run()
        reasons.append(summary["reason"])
        assert summary["divergence_checks"] == cfg.divergence.to_dict()
    assert "stretched" in reasons[0]
    assert "flew off" in reasons[1]
    assert reasons[2] is None
