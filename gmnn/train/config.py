"""Training settings (paper, Section 2.1): the one home of their defaults and ranges."""

from __future__ import annotations

from typing import ClassVar

from gmnn.settings import Settings, SettingsError, option

# Learning rates of the paper for training from scratch (Sec. 2.1).
PAPER_LEARNING_RATES = (("nn", 0.03), ("embed", 0.02), ("scale", 0.001), ("shift", 0.05))


# Units the loss can measure energy residuals in (TrainConfig.loss_units).
LOSS_UNITS = ("eV", "kcal_mol", "energy_scale")


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
    """

    section: ClassVar[str] = "training"

    epochs: int = option(1000, ge=1, doc="training epochs (paper: 1000 for MD17)")
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
    patience: int | None = option(None, ge=1, doc="early-stopping patience in epochs")
    min_delta: float = option(0.0, ge=0.0, doc="improvement that resets the patience")
    checkpoint_every: int = option(10, ge=1, doc="epochs between checkpoints")
    seed: int = option(0, ge=0, doc="seed of the weights and the batch order")
    progress: bool = option(True, doc="show a progress bar")

    # settings that do not change the result (left out of a run's identity)
    NOT_IDENTITY: ClassVar[tuple[str, ...]] = ("progress", "checkpoint_every", "valid_batch_size")

    def check(self) -> None:
        for group, lr in self.learning_rates.items():
            if lr < 0:
                raise SettingsError(f"learning_rates.{group}", f"must be >= 0, got {lr!r}")

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
        """The settings that determine a run's result."""
        return {k: v for k, v in self.to_dict().items() if k not in self.NOT_IDENTITY}
