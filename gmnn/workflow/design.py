"""The experimental design of a pipeline config, built once by the rules
(``DESIGN = Design.from_config(config)`` in rules/common.smk): the MD17 grid
(:mod:`gmnn.workflow.grid`), MD and bond scans (:mod:`gmnn.workflow.md17`), the ANI study
(:mod:`gmnn.workflow.ani`) and the deca-alanine ensembles (:mod:`gmnn.workflow.ala10`)."""

from __future__ import annotations

from dataclasses import dataclass

from gmnn.refdata import embedded_ani
from gmnn.workflow.ala10 import Ala10Design
from gmnn.workflow.ani import AniDesign
from gmnn.workflow.grid import (
    ConfigError,
    Grid,
    check_embedded_molecule,
    typed_settings,
)
from gmnn.workflow.md17 import MdDesign
from gmnn.workflow.molecules import MoleculesDesign


@dataclass(frozen=True)
class Design:
    """The experimental design of a pipeline config: built once by :meth:`from_config`,
    whose checks are the cross-checks that JSON schema cannot express."""

    config: dict
    typed: dict  # typed_settings(config)
    grid: Grid
    md: object | None  # gmnn.workflow.md17.MdDesign (md: null: None)
    ani: object | None  # gmnn.workflow.ani.AniDesign (ani: null: None)
    ala10: object | None  # gmnn.workflow.ala10.Ala10Design (ala10 or ani null: None)
    embedded_ani_systems: dict  # gmnn.refdata.embedded_ani.catalogue
    molecules: MoleculesDesign | None = None  # molecules: and embedded_data (issue 23)

    @classmethod
    def from_config(cls, config: dict) -> Design:
        """The design of ``config`` (validated against the schema, defaults filled); a
        :class:`ConfigError` naming every key at fault."""

        try:
            typed = typed_settings(config)
            grid = Grid(
                config["md17"],
                config.get("pretrain_size"),
                config.get("embedded_data", {}),
                config.get("training", {}),
            )
            md = MdDesign.from_config(config, typed) if config.get("md") else None
            systems = embedded_ani.catalogue(config["embedded_ani"])
        except ValueError as err:
            raise ConfigError(str(err)) from None
        ani = AniDesign.from_config(config) if config.get("ani") else None
        ala10 = Ala10Design.from_config(config, ani) if ani and config.get("ala10") else None
        molecules = MoleculesDesign.from_config(config)
        design = cls(config, typed, grid, md, ani, ala10, systems, molecules)
        problems = design.check()
        if problems:
            raise ConfigError(problems)
        return design

    def check(self) -> list[str]:
        problems = self.grid.check() + check_embedded_molecule(self.grid.embedded_data)
        if self.ani:
            problems += self.ani.check(self.grid, self.config["embedded_ani"])
        if self.ala10:
            problems += self.ala10.check(self.ani)
        problems += self.grid.check_figures()
        if self.molecules:
            problems += self.molecules.check()
        if self.md:
            problems += self.md.check(self.grid, self.typed)
        return problems

    @property
    def embedded_ani_train(self) -> list[str]:
        """The embedded ANI-like systems of the training role."""
        return [n for n, spec in self.embedded_ani_systems.items() if spec["role"] == "train"]

    def figure_targets(self) -> list[str]:
        """Every configured figure (rule ``figures``, and ``gmnn cost`` by default)."""
        out = ["figures/fig2.pdf"]
        if self.grid.pretrain_size:
            out.append("figures/fig3.pdf")
        if self.md:
            out += [f"figures/{name}.pdf" for name in self.md.spectra_figures]
            out += [f"figures/{name}.pdf" for name in self.md.bond_figures]
        if self.ani:
            out += self.ani.figures
        if self.ala10:
            out += self.ala10.figures
        return out + ["figures/claims.md"]  # the scorecard over the tables above
