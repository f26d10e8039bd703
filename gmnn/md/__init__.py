"""Molecular dynamics with ASE: Langevin and Nose-Hoover NVT, NPT (Melchionna, masked
MTK; cell angles fixed), checkpoint/resume, divergence detection.

>>> from gmnn.md import MDConfig, MDRun
>>> config = MDConfig(steps=20000, temperature_K=300.0, seed=0)
>>> summary = MDRun(atoms, calc, config, trajectory="md.traj", checkpoint="md.ckpt.npz").run()

* :class:`MDConfig` / :class:`DivergenceConfig` (:mod:`gmnn.md.config`): the settings of a
  run, with their defaults and ranges (config section ``md.dynamics``).
* :mod:`gmnn.md.integrators`: one :class:`Integrator` per ``integrator`` value (its
  settings, ASE constructor, cell, centre of mass and checkpoint state) in the registry
  :data:`INTEGRATORS`; :func:`get_integrator` looks one up.
* :mod:`gmnn.md.checks`: the divergence checks (non-finite values, a force above
  ``max_force``, a covalent bond stretched beyond ``bond_factor`` times its initial
  length, an atom more than ``escape_distance`` from the rest), built by
  :func:`build_checks`.
* :class:`MDRun` (:mod:`gmnn.md.run`): one run. It writes an ASE trajectory (``.traj``:
  positions, momenta and the potential energy every ``write_interval`` steps); with a
  checkpoint, the dynamical state is saved atomically every ``checkpoint_interval``
  steps and on SIGTERM/SIGINT, and a later run with the same identity (settings, start
  structure, model weights) continues from it, cutting the trajectory back to the
  checkpoint's frame count, so that a killed job ends with one complete, gap-free
  trajectory bit-identical to an uninterrupted run. A checkpoint of another run is an
  error naming what differs (or, with ``on_mismatch="restart"``, deleted).
  :func:`run_md` is a whole run into a final trajectory file (the pipeline's rule).
* :mod:`gmnn.md.protocol`: staged runs (e.g. Langevin, then Nose-Hoover, then NPT), each
  stage resumable and started from the last state of the one before
  (:func:`run_protocol`; :func:`stage_configs` from ``{integrator, time_ps, ...}`` stages).
* :mod:`gmnn.md.solvate`: a solute in a periodic water box with packmol.

A run that goes wrong stops early, and the summary records when and why instead of
raising, so that a workflow of many runs goes on.
"""

from gmnn._lazy import lazy_names

# imported on first use (PEP 562): `gmnn --help` lists the integrators and MD settings
# without loading the divergence checks' ASE and SciPy modules
__getattr__ = lazy_names(
    __name__,
    {
        "gmnn.md.checks": (
            "BondStretchCheck",
            "EscapeCheck",
            "FiniteCheck",
            "ForceSpreadCheck",
            "MaxForceCheck",
            "build_checks",
            "first_reason",
        ),
        "gmnn.md.config": ("DivergenceConfig", "MDConfig"),
        "gmnn.md.integrators": ("INTEGRATORS", "Integrator", "get_integrator"),
        "gmnn.md.protocol": ("run_protocol", "run_stage", "stage_configs", "stage_start"),
        "gmnn.md.run": (
            "MDInterrupted",
            "MDResumeError",
            "MDRun",
            "calculator_fingerprint",
            "checkpoint_path",
            "partial_trajectory",
            "run_md",
            "structure_fingerprint",
        ),
        "gmnn.runs": ("CheckpointMismatch",),
    },
)

__all__ = [
    "INTEGRATORS",
    "BondStretchCheck",
    "CheckpointMismatch",
    "DivergenceConfig",
    "EscapeCheck",
    "FiniteCheck",
    "ForceSpreadCheck",
    "Integrator",
    "MDConfig",
    "MDInterrupted",
    "MDResumeError",
    "MDRun",
    "MaxForceCheck",
    "build_checks",
    "calculator_fingerprint",
    "checkpoint_path",
    "first_reason",
    "get_integrator",
    "partial_trajectory",
    "run_md",
    "run_protocol",
    "run_stage",
    "stage_configs",
    "stage_start",
    "structure_fingerprint",
]
