"""Training settings (paper, Section 2.1) with validation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# Learning rates of the paper for training from scratch.
DEFAULT_LEARNING_RATES = {"nn": 0.03, "embed": 0.02, "scale": 0.001, "shift": 0.05}


@dataclass
class TrainConfig:
    """How to train a GM-NN model.

    ``loss`` is ``"EF"`` (energies and forces) or ``"E"`` (energies only).  Loss
    weights default to the paper's: λ_E = 1 and λ_F = 4 Å² for data sets of
    equally sized structures; λ_E = 1/N_at and λ_F = 0.01 Å² for mixed sizes.
    ``learning_rates`` maps groups to initial rates: ``embed`` (descriptor
    coefficients β), ``nn`` (every dense layer) or ``dense_0``, ``dense_1``, ...
    (one layer each, overriding ``nn``), ``scale`` and ``shift``.  A rate of 0
    freezes the group: its variables are excluded from the update and stay
    bit-identical.  All rates decay linearly to zero over the run.
    """

    epochs: int = 1000
    batch_size: int = 32
    valid_batch_size: int = 128
    loss: str = "EF"
    energy_weight: float | None = None
    force_weight: float | None = None
    learning_rates: dict = field(default_factory=lambda: dict(DEFAULT_LEARNING_RATES))
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-7
    patience: int | None = None
    min_delta: float = 0.0
    checkpoint_every: int = 10
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.loss not in ("E", "EF"):
            raise ValueError(f"loss must be 'E' or 'EF', got {self.loss!r}")
        for name in ("epochs", "batch_size", "valid_batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience!r}")
        for group, lr in self.learning_rates.items():
            if not (isinstance(lr, (int, float)) and lr >= 0):
                raise ValueError(f"learning rate of group {group!r} must be >= 0, got {lr!r}")

    def loss_weights(self, mixed_sizes: bool) -> tuple[float, float]:
        """(λ_E, λ_F) for this run; λ_E multiplies ΔE²/N_at when sizes are mixed."""
        lam_e = 1.0 if self.energy_weight is None else float(self.energy_weight)
        if self.loss == "E":
            return lam_e, 0.0
        default_f = 0.01 if mixed_sizes else 4.0
        return lam_e, default_f if self.force_weight is None else float(self.force_weight)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)
