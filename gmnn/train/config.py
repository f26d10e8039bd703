"""Training settings (paper, Section 2.1): the one home of their defaults and ranges."""

from __future__ import annotations

from typing import ClassVar

from gmnn.settings import Settings, SettingsError, option

# Learning rates of the paper for training from scratch (Sec. 2.1).
PAPER_LEARNING_RATES = (("nn", 0.03), ("embed", 0.02), ("scale", 0.001), ("shift", 0.05))


# Units the loss can measure energy residuals in (TrainConfig.loss_units).
LOSS_UNITS = ("eV", "kcal_mol", "energy_scale")

# Validations per run when training by steps without ``valid_every`` (TrainConfig).
VALIDATIONS_PER_RUN = 20


def _paper_rates() -> dict[str, float]:
    return dict(PAPER_LEARNING_RATES)


class TrainConfig(Settings):
    """How to train a GM-NN model (config section ``training``).

    ``loss`` is ``"EF"`` (energies and forces) or ``"E"`` (energies only).  Loss
    weights default to the paper's: λ_E = 1 and λ_F = 4 Å² for data sets of
    equally sized structures; λ_E = 1/N_at and λ_F = 0.01 Å² for mixed sizes.
    ``learning_rates`` maps groups to initial rates: ``embed`` (descriptor
    coefficients β), ``nn`` (every dense layer) or ``dense_0``, ``dense_1``, ...
    (one layer each, overriding ``nn``), ``scale`` and ``shift``.  A rate of 0
    freezes the group: its variables are excluded from the update and stay
    bit-identical.  All rates decay linearly to zero over the run.

    ``loss_units`` is the unit energy residuals are measured in before they are squared
    (force residuals in it per Å), which matters because Adam's ε is absolute:
    ``"energy_scale"`` (the default: the model's per-atom energy constant c of Eq. (3),
    fixed during training; the loss is then dimensionless and the optimisation, ε
    included, exactly the same whatever unit the labels come in, since c scales with
    them), ``"kcal_mol"`` (the paper's data and error unit: ε negligible as well, but
    invariant to nothing) or ``"eV"`` (gmnn's internal unit, the behaviour of
    earlier versions: with small energy spreads ε = 1e-7 then damps the updates of energy-only runs
    by a factor 0.4-0.8).  The minimum is the same in every case; the ``train_loss`` and
    ``valid_loss`` columns of ``metrics.csv`` and ``min_delta`` are in the squared unit
    (with ``energy_scale`` not comparable between runs of different c), while the error
    columns stay in kcal/mol and kcal/mol/Å.

    **Training length.** ``epochs`` (the default, 1000: the paper's MD17 runs) counts
    passes over the training set; ``steps``, when set, replaces it (``epochs`` is then
    ignored and left out of the run's identity) and counts optimiser steps.  Either way
    the learning rates decay linearly to zero over the total number of steps,
    η_t = η_0 (1 - step/max_step), and the batch order is a fresh permutation of the
    training set per epoch (from ``default_rng([seed, epoch])``); a run by steps may end
    inside an epoch.  By epochs the model is validated once per epoch; by steps every
    ``valid_every`` steps (default: ``ceil(steps / 20)``, i.e. 20 validations per run
    whatever the size of the training set: once per epoch would validate a 1,024-structure
    ANI-1ccx run of batch 2048 at every step) and after the last step.  Each validation
    selects the best weights and counts towards ``patience`` (early stopping: epochs by
    epochs, validations by steps); by steps ``checkpoint_every`` counts steps instead of
    epochs and defaults to a checkpoint at every validation.  Validation runs in batches of
    ``valid_batch_size`` structures (2048 for ANI; a validation batch costs a fraction of
    a training step, benchmarks/README.md, so ``valid_every`` bounds the share of a large
    validation set).

    **"2000 steps for ANI".**  Sec. 2.1 says "1000 training epochs for the MD17 data and
    2000 steps for ANI", with batches of 2048.  Read literally (``steps: 2000``), a
    pre-training on 4,194,304 ANI-1x structures (2048 steps per epoch) sees 4.1 M
    structures, 0.98 of one pass, and a fine-tuning on 399,360 ANI-1ccx structures
    about 10 passes; smaller sets see more passes (2000 at 2048 structures).  Read as
    epochs, the largest pre-training takes 4.1 M steps of ~33,000 atoms each, 2048 times
    the optimiser work: ``benchmarks/ani_throughput.py`` measured 6-8 s per step on 2
    cores (3-4 h for 2000 steps, about a year for 2000 epochs), i.e. weeks per model on
    a two-socket node 20 times faster, for ensembles of five at several set sizes (Fig. 6,
    Table 1), where the paper trains on one CPU node.  The unit also changes within the
    sentence, from "epochs" (MD17) to "steps" (ANI).  Against the literal reading speaks
    that 2000 Adam steps are few (an MD17 run on 950 structures takes 30,000), though on
    batches 64 times larger.  We recommend the
    literal reading, ``batch_size: 2048, steps: 2000`` (``config.yaml``'s
    ``ani.training``), which the pipeline passes as overrides of this section for the ANI
    rules; ``{epochs: N}`` there gives the other reading.  The check of the choice is Table 1
    (COMP6 errors of the pre-trained models): a literal run far above it is
    under-trained.
    """

    section: ClassVar[str] = "training"

    epochs: int = option(1000, ge=1, doc="training epochs (paper: 1000 for MD17)")
    steps: int | None = option(
        None, ge=1, doc="training length in optimiser steps; replaces epochs (paper ANI: 2000)"
    )
    valid_every: int | None = option(
        None,
        ge=1,
        doc="steps between validations when training by steps; null: min(epoch, steps/20)",
    )
    batch_size: int = option(32, ge=1, doc="structures per step (paper: 32 for MD17)")
    valid_batch_size: int = option(128, ge=1, doc="structures per validation batch")
    loss: str = option("EF", choices=("E", "EF"), doc="E: energies only; EF: and forces")
    energy_weight: float | None = option(
        None, ge=0.0, doc="lambda_E; null: 1 (per atom for mixed sizes)"
    )
    force_weight: float | None = option(
        None, ge=0.0, doc="lambda_F in Angstrom^2; null: 4 (0.01 for mixed sizes)"
    )
    learning_rates: dict[str, float] = option(
        default_factory=_paper_rates, doc="initial rate per group (nn, embed, scale, shift)"
    )
    loss_units: str = option(
        "energy_scale",
        choices=LOSS_UNITS,
        doc="unit of the residuals in the loss: eV, kcal_mol or energy_scale (c)",
    )
    beta1: float = option(0.9, ge=0.0, lt=1.0, doc="Adam beta_1")
    beta2: float = option(0.999, ge=0.0, lt=1.0, doc="Adam beta_2")
    epsilon: float = option(1e-7, gt=0.0, doc="Adam epsilon")
    patience: int | None = option(
        None, ge=1, doc="early-stopping patience in validations (epochs unless by steps)"
    )
    min_delta: float = option(0.0, ge=0.0, doc="improvement that resets the patience")
    checkpoint_every: int | None = option(
        None,
        ge=1,
        doc="epochs between checkpoints (steps when training by steps); null: every 10 "
        "epochs, or at every validation when training by steps",
    )
    seed: int = option(0, ge=0, doc="seed of the weights and the batch order")
    progress: bool = option(True, doc="show a progress bar")

    # settings that do not change the result (left out of a run's identity)
    NOT_IDENTITY: ClassVar[tuple[str, ...]] = ("progress", "checkpoint_every", "valid_batch_size")

    def check(self) -> None:
        for group, lr in self.learning_rates.items():
            if lr < 0:
                raise SettingsError(f"learning_rates.{group}", f"must be >= 0, got {lr!r}")
        if self.valid_every is not None and self.steps is None:
            raise SettingsError(
                "valid_every",
                f"applies only when training by steps (steps: null, so the model is "
                f"validated once per epoch); got {self.valid_every!r}",
            )

    @property
    def by_steps(self) -> bool:
        """True if the length is given in optimiser steps (``steps``), not epochs."""
        return self.steps is not None

    def total_steps(self, steps_per_epoch: int) -> int:
        """Optimiser steps of the whole run (max_step of the linear decay)."""
        return int(self.steps) if self.by_steps else int(steps_per_epoch) * self.epochs

    def validation_interval(self, steps_per_epoch: int) -> int:
        """Optimiser steps between validations: one epoch, or by steps ``valid_every``
        (default ``ceil(steps / VALIDATIONS_PER_RUN)``)."""
        if not self.by_steps:
            return int(steps_per_epoch)
        if self.valid_every is not None:
            return int(self.valid_every)
        return max(1, -(-int(self.steps) // VALIDATIONS_PER_RUN))

    def checkpoint_interval(self, steps_per_epoch: int) -> int:
        """Epochs (by epochs) or optimiser steps (by steps) between checkpoints:
        ``checkpoint_every``, or by default 10 epochs, or every validation by steps (a
        checkpoint every few steps of a small batch would cost more than the steps)."""
        if self.checkpoint_every is not None:
            return int(self.checkpoint_every)
        return self.validation_interval(steps_per_epoch) if self.by_steps else 10

    def loss_weights(self, mixed_sizes: bool) -> tuple[float, float]:
        """(λ_E, λ_F) for this run; λ_E multiplies ΔE²/N_at when sizes are mixed."""
        lam_e = 1.0 if self.energy_weight is None else float(self.energy_weight)
        if self.loss == "E":
            return lam_e, 0.0
        default_f = 0.01 if mixed_sizes else 4.0
        return lam_e, default_f if self.force_weight is None else float(self.force_weight)

    def loss_unit(self, energy_scale: float) -> float:
        """Size in eV of the unit the loss measures energy residuals in (``loss_units``);
        ``energy_scale`` is the model's constant c (eV)."""
        if self.loss_units == "energy_scale":
            return float(energy_scale)
        if self.loss_units == "kcal_mol":
            from gmnn.units import KCAL_MOL  # ASE: imported only when training

            return KCAL_MOL
        return 1.0

    def identity(self) -> dict:
        """The settings that determine a run's result.

        ``steps`` and ``valid_every`` are left out while unset (so that checkpoints of runs
        by epochs written before they existed still resume), ``epochs`` when ``steps`` is
        set (it then has no effect)."""
        out = {k: v for k, v in self.to_dict().items() if k not in self.NOT_IDENTITY}
        for key in ("steps", "valid_every"):
            if out[key] is None:
                del out[key]
        if self.by_steps:
            del out["epochs"]
        return out
