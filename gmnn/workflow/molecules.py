"""Your own molecules: the ``molecules:`` section of the config, typed and checked.

Each entry is a study of one molecule (docs/molecules.md): its reference data at two
levels of theory (:class:`gmnn.refdata.molecules.MoleculeSpec`, made by the same functions
as the embedded default's methanol, whose ``embedded_data:`` section maps onto a spec too:
:attr:`MoleculesDesign.embedded`) and the comparison (accurate-label counts
``train_sizes``, ``n_valid``, ``n_test``, ``seeds``, ``settings``; its own ``training``
and ``model`` over the config's; the ``planner`` target; ``md``: the ensemble MD of the
best models, :class:`gmnn.molecules.md.MoleculeMD`).

:meth:`MoleculesDesign.check` lists every problem as one line naming the molecule and
the key, ``molecules.<name>.<key>: <problem>``: an unknown element, an electron count
that does not fit the charge and spin, a structure file that does not parse, labels
without their units, a basis PySCF lacks for an element, more accurate labels asked
for than computed, a setting that needs forces the accurate level lacks.

Paths (rules/molecules.smk)::

    data/molecules_work/<name>/trajectory.extxyz, frames.json, <level>/chunk<c>.npz  (temp)
    data/molecules/<name>/<level>.h5      level: pretraining, accurate
    data/splits/molecules/<name>/<level>_seed<S>.json
    models/molecules/<name>/pretrain/seed<S>/model                  (pretraining level)
    models/molecules/<name>/<setting>/n<n>/seed<S>/model
    results/molecules/<name>/<setting>/n<n>/seed<S>/metrics.json
    results/molecules/<name>/pretrained/seed<S>/metrics.json         (used directly)
    results/molecules/<name>/pretrained_offset/n<n>/seed<S>/metrics.json
    results/molecules/<name>/errors.csv, card.json, card.md
    models/export/molecules/<name>/                                 (gmnn.export)
    trajectories/molecules/<name>/<run>/md.traj                      run: finetuned, scratch
    results/molecules/<name>/md/<run>/summary.json, spectrum.csv, peaks.csv
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from gmnn.molecules.md import RUNS, MoleculeMD
from gmnn.refdata.molecules import MoleculeSpec, build, describe

DATA = "data/molecules/{name}/{level}.h5"
WORK = "data/molecules_work/{name}"
CHUNK = WORK + "/{level}/chunk{chunk}.npz"
SPLIT = "data/splits/molecules/{name}/{level}_seed{seed}.json"
MODEL_PRETRAINED = "models/molecules/{name}/pretrain/seed{seed}/model"
MODEL = "models/molecules/{name}/{setting}/n{n}/seed{seed}/model"
METRICS = "results/molecules/{name}/{setting}/n{n}/seed{seed}/metrics.json"
METRICS_DIRECT = "results/molecules/{name}/pretrained/seed{seed}/metrics.json"
METRICS_OFFSET = "results/molecules/{name}/pretrained_offset/n{n}/seed{seed}/metrics.json"
ERRORS = "results/molecules/{name}/errors.csv"
CARD = "results/molecules/{name}/card.{ext}"
EXPORT = "models/export/molecules/{name}"

DIRECT = "pretrained"
"""The pre-trained model on the accurate test set as it is (no accurate label used)."""
OFFSET = "pretrained_offset"
"""The pre-trained model with its energy offset re-fitted on the first n accurate labels."""

DEFAULT_N_VALID = 16
"""Validation structures of the accurate level, unless ``n_valid`` says otherwise."""

SETTING_KINDS = ("scratch", "finetune", "finetune_nd", "finetune_lp")
"""The trained settings of a comparison (gmnn.workflow.Setting kinds), with E and EF."""

PLANNER_DEFAULTS = {"target": 1.0, "max_extrapolation": 4.0}
"""The planner's target (kcal/mol/Å for force_mae, kcal/mol for energy_mae; the metric
defaults to force_mae where the accurate level has forces, else energy_mae) and how far
beyond the largest label count it answers."""


COMPARISON_KEYS = (
    "train_sizes",
    "seeds",
    "n_valid",
    "n_test",
    "settings",
    "training",
    "model",
    "planner",
    "md",
)
"""The keys of an entry that describe the comparison (the rest make the data spec)."""


@dataclass(frozen=True)
class MoleculeStudy:
    """One entry of ``molecules:``: the data spec and the comparison grid."""

    spec: MoleculeSpec
    train_sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    n_valid: int = DEFAULT_N_VALID
    n_test: int | None = None  # None: every remaining accurate label
    settings: tuple[str, ...] | None = None  # None: every setting the labels allow
    training: dict = field(default_factory=dict)  # over the config's `training`
    model: dict = field(default_factory=dict)  # over the config's `model`
    planner: dict = field(default_factory=dict)  # metric, target, max_extrapolation
    md: MoleculeMD | None = field(default_factory=MoleculeMD)  # None: md: false

    @property
    def name(self) -> str:
        return self.spec.name

    def data(self, level: str) -> str:
        return DATA.format(name=self.name, level=level)

    @property
    def forces(self) -> bool:
        """Whether the accurate labels hold forces (E+F settings need them)."""
        return bool(self.spec.accurate is not None and self.spec.accurate.forces)

    @property
    def comparison_settings(self) -> list[str]:
        """The trained settings: ``settings``, else every kind with E (and EF if the
        accurate labels have forces)."""
        if self.settings is not None:
            return list(self.settings)
        losses = ("E", "EF") if self.forces else ("E",)
        return [f"{k}_{loss}" for k in SETTING_KINDS for loss in losses]

    @property
    def finetuned_settings(self) -> list[str]:
        from gmnn.workflow.grid import Setting

        return [s for s in self.comparison_settings if Setting.parse(s).finetuned]

    def md_settings(self, run: str) -> list[str]:
        """The compared settings an MD run chooses from (gmnn.molecules.md.RUNS)."""
        from gmnn.workflow.grid import Setting

        kinds = {"finetuned": True, "scratch": False}
        return [s for s in self.comparison_settings if Setting.parse(s).finetuned == kinds[run]]

    @property
    def md_runs(self) -> list[str]:
        """The MD runs of the study: those of ``md.runs`` with a setting to choose from."""
        if self.md is None:
            return []
        return [r for r in self.md.runs if r in RUNS and self.md_settings(r)]

    @property
    def planner_config(self) -> dict:
        """metric, target and max_extrapolation of the planner (defaults filled)."""
        metric = "force_mae" if self.forces else "energy_mae"
        return {"metric": metric, **PLANNER_DEFAULTS, **self.planner}

    def problems(self) -> list[tuple[str, str]]:
        """``(key, problem)`` pairs, the keys relative to the entry."""
        out = self.spec.problems() + self._comparison_problems()
        if self.md is not None:
            out += self.md.problems()
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
        pre = self.spec.pretraining
        if pre is not None and pre.computed and pre.n_structures is not None:
            if pre.n_structures <= self.n_valid:
                out.append(
                    (
                        "pretraining.n_structures",
                        f"{pre.n_structures}: pre-training needs more than n_valid="
                        f"{self.n_valid} (its validation set) structures",
                    )
                )
        if pre is not None and not pre.forces:
            out.append(("pretraining.forces", "false: pre-training trains on energies and forces"))
        if list(self.train_sizes) != sorted(self.train_sizes):
            out.append(("train_sizes", f"{list(self.train_sizes)}: list them in increasing order"))
        return out

    def _comparison_problems(self) -> list[tuple[str, str]]:
        from gmnn.model.config import ModelConfig
        from gmnn.train import TrainConfig
        from gmnn.workflow.grid import Setting

        out = []
        for name in self.settings or ():
            try:
                kind = Setting.parse(name)
            except ValueError as err:
                out.append(("settings", str(err)))
                continue
            if kind.kind == "pretrain":
                out.append(("settings", "pretrain: the pre-training runs by itself"))
            elif kind.loss == "EF" and not self.forces:
                out.append(
                    ("settings", f"{name} needs accurate forces, but accurate.forces is false")
                )
        from gmnn.settings import SettingsError

        for key, cls in (("training", TrainConfig), ("model", ModelConfig)):
            try:
                cls.from_dict(dict(getattr(self, key)), where=key)
            except SettingsError as err:  # its key: training.<setting>
                out.append((err.key or key, err.problem))
            except ValueError as err:
                out.append((key, str(err)))
        planner = self.planner_config
        if planner["metric"] not in ("force_mae", "energy_mae", "force_rmse", "energy_rmse"):
            out.append(("planner.metric", f"{planner['metric']!r}: force_mae, energy_mae, ..."))
        elif planner["metric"].startswith("force") and not self.forces:
            out.append(("planner.metric", "force errors need accurate forces"))
        return out


@dataclass(frozen=True)
class MoleculesDesign:
    """The ``molecules:`` studies and the embedded default's molecule, one kind of spec."""

    studies: dict[str, MoleculeStudy]
    embedded: MoleculeSpec | None  # embedded_data (None without that section)
    _problems: tuple[str, ...] = field(default=(), repr=False)
    training: dict = field(default_factory=dict)  # the config's `training`
    model: dict = field(default_factory=dict)  # the config's `model`
    finetune: dict = field(default_factory=dict)  # the config's `finetune`

    @classmethod
    def from_config(cls, config: Mapping) -> MoleculesDesign:
        studies, problems = {}, []
        for name, entry in (config.get("molecules") or {}).items():
            entry = dict(entry)
            grid = {k: entry.pop(k) for k in COMPARISON_KEYS if k in entry}
            try:
                spec = MoleculeSpec.from_config(name, entry)
                settings = grid.get("settings")
                studies[name] = MoleculeStudy(
                    spec,
                    tuple(grid.get("train_sizes", ())),
                    tuple(grid.get("seeds", ())),
                    grid.get("n_valid", DEFAULT_N_VALID),
                    grid.get("n_test"),
                    None if settings is None else tuple(settings),
                    dict(grid.get("training") or {}),
                    dict(grid.get("model") or {}),
                    dict(grid.get("planner") or {}),
                    MoleculeMD.from_section(grid.get("md")),
                )
            except (TypeError, ValueError) as err:  # a key the typed spec does not take
                problems.append(f"molecules.{name}: {' '.join(str(err).split())}")
        embedded = None
        if config.get("embedded_data"):
            embedded = MoleculeSpec.from_embedded_data(config["embedded_data"])
        return cls(
            studies,
            embedded,
            tuple(problems),
            dict(config.get("training") or {}),
            dict(config.get("model") or {}),
            dict(config.get("finetune") or {}),
        )

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

    # ------------------------------------------------------------------ the comparison

    def study(self, name: str) -> MoleculeStudy:
        return self.studies[name]

    def training_params(self, name: str, seed) -> dict:
        """TrainConfig of a job of study ``name``: the config's ``training``, the study's
        ``training`` over it, the job's seed (the setting fixes the loss)."""
        return {
            **self.training,
            **self.studies[name].training,
            "seed": int(seed),
            "progress": False,
        }

    def model_params(self, name: str) -> dict:
        """ModelConfig of study ``name``: the config's ``model`` with the study's over it;
        fine-tuning an exported ensemble (``pretrained``): its architecture, read when it
        exists (else the configured one, which the fine-tuning job checks against it)."""
        study = self.studies[name]
        ensemble = study.spec.pretrained
        if ensemble is not None and (Path(ensemble) / "ensemble.json").is_file():
            from gmnn.export import read_ensemble

            meta = read_ensemble(ensemble, verify=False)
            return {**meta["architecture"], "cutoff": meta["cutoff"], "dtype": meta["dtype"]}
        return {**self.model, **study.model}

    def finetune_params(self, setting: str) -> dict | None:
        """The config's ``finetune`` for a fine-tuned setting (None otherwise, so that
        changing it reruns only the runs it affects); the setting fixes the mode."""
        from gmnn.workflow.grid import Setting

        return self.finetune if Setting.parse(setting).finetuned else None

    def data_file(self, name: str, level: str) -> str:
        return DATA.format(name=name, level=level)

    def split_file(self, name: str, level: str, seed) -> str:
        return SPLIT.format(name=name, level=level, seed=seed)

    def direct_evaluation(self, name: str, direct: str, seed) -> dict:
        """``n_offset`` and ``record`` of an evaluation of the pre-trained model on the
        accurate test set; ``direct``: ``pretrained`` (as it is) or
        ``pretrained_offset/n<n>`` (its energy offset re-fitted on the first n labels)."""
        setting, _, size = direct.partition("/n")
        n = int(size) if size else None
        return {"n_offset": n, "record": self.record(name, setting, n, seed)}

    def split_params(self, name: str, level: str) -> dict:
        """Sizes of the split of a level: the accurate level's validation set, nested
        training sets of every label count and the test set (n_test, None: the rest);
        the pre-training level's validation set and every other structure to train on."""
        study = self.studies[name]
        if level == "accurate":
            return {
                "train_sizes": list(study.train_sizes),
                "n_valid": study.n_valid,
                "n_test": study.n_test,
            }
        return {"train_sizes": None, "n_valid": study.n_valid, "n_test": 0}

    def pretrained_input(self, name: str, seed) -> list[str]:
        """What a fine-tuning (or direct evaluation) job of seed ``seed`` starts from: the
        model pre-trained here with that seed, or the exported ensemble ``pretrained``."""
        study = self.studies[name]
        if study.spec.pretrained is not None:
            return [study.spec.pretrained]
        d = MODEL_PRETRAINED.format(name=name, seed=seed)
        return [f"{d}/model.json", f"{d}/weights.npz"]

    def pretrained_member(self, name: str, seed) -> int | None:
        """The member of the exported ensemble that seed ``seed`` starts from (the seed's
        place in ``seeds``, modulo the members: :func:`ensemble_member`); None when the
        pre-training ran here."""
        study = self.studies[name]
        if study.spec.pretrained is None:
            return None
        return list(study.seeds).index(int(seed))

    def record(self, name: str, setting: str, n: int | None, seed) -> dict:
        """The fields that name a model of the comparison in its metrics.json."""
        out = {"molecule": name, "setting": setting, "seed": int(seed), "test_set": "accurate"}
        if n is not None:
            out["n_train"] = int(n)
        return out

    def metrics_files(self, name: str) -> list[str]:
        """Every evaluation of the comparison of ``name`` (the rows of its errors.csv)."""
        study = self.studies[name]
        out = [
            METRICS.format(name=name, setting=s, n=n, seed=seed)
            for s in study.comparison_settings
            for n in study.train_sizes
            for seed in study.seeds
        ]
        out += [METRICS_DIRECT.format(name=name, seed=seed) for seed in study.seeds]
        out += [
            METRICS_OFFSET.format(name=name, n=n, seed=seed)
            for n in study.train_sizes
            for seed in study.seeds
        ]
        return out

    def export_models(self, name: str) -> list[str]:
        """model.json of every fine-tuned setting at the largest label count, every seed
        (the export takes the best setting's; :func:`gmnn.molecules.card.export_finetuned`)."""
        study = self.studies[name]
        n = max(study.train_sizes)
        return [
            f"{MODEL.format(name=name, setting=s, n=n, seed=seed)}/model.json"
            for s in study.finetuned_settings
            for seed in study.seeds
        ]

    def md_models(self, name: str, run: str) -> list[str]:
        """What MD run ``run`` of ``name`` simulates: the exported ensemble (``finetuned``),
        or model.json of every from-scratch setting at the largest label count, every seed
        (``scratch``; the job takes the best setting's)."""
        study = self.studies[name]
        if run == "finetuned":
            return [EXPORT.format(name=name)]
        n = max(study.train_sizes)
        return [
            f"{MODEL.format(name=name, setting=s, n=n, seed=seed)}/model.json"
            for s in study.md_settings(run)
            for seed in study.seeds
        ]

    def md_files(self, name: str, template: str) -> list[str]:
        """``template`` (gmnn.molecules.md.SUMMARY, PEAKS, ...) of every MD run of ``name``."""
        return [template.format(name=name, run=r) for r in self.studies[name].md_runs]

    def card_targets(self) -> list[str]:
        """The card of every study (its errors table, export and data come with it)."""
        return [CARD.format(name=name, ext="md") for name in self.studies]

    def training_job(self, rule: str, wildcards: Mapping):
        """(TrainConfig, sizes) of a training job of rules/molecules.smk for the cost
        model (:func:`gmnn.workflow.resources.training_job`), None for another rule."""
        from gmnn.train import TrainConfig
        from gmnn.workflow.grid import Setting

        if rule not in ("molecule_pretrain", "molecule_train"):
            return None
        name = wildcards["name"]
        study = self.studies[name]
        atoms = len(build(study.spec, relax=False, check=False))
        if rule == "molecule_pretrain":
            held = n_labels(study.spec.pretraining)
            n_train, n_test, loss = max(held - study.n_valid, 1), 0, "EF"
        else:
            held = n_labels(study.spec.accurate)
            n_train, loss = int(wildcards["n"]), Setting.parse(wildcards["setting"]).loss
            n_test = study.n_test or max(held - max(study.train_sizes) - study.n_valid, 1)
        config = TrainConfig.from_dict(
            {**self.training_params(name, wildcards["seed"]), "loss": loss}
        )
        return config, {
            "n_train": n_train,
            "n_valid": study.n_valid,
            "atoms": atoms,
            "n_test": n_test,
            "held": held,
        }


def n_labels(level) -> int:
    """Structures of a level: ``n_structures``, or the frames of its ``labels_file``."""
    if level.n_structures is not None:
        return int(level.n_structures)
    return _frames_in(level.labels_file)


@cache
def _frames_in(path: str) -> int:
    import ase.io

    try:
        return len(ase.io.read(path, index=":", format="extxyz"))
    except Exception:  # checked (and named) by the import job; a rough count suffices here
        return 1


def ensemble_member(path, index: int) -> Path:
    """Member ``index`` (modulo the members) of the exported ensemble ``path``
    (:func:`gmnn.export.member_dirs`): the model seed ``seeds[index]`` fine-tunes."""
    from gmnn.export import member_dirs

    members = member_dirs(path)
    return members[int(index) % len(members)]
