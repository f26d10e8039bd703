"""The integrators (thermostats/barostats) an MD run can use: one object each.

An :class:`Integrator` says everything about one ``md.dynamics.integrator`` value: the
:class:`~gmnn.md.config.MDConfig` settings it reads (their defaults and ranges are
MDConfig's fields), how to build ASE's dynamics object from the atoms and the settings,
whether it changes the cell (``npt``: it needs a structure periodic in x, y and z and a
calculator with stress), whether the run keeps the centre of mass with ASE's ``FixCom``,
and its checkpoint state (what must be saved and set back to resume bit-identically).

:data:`INTEGRATORS` is the registry (name -> object) that the settings, the run, the
protocols, the command line, the config schema and the pipeline ask;
:func:`get_integrator` looks one up with an error naming the known ones.

>>> get_integrator("npt_mtk").npt
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ase import units
from ase.md.langevin import Langevin

from gmnn.runs import CheckpointDamaged

try:  # ASE >= 3.27
    from ase.md.melchionna import MelchionnaNPT
except ImportError:  # pragma: no cover - older ASE
    from ase.md.npt import NPT as MelchionnaNPT

try:  # ASE >= 3.24
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
except ImportError:  # pragma: no cover - older ASE
    NoseHooverChainNVT = None

try:  # ASE >= 3.28
    from ase.md.nose_hoover_chain import MaskedMTKNPT
except ImportError:  # pragma: no cover - older ASE
    MaskedMTKNPT = None

__all__ = [
    "INTEGRATORS",
    "MELCHIONNA_MASK",
    "STATE_PREFIX",
    "Integrator",
    "MelchionnaIntegrator",
    "get_integrator",
]

#: Prefix of the checkpoint members that hold an integrator's state
#: (``integrator.<attribute path>``).
STATE_PREFIX = "integrator."

# ASE's Melchionna mask: a diagonal 3x3 matrix lets the three lengths of an orthorhombic
# (triangular) cell change independently and keeps the angles; mask=(1, 1, 1) would
# become np.outer(m, m), all ones, a fully flexible cell with shear.
MELCHIONNA_MASK = np.eye(3)


@dataclass(frozen=True)
class Integrator:
    """One integrator: its name, settings, ASE constructor, cell, FixCom and state.

    ``dynamics`` is ASE's class (None: the installed ASE lacks it; ``ase_version`` says
    which one has it); it is built as ``dynamics(atoms, timestep, temperature_K=...,
    **options(config, rng))``. ``settings``: the MDConfig fields it reads besides the
    time step and the temperature (a setting of another integrator does not change the
    trajectory and is left out of a run's identity). ``state``: the attributes of ASE's
    dynamics object (dotted paths) that make its state beyond the Atoms (positions,
    momenta, cell), saved in the checkpoint as ``integrator.<path>``; everything else
    the object holds is a constant of the settings and the atom count, rebuilt
    identically. ``records_settings``: the run's summary carries its settings and the
    end cell volume (periodic structures).
    """

    name: str
    summary: str  # a few words for the settings' documentation
    dynamics: type | None
    options: Callable  # (config, rng) -> ``dynamics``' keyword arguments beyond those two
    ase_version: str = ""
    settings: tuple[str, ...] = ()
    npt: bool = False
    fix_com: bool = False
    state: tuple[str, ...] = ()
    records_settings: bool = True

    def build(self, atoms, config, rng):
        """ASE's dynamics object of ``atoms`` (with their calculator) for the
        :class:`~gmnn.md.config.MDConfig` ``config``; ``rng`` drives a stochastic
        thermostat."""
        if self.dynamics is None:  # pragma: no cover - older ASE
            import ase

            raise RuntimeError(
                f"md.dynamics.integrator: {self.name!r} needs ASE >= {self.ase_version}, "
                f"installed is {ase.__version__}"
            )
        return self.dynamics(
            atoms,
            config.timestep_fs * units.fs,
            temperature_K=config.temperature_K,
            **self.options(config, rng),
        )

    def check_start(self, atoms, calculator) -> None:
        """A ValueError naming ``md.dynamics.integrator`` when ``atoms`` and
        ``calculator`` cannot run with it: an NPT integrator needs a 3D-periodic,
        non-singular cell and a calculator with stress."""
        if not self.npt:
            return
        if not np.all(atoms.pbc) or atoms.cell.rank < 3:
            raise ValueError(
                f"{self._key} changes the cell and needs a start structure periodic in x, y "
                f"and z with a 3D cell; this one has pbc={atoms.pbc.tolist()} and cell "
                f"{atoms.cell.array.round(4).tolist()} (use integrator 'langevin' or "
                "'nose_hoover' for a molecule)"
            )
        self._check_cell(atoms.cell.array)
        implemented = getattr(calculator, "implemented_properties", None)
        if implemented is not None and "stress" not in implemented:
            raise ValueError(
                f"{self._key} needs the stress, which the calculator "
                f"{type(calculator).__name__} does not provide (implemented_properties: "
                f"{list(implemented)})"
            )

    @property
    def _key(self) -> str:
        return f"md.dynamics.integrator: {self.name!r}"

    def _check_cell(self, h: np.ndarray) -> None:
        """A ValueError when the cell matrix ``h`` does not suit this integrator."""

    @property
    def state_keys(self) -> tuple[str, ...]:
        """The checkpoint members of its state (``integrator.<path>``)."""
        return tuple(STATE_PREFIX + path for path in self.state)

    def save_state(self, dynamics) -> dict[str, np.ndarray]:
        """The internal state of ASE's ``dynamics`` object, as checkpoint members
        (:attr:`state_keys`)."""
        out = {}
        for path in self.state:
            value = dynamics
            for name in path.split("."):
                value = getattr(value, name)
            out[STATE_PREFIX + path] = np.array(value, dtype=float)
        return out

    def restore_state(self, dynamics, state: dict, source) -> None:
        """Set the members of :meth:`save_state` back onto ``dynamics`` (a
        :class:`~gmnn.runs.CheckpointDamaged` naming ``source`` and the member if one
        is missing or of the wrong shape)."""
        for path in self.state:
            key = STATE_PREFIX + path
            *parents, name = path.split(".")
            owner = dynamics
            for parent in parents:
                owner = getattr(owner, parent)
            if key not in state:
                raise CheckpointDamaged(source, f"no member {key!r} (integrator {self.name!r})")
            value = np.asarray(state[key])
            # (Melchionna makes q, h, ... only at its first step: nothing to compare with)
            current = getattr(owner, name, None)
            shape = value.shape if current is None else np.shape(current)
            if value.shape != shape or value.dtype.kind != "f":
                raise CheckpointDamaged(
                    source, f"member {key!r} is {value.dtype} {value.shape}, expected {shape}"
                )
            setattr(owner, name, float(value) if value.ndim == 0 else value.copy())


@dataclass(frozen=True)
class MelchionnaIntegrator(Integrator):
    """ASE's Melchionna NPT, which works only on a triangular cell matrix and whose
    ``inv_h`` and ``initialized`` follow from its restored state."""

    def _check_cell(self, h: np.ndarray) -> None:
        if not (MelchionnaNPT._isuppertriangular(h) or MelchionnaNPT._isuppertriangular(h.T)):
            raise ValueError(
                f"{self._key}: ASE's Melchionna NPT works only on a triangular cell matrix "
                f"(an orthorhombic box is), got {h.round(4).tolist()}; rotate it first, e.g. "
                "atoms.set_cell(atoms.cell.standard_form()[0], scale_atoms=True)"
            )

    def restore_state(self, dynamics, state: dict, source) -> None:
        """As :meth:`Integrator.restore_state`; then ``inv_h = inv(h)`` (the same call
        ASE makes every step) and the flag ``initialized``."""
        super().restore_state(dynamics, state, source)
        dynamics.inv_h = np.linalg.inv(dynamics.h)
        dynamics.initialized = 1


def _integrators(*items: Integrator) -> dict[str, Integrator]:
    return {item.name: item for item in items}


#: ``md.dynamics.integrator`` -> its :class:`Integrator`, in the order the settings list them.
INTEGRATORS: dict[str, Integrator] = _integrators(
    # ASE's Langevin NVT; the FixCom constraint keeps the centre of mass against the
    # random kicks (ASE's recommended way, not its fixcm); no state beyond the RNG's.
    # (The summary of a Langevin run is as before the other integrators existed.)
    Integrator(
        name="langevin",
        summary="NVT, ASE's Langevin",
        dynamics=Langevin,
        options=lambda config, rng: {
            "friction": config.friction_per_fs / units.fs,
            "fixcm": False,
            "rng": rng,
        },
        settings=("friction_per_fs",),
        fix_com=True,
        records_settings=False,
    ),
    # The deterministic integrators run without FixCom and keep the zero net momentum
    # the start velocities have (forces sum to zero): under Nose-Hoover FixCom's
    # round-off shifts of the positions (below the 1e-15 Å up to which ASE's calculators
    # reuse their results) would make a resumed run differ from an uninterrupted one.
    # ASE's Nose-Hoover chain NVT (chain of 3, one sub-step: ASE's defaults); its state:
    # ASE's own copies _q, _p of positions and momenta, the chain's positions and momenta.
    Integrator(
        name="nose_hoover",
        summary="NVT, ASE's NoseHooverChainNVT",
        dynamics=NoseHooverChainNVT,
        ase_version="3.24 (NoseHooverChainNVT)",
        options=lambda config, rng: {"tdamp": config.thermostat_time_fs * units.fs},
        settings=("thermostat_time_fs",),
        state=("_q", "_p", "_thermostat._eta", "_thermostat._p_eta"),
    ),
    # ASE's Melchionna NPT (ase.md.melchionna.MelchionnaNPT, ase.md.npt.NPT before ASE
    # 3.27; Nose-Hoover + Parrinello-Rahman): ``ttime`` the thermostat time, ``pfactor = barostat_time**2 *
    # B`` (eV/Å * fs-units), ``externalstress`` the pressure (eV/Å^3), diagonal mask. No
    # FixCom: the positions are scaled with the cell about the origin, which FixCom would
    # undo (ASE then stops: "the atomic positions have been modified"). Its state:
    # centred differences (scaled positions now/past/future, the cell now and past, the
    # strain rate eta and thermostat zeta now and past), the integral of zeta, the time,
    # and pfact = 1/(pfactor * V_start), which depends on the volume the object was
    # built with (the start volume, not the checkpoint's); tfact, desiredEkin and the
    # mask are constants, inv_h and "initialized" are re-derived on restore.
    MelchionnaIntegrator(
        name="npt_melchionna",
        summary="NPT, ASE's Melchionna NPT, angles fixed",
        dynamics=MelchionnaNPT,
        options=lambda config, rng: {
            "externalstress": config.pressure_bar * units.bar,
            "ttime": config.thermostat_time_fs * units.fs,
            "pfactor": (config.barostat_time_fs * units.fs) ** 2
            * config.bulk_modulus_GPa
            * units.GPa,
            "mask": MELCHIONNA_MASK,
        },
        settings=("thermostat_time_fs", "barostat_time_fs", "pressure_bar", "bulk_modulus_GPa"),
        npt=True,
        state=(
            "q",
            "q_past",
            "q_future",
            "h",
            "h_past",
            "eta",
            "eta_past",
            "zeta",
            "zeta_past",
            "zeta_integrated",
            "timeelapsed",
            "pfact",
        ),
    ),
    # ASE's MaskedMTKNPT (Martyna-Tobias-Klein with Nose-Hoover chains), mask (True, True, True): a, b, c scale independently along
    # their fixed directions, angles fixed (chains of 3, ASE's defaults); ASE's MTK
    # integrators refuse constraints (no FixCom). Its state: positions, momenta, cell,
    # the cell momenta per axis, the start cell's axis directions (_h0_basis: the fixed
    # directions the axes scale along), the thermostat and barostat chains.
    Integrator(
        name="npt_mtk",
        summary="NPT, ASE's MaskedMTKNPT, angles fixed",
        dynamics=MaskedMTKNPT,
        ase_version="3.28 (MaskedMTKNPT)",
        options=lambda config, rng: {
            "pressure_au": config.pressure_bar * units.bar,
            "tdamp": config.thermostat_time_fs * units.fs,
            "pdamp": config.barostat_time_fs * units.fs,
            "mask": (True, True, True),
        },
        settings=("thermostat_time_fs", "barostat_time_fs", "pressure_bar"),
        npt=True,
        state=(
            "_q",
            "_p",
            "_h",
            "_p_c",
            "_h0_basis",
            "_thermostat._eta",
            "_thermostat._p_eta",
            "_barostat._xi",
            "_barostat._p_xi",
        ),
    ),
)


def get_integrator(name: str) -> Integrator:
    """The :class:`Integrator` called ``name``; a ValueError naming the known ones."""
    try:
        return INTEGRATORS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown integrator {name!r}; known: {', '.join(INTEGRATORS)}") from None
