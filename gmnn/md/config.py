"""MD settings: the one home of the defaults and ranges of a run (config ``md.dynamics``)."""

from __future__ import annotations

from typing import ClassVar

from gmnn.md.integrators import INTEGRATORS
from gmnn.settings import Settings, SettingsError, option


class DivergenceConfig(Settings):
    """When a run counts as diverged (config ``md.dynamics.divergence``).

    Each threshold may be null to switch its check off. The checks for non-finite
    energies, forces and positions are always on. The bond and escape checks work for
    molecules and in periodic cells (minimum-image bonds, neighbours over images).
    """

    section: ClassVar[str] = "md.dynamics.divergence"

    max_force: float | None = option(
        50.0, gt=0.0, doc="largest force on any atom, eV/Angstrom; null: no force check"
    )
    bond_factor: float | None = option(
        2.0,
        gt=1.0,
        doc="a covalent bond of the start structure stretched beyond this factor times its "
        "initial length; null: no bond check",
    )
    escape_distance: float | None = option(
        10.0,
        gt=0.0,
        doc="an atom farther than this from its nearest neighbour, Angstrom; null: no escape check",
    )
    max_force_spread: float | None = option(
        None,
        gt=0.0,
        doc="an ensemble's members disagreeing: the largest per-atom force standard "
        "deviation above this, eV/Angstrom; null (default): no stop, the spread is only "
        "recorded with every frame",
    )


class MDConfig(Settings):
    """One molecular-dynamics run (config section ``md.dynamics``).

    ``integrator`` names one of :data:`gmnn.md.integrators.INTEGRATORS` (each object
    says how it drives ASE, which of the settings below it reads, whether it changes the
    cell and what its checkpoint holds): ``"langevin"`` (NVT, the centre of mass fixed;
    the friction is not stated in the paper; the default 0.002/fs, a 0.5 ps relaxation
    time, broadens the vibrational lines by only ~10 cm^-1), ``"nose_hoover"`` (NVT,
    Nose-Hoover chains), ``"npt_melchionna"`` (Nose-Hoover + Parrinello-Rahman, the
    paper's refs. 69, 70; ``pfactor = barostat_time_fs**2 * bulk_modulus_GPa``) and
    ``"npt_mtk"`` (Martyna-Tobias-Klein); both NPT integrators keep the cell angles and
    let the three lengths change independently.

    The NPT integrators need a start structure periodic in x, y and z and a calculator
    with stress. The thermostat and barostat time constants (1 ps), 300 K and 1 bar are
    the paper's (Section 3.2); the bulk modulus is not in the paper (default: water's
    2.2 GPa). A frame
    (positions, momenta, energy) is written and the divergence checks are run every
    ``write_interval`` steps, so ``steps`` must be a multiple of it (evenly spaced
    frames, as the spectra assume); the resumable state is saved every
    ``checkpoint_interval`` steps, a multiple of ``write_interval`` too.
    """

    section: ClassVar[str] = "md.dynamics"

    steps: int = option(ge=1, doc="time steps of the whole run (a resumed run included)")
    integrator: str = option(
        "langevin",
        choices=tuple(INTEGRATORS),
        doc="dynamics: " + ", ".join(f"{i.name} ({i.summary})" for i in INTEGRATORS.values()),
    )
    temperature_K: float = option(300.0, gt=0.0, doc="thermostat temperature, K")
    timestep_fs: float = option(0.5, gt=0.0, doc="time step, fs")
    friction_per_fs: float = option(
        0.002, gt=0.0, doc="Langevin friction, 1/fs (not stated in the paper)"
    )
    thermostat_time_fs: float = option(
        1000.0,
        gt=0.0,
        doc="Nose-Hoover thermostat time constant, fs (nose_hoover, npt_*; paper: 1 ps)",
    )
    barostat_time_fs: float = option(
        1000.0, gt=0.0, doc="barostat time constant, fs (npt_*; paper: 1 ps)"
    )
    pressure_bar: float = option(
        1.0, doc="external pressure, bar (npt_*; paper: 1 bar); any finite value"
    )
    bulk_modulus_GPa: float = option(
        2.2,
        gt=0.0,
        doc="bulk modulus in Melchionna's pfactor = barostat_time**2 * B, GPa "
        "(npt_melchionna; not in the paper: water's 2.2 GPa)",
    )
    write_interval: int = option(
        2, ge=1, doc="steps between trajectory frames and divergence checks"
    )
    checkpoint_interval: int = option(
        2000, ge=1, doc="steps between checkpoints (a multiple of write_interval)"
    )
    seed: int = option(0, ge=0, doc="seed of the initial velocities and the thermostat noise")
    initialise_velocities: bool = option(
        True,
        doc="draw Maxwell-Boltzmann velocities (no net momentum or rotation); false: keep "
        "the start structure's momenta",
    )
    divergence: DivergenceConfig = option(
        default_factory=DivergenceConfig, doc="when a run counts as diverged"
    )

    # settings that do not change the trajectory (left out of a run's identity): the
    # checkpoint holds the exact state, and the first n steps of a run do not depend on
    # how many follow, so a run can be resumed with more steps
    NOT_IDENTITY: ClassVar[tuple[str, ...]] = ("steps", "checkpoint_interval")

    def check(self) -> None:
        if self.steps % self.write_interval:
            raise SettingsError(
                "steps",
                f"must be a multiple of write_interval ({self.write_interval}), got {self.steps}",
            )
        if self.checkpoint_interval % self.write_interval:
            raise SettingsError(
                "checkpoint_interval",
                f"must be a multiple of write_interval ({self.write_interval}), got "
                f"{self.checkpoint_interval}",
            )

    def integrator_settings(self) -> dict:
        """The values of the settings its integrator reads besides the time step and the
        temperature (:attr:`gmnn.md.integrators.Integrator.settings`)."""
        return {k: getattr(self, k) for k in INTEGRATORS[self.integrator].settings}

    def identity(self) -> dict:
        """The settings that determine a run's trajectory: all but ``NOT_IDENTITY`` and
        the settings of the other integrators (:attr:`gmnn.md.integrators.Integrator.settings`)."""
        used = set(INTEGRATORS[self.integrator].settings)
        other = {k for i in INTEGRATORS.values() for k in i.settings} - used
        out = {
            k: v for k, v in self.to_dict().items() if k not in self.NOT_IDENTITY and k not in other
        }
        if out["divergence"].get("max_force_spread") is None:  # off: as before it existed
            out["divergence"] = {
                k: v for k, v in out["divergence"].items() if k != "max_force_spread"
            }
        return out
