"""Transfer learning (paper, Section 2.2 and Fig. 1).

Starting from a pre-trained model, fine-tuning

* freezes the descriptor coefficients β (η_embed = 0),
* re-initialises the per-species scale σ = 1 and shift μ (regression on the
  fine-tuning energies) and trains them with the default rates,
* trains the dense layers with *discriminative* learning rates: the last layer
  with ``lr_last`` (0.01) and each lower layer with the rate of the layer above
  divided by ``lr_factor`` (5).

Other modes: ``"non_discriminative"`` (all groups, β included, with the
from-scratch rates; Fig. 6, green lines) and ``"linear_probe"`` (only the last
layer, scale and shift train).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gmnn.train.config import TrainConfig

MODES = ("discriminative", "non_discriminative", "linear_probe")


def finetune_learning_rates(
    model,
    mode: str = "discriminative",
    lr_last: float = 0.01,
    lr_factor: float = 5.0,
    base: dict | None = None,
) -> dict[str, float]:
    """Per-group initial learning rates for fine-tuning ``model`` in ``mode``."""
    if mode not in MODES:
        raise ValueError(f"unknown fine-tuning mode {mode!r}; choose one of {MODES}")
    base = {**TrainConfig().learning_rates, **(base or {})}
    dense = [g for g in model.variable_groups() if g.startswith("dense_")]
    rates = {"scale": base["scale"], "shift": base["shift"]}
    if mode == "non_discriminative":
        rates["embed"] = base["embed"]
        rates.update({g: base["nn"] for g in dense})
    elif mode == "discriminative":
        rates["embed"] = 0.0
        for depth, g in enumerate(reversed(dense)):
            rates[g] = lr_last / lr_factor**depth
    else:  # linear probe
        rates["embed"] = 0.0
        rates.update({g: 0.0 for g in dense})
        rates[dense[-1]] = lr_last
    return rates


def prepare_finetune(pretrained, train, keep_energy_scale: bool = True):
    """A copy of ``pretrained`` ready for fine-tuning on ``train``.

    Weights are copied; σ is reset to 1 and μ is re-fitted by ridge regression on the
    ``train`` energies minus what the pre-trained network predicts with σ = 1, so that
    fine-tuning starts without an energy offset.
    The constant c of Eq. (3) is kept from pre-training by default, so that the
    network output keeps the units it was trained in (``keep_energy_scale=False``
    recomputes it from ``train``).
    """
    from gmnn.model import GMNN

    missing = sorted(set(int(z) for z in train.species) - set(int(z) for z in pretrained.species))
    if missing:
        raise ValueError(
            f"fine-tuning data contain element(s) Z={missing} that the pre-trained model "
            f"(species {list(map(int, pretrained.species))}) never saw"
        )
    from gmnn.analysis.metrics import predict

    model = GMNN(**pretrained.config)
    model.set_weights(pretrained.get_weights())
    scale = float(pretrained.energy_scale.numpy()) if keep_energy_scale else None
    model.init_scale_shift(train, energy_scale=scale)
    # The regression above treats the network output as zero; the pre-trained network's
    # output is not, so regress the shift once more on what the model still misses.
    residual = train.energy - predict(model, train, forces=False)["energy"]
    model.init_scale_shift(
        train.with_labels(energy=residual),
        energy_scale=float(model.energy_scale.numpy()),
        add_to_shift=True,
    )
    return model


def finetune(
    pretrained,
    train,
    valid,
    out_dir,
    config: TrainConfig | None = None,
    mode: str = "discriminative",
    lr_last: float = 0.01,
    lr_factor: float = 5.0,
    keep_energy_scale: bool = True,
    provenance: dict | None = None,
    resume: bool = True,
):
    """Fine-tune a pre-trained model (object or model directory) and save it.

    ``config.learning_rates`` is replaced by the rates of ``mode``; all other
    settings (epochs, loss E or EF, batch size, early stopping) are used as given.
    """
    from gmnn.io import load_model
    from gmnn.train.api import fit

    source = None
    if isinstance(pretrained, (str, Path)):
        source = str(pretrained)
        pretrained = load_model(pretrained)
    config = config or TrainConfig()
    model = prepare_finetune(pretrained, train, keep_energy_scale=keep_energy_scale)
    rates = finetune_learning_rates(model, mode, lr_last, lr_factor)
    config = replace(config, learning_rates=rates)
    info = {
        "finetune": {
            "mode": mode,
            "pretrained": source,
            "pretrained_provenance": getattr(pretrained, "provenance", None),
            "lr_last": lr_last,
            "lr_factor": lr_factor,
            "keep_energy_scale": keep_energy_scale,
        },
        **(provenance or {}),
    }
    return fit(train, valid, out_dir, config=config, model=model, provenance=info, resume=resume)
