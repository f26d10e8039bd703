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


def test_null_thresholds_build_no_check():
    mol = molecule("CH3OH")
    kinds = [type(c) for c in build_checks(mol, DivergenceConfig())]
    assert kinds == [FiniteCheck, MaxForceCheck, BondStretchCheck, EscapeCheck]
    off = DivergenceConfig(max_force=None, bond_factor=None, escape_distance=None)
    assert [type(c) for c in build_checks(mol, off)] == [FiniteCheck]
    only_escape = DivergenceConfig(max_force=None, bond_factor=None)
    assert [type(c) for c in build_checks(mol, only_escape)] == [FiniteCheck, EscapeCheck]
    crystal = mol.copy()
    crystal.cell, crystal.pbc = [6.0, 6.0, 6.0], True
    assert [type(c) for c in build_checks(crystal)] == [
        FiniteCheck,
        MaxForceCheck,
        BondStretchCheck,
        EscapeCheck,
    ]
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


def _split_water_box():
    """A water molecule across the x face of a periodic 8 Å box, and a second one inside."""
    atoms = Atoms(
        "OH2OH2",
        positions=[
            [7.9, 4, 4],
            [0.86, 4, 4],
            [7.66, 4.93, 4],
            [4, 1, 1],
            [4.96, 1, 1],
            [3.76, 1.93, 1],
        ],
        cell=[8.0, 8.0, 8.0],
        pbc=True,
    )
    atoms.calc = SinglePointCalculator(atoms, energy=0.0, forces=np.zeros((6, 3)))
    return atoms


def test_bonds_across_periodic_faces_are_found_and_measured_by_minimum_image():
    start = _split_water_box()
    bonds = BondStretchCheck(start, 2.0)
    assert bonds.bonds.tolist() == [[0, 1], [0, 2], [3, 4], [3, 5]]
    np.testing.assert_allclose(bonds.bond_length[0], 0.96, atol=1e-9)
    assert bonds.check(start) is None
    moved = start.copy()
    moved.positions[0] -= 8.0  # the same structure, one atom in another image
    moved.calc = start.calc
    assert bonds.check(moved) is None
    stretched = start.copy()
    stretched.positions[1, 0] = 2.5  # 2.6 Å from O across the face
    assert bonds.check(stretched) == "bond 0-1 (O-H) stretched to 2.60 Å (2.7x its initial length)"


def test_escape_in_a_periodic_cell_counts_neighbours_over_images():
    start = _split_water_box()
    escape = EscapeCheck(3.0)
    assert escape.check(start) is None  # atom 1 is bonded across the face
    lonely = start.copy()
    lonely.cell = [30.0, 30.0, 30.0]
    lonely.positions[1, 0] = 8.86  # keep the first molecule whole in the larger cell
    lonely.positions[5] = [20.0, 20.0, 20.0]
    assert escape.check(lonely) == (
        "atom 5 flew off: no neighbour within 3.0 Å (periodic images included)"
    )
