"""Transfer learning (paper, Section 2.2 and Fig. 1).

Starting from a pre-trained model, fine-tuning

* freezes the descriptor coefficients β (η_embed = 0),
* re-initialises the per-species scale σ = 1 and shift μ (regression on the
  fine-tuning energies) and trains them with the default rates (elements of the model
  absent from the fine-tuning data keep their pre-trained σ and μ:
  :func:`prepare_finetune`),
* trains the dense layers with *discriminative* learning rates: the last layer
  with ``lr_last`` (0.01) and each lower layer with the rate of the layer above
  divided by ``lr_factor`` (5).

Other modes: ``"non_discriminative"`` (all groups, β included, with the
from-scratch rates; Fig. 6, green lines) and ``"linear_probe"`` (only the last
layer, scale and shift train).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from gmnn.settings import Settings, option
from gmnn.train.config import TrainConfig

MODES = ("discriminative", "non_discriminative", "linear_probe")


class FinetuneConfig(Settings):
    """How to fine-tune a pre-trained model (config section ``finetune``).

    ``energy_scale``: ``"keep"`` (default) keeps the constant c of Eq. (3) from
    pre-training, so that the network output keeps the scale it was trained on;
    ``"recompute"`` re-estimates it from the fine-tuning labels (as apax does with its
    scale). ``shift_init``: ``"regression"`` (default) re-fits μ by ridge regression of
    the fine-tuning energies on the element counts; ``"offset_free"`` regresses once more
    on what the pre-trained network (σ = 1) still misses, so that training starts
    without an energy offset. σ is reset to 1 either way.

    Why these defaults: the paper re-initialises exactly the trainable scale and shift,
    "σ_{Z_i} and μ_{Z_i}, [which] have to be re-initialized to account for possible
    differences in energy labels" (Sec. 2.2; Fig. 1 marks only σ and μ as
    re-initialised), and μ "are initialized by solving a linear regression problem"
    (Sec. 2.1). The constant c is not a trainable parameter and is not said to be
    re-estimated, so it is kept; re-estimating it from a few fine-tuning structures
    rescales the pre-trained network's output (measured: benchmarks/finetune_defaults.py
    and the embedded default). The offset-free start is neither the paper's nor
    apax's and is an option, and the better one for energy-only fine-tuning on few
    structures: CCSD(T) ethanol, n = 64, energy RMSE 1.14 ± 0.15 vs 1.40 ± 0.06 kcal/mol
    and forces 6.6 vs 7.9 kcal/mol/Å (results/checks/ethanol_finetune_defaults.md); with
    forces, or at n = 512, the two agree within their errors.
    """

    section: ClassVar[str] = "finetune"

    mode: str = option("discriminative", choices=MODES, doc="which groups train, at which rates")
    lr_last: float = option(0.01, gt=0.0, doc="learning rate of the last layer (paper: 0.01)")
    lr_factor: float = option(
        5.0, gt=0.0, doc="each lower layer: the rate above divided by this (paper: 5)"
    )
    energy_scale: str = option(
        "keep",
        choices=("keep", "recompute"),
        doc="constant c of Eq. (3): keep from pre-training, or re-estimate",
    )
    shift_init: str = option(
        "regression",
        choices=("regression", "offset_free"),
        doc="re-initialisation of the shift mu",
    )


def finetune_learning_rates(
    model, config: FinetuneConfig | None = None, base: dict | None = None
) -> dict[str, float]:
    """Per-group initial learning rates for fine-tuning ``model``.

    ``base`` holds the rates of the groups that train as from scratch (scale, shift and,
    non-discriminatively, everything): by default the paper's (:class:`TrainConfig`).
    """
    config = config or FinetuneConfig()
    base = {**TrainConfig().learning_rates, **(base or {})}
    dense = [g for g in model.variable_groups() if g.startswith("dense_")]
    rates = {"scale": base["scale"], "shift": base["shift"]}
    if config.mode == "non_discriminative":
        rates["embed"] = base["embed"]
        rates.update({g: base.get(g, base["nn"]) for g in dense})
    elif config.mode == "discriminative":
        rates["embed"] = 0.0
        for depth, g in enumerate(reversed(dense)):
            rates[g] = config.lr_last / config.lr_factor**depth
    else:  # linear probe
        rates["embed"] = 0.0
        rates.update({g: 0.0 for g in dense})
        rates[dense[-1]] = config.lr_last
    return rates


def prepare_finetune(pretrained, train, config: FinetuneConfig | None = None):
    """A copy of ``pretrained`` ready for fine-tuning on ``train``.

    Weights are copied; σ is reset to 1 and μ re-fitted as ``config.shift_init`` says;
    c is kept or recomputed as ``config.energy_scale`` says (see :class:`FinetuneConfig`).

    Elements of the model absent from ``train`` (Fig. 6: an ANI-1x model of H, C, N, O
    fine-tuned on methanol or aspirin, without N) keep their pre-trained atomic energy
    function: c·σ_Z and c·μ_Z stay as pre-trained (σ_Z and μ_Z themselves when c is
    kept; rescaled by c_pre/c_new when it is recomputed).  The data say nothing about
    them: the ridge regression would give them μ_Z = ē/c (ē the mean energy per atom of
    ``train``, a guess at the new level of theory), and σ_Z = 1 would rescale the
    network output they were trained with.  They receive no gradient in fine-tuning
    (no atom of theirs is in a batch), so they leave it as they entered it; the
    fine-tuned model is not meant for molecules with them (their energies stay at the
    pre-training level of theory).
    """
    import numpy as np

    from gmnn.model import GMNN

    config = config or FinetuneConfig()
    missing = sorted(set(int(z) for z in train.species) - set(int(z) for z in pretrained.species))
    if missing:
        raise ValueError(
            f"fine-tuning data contain element(s) Z={missing} that the pre-trained model "
            f"(species {list(map(int, pretrained.species))}) never saw"
        )
    from gmnn.analysis.metrics import predict

    model = GMNN(**pretrained.config)
    model.set_weights(pretrained.get_weights())
    scale = float(pretrained.energy_scale.numpy()) if config.energy_scale == "keep" else None
    model.init_scale_shift(train, energy_scale=scale)
    if config.shift_init == "offset_free":
        # The regression above treats the network output as zero; the pre-trained
        # network's output is not, so regress the shift once more on what it misses.
        residual = train.energy - predict(model, train, forces=False)["energy"]
        model.init_scale_shift(
            train.with_labels(energy=residual),
            energy_scale=float(model.energy_scale.numpy()),
            add_to_shift=True,
        )
    absent = ~np.isin(np.asarray(model.species), np.asarray(train.species))
    if absent.any():
        ratio = float(pretrained.energy_scale.numpy()) / float(model.energy_scale.numpy())
        scale, shift = model.scale.numpy().copy(), model.shift.numpy().copy()
        scale[absent] = pretrained.scale.numpy()[absent] * ratio
        shift[absent] = pretrained.shift.numpy()[absent] * ratio
        model.scale.assign(scale)
        model.shift.assign(shift)
    return model


def finetune(
    pretrained,
    train,
    valid,
    out_dir,
    config: TrainConfig | None = None,
    finetune_config: FinetuneConfig | None = None,
    provenance: dict | None = None,
    on_mismatch: str = "error",
):
    """Fine-tune a pre-trained model (object or model directory) and save it.

    The learning rates of the dense layers and β come from ``finetune_config`` (mode,
    ``lr_last``, ``lr_factor``); scale and shift (and, non-discriminatively, every
    group) train with ``config.learning_rates``; all other settings (epochs, loss E or
    EF, batch size, early stopping) are used as given.
    """
    from dataclasses import replace

    from gmnn.io import load_model
    from gmnn.train.api import fit

    source = None
    if isinstance(pretrained, (str, Path)):
        source = str(pretrained)
        pretrained = load_model(pretrained)
    config = config or TrainConfig()
    finetune_config = finetune_config or FinetuneConfig()
    model = prepare_finetune(pretrained, train, finetune_config)
    rates = finetune_learning_rates(model, finetune_config, base=config.learning_rates)
    config = replace(config, learning_rates=rates)
    info = {
        "finetune": {
            **finetune_config.to_dict(),
            "pretrained": source,
            "pretrained_provenance": getattr(pretrained, "provenance", None),
        },
        **(provenance or {}),
    }
    return fit(
        train, valid, out_dir, config=config, model=model, provenance=info, on_mismatch=on_mismatch
    )
