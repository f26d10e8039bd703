"""What every study of the pipeline names: settings, model references, the typed sections
of a pipeline config, the MD17 grid and the sizes of the data files it draws from; each
check's error names the key. :mod:`gmnn.workflow.design` puts the studies together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Setting:
    """An experimental setting of the pipeline, parsed from its name.

    ``pretrain`` (pre-training on DFT, energies and forces), ``scratch_E``,
    ``scratch_EF`` (from scratch on coupled-cluster labels, energies only or energies
    and forces), ``finetune_E``, ``finetune_EF`` (discriminative fine-tuning of the
    pre-trained model, :class:`~gmnn.transfer.FinetuneConfig`) and ``finetune_nd_E``,
    ``finetune_nd_EF`` (non-discriminative fine-tuning with the from-scratch learning
    rates, Fig. 6's green lines) and ``finetune_lp_E``, ``finetune_lp_EF`` (a linear
    probe: only the last layer, scale and shift train; the comparison on a user's own
    molecule, rules/molecules.smk). The one place where setting names are taken apart.
    """

    name: str
    kind: str  # pretrain | scratch | finetune | finetune_nd
    loss: str  # E | EF

    KINDS: ClassVar[tuple[str, ...]] = (
        "pretrain",
        "scratch",
        "finetune",
        "finetune_nd",
        "finetune_lp",
    )
    LOSSES: ClassVar[tuple[str, ...]] = ("E", "EF")
    FINETUNE_MODES: ClassVar[dict[str, str]] = {
        "finetune": "discriminative",
        "finetune_nd": "non_discriminative",
        "finetune_lp": "linear_probe",
    }

    @classmethod
    def parse(cls, name: str) -> Setting:
        if name == "pretrain":
            return cls(name, "pretrain", "EF")
        kind, _, loss = str(name).rpartition("_")
        if kind not in cls.KINDS[1:] or loss not in cls.LOSSES:
            raise ValueError(f"unknown setting {name!r}: expected pretrain or one of {cls.names()}")
        return cls(name, kind, loss)

    @property
    def finetuned(self) -> bool:
        return self.kind in self.FINETUNE_MODES

    @property
    def finetune_mode(self) -> str | None:
        """The :class:`~gmnn.transfer.FinetuneConfig` mode this setting fixes (or None)."""
        return self.FINETUNE_MODES.get(self.kind)

    @classmethod
    def names(cls) -> list[str]:
        return [f"{k}_{loss}" for k in cls.KINDS[1:] for loss in cls.LOSSES]


@dataclass(frozen=True)
class ModelRef:
    """A model of the MD17 grid named in the config as ``<setting>@<size>``, where the
    size is a number or a key of ``md.sizes`` (``finetune_EF@small``); ``pretrain``
    alone is the pre-trained model."""

    setting: str
    n_train: int | None

    @classmethod
    def parse(cls, text: str, sizes: dict | None = None, where: str = "") -> ModelRef:
        name, _, size = str(text).partition("@")
        try:
            setting = Setting.parse(name)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        if setting.kind == "pretrain":
            if size:
                raise ValueError(f"{where}: 'pretrain' takes no size, got {text!r}")
            return cls("pretrain", None)
        if not size:
            raise ValueError(f"{where}: {text!r} needs a size: {name}@<n or size name>")
        if size.isdigit():
            return cls(setting.name, int(size))
        if sizes is None or size not in sizes:
            raise ValueError(
                f"{where}: size {size!r} of {text!r} is not a number or one of "
                f"{sorted(sizes or {})}"
            )
        return cls(setting.name, int(sizes[size]))


def setting_names(kinds, losses=Setting.LOSSES) -> list[str]:
    """The setting names of ``kinds`` (scratch, finetune, finetune_nd) with ``losses``."""
    return [f"{k}_{loss}" for k in kinds for loss in losses]


# The settings each key of a pipeline config accepts (gmnn.workflow.schema fills them into
# the enums of rules/schemas/config.schema.yaml).
SETTING_CHOICES = {
    "md17.settings": setting_names(("scratch", "finetune")),
    "ani.fig5.settings": setting_names(("scratch", "finetune", "finetune_nd"), ("E",)),
    "ani.fig6.settings": setting_names(("finetune", "finetune_nd")),
    "pretrain_size.settings": setting_names(("finetune",)),
}


def typed_settings(config: dict) -> dict:
    """The typed sections of a pipeline config, checked (errors name the key).

    ``model`` -> :class:`~gmnn.model.config.ModelConfig`, ``training`` ->
    :class:`~gmnn.train.TrainConfig`, ``finetune`` -> :class:`~gmnn.transfer.FinetuneConfig`,
    ``spectra`` -> :class:`~gmnn.analysis.spectra.SpectraConfig` and ``md.dynamics`` ->
    :class:`~gmnn.md.MDConfig` (its per-run fields, temperature and steps, are filled with
    placeholders, so that the section's own keys are checked; ``md: null`` leaves it out).
    """
    from gmnn.analysis.spectra import SpectraConfig
    from gmnn.model.config import ModelConfig
    from gmnn.train import TrainConfig
    from gmnn.transfer import FinetuneConfig

    out = {
        "spectra": SpectraConfig.from_dict(config.get("spectra")),
        "model": ModelConfig.from_dict(config.get("model")),
        "training": TrainConfig.from_dict(config.get("training")),
        "finetune": FinetuneConfig.from_dict(config.get("finetune")),
        "md": None,
    }
    md = config.get("md")
    if md:
        from gmnn.md import MDConfig

        dynamics = dict(md.get("dynamics") or {})
        # per-run placeholders, so that the section's own keys are checked here; the
        # run length against the write interval is checked by the pipeline (md_steps)
        interval = dynamics.get("write_interval", MDConfig.defaults()["write_interval"])
        steps = interval if isinstance(interval, int) and interval >= 1 else 1
        per_run = {"temperature_K": md["temperatures_K"][0], "steps": steps}
        out["md"] = MDConfig.from_dict({**dynamics, **per_run}, where="md.dynamics")
    return out


def md_steps(md: dict, timestep_fs: float) -> int:
    """Steps of an MD run of the pipeline: equilibration plus production."""
    return int(round((md["equilibration_ps"] + md["production_ps"]) * 1000 / timestep_fs))


# ------------------------------------------------------------------------------------------
# The experimental design of the pipeline, built once from its config.

LEVELS = ("dft", "cc")
# The committed embedded data in the roles of ANI-1x and ANI-1ccx (rules/embedded_ani.smk),
# relative to the workflow directory
EMBEDDED_ANI_FILES = {"train": "data/embedded/ani_xtb.h5", "accurate": "data/embedded/ani_wb97x.h5"}
# structures in the data files each source provides (the largest sets a config may ask for)
DATA_FILE_STRUCTURES = {
    "rmd17": 100_000,  # per molecule
    "md17_ccsd": 2_000,  # sGDML train + test files, at most (ethanol CCSD(T): 1000 + 1000)
    "ani1x": 4_956_005,
    "ani1ccx": 489_571,
}


class ConfigError(ValueError):
    """A pipeline config the design cannot be built from; the message starts with
    ``Invalid configuration:`` and names each key at fault."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if isinstance(problems, str):
            super().__init__(f"Invalid configuration: {problems}")
        else:
            super().__init__("Invalid configuration:\n  " + "\n  ".join(self.problems))


def held_and_test(
    source: str, largest: int, n_valid: int, n_test: int | None, n_structures: int | None = None
) -> tuple[int, int]:
    """Structures of a data file (a job reads it whole) and of its test set (n_test, or
    None: the rest after the largest training set and the validation set)."""

    known = largest + n_valid + (n_test or 0)
    held = n_structures or DATA_FILE_STRUCTURES.get(source, known)
    held = max(held, known)
    return held, n_test if n_test is not None else held - largest - n_valid


def model_refs(texts, sizes: dict | None, where: str) -> tuple[ModelRef, ...]:
    return tuple(ModelRef.parse(t, sizes, where) for t in texts)


@dataclass(frozen=True)
class Grid:
    """The MD17 grid (Fig. 2; its models are also those of Figs. 3, 4, S1-S5): the
    ``md17`` section, ``pretrain_size`` (Fig. 3, or None) and ``embedded_data``."""

    section: dict
    pretrain_size: dict | None
    embedded_data: dict
    training: dict  # the `training` section

    @property
    def molecules(self) -> list[str]:
        return self.section["molecules"]

    @property
    def seeds(self) -> list[int]:
        return self.section["seeds"]

    @property
    def settings(self) -> list[str]:
        return self.section["settings"]

    @property
    def train_sizes(self) -> list[int]:
        return sorted(self.section["cc"]["train_sizes"])

    @property
    def dft_n_train(self) -> int:
        return self.section["dft"]["n_train"]

    def dft_train_sizes(self, molecule: str) -> list[int]:
        """Pre-training set sizes of ``molecule``: md17.dft.n_train, and Fig. 3's grid for
        its molecules (nested in one split: train[:N])."""
        sizes = {self.dft_n_train}
        if self.pretrain_size and molecule in self.pretrain_size["molecules"]:
            sizes.update(self.pretrain_size["sizes"])
        return sorted(sizes)

    def largest(self, level: str) -> int:
        if level == "cc":
            return max(self.train_sizes)
        return max(max(self.dft_train_sizes(m)) for m in self.molecules)

    def structures(self, level: str) -> tuple[int, int]:
        """(structures held, test structures) of the data file of ``level``."""
        spec = self.section[level]
        n_structures = None
        if spec["source"] == "embedded":
            n_structures = self.embedded_data[level]["n_structures"]
        return held_and_test(
            spec["source"], self.largest(level), spec["n_valid"], spec.get("n_test"), n_structures
        )

    def training_params(self, seed) -> dict:
        """The `training` section (:class:`~gmnn.train.TrainConfig`) with a job's seed."""
        return {**self.training, "seed": int(seed), "progress": False}

    def check(self) -> list[str]:
        problems = []
        sizes = self.section["cc"]["train_sizes"]
        if sizes != sorted(sizes):
            problems.append(f"md17.cc.train_sizes must be increasing, got {sizes}")
        for level in LEVELS:
            if self.section[level]["source"] == "embedded":
                problems += self._check_embedded(level)
        return problems

    def _check_embedded(self, level: str) -> list[str]:
        spec = self.section[level]
        molecule = self.embedded_data.get("molecule")
        others = [m for m in self.molecules if m != molecule]
        problems = []
        if others:
            problems.append(
                f"md17.{level}.source is 'embedded', which holds only "
                f"embedded_data.molecule={molecule!r}, but md17.molecules also has {others}"
            )
        n_structures = self.embedded_data.get(level, {}).get("n_structures")
        n_train = self.largest(level)
        needed = n_train + spec["n_valid"] + (spec.get("n_test") or 0)
        what = f"training set of {n_train}"
        if level == "dft" and n_train > self.dft_n_train:
            what = f"pretrain_size.sizes up to {n_train}"
        if n_structures is not None and needed > n_structures:
            problems.append(
                f"md17.{level} needs {needed} structures ({what}, "
                f"n_valid and n_test) but embedded_data.{level}.n_structures is {n_structures}"
            )
        elif needed == n_structures and spec.get("n_test") is None:
            problems.append(
                f"md17.{level}: {what} and n_valid={spec['n_valid']} take all "
                f"embedded_data.{level}.n_structures={n_structures}, leaving no test "
                f"structures (md17.{level}.n_test is null: the rest)"
            )
        return problems

    def check_figures(self) -> list[str]:
        """Fig. 3 uses the Fig. 2 grid: its molecules, sizes and settings must be in it."""
        fig3, problems = self.pretrain_size, []
        if not fig3:
            return problems
        missing = [m for m in fig3["molecules"] if m not in self.molecules]
        if missing:
            problems.append(
                f"pretrain_size.molecules {missing} are not in md17.molecules {self.molecules}"
            )
        sizes = [n for n in fig3["finetune_sizes"] if n not in self.train_sizes]
        if sizes:
            problems.append(
                f"pretrain_size.finetune_sizes {sizes} are not in md17.cc.train_sizes "
                f"{self.train_sizes} (the from-scratch lines are the Fig. 2 runs)"
            )
        if "scratch_EF" not in self.settings:
            problems.append("pretrain_size needs md17.settings to include scratch_EF")
        return problems


def check_embedded_molecule(embedded_data: dict) -> list[str]:
    """embedded_data.molecule must be one gmnn.refdata.qc.build_molecule knows (else the
    embedded rules plan their QC jobs and the first of them fails)."""
    molecule = embedded_data.get("molecule")
    if molecule is None:
        return []
    from gmnn.refdata.qc import build_molecule

    try:
        build_molecule(molecule)
    except ValueError as err:
        return [f"embedded_data.molecule: {err}"]
    return []
