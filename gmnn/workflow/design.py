"""The experimental design of the pipeline: setting names, model references and the
typed sections of a pipeline config, each checked with errors that name the key."""

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
    rates, Fig. 6's green lines). The one place where setting names are taken apart.
    """

    name: str
    kind: str  # pretrain | scratch | finetune | finetune_nd
    loss: str  # E | EF

    KINDS: ClassVar[tuple[str, ...]] = ("pretrain", "scratch", "finetune", "finetune_nd")
    LOSSES: ClassVar[tuple[str, ...]] = ("E", "EF")
    FINETUNE_MODES: ClassVar[dict[str, str]] = {
        "finetune": "discriminative",
        "finetune_nd": "non_discriminative",
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
