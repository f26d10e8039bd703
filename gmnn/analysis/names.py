"""The display names of the data sets of the ANI study, by ``ani.source``: the paper's
(ANI-1x, ANI-1ccx, COMP6 v1) or the embedded default's stand-ins, named by their level of
theory and the role they play ("GFN2-xTB (ANI-1x role)"). The one place figures, tables,
report captions and model cards take them from (:func:`ani_names`); no heavy imports, so
that the workflow's design reads them at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class AniNames(NamedTuple):
    """How figures, tables, captions and model cards name the data sets of the ANI study
    (:func:`ani_names`): the stand-ins of the embedded default are named as stand-ins."""

    pretraining: str  # the pre-training set (energies and forces)
    finetuning: str  # the fine-tuning set (energies)
    benchmark: str  # the held-out test sets of Table 1
    pretraining_level: str  # its level of theory
    finetuning_level: str
    study: str  # the three together (the report's category)
    pooled: str  # Table 1's row of all held-out conformers pooled

    @classmethod
    def of(cls, names: AniNames | Mapping | str | None) -> AniNames:
        """``names`` as :class:`AniNames`: itself, from a mapping of its fields (a rule's
        params), from a source name (:func:`ani_names`), or the paper's (None)."""
        if names is None or isinstance(names, str):
            return ani_names(names or "ani")
        return names if isinstance(names, cls) else cls(**names)


ANI_NAMES: dict[str, AniNames] = {
    "ani": AniNames(
        pretraining="ANI-1x",
        finetuning="ANI-1ccx",
        benchmark="COMP6 v1",
        pretraining_level="ωB97X/6-31G(d)",
        finetuning_level="CCSD(T)*/CBS",
        study="ANI-1x, ANI-1ccx and COMP6",
        pooled="COMP6",
    ),
    "embedded": AniNames(
        pretraining="GFN2-xTB (ANI-1x role)",
        finetuning="ωB97X/6-31G* (ANI-1ccx role)",
        benchmark="held-out GFN2-xTB sets (COMP6 role)",
        pretraining_level="GFN2-xTB (tblite)",
        finetuning_level="ωB97X/6-31G* (PySCF)",
        study="embedded stand-ins for ANI-1x, ANI-1ccx and COMP6",
        pooled="all held-out sets (COMP6 role)",
    ),
}
"""``ani.source`` -> the names of its data sets: the paper's (``ani``: ANI-1x, ANI-1ccx,
COMP6 v1) or the embedded default's stand-ins, named by their level of theory and role."""


def ani_names(source: str = "ani") -> AniNames:
    """The display names of the ANI study's data sets for ``ani.source`` (``ani`` or
    ``embedded``; :data:`ANI_NAMES`): the one place figures, tables, captions and model
    cards take them from."""
    try:
        return ANI_NAMES[source]
    except KeyError:
        raise ValueError(f"ani.source: unknown source {source!r} ({sorted(ANI_NAMES)})") from None


__all__ = ["ANI_NAMES", "AniNames", "ani_names"]
