"""Ensemble MD of a molecule study's best models: how long it stays stable, how far the
members disagree, and its power spectrum (the ``md`` key of a ``molecules:`` entry).

Two runs per molecule (``runs``), each an ensemble of every seed's model at the largest
label count of the comparison:

* ``finetuned``: the exported fine-tuned ensemble (the fine-tuned setting with the lowest
  test error, :func:`gmnn.molecules.card.export_finetuned`);
* ``scratch``: the from-scratch setting with the lowest test error, the paper's baseline.

Each starts from the lowest-energy accurate structure and runs ``equilibration_ps`` +
``production_ps`` of Langevin dynamics (:class:`gmnn.md.MDConfig`; ``dynamics`` overrides
its defaults) through :class:`gmnn.calculator.EnsembleCalculator`; the run is resumable,
a divergence is recorded in the summary, not raised (:func:`gmnn.workflow.md_job`). The
spectrum of the production part is the MD17 study's (rule ``power_spectrum``,
:func:`gmnn.analysis.md.run_spectrum`). :func:`md_summary` gives the card its MD section
(:func:`gmnn.molecules.card.card_markdown` draws it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RUNS = ("finetuned", "scratch")
"""The MD runs of a study: the best fine-tuned and the best from-scratch ensemble."""

TRAJECTORY = "trajectories/molecules/{name}/{run}/md.traj"
SUMMARY = "results/molecules/{name}/md/{run}/summary.json"
SPECTRUM = "results/molecules/{name}/md/{run}/spectrum.csv"
PEAKS = "results/molecules/{name}/md/{run}/peaks.csv"


@dataclass(frozen=True)
class MoleculeMD:
    """The ``md`` key of a ``molecules:`` entry (``md: false`` runs none)."""

    temperature_K: float = 300.0
    equilibration_ps: float = 1.0
    production_ps: float = 4.0
    seed: int = 0
    runs: tuple[str, ...] = RUNS
    dynamics: dict = field(default_factory=dict)  # gmnn.md.MDConfig over its defaults

    @classmethod
    def from_section(cls, section) -> MoleculeMD | None:
        """``None``/absent: the defaults; ``false``: no MD; a mapping: its keys over the
        defaults (an unknown key is a TypeError naming it)."""
        if isinstance(section, MoleculeMD):
            return section
        if section is None or section is True:
            return cls()
        if section is False:
            return None
        if not isinstance(section, Mapping):
            raise ValueError(f"md: {section!r}: a mapping, true or false")
        data = dict(section)
        if "runs" in data:
            data["runs"] = tuple(data["runs"])
        data["dynamics"] = dict(data.get("dynamics") or {})
        return cls(**data)

    def to_dict(self) -> dict:
        """The section (the rule's params: a change reruns the MD)."""
        from dataclasses import asdict

        return {**asdict(self), "runs": list(self.runs)}

    def steps(self, timestep_fs: float, write_interval: int) -> int:
        """Time steps of equilibration + production, rounded up to whole frames."""
        total = (self.equilibration_ps + self.production_ps) * 1000.0 / timestep_fs
        return int(math.ceil(total / write_interval - 1e-9)) * write_interval

    def _dynamics(self) -> dict:
        """``dynamics`` over :class:`gmnn.md.MDConfig`'s defaults."""
        from dataclasses import fields

        from gmnn.md import MDConfig

        return {f.name: self.dynamics.get(f.name, f.default) for f in fields(MDConfig)}

    def config(self) -> dict:
        """The :class:`gmnn.md.MDConfig` of the runs, as a dict."""
        get = self._dynamics()
        write = int(get["write_interval"])
        steps = self.steps(float(get["timestep_fs"]), write)
        checkpoint = int(get["checkpoint_interval"])
        if checkpoint % write or checkpoint > steps:
            checkpoint = steps
        return {
            **self.dynamics,
            "steps": steps,
            "temperature_K": float(self.temperature_K),
            "seed": int(self.seed),
            "checkpoint_interval": checkpoint,
        }

    def problems(self) -> list[tuple[str, str]]:
        """``(key, problem)`` pairs, the keys relative to the entry."""
        out = []
        for key in ("temperature_K", "production_ps"):
            if not float(getattr(self, key)) > 0:
                out.append((f"md.{key}", f"{getattr(self, key)!r}: must be positive"))
        if not float(self.equilibration_ps) >= 0:
            out.append(("md.equilibration_ps", f"{self.equilibration_ps!r}: must be >= 0"))
        for run in self.runs:
            if run not in RUNS:
                out.append(("md.runs", f"{run!r}: one of {', '.join(RUNS)}"))
        if "steps" in self.dynamics or "temperature_K" in self.dynamics:
            out.append(("md.dynamics", "steps and temperature_K come from md (production_ps, ...)"))
        if not out:
            from gmnn.md import MDConfig
            from gmnn.settings import SettingsError

            write = self._dynamics()["write_interval"]
            try:  # the dynamics alone first: a bad time step would show as bad steps
                alone = {"checkpoint_interval": write, **self.dynamics, "steps": write}
                MDConfig.from_dict(alone, where="md.dynamics")
                MDConfig.from_dict(self.config(), where="md.dynamics")
            except SettingsError as err:
                out.append((err.key or "md.dynamics", err.problem))
            except (TypeError, ValueError) as err:
                out.append(("md.dynamics", str(err)))
        return out

    def record(self, name: str, run: str) -> dict:
        """The fields a run's summary.json starts with (the spectrum reads them)."""
        return {
            "molecule": name,
            "run": run,
            "temperature_K": float(self.temperature_K),
            "seed": int(self.seed),
            "equilibration_ps": float(self.equilibration_ps),
            "production_ps": float(self.production_ps),
        }


def best_setting(errors, settings: Sequence[str]) -> dict:
    """:func:`gmnn.molecules.card.recommend` among ``settings`` (the lowest mean test error
    at the largest label count, and why)."""
    from gmnn.molecules.card import ERRORS, error_table, recommend

    df = ERRORS.load(errors)
    rows = df[df["setting"].isin(list(settings))]
    if rows.empty:
        raise ValueError(f"{errors}: no results of {', '.join(settings)}")
    return recommend(error_table(rows.to_dict("records")))


def run_members(run: str, errors, models: Sequence, settings: Sequence[str]) -> tuple[dict, list]:
    """The setting a run simulates and its members.

    ``run``: ``finetuned`` (``models`` is the exported ensemble, one directory; its card
    must name the setting :func:`best_setting` chooses among the fine-tuned ``settings``)
    or ``scratch`` (``models``: the model directories, or their ``model.json``, of the
    from-scratch ``settings`` at the largest label count, ``.../<setting>/n<n>/seed<S>/model``).
    """
    best = best_setting(errors, settings)
    if run == "finetuned":
        from gmnn.export import read_card

        (export,) = [Path(m) for m in models]
        card = read_card(export)
        n = ((card.get("data") or {}).get("finetuning") or {}).get("n_train")
        if n != best["n_train"] or best["setting"] not in str(card.get("description")):
            raise ValueError(
                f"{export}: its card does not describe {best['setting']} at n={best['n_train']}, "
                "the best fine-tuned setting of the errors table: export again"
            )
        return best, [export]
    from gmnn.molecules.card import members_of

    members = members_of(models, best["setting"], best["n_train"])
    if not members:
        raise ValueError(
            f"no model of {best['setting']} at n={best['n_train']} among {list(models)}"
        )
    return best, members


def molecule_md_job(
    name: str,
    run: str,
    *,
    errors,
    models: Sequence,
    settings: Sequence[str],
    data,
    md: Mapping,
    trajectory,
    summary,
    log=None,
) -> dict:
    """Rule ``molecule_md``: the ensemble MD run ``run`` of study ``name`` (``md``: the
    entry's ``md`` key), from the lowest-energy structure of ``data`` (the accurate
    labels); the summary holds the record, the run's summary, the ensemble's largest
    spread and the members."""
    from gmnn.workflow.jobs import md_job

    spec = MoleculeMD.from_section(md)
    best, members = run_members(run, errors, models, settings)
    if run == "finetuned":
        from gmnn.export import member_dirs

        listed = member_dirs(members[0])
    else:
        listed = members
    record = {
        **spec.record(name, run),
        "setting": best["setting"],
        "n_train": int(best["n_train"]),
        "chosen_by": best["why"],
        "members": [str(m) for m in listed],
    }
    return md_job(
        model=members[0] if run == "finetuned" else members,
        data=data,
        dynamics=spec.config(),
        trajectory=trajectory,
        summary=summary,
        record=record,
        ensemble=True,
        log=log,
    )


def md_summary(summaries: Sequence, peaks: Sequence) -> list[dict]:
    """The card's MD section: one entry per run (its summary.json and peaks.csv)."""
    from gmnn.analysis.md import RUN_PEAKS
    from gmnn.analysis.tables import read_json_object

    out = []
    for path, peaks_path in zip(summaries, peaks, strict=True):
        s = read_json_object(path, "MD run summary")
        fits = RUN_PEAKS.read(peaks_path)
        out.append(
            {
                "run": s["run"],
                "setting": s["setting"],
                "n_train": s["n_train"],
                "members": len(s["members"]),
                "temperature_K": s["temperature_K"],
                "requested_ps": round(s["steps_requested"] * s["timestep_fs"] / 1000.0, 4),
                "simulated_ps": round(s["time_ps"], 4),
                "diverged": bool(s["diverged"]),
                "diverged_at_ps": s["diverged_at_ps"],
                "reason": s["reason"],
                "max_forces_std_max_eV_A": s.get("max_forces_std_max"),
                "max_energy_std_eV": s.get("max_energy_std"),
                "peaks_cm1": {
                    r["band"]: None if math.isnan(r["center_cm1"]) else round(r["center_cm1"], 1)
                    for r in fits.to_dict("records")
                },
                "production_ps": float(fits["production_ps"].max()) if len(fits) else 0.0,
            }
        )
    return out


__all__ = [
    "MoleculeMD",
    "PEAKS",
    "RUNS",
    "SPECTRUM",
    "SUMMARY",
    "TRAJECTORY",
    "best_setting",
    "md_summary",
    "molecule_md_job",
    "run_members",
]
