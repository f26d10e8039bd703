"""The ANI half of the design (Table 1, Figs. 5, 6, the exported models): pre-training
and ANI-1ccx sizes, seeds, which runs each figure compares, and the exported ensembles
with their model cards (Sec. 3.2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gmnn.analysis.names import AniNames, ani_names
from gmnn.workflow.grid import (
    DATA_FILE_STRUCTURES,
    EMBEDDED_ANI_FILES,
    Grid,
    Setting,
    held_and_test,
)


def ani1ccx_record(wildcards, npre: int | None = None) -> dict:
    """The record of an ANI-1ccx run (setting, n, seed wildcards) in the study's tables."""
    return {
        "molecule": "ani1ccx",
        "setting": wildcards.setting,
        "n_train": int(wildcards.n),
        "seed": int(wildcards.seed),
        "test_set": "ani1ccx",
        "n_pretrain": npre,
    }


@dataclass(frozen=True)
class AniModel:
    """A model of the ANI study (one per seed): pre-trained on ``npre`` ANI-1x structures
    (``setting`` None), or trained on ``n`` ANI-1ccx structures in ``setting`` (fine-tuned
    from the one pre-trained on ``npre``)."""

    npre: int | None
    setting: str | None = None
    n: int | None = None


@dataclass(frozen=True)
class Export:
    """An exported ensemble: its model (every seed's) and its model card."""

    model: AniModel
    card: dict


@dataclass(frozen=True)
class AniDesign:
    """The ``ani`` section, with ``model`` and ``training`` under it."""

    section: dict
    model_config: dict  # `model`, then `ani.model` over it
    training: dict  # `training`, then `ani.training` over it

    @classmethod
    def from_config(cls, config: dict) -> AniDesign:
        ani = config["ani"]
        model = {**(config.get("model") or {}), **(ani.get("model") or {})}
        training = {**(config.get("training") or {}), **(ani.get("training") or {})}
        return cls(ani, model, training)

    @property
    def seeds(self) -> list[int]:
        return self.section.get("seeds", [])

    @property
    def source(self) -> str:
        return self.section.get("source", "ani")

    @property
    def names(self) -> AniNames:
        """How figures, tables, captions and model cards name this source's data sets
        (:func:`gmnn.analysis.names.ani_names`: the embedded stand-ins as stand-ins)."""
        return ani_names(self.source)

    @property
    def comp6_subsets(self) -> list[str]:
        return self.section.get("comp6_subsets", [])

    @property
    def pretrain_sizes(self) -> list[int]:
        """Every ANI-1x pre-training size (nested in one split per seed: train[:N])."""
        a = self.section
        return sorted(
            {*a["table1"]["sizes"], *a["fig5"]["pretrain_sizes"], *a["fig6"]["pretrain_sizes"]}
        )

    @property
    def cc_sizes(self) -> list[int]:
        return self.section["ani1ccx"]["train_sizes"]

    @property
    def figures(self) -> list[str]:
        return ["figures/table1.md", "figures/fig5.pdf", "figures/fig6.pdf"]

    def training_params(self, seed, name: str = "ani1ccx") -> dict:
        """TrainConfig of the runs on ``name`` with a job's seed: ``training``, then
        ``ani.training`` over it, then (pre-training, ``name`` ani1x) ``ani.ani1x.training``,
        which gives the pre-training a length of its own."""
        own = (self.section.get(name) or {}).get("training") or {} if name == "ani1x" else {}
        return {**self.training, **own, "seed": int(seed), "progress": False}

    def fig5_runs(self) -> list[AniModel]:
        """The ANI-1ccx runs of Fig. 5 (every setting, size and pre-training size)."""
        fig5, out = self.section["fig5"], []
        for setting in fig5["settings"]:
            npres = fig5["pretrain_sizes"] if Setting.parse(setting).finetuned else [None]
            out += [AniModel(p, setting, n) for p in npres for n in self.cc_sizes]
        return out

    def structures(self, name: str) -> tuple[int, int]:
        """(structures held, test structures) of the ``name`` (ani1x, ani1ccx) data file."""
        spec = self.section[name]
        largest = max(self.pretrain_sizes) if name == "ani1x" else max(self.cc_sizes)
        source = name if self.source == "ani" else "embedded"
        return held_and_test(source, largest, spec["n_valid"], spec.get("n_test", 0))

    @property
    def exports(self) -> dict[str, Export]:
        """The published potentials (Sec. 3.2): every seed's model of one setting as an
        ensemble, with its model card (``ani.export: false``: none)."""
        a, seeds = self.section, self.seeds
        if not a.get("export", True):
            return {}
        top = max(a["table1"]["sizes"])
        names = self.names
        pretraining = {
            "data": names.pretraining,
            "level_of_theory": names.pretraining_level,
            "labels": "EF",
            "n_train": top,
        }
        out = {
            "ani1x_pretrained": Export(
                AniModel(top),
                {
                    "name": "ani1x_pretrained",
                    "description": f"GM-NN pre-trained on {top} {names.pretraining} "
                    "structures (energies and forces), for fine-tuning on organic molecules "
                    "(H, C, N, O)",
                    "pretraining": pretraining,
                    "seeds": seeds,
                    "n_train": top,
                },
            )
        }
        if max(a["fig5"]["pretrain_sizes"]) == top and "finetune_E" in a["fig5"]["settings"]:
            cc_top = max(self.cc_sizes)
            out["ani1ccx_finetuned"] = Export(
                AniModel(top, "finetune_E", cc_top),
                {
                    "name": "ani1ccx_finetuned",
                    "description": f"The model pre-trained on {names.pretraining}, fine-tuned "
                    f"on {cc_top} {names.finetuning} energies (discriminative fine-tuning)",
                    "pretraining": pretraining,
                    "finetuning": {
                        "data": names.finetuning,
                        "level_of_theory": names.finetuning_level,
                        "labels": "E",
                        "n_train": cc_top,
                    },
                    "seeds": seeds,
                    "n_train": cc_top,
                },
            )
        return out

    def check(self, grid: Grid, embedded_ani: dict) -> list[str]:
        """Problems of the ``ani`` section the schema cannot express (errors name the key)."""
        from gmnn.model.config import ModelConfig
        from gmnn.train import TrainConfig

        problems = []
        try:
            ModelConfig.from_dict(self.model_config, where="model + ani.model")
            TrainConfig.from_dict(self.training_params(0), where="training + ani.training")
            TrainConfig.from_dict(
                self.training_params(0, "ani1x"),
                where="training + ani.training + ani.ani1x.training",
            )
        except ValueError as err:
            problems.append(str(err))
        fig6 = self.section["fig6"]
        for molecule in fig6["molecules"]:
            if molecule not in grid.molecules:
                problems.append(
                    f"ani.fig6.molecules: {molecule} is not in md17.molecules {grid.molecules}"
                )
        if fig6["n_train"] not in grid.train_sizes:
            problems.append(
                f"ani.fig6.n_train={fig6['n_train']} is not in md17.cc.train_sizes "
                f"{grid.train_sizes} (its from-scratch lines are the Fig. 2 runs)"
            )
        for key in ("scratch_E", "scratch_EF"):
            if key not in grid.settings:
                problems.append(f"ani.fig6 needs {key} in md17.settings (its black lines)")
        if self.source == "embedded":
            held, what = list(embedded_ani["heldout"]), "an embedded_ani.heldout subset"
        else:
            from gmnn.data.sources import COMP6_SUBSETS

            held, what = list(COMP6_SUBSETS), "a COMP6 v1 subset"
        for subset in self.comp6_subsets:
            if subset not in held:
                problems.append(
                    f"ani.comp6_subsets: {subset!r} is not {what} {held} "
                    f"(ani.source is {self.source!r})"
                )
        return problems + self.check_sizes(embedded_ani)

    def data_structures(self, embedded_ani: dict) -> dict[str, tuple[int, str]]:
        """Structures in the ANI-1x and ANI-1ccx (role) data of this source, each with
        where that number comes from: the published files (``ani``,
        :data:`~gmnn.workflow.grid.DATA_FILE_STRUCTURES`) or the ``embedded_ani`` section
        (its train systems' frames; the accurate frames, an upper bound as a failed
        label is dropped)."""
        if self.source == "ani":
            return {
                name: (DATA_FILE_STRUCTURES[name], f"the {label} data")
                for name, label in (("ani1x", "ANI-1x"), ("ani1ccx", "ANI-1ccx"))
            }
        from gmnn.refdata import embedded_ani as refdata

        systems = refdata.catalogue(embedded_ani)
        frames = sum(s["frames"] for s in systems.values() if s["role"] == "train")
        committed = Path(EMBEDDED_ANI_FILES["accurate"])
        if committed.exists():  # what the split will read (no RDKit needed to count it)
            from gmnn.data.h5 import read_h5_ids

            accurate = len(read_h5_ids(committed))
            cc_label = f"the embedded ANI-1ccx-role data ({committed})"
        else:  # to be generated (needs the qc extra anyway): the systems' atoms decide
            extra = refdata.extra_accurate_systems(embedded_ani)
            default = int(embedded_ani["accurate"]["frames"])
            names = refdata.accurate_systems(embedded_ani)
            accurate = sum(extra.get(n, default) for n in names)
            cc_label = "the embedded ANI-1ccx-role data (embedded_ani.accurate frames)"
        return {
            "ani1x": (frames, "the embedded ANI-1x-role data (embedded_ani.train frames)"),
            "ani1ccx": (accurate, cc_label),
        }

    def check_sizes(self, embedded_ani: dict) -> list[str]:
        """Training, validation and test sets that fit the data (each split job would
        fail on its own otherwise, after the downloads)."""
        held = self.data_structures(embedded_ani)
        a, problems = self.section, []
        cc, (n_cc, cc_data) = a["ani1ccx"], held["ani1ccx"]
        top, n_test = max(self.cc_sizes), cc.get("n_test")
        needed = top + cc["n_valid"] + (n_test or 0)
        if needed > n_cc:
            problems.append(
                f"ani.ani1ccx.train_sizes up to {top}, n_valid={cc['n_valid']} and "
                f"n_test={'null' if n_test is None else n_test} need {needed} structures, but "
                f"{cc_data} hold {n_cc}"
            )
        elif needed == n_cc and n_test is None:
            problems.append(
                f"ani.ani1ccx.train_sizes up to {top} and n_valid={cc['n_valid']} take all "
                f"{n_cc} structures of {cc_data}, leaving no test structures "
                "(ani.ani1ccx.n_test is null: the rest)"
            )
        n_x, x_data = held["ani1x"]
        excluded = 0
        if a["ani1x"].get("exclude_ani1ccx_test", False) and needed <= n_cc:
            excluded = n_test if n_test is not None else n_cc - top - cc["n_valid"]
        available = n_x - excluded
        n_valid = a["ani1x"]["n_valid"]
        for key in ("table1.sizes", "fig5.pretrain_sizes", "fig6.pretrain_sizes"):
            group, name = key.split(".")
            largest = max(a[group][name])
            if largest + n_valid > available:
                minus = f" less the {excluded} ANI-1ccx test structures" if excluded else ""
                problems.append(
                    f"ani.{key}: {largest} pre-training structures and ani.ani1x.n_valid="
                    f"{n_valid} need {largest + n_valid}, but {x_data} hold {n_x}{minus} "
                    f"({available})"
                )
        return problems
