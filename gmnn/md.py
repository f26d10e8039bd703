"""Molecular dynamics with ASE and divergence detection.

A run that goes wrong (non-finite energy or forces, a force above
``max_force``, an atom flying away from the rest, a covalent bond stretched
beyond ``bond_factor`` times its initial length) stops early, and the returned
summary records when and why instead of raising, so that a workflow of many
runs goes on.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from ase import units
from ase.constraints import FixCom
from ase.data import covalent_radii
from ase.io import Trajectory
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, ZeroRotation

try:  # ASE >= 3.28
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:  # pragma: no cover - older ASE
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta


class DivergenceMonitor:
    """Checks a running structure for signs of an unstable potential."""

    def __init__(self, atoms, max_force=50.0, bond_factor=2.0, escape_distance=10.0):
        self.max_force = float(max_force)
        self.bond_factor = float(bond_factor)
        self.escape_distance = float(escape_distance)
        self.molecular = not np.any(atoms.pbc)
        pos = atoms.positions
        d = np.linalg.norm(pos[:, None] - pos[None, :], axis=-1) if self.molecular else None
        if self.molecular:
            radii = covalent_radii[atoms.numbers]
            bonded = d < 1.2 * (radii[:, None] + radii[None, :])
            np.fill_diagonal(bonded, False)
            self.bonds = np.argwhere(np.triu(bonded))
            self.bond_length = d[self.bonds[:, 0], self.bonds[:, 1]]
        else:
            self.bonds = np.zeros((0, 2), int)

    def check(self, atoms) -> str | None:
        """A reason string if ``atoms`` looks diverged, else None."""
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            return "non-finite energy or forces"
        if not np.all(np.isfinite(atoms.positions)):
            return "non-finite positions"
        fmax = float(np.linalg.norm(forces, axis=1).max())
        if fmax > self.max_force:
            return f"force {fmax:.1f} eV/Å above {self.max_force} eV/Å"
        if self.molecular:
            pos = atoms.positions
            if len(self.bonds):
                length = np.linalg.norm(pos[self.bonds[:, 0]] - pos[self.bonds[:, 1]], axis=1)
                ratio = length / self.bond_length
                k = int(np.argmax(ratio))
                if ratio[k] > self.bond_factor:
                    a, b = self.bonds[k]
                    return (
                        f"bond {a}-{b} ({atoms.get_chemical_symbols()[a]}-"
                        f"{atoms.get_chemical_symbols()[b]}) stretched to {length[k]:.2f} Å "
                        f"({ratio[k]:.1f}x its initial length)"
                    )
            if len(atoms) > 1:
                d = np.linalg.norm(pos[:, None] - pos[None, :], axis=-1)
                np.fill_diagonal(d, np.inf)
                nearest = d.min(axis=1)
                k = int(np.argmax(nearest))
                if nearest[k] > self.escape_distance:
                    return f"atom {k} flew off: {nearest[k]:.1f} Å from its nearest neighbour"
        return None


def run_langevin(
    atoms,
    calculator,
    steps: int,
    temperature_K: float = 300.0,
    timestep_fs: float = 0.5,
    friction_per_fs: float = 0.01,
    seed: int = 0,
    trajectory=None,
    interval: int = 10,
    monitor: DivergenceMonitor | None = None,
    initialise_velocities: bool = True,
) -> dict:
    """Langevin NVT dynamics; returns a summary dict (steps done, divergence, timing).

    Frames (positions, momenta, energy, forces) are appended every ``interval``
    steps to the ASE trajectory ``trajectory`` while the run goes.
    """
    atoms = atoms.copy()
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    if initialise_velocities:
        thermalize_momenta(atoms, temperature_K=temperature_K, rng=rng)
        Stationary(atoms)
        if not np.any(atoms.pbc):
            ZeroRotation(atoms)
    monitor = monitor or DivergenceMonitor(atoms)
    atoms.set_constraint(FixCom())  # the centre of mass stays put (ASE's recommended way)
    dyn = Langevin(
        atoms,
        timestep_fs * units.fs,
        temperature_K=temperature_K,
        friction=friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    writer = None
    if trajectory is not None:
        Path(trajectory).parent.mkdir(parents=True, exist_ok=True)
        writer = Trajectory(str(trajectory), "w", atoms)
        dyn.attach(writer.write, interval=interval)
    summary = {
        "steps_requested": int(steps),
        "steps_done": 0,
        "diverged": False,
        "reason": None,
        "time_ps": 0.0,
        "temperature_K": temperature_K,
        "timestep_fs": timestep_fs,
    }
    t0 = time.perf_counter()
    try:
        done = 0
        while done < steps:
            n = min(interval, steps - done)
            dyn.run(n)
            done += n
            reason = monitor.check(atoms)
            if reason is not None:
                summary.update(diverged=True, reason=reason)
                break
    finally:
        if writer is not None:
            writer.close()
    wall = time.perf_counter() - t0
    summary["steps_done"] = int(done)
    summary["time_ps"] = done * timestep_fs / 1000.0
    summary["wall_seconds"] = wall
    summary["seconds_per_step"] = wall / max(done, 1)
    return summary
