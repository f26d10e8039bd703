"""The MD half of the MD17 design (Figs. 4, S1-S5): which grid models run MD and bond
scans, which models each spectra figure compares, and the checks of the ``md``,
``bond_scan``, ``spectra`` and ``figures`` sections against the grid."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gmnn.workflow.grid import Grid, ModelRef, md_steps, model_refs


@dataclass(frozen=True)
class MdDesign:
    """The ``md`` section and what reads its models: ``bond_scan`` and ``figures``."""

    section: dict  # md
    bond_scan: dict | None
    models: tuple[ModelRef, ...]  # md.models
    bond_models: tuple[ModelRef, ...]  # bond_scan.models
    spectra_figures: dict  # name -> {temperature_K, panels: [[[setting, n], ...], ...]}
    bond_figures: dict  # name -> bond
    timestep_fs: float

    @classmethod
    def from_config(cls, config: dict, typed: dict) -> MdDesign:
        """ValueErrors name the key of a model reference at fault."""
        md, bond_scan = config["md"], config.get("bond_scan")
        figures = config.get("figures", {})
        spectra = {
            name: {
                "temperature_K": fig["temperature_K"],
                "panels": [
                    [
                        [m.setting, m.n_train]
                        for m in model_refs(panel, md["sizes"], f"figures.spectra.{name}")
                    ]
                    for panel in fig["panels"]
                ],
            }
            for name, fig in figures.get("spectra", {}).items()
        }
        return cls(
            md,
            bond_scan,
            model_refs(md["models"], md["sizes"], "md.models"),
            model_refs(bond_scan["models"], md["sizes"], "bond_scan.models"),
            spectra,
            figures.get("bonds", {}),
            typed["md"].timestep_fs,
        )

    @property
    def steps(self) -> int:
        """Steps of one MD run: equilibration and production at md.dynamics.timestep_fs."""
        return md_steps(self.section, self.timestep_fs)

    def run_params(self, temperature_K, seed) -> dict:
        """The md.dynamics section (:class:`~gmnn.md.MDConfig`) with a run's temperature,
        length and seed."""
        return {
            **(self.section.get("dynamics") or {}),
            "temperature_K": float(temperature_K),
            "steps": self.steps,
            "seed": int(seed),
        }

    def runs(self) -> list[dict]:
        """The wildcards of every MD run: md.models x md.temperatures_K at md.seed."""
        md = self.section
        return [
            {"molecule": md["molecule"], "setting": m.setting, "n": m.n_train}
            | {"seed": md["seed"], "temp": t}
            for m in self.models
            for t in md["temperatures_K"]
        ]

    def check(self, grid: Grid, typed: dict) -> list[str]:
        md, problems = self.section, []
        molecules, sizes, settings = grid.molecules, grid.train_sizes, grid.settings
        if md["molecule"] not in molecules:
            problems.append(f"md.molecule {md['molecule']!r} is not in md17.molecules {molecules}")
        for key, n in md["sizes"].items():
            if n not in sizes:
                problems.append(f"md.sizes.{key}={n} is not in md17.cc.train_sizes {sizes}")
        if md["seed"] not in grid.seeds:
            problems.append(f"md.seed={md['seed']} is not in md17.seeds {grid.seeds}")
        models = {(m.setting, m.n_train) for m in self.models}
        for where, refs in [("md.models", self.models), ("bond_scan.models", self.bond_models)]:
            for m in refs:
                if m.setting != "pretrain" and m.setting not in settings:
                    problems.append(f"{where}: {m.setting} is not in md17.settings {settings}")
                if m.n_train is not None and m.n_train not in sizes:
                    problems.append(
                        f"{where}: {m.setting}@{m.n_train}: {m.n_train} is not in "
                        f"md17.cc.train_sizes {sizes}"
                    )
        for name, fig in self.spectra_figures.items():
            if fig["temperature_K"] not in md["temperatures_K"]:
                problems.append(
                    f"figures.spectra.{name}.temperature_K={fig['temperature_K']} is not in "
                    f"md.temperatures_K {md['temperatures_K']}"
                )
            for panel in fig["panels"]:
                for s, n in panel:
                    if (s, n) not in models:
                        problems.append(f"figures.spectra.{name}: {s}@{n} is not among md.models")
        for name, bond in self.bond_figures.items():
            if bond not in self.bond_scan["ranges_A"]:
                problems.append(
                    f"figures.bonds.{name}={bond!r} is not in bond_scan.ranges_A "
                    f"{sorted(self.bond_scan['ranges_A'])}"
                )
        problems += self._check_run(typed)
        if self.bond_scan:
            problems += check_bond_scan(self.bond_scan)
        return problems

    def _check_run(self, typed: dict) -> list[str]:
        md, problems = self.section, []
        lag = typed["spectra"].max_lag_ps
        if 2 * lag > md["production_ps"]:
            problems.append(
                f"spectra.max_lag_ps={lag}: the spectra need two VACF windows of "
                f"production, but md.production_ps is {md['production_ps']}"
            )
        steps, interval = self.steps, typed["md"].write_interval
        run_length = (
            f"the run (equilibration_ps + production_ps = {steps} steps of "
            f"md.dynamics.timestep_fs={typed['md'].timestep_fs})"
        )
        ckpt_interval = typed["md"].checkpoint_interval
        if interval > steps:
            problems.append(
                f"md.dynamics.write_interval={interval} is longer than {run_length}: no frames"
            )
        elif ckpt_interval > steps:
            problems.append(
                f"md.dynamics.checkpoint_interval={ckpt_interval} is longer than {run_length}: a "
                "killed run would never have a checkpoint to resume from"
            )
        if steps % interval and interval <= steps:
            problems.append(
                f"md: equilibration_ps + production_ps = {steps} steps of "
                f"md.dynamics.timestep_fs, not a multiple of md.dynamics.write_interval "
                f"{interval}"
            )
        return problems


def check_bond_scan(bond_scan: dict) -> list[str]:
    """Each bond_scan.ranges_A entry an increasing range, wide and fine enough for the
    harmonic fit within fit_window_A of the minimum (gmnn.analysis.bonds)."""
    from gmnn.data.structures import MIN_DISTANCE_A

    problems = []
    window, points = bond_scan["fit_window_A"], bond_scan["points"]
    for bond, (lo, hi) in bond_scan["ranges_A"].items():
        key = f"bond_scan.ranges_A.{bond}={[lo, hi]}"
        if lo >= hi:
            problems.append(f"{key}: the first distance must be below the second")
            continue
        if lo < MIN_DISTANCE_A:
            problems.append(
                f"{key}: starts below {MIN_DISTANCE_A} A, where atoms count as coincident "
                "(gmnn.data.structures.MIN_DISTANCE_A)"
            )
        if 2 * window > hi - lo:
            problems.append(
                f"bond_scan.fit_window_A={window}: the fit window (+-{window} A around the "
                f"minimum) is wider than {key}"
            )
            continue
        step = (hi - lo) / (points - 1)
        if step > 2 * window / 3:
            needed = math.ceil(1.5 * (hi - lo) / window) + 1
            problems.append(
                f"bond_scan.points={points}: a step of {step:.4g} A on {key} can leave fewer "
                f"than 3 points within +-fit_window_A={window} A of the minimum for the "
                f"harmonic fit; use at least {needed} points (or a larger fit_window_A)"
            )
    return problems
