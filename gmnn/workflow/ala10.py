"""The deca-alanine MD design (Figs. 7, 8): ensembles of the ANI models (one member per
seed of ani.seeds) in the gas phase and in water, each phase a staged protocol
(:mod:`gmnn.md.protocol`), one job per stage."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from gmnn.analysis.names import AniNames
from gmnn.md.integrators import get_integrator
from gmnn.md.protocol import stage_configs
from gmnn.workflow.ani import AniDesign, AniModel

PHASES = ("gas", "water")
FIGURES = {"gas": "fig7", "water": "fig8"}
TITLES = {
    "pretrained": "pre-trained on {pretraining}",
    "scratch": "from scratch on {finetuning}",
    "finetuned": "fine-tuned on {finetuning}",
}
"""The ensembles (``ala10.models``) and their panel titles, with the data sets named as
:func:`gmnn.analysis.names.ani_names` names them (:attr:`Ala10Design.titles`)."""
HELIX_ATOMS = 104


@dataclass(frozen=True)
class Ala10Design:
    """The ``ala10`` section; its ensembles are models of the ANI study."""

    section: dict
    seeds: tuple[int, ...]  # ani.seeds: one member each
    n_pretrain: int  # null: the largest ani.table1 size
    n_train: int  # null: the largest ani.ani1ccx size
    names: AniNames  # the ANI study's data sets, as figures name them

    @classmethod
    def from_config(cls, config: dict, ani: AniDesign) -> Ala10Design:
        ala10 = config["ala10"]
        n_pretrain = ala10.get("n_pretrain") or max(ani.section["table1"]["sizes"])
        n_train = ala10.get("n_train") or max(ani.cc_sizes)
        return cls(ala10, tuple(ani.seeds), n_pretrain, n_train, ani.names)

    @property
    def phases(self) -> list[str]:
        return [p for p in PHASES if self.section.get(p)]

    @property
    def models(self) -> list[str]:
        return self.section["models"]

    @property
    def titles(self) -> dict[str, str]:
        """Each ensemble's panel title in Figs. 7 and 8 (:data:`TITLES`), naming the data
        it was trained on as :attr:`names` does (the embedded stand-ins as stand-ins)."""
        return {m: TITLES[m].format(**self.names._asdict()) for m in self.models}

    @property
    def figures(self) -> list[str]:
        return [f"figures/{FIGURES[p]}.pdf" for p in self.phases]

    @property
    def base(self) -> dict:
        """The MDConfig shared by every stage (``ala10.dynamics``)."""
        return dict(self.section.get("dynamics") or {})

    @cached_property
    def _stages(self) -> dict:
        """Each phase's stages, parsed once (a ValueError kept for :meth:`stage_configs`)."""
        out = {}
        for phase in self.phases:
            try:
                out[phase] = stage_configs(
                    self.section[phase]["stages"], self.base, f"ala10.{phase}.stages"
                )
            except ValueError as err:
                out[phase] = err
        return out

    def stage_configs(self, phase: str) -> list:
        """One :class:`~gmnn.md.MDConfig` per stage of ``phase`` (errors name the key)."""
        parsed = self._stages[phase]
        if isinstance(parsed, ValueError):
            raise parsed
        return parsed

    def n_stages(self, phase: str) -> int:
        return len(self.section[phase]["stages"])

    def members(self, model: str) -> AniModel:
        """The ANI model of one ensemble (every seed's is a member)."""
        return {
            "pretrained": AniModel(self.n_pretrain),
            "scratch": AniModel(None, "scratch_E", self.n_train),
            "finetuned": AniModel(self.n_pretrain, "finetune_E", self.n_train),
        }[model]

    def atoms(self, phase: str) -> int:
        """Atoms of the simulated system: the 104-atom helix, plus 3 per water."""
        if phase == "gas":
            return HELIX_ATOMS
        return HELIX_ATOMS + 3 * int(self.section["water"]["solvation"]["n_water"])

    def _check_dynamics(self) -> list[str]:
        """``ala10.dynamics`` on its own, so that an error names its key there rather than
        in every stage it is merged into (a stage's length fills in ``steps``)."""
        from gmnn.md import MDConfig

        base = self.base
        interval = base.get("write_interval", MDConfig.defaults()["write_interval"])
        steps = interval if isinstance(interval, int) and interval >= 1 else 1
        try:
            MDConfig.from_dict({"temperature_K": 300.0, **base, "steps": steps}, "ala10.dynamics")
        except ValueError as err:
            return [str(err)]
        return []

    def check(self, ani: AniDesign) -> list[str]:
        """Problems of the ``ala10`` section the schema cannot express (errors name the key)."""
        problems = self._check_dynamics()
        for phase in self.phases if not problems else ():
            try:
                configs = self.stage_configs(phase)
            except ValueError as err:
                problems.append(str(err))
                continue
            last = configs[-1].steps * configs[-1].timestep_fs / 1000.0
            equilibration = self.section[phase]["equilibration_ps"]
            window = self.section[phase]["window_ps"]
            if equilibration >= last:
                problems.append(
                    f"ala10.{phase}.equilibration_ps={equilibration} leaves "
                    f"nothing of the last stage ({last} ps) to analyse"
                )
            elif window > last - equilibration:
                problems.append(
                    f"ala10.{phase}.window_ps={window}: the running average is longer than "
                    f"the analysed part of the last stage ({last} ps less "
                    f"equilibration_ps={equilibration})"
                )
            if phase == "gas" and any(get_integrator(c.integrator).npt for c in configs):
                problems.append("ala10.gas.stages: NPT needs a periodic box (the water phase)")
        sizes = ani.pretrain_sizes
        if self.n_pretrain not in sizes:
            problems.append(
                f"ala10.n_pretrain={self.n_pretrain} is not an ANI-1x pre-training size of the "
                f"ani section {sizes}"
            )
        if self.n_train not in ani.cc_sizes:
            problems.append(
                f"ala10.n_train={self.n_train} is not in ani.ani1ccx.train_sizes {ani.cc_sizes}"
            )
        return problems
