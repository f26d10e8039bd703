"""Model settings (paper, Section 2.1): the one home of the architecture's defaults."""

from __future__ import annotations

from typing import ClassVar

from gmnn.settings import Settings, SettingsError, option


class ModelConfig(Settings):
    """Architecture of a GM-NN potential (config section ``model``).

    The defaults are the paper's: cutoff 4.0 Å (MD17; 5.0 Å for ANI), 7 Gaussian
    primitives combined into 5 radial functions, the first centre at 0.5 Å, two hidden
    layers of 512 (a 360-512-512-1 network), float32.
    """

    section: ClassVar[str] = "model"

    cutoff: float = option(4.0, gt=0.0, doc="cutoff radius in Angstrom (ANI: 5.0)")
    n_basis: int = option(7, ge=1, doc="Gaussian primitives of the radial basis")
    n_radial: int = option(5, ge=1, doc="radial functions (species-pair combinations)")
    r_min: float = option(0.5, ge=0.0, doc="centre of the first Gaussian, Angstrom")
    hidden: tuple[int, ...] = option((512, 512), ge=1, doc="widths of the hidden layers")
    dtype: str = option("float32", choices=("float32", "float64"), doc="network precision")

    def check(self) -> None:
        if self.r_min >= self.cutoff:
            if self.r_min == type(self).defaults()["r_min"]:  # the cutoff was changed
                raise SettingsError(
                    "cutoff",
                    f"must be above r_min {self.r_min!r} (the centre of the first Gaussian), "
                    f"got {self.cutoff!r}",
                )
            raise SettingsError(
                "r_min", f"must be below the cutoff {self.cutoff}, got {self.r_min!r}"
            )
        if not self.hidden:
            raise SettingsError("hidden", "needs at least one hidden layer")
