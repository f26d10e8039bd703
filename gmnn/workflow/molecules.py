"""Your own molecules: the ``molecules:`` section of the config, typed and checked.

Each entry is a study of one molecule (docs/molecules.md): its reference data at two
levels of theory (:class:`gmnn.refdata.molecules.MoleculeSpec`, made by the same functions
as the embedded default's methanol, whose ``embedded_data:`` section maps onto a spec too:
:attr:`MoleculesDesign.embedded`) and the grid of the comparison (accurate-label counts
``train_sizes``, ``n_valid``, ``n_test``, ``seeds``).

:meth:`MoleculesDesign.check` lists every problem as one line naming the molecule and
the key, ``molecules.<name>.<key>: <problem>``: an unknown element, an electron count
that does not fit the charge and spin, a structure file that does not parse, labels
without their units, a basis PySCF lacks for an element, more accurate labels asked
for than computed.

Data paths (rules/molecules.smk)::

    data/molecules_work/<name>/trajectory.extxyz, frames.json, <level>/chunk<c>.npz  (temp)
    data/molecules/<name>/<level>.h5      level: pretraining, accurate
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from gmnn.refdata.molecules import MoleculeSpec, build, describe

DATA = "data/molecules/{name}/{level}.h5"
WORK = "data/molecules_work/{name}"
CHUNK = WORK + "/{level}/chunk{chunk}.npz"

DEFAULT_N_VALID = 16
"""Validation structures of the accurate level, unless ``n_valid`` says otherwise."""


@dataclass(frozen=True)
class MoleculeStudy:
    """One entry of ``molecules:``: the data spec and the comparison grid."""

    spec: MoleculeSpec
    train_sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    n_valid: int = DEFAULT_N_VALID
    n_test: int | None = None  # None: every remaining accurate label

    @property
    def name(self) -> str:
        return self.spec.name

    def data(self, level: str) -> str:
        return DATA.format(name=self.name, level=level)

    def problems(self) -> list[tuple[str, str]]:
        """``(key, problem)`` pairs, the keys relative to the entry."""
        out = self.spec.problems()
        acc = self.spec.accurate
        if acc is not None and acc.computed and acc.n_structures is not None:
            need = max(self.train_sizes) + self.n_valid + (self.n_test or 1)
            if need > acc.n_structures:
                out.append(
                    (
                        "accurate.n_structures",
                        f"{acc.n_structures}: train_sizes up to {max(self.train_sizes)}, "
                        f"n_valid={self.n_valid} and "
                        f"{'n_test=' + str(self.n_test) if self.n_test else 'at least one test structure'}"
                        f" need {need}",
                    )
                )
        if list(self.train_sizes) != sorted(self.train_sizes):
            out.append(("train_sizes", f"{list(self.train_sizes)}: list them in increasing order"))
        return out


@dataclass(frozen=True)
class MoleculesDesign:
    """The ``molecules:`` studies and the embedded default's molecule, one kind of spec."""

    studies: dict[str, MoleculeStudy]
    embedded: MoleculeSpec | None  # embedded_data (None without that section)
    _problems: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_config(cls, config: Mapping) -> MoleculesDesign:
        studies, problems = {}, []
        for name, entry in (config.get("molecules") or {}).items():
            entry = dict(entry)
            grid = {
                k: entry.pop(k) for k in ("train_sizes", "seeds", "n_valid", "n_test") if k in entry
            }
            try:
                spec = MoleculeSpec.from_config(name, entry)
                studies[name] = MoleculeStudy(
                    spec,
                    tuple(grid.get("train_sizes", ())),
                    tuple(grid.get("seeds", ())),
                    grid.get("n_valid", DEFAULT_N_VALID),
                    grid.get("n_test"),
                )
            except (TypeError, ValueError) as err:  # a key the typed spec does not take
                problems.append(f"molecules.{name}: {' '.join(str(err).split())}")
        embedded = None
        if config.get("embedded_data"):
            embedded = MoleculeSpec.from_embedded_data(config["embedded_data"])
        return cls(studies, embedded, tuple(problems))

    def check(self) -> list[str]:
        """Every problem, one line each: ``molecules.<name>.<key>: <problem>``."""
        out = list(self._problems)
        for name, study in self.studies.items():
            out += describe(study.problems(), f"molecules.{name}")
        return out

    @property
    def names(self) -> list[str]:
        return list(self.studies)

    def spec(self, name: str) -> MoleculeSpec:
        """The spec of a study by name, or the embedded molecule's (``embedded_data``)."""
        if name in self.studies:
            return self.studies[name].spec
        if self.embedded is not None and name == self.embedded.name:
            return self.embedded
        raise KeyError(f"no molecule {name!r} in molecules: or embedded_data")

    def data_targets(self) -> list[str]:
        """The data files of every study (both levels; an imported one too)."""
        return [study.data(level) for study in self.studies.values() for level in study.spec.levels]

    # ------------------------------------------------------------------ rules/molecules.smk

    def spec_data(self, name: str) -> dict:
        """The spec of molecule ``name`` (or of dataset ``<name>/<level>``) as plain data,
        the ``spec`` param of the jobs (:meth:`MoleculeSpec.from_dict` inverts it)."""
        return self.spec(name.split("/")[0]).to_dict()

    def sampled_names(self) -> list[str]:
        """The studies with a level computed on sampled frames."""
        return [n for n, s in self.studies.items() if s.spec.computed_levels]

    def datasets(self, computed: bool) -> list[str]:
        """``<name>/<level>`` of every computed (or every imported) level."""
        return [
            f"{name}/{key}"
            for name, study in self.studies.items()
            for key, level in study.spec.levels.items()
            if level.computed == computed
        ]

    def chunk_files(self, dataset: str, template: str) -> list[str]:
        """The chunk files of a computed level ``<name>/<level>``."""
        name, level = dataset.split("/")
        return [
            template.format(name=name, mlevel=level, chunk=c)
            for c in range(self.n_chunks(name, level))
        ]

    def labels_file(self, dataset: str) -> str:
        name, level = dataset.split("/")
        return self.spec(name).levels[level].labels_file

    def sample_minutes(self, name: str) -> int:
        """``runtime`` of the sampling: about four times GFN2-xTB's 0.01 s per MD step of
        a 6-atom molecule on one core, linear in the atoms (rough, for a scheduler)."""
        spec = self.spec(name)
        s = spec.sampling
        steps = len(s.temperatures) * s.n_equil + s.stride * spec.n_frames
        atoms = len(build(spec, relax=False, check=False))
        return 5 + math.ceil(0.04 * steps * max(atoms, 6) / 6 / 60) + (5 if s.relax else 0)

    def label_minutes(self, name: str, level: str) -> int:
        """``runtime`` of one labelling chunk: about four times methanol/6-31G's measured
        2 s (DFT, HF) or 3 s (MP2, CC) per label, scaled by the atoms to the 3rd (SCF) or
        5th (correlated) power (rough, for a scheduler; the measured costs are in the data
        files' meta["label_cost"])."""
        spec = self.spec(name)
        lv = spec.levels[level]
        correlated = lv.method.upper() in ("MP2", "CCSD", "CCSD(T)")
        atoms = len(build(spec, relax=False, check=False))
        per_label_s = 4 * (3 if correlated else 2) * (atoms / 6) ** (5 if correlated else 3)
        return 5 + math.ceil(per_label_s * spec.chunk_size / 60)

    def n_chunks(self, name: str, level: str) -> int:
        from gmnn.refdata.molecules import n_chunks

        return n_chunks(self.spec(name), level)
