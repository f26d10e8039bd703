"""The cost model of the pipeline's jobs: expected seconds, SLURM time limits, memory.

The rules take their ``runtime`` and ``mem_mb`` from :func:`job_estimate` (the design,
the rule, its wildcards and the reference costs as arguments; rules/common.smk:
``job_runtime``, ``job_mem_mb``), and ``gmnn cost`` adds up the expected cost of each
figure's jobs (:func:`workflow_costs`, from a dry run). Imported while Snakemake parses
the workflow: no TensorFlow here, and Snakemake itself only inside the functions of
``gmnn cost``.

**Training job** (:func:`training_seconds`), with ``s_atom = training_s_per_atom_step[loss]``
and ``floor = training_s_per_step_floor``::

    startup_s + held x load_s_per_structure
      + (steps + validations x valid batches + test batches) x floor
      + [ steps x structures per step x atoms x s_atom
        + validations x n_valid x atoms x s_atom x validation_fraction
        + n_test x atoms x s_atom(EF) x validation_fraction ] / g

``steps`` and ``validations`` are the run's (TrainConfig.total_steps and
validation_interval: by epochs one validation per epoch, by steps every ``valid_every``);
structures per step = n_train / steps per epoch (a last partial batch included); the test
evaluation is the one at the end of a job that writes metrics; ``held`` the structures of
the data file the job reads whole. ``g = gpu_speedup`` for a job on a GPU, else 1.

**MD job** (:func:`md_seconds`)::

    startup_s + steps x (md_s_per_step_floor + atoms x md_s_per_atom_step(atoms) / g)
                      x ensemble_factor(K)

``md_s_per_atom_step(atoms)`` is interpolated log-log in the atom count between the
measured points and clamped to the first and last point outside them;
``ensemble_factor(K)`` is the cost of an ensemble of K models relative to one model
(1 for K = 1; :func:`ensemble_factor`).

**Limits.** :func:`runtime_minutes` = ceil(SAFETY x expected / 60) + RUNTIME_FLOOR_MINUTES
(a SLURM time limit: a job killed by it resumes from its checkpoint when rerun).
:func:`memory_mb` = (base_mb + (atoms held x bytes_per_atom_held + atoms in the largest
batch x bytes_per_batch_atom) / 2^20) x MEMORY_SAFETY, rounded up to MEMORY_STEP_MB.

Costs are wall-clock seconds of one job as measured on the reference machine with its
threads; they are not scaled by a job's ``threads`` (TensorFlow gains little from more
threads on these batches), so core-hours = expected hours x threads.

**GPUs.** The rules that the SLURM profile sends to the GPU partition
(``profiles/slurm/config.yaml``: the ``set-resources`` entries that request a GPU;
:func:`gpu_rules`) get their per-atom costs (training, validation, test and MD steps)
divided by ``gpu_speedup``; start-up, loading and the per-step floors are not (a small
batch on a GPU costs its calls). ``gmnn cost`` counts these rules in GPU-hours. Runs of
them elsewhere (e.g. the embedded profile on a laptop) do not enforce ``runtime``.

**The reference file** ``benchmarks/reference_costs.json`` (:func:`load_reference`;
written by ``benchmarks/bench_gmnn.py --write-costs``) is one JSON object with exactly
these keys (a missing, unknown or malformed one is a :class:`ReferenceCostsError` naming
the file and the key):

``machine`` (string)
    the machine the costs were measured on.
``measured`` (string, YYYY-MM-DD)
    date of the measurement.
``command`` (string)
    the command that measured them.
``load_average`` (number >= 0)
    the 1-minute load average when the measurement started.
``note`` (string)
    provenance and caveats.
``training_s_per_atom_step`` (object: ``"EF"``, ``"E"`` -> seconds > 0)
    one optimiser step (loss with forces ``EF``, energies only ``E``) costs this times the
    atoms in its batch, on top of the floor.
``training_s_per_step_floor`` (seconds >= 0)
    fixed cost of one training step or validation batch (call, batch assembly).
``validation_fraction`` (number > 0)
    cost of a validation/test forward pass per atom relative to a training step.
``load_s_per_structure`` (seconds >= 0)
    reading the data file (per structure held).
``md_s_per_atom_step`` (array of ``[n_atoms, seconds]``, n_atoms > 0 increasing, seconds > 0)
    the model's cost per atom and MD step at each system size (neighbour list, inputs,
    force call).
``md_s_per_step_floor`` (seconds >= 0)
    fixed cost per MD step (the integrator, the calls around the model).
``ensemble_factor`` (object: ``"K"`` -> number > 0, K an integer >= 2)
    cost of an ensemble of K models / cost of one. Other K: linear in K between the
    given points and (1, 1); beyond the largest K proportional to K.
``startup_s`` (seconds >= 0)
    fixed start-up of a job (imports, model construction, first trace).
``gpu_speedup`` (number > 0)
    one GPU of the GPU partition against the reference machine (see GPUs above).
``memory`` (object: ``base_mb``, ``bytes_per_atom_held``, ``bytes_per_batch_atom``, >= 0)
    process size after imports (MB); bytes per atom of the data held; bytes per atom of
    the largest batch (training or validation; an MD system).
"""

from __future__ import annotations

import bisect
import datetime
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

# Safety factor of the SLURM time limits over the expected cost, and the minutes added to
# every limit (queue start-up, file systems, a loaded node).
SAFETY = 2.0
RUNTIME_FLOOR_MINUTES = 10
# Memory: the estimate times MEMORY_SAFETY, rounded up to MEMORY_STEP_MB.
MEMORY_SAFETY = 1.5
MEMORY_STEP_MB = 500

# The reference costs of this checkout (rules/common.smk passes its own path).
REFERENCE_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_costs.json"

# Data facts (not machine costs): atoms of the MD17 molecules (and of the embedded
# default's methanol); the structures in each data file a job reads whole; the mean atoms
# of an ANI-1x/ANI-1ccx conformer (benchmarks/ani_throughput.py: 33,000 atoms per batch
# of 2048 CHNO molecules).
MOLECULE_ATOMS = {
    "ethanol": 9,
    "malonaldehyde": 9,
    "benzene": 12,
    "toluene": 15,
    "aspirin": 21,
    "methanol": 6,
}
ANI_MEAN_ATOMS = 16

LOSSES = ("EF", "E")


class ReferenceCostsError(ValueError):
    """The reference file is missing or malformed; the message names the file and key."""

    def __init__(self, path, key: str | None, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class ReferenceCosts:
    """The measured per-step costs (fields as in the module docstring)."""

    path: str
    machine: str
    measured: str
    command: str
    load_average: float
    note: str
    training_s_per_atom_step: Mapping[str, float]
    training_s_per_step_floor: float
    validation_fraction: float
    load_s_per_structure: float
    md_s_per_atom_step: tuple[tuple[float, float], ...]
    md_s_per_step_floor: float
    ensemble_factor: Mapping[int, float]
    startup_s: float
    gpu_speedup: float
    memory: Mapping[str, float] = field(default_factory=dict)


FIELDS = tuple(f for f in ReferenceCosts.__dataclass_fields__ if f != "path")
MEMORY_FIELDS = ("base_mb", "bytes_per_atom_held", "bytes_per_batch_atom")


def _number(path, key, value, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ReferenceCostsError(path, key, f"must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ReferenceCostsError(
            path, key, f"must be {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return float(value)


def _string(path, key, value):
    if not isinstance(value, str):
        raise ReferenceCostsError(path, key, f"must be a string, got {value!r}")
    return value


def _mapping(path, key, value, keys=None):
    if not isinstance(value, dict):
        raise ReferenceCostsError(path, key, f"must be an object, got {value!r}")
    if keys is not None:
        missing = [k for k in keys if k not in value]
        if missing:
            raise ReferenceCostsError(path, f"{key}.{missing[0]}", "missing")
        extra = sorted(set(value) - set(keys))
        if extra:
            raise ReferenceCostsError(
                path, f"{key}.{extra[0]}", f"unknown key (expected {list(keys)})"
            )
    return value


def parse_reference(data, path="<reference costs>") -> ReferenceCosts:
    """The reference costs from the decoded JSON ``data``; errors name ``path`` and the key."""
    _mapping(path, None, data)
    missing = [k for k in FIELDS if k not in data]
    if missing:
        raise ReferenceCostsError(path, missing[0], "missing")
    extra = sorted(set(data) - set(FIELDS))
    if extra:
        raise ReferenceCostsError(
            path, extra[0], "unknown key (see gmnn/workflow/resources.py for the fields)"
        )
    out = {"path": str(path)}
    for key in ("machine", "command", "note", "measured"):
        out[key] = _string(path, key, data[key])
    try:
        datetime.date.fromisoformat(out["measured"])
    except ValueError:
        raise ReferenceCostsError(
            path, "measured", f"must be a date YYYY-MM-DD, got {out['measured']!r}"
        ) from None
    out["load_average"] = _number(path, "load_average", data["load_average"])
    key = "training_s_per_atom_step"
    per_atom = _mapping(path, key, data[key], LOSSES)
    out[key] = {k: _number(path, f"{key}.{k}", per_atom[k], positive=True) for k in LOSSES}
    for key in ("training_s_per_step_floor", "load_s_per_structure", "md_s_per_step_floor"):
        out[key] = _number(path, key, data[key])
    out["startup_s"] = _number(path, "startup_s", data["startup_s"])
    for key in ("validation_fraction", "gpu_speedup"):
        out[key] = _number(path, key, data[key], positive=True)
    key = "md_s_per_atom_step"
    points = data[key]
    if not isinstance(points, list) or not points:
        raise ReferenceCostsError(
            path, key, f"must be a non-empty list of [n_atoms, s], got {points!r}"
        )
    md = []
    for i, point in enumerate(points):
        if not isinstance(point, list) or len(point) != 2:
            raise ReferenceCostsError(path, f"{key}[{i}]", f"must be [n_atoms, s], got {point!r}")
        atoms = _number(path, f"{key}[{i}][0]", point[0], positive=True)
        seconds = _number(path, f"{key}[{i}][1]", point[1], positive=True)
        if md and atoms <= md[-1][0]:
            raise ReferenceCostsError(
                path, f"{key}[{i}]", f"atom counts must increase, {atoms:g} after {md[-1][0]:g}"
            )
        md.append((atoms, seconds))
    out[key] = tuple(md)
    key = "ensemble_factor"
    factors = {}
    for k, v in _mapping(path, key, data[key]).items():
        try:
            members = int(k)
        except ValueError:
            members = 0
        if str(members) != k or members < 2:
            raise ReferenceCostsError(
                path, f"{key}.{k}", 'keys must be member counts >= 2, e.g. "5"'
            )
        factors[members] = _number(path, f"{key}.{k}", v, positive=True)
    out[key] = dict(sorted(factors.items()))
    memory = _mapping(path, "memory", data["memory"], MEMORY_FIELDS)
    out["memory"] = {k: _number(path, f"memory.{k}", memory[k]) for k in MEMORY_FIELDS}
    return ReferenceCosts(**out)


_CACHE: dict[tuple[str, int], ReferenceCosts] = {}


def load_reference(path=None) -> ReferenceCosts:
    """The reference file at ``path`` (default :data:`REFERENCE_FILE`), checked and cached."""
    path = Path(path) if path is not None else REFERENCE_FILE
    try:
        stamp = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError as err:
        raise ReferenceCostsError(path, None, f"cannot be read ({err.strerror})") from None
    if stamp not in _CACHE:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ReferenceCostsError(
                path, None, f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
            ) from None
        _CACHE[stamp] = parse_reference(data, path)
    return _CACHE[stamp]


# ------------------------------------------------------------------------------------------
# Per-step costs and the job formulas.


def md_s_per_atom_step(ref: ReferenceCosts, atoms: float) -> float:
    """Seconds per atom and MD step at ``atoms`` atoms: log-log interpolation between the
    measured points, clamped to the first and the last."""
    points = ref.md_s_per_atom_step
    xs = [x for x, _ in points]
    if atoms <= xs[0]:
        return points[0][1]
    if atoms >= xs[-1]:
        return points[-1][1]
    i = bisect.bisect_right(xs, atoms)
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    t = (math.log(atoms) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))


def ensemble_factor(ref: ReferenceCosts, members: int) -> float:
    """Cost of ``members`` models relative to one: 1 for one member, the file's factor for
    a listed count, linear in between (from (1, 1)), proportional beyond the largest."""
    members = int(members)
    if members < 1:
        raise ValueError(f"an ensemble has at least one member, got {members}")
    points = [(1, 1.0), *ref.ensemble_factor.items()]
    for (k0, f0), (k1, f1) in zip(points, points[1:], strict=False):
        if k0 <= members <= k1:
            return f0 + (f1 - f0) * (members - k0) / (k1 - k0)
    k, f = points[-1]
    return f * members / k


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return max(1, math.ceil(int(n_train) / int(batch_size)))


def training_seconds(
    ref: ReferenceCosts,
    training,
    *,
    n_train: int,
    n_valid: int,
    atoms: float,
    n_test: int = 0,
    held: int = 0,
    gpu: bool = False,
) -> float:
    """Expected wall seconds of one training job (module docstring).

    ``training`` is the job's :class:`gmnn.train.TrainConfig` (its loss, batch sizes and
    length); ``atoms`` the (mean) atoms per structure; ``n_test`` the structures evaluated
    once at the end; ``held`` the structures of the data file read."""
    spe = steps_per_epoch(n_train, training.batch_size)
    steps = training.total_steps(spe)
    validations = math.ceil(steps / training.validation_interval(spe))
    s_atom = ref.training_s_per_atom_step[training.loss]
    calls = steps  # fixed costs: one per step and per validation batch
    atom_s = steps * int(n_train) / spe * atoms * s_atom  # per-atom costs
    valid_batches = math.ceil(int(n_valid) / training.valid_batch_size)
    calls += validations * valid_batches
    atom_s += validations * int(n_valid) * atoms * s_atom * ref.validation_fraction
    if n_test:
        calls += math.ceil(int(n_test) / training.valid_batch_size)
        s_ef = ref.training_s_per_atom_step["EF"]
        atom_s += int(n_test) * atoms * s_ef * ref.validation_fraction
    fixed = ref.startup_s + held * ref.load_s_per_structure
    return fixed + calls * ref.training_s_per_step_floor + atom_s / _speedup(ref, gpu)


def md_seconds(
    ref: ReferenceCosts,
    *,
    steps: int,
    atoms: int,
    members: int = 1,
    gpu: bool = False,
) -> float:
    """Expected wall seconds of one MD run of ``steps`` steps of a system of ``atoms``
    atoms with an ensemble of ``members`` models (module docstring)."""
    per_step = ref.md_s_per_step_floor + atoms * md_s_per_atom_step(ref, atoms) / _speedup(ref, gpu)
    return ref.startup_s + steps * per_step * ensemble_factor(ref, members)


def _speedup(ref: ReferenceCosts, gpu: bool) -> float:
    return ref.gpu_speedup if gpu else 1.0


def runtime_minutes(
    expected_s: float, safety: float = SAFETY, floor: int = RUNTIME_FLOOR_MINUTES
) -> int:
    """A time limit (minutes) for a job expected to take ``expected_s`` seconds."""
    return int(math.ceil(safety * expected_s / 60.0)) + int(floor)


def memory_mb(
    ref: ReferenceCosts, *, held_atoms: float, batch_atoms: float, safety: float = MEMORY_SAFETY
) -> int:
    """mem_mb of a job holding ``held_atoms`` atoms of data, ``batch_atoms`` in its largest
    batch (or MD system, times the ensemble members)."""
    m = ref.memory
    held = held_atoms * m["bytes_per_atom_held"] + batch_atoms * m["bytes_per_batch_atom"]
    mb = (m["base_mb"] + held / 2**20) * safety
    return int(math.ceil(mb / MEMORY_STEP_MB) * MEMORY_STEP_MB)


def training_memory_mb(
    ref: ReferenceCosts, training, *, n_train: int, n_valid: int, atoms: float, held: int
) -> int:
    """mem_mb of a training job: the data file held, the larger of a training and a
    validation batch."""
    batch = max(
        min(training.batch_size, int(n_train)), min(training.valid_batch_size, int(n_valid))
    )
    return memory_mb(ref, held_atoms=held * atoms, batch_atoms=batch * atoms)


def md_memory_mb(ref: ReferenceCosts, *, atoms: int, held: int = 0, members: int = 1) -> int:
    """mem_mb of an MD job: the data file it takes the start structure from (``held``
    structures of ``atoms`` atoms) and the system, once per ensemble member."""
    return memory_mb(ref, held_atoms=held * atoms, batch_atoms=atoms * int(members))


def molecule_atoms(name: str) -> int:
    """Atoms of a molecule of the pipeline: :data:`MOLECULE_ATOMS`, else the geometry of
    :func:`gmnn.refdata.qc.build_molecule` (a ValueError naming an unknown one)."""
    if name in MOLECULE_ATOMS:
        return MOLECULE_ATOMS[name]
    from gmnn.refdata.qc import build_molecule

    return len(build_molecule(name))


def gpu_rules(profile) -> frozenset[str]:
    """The rules a SLURM profile (its ``config.yaml``) sends to a GPU: ``set-resources``
    entries that request one (``gpu``/``gres``/``slurm_extra`` or the partition naming a
    GPU). A missing profile: none."""
    import yaml

    try:
        with open(profile, encoding="utf-8") as f:
            text = yaml.safe_load(f) or {}
    except FileNotFoundError:
        return frozenset()
    out = set()
    for rule, resources in (text.get("set-resources") or {}).items():
        if isinstance(resources, dict) and any(
            "gpu" in str(resources.get(k, "")).lower()
            for k in ("gpu", "gres", "slurm_extra", "slurm_partition")
        ):
            out.add(rule)
    return frozenset(out)


# Walltime limits of the embedded ANI-like data (rules/embedded_ani.smk): about 4x the
# costs measured on one core (GFN2-xTB MD step 1-22 ms for 6-42 atoms and 27-117 ms of CPU
# for the 48-72-atom water clusters and helices, plus the relaxation; wB97X/6-31G* energy
# 2.5-7 s for 6-9 atoms, 10-60 s of CPU for the 12-22 atoms of accurate.extra_systems),
# with room for a machine shared with other jobs.
EMBEDDED_ANI_SECONDS_PER_STEP = 0.4
EMBEDDED_ANI_MINUTES_PER_ENERGY = 0.5
EMBEDDED_ANI_MINUTES_PER_EXTRA_ENERGY = 4


def embedded_ani_sample_minutes(config: Mapping, system: Mapping) -> int:
    """``runtime`` of the GFN2-xTB sampling of one system of the ``embedded_ani`` config
    (``system``: its entry of :func:`gmnn.refdata.embedded_ani.catalogue`)."""
    sampling = config["sampling"]
    steps = sampling["n_equil"] + sampling["stride"] * system["frames"]
    return 5 + math.ceil(EMBEDDED_ANI_SECONDS_PER_STEP * steps / 60)


def embedded_ani_label_minutes(config: Mapping, name: str) -> int:
    """``runtime`` of the wB97X/6-31G* energies of the frames of system ``name``
    (longer for the larger systems of ``accurate.extra_systems``)."""
    accurate = config["accurate"]
    extra = accurate.get("extra_systems", {})
    if name in extra:
        return 5 + math.ceil(EMBEDDED_ANI_MINUTES_PER_EXTRA_ENERGY * extra[name])
    return 5 + math.ceil(EMBEDDED_ANI_MINUTES_PER_ENERGY * accurate["frames"])


# ------------------------------------------------------------------------------------------
# The estimate of one job of the pipeline, from the design (gmnn.workflow.design.Design).

# The training rules: (data set, loss or None: the setting's, whether the job evaluates)
_MD17_TRAINING = {
    "pretrain": ("dft", "EF", False),
    "pretrain_size": ("dft", "EF", False),
    "train_cc": ("cc", None, True),
    "finetune_pretrain_size": ("cc", None, True),
    "finetune_ani_md17": ("cc", None, True),
}
_ANI_TRAINING = {"pretrain_ani": "ani1x", "train_ani1ccx": "ani1ccx", "finetune_ani1ccx": "ani1ccx"}


def training_job(design, rule: str, wildcards: Mapping):
    """(TrainConfig, sizes) of a training job of ``rule`` with ``wildcards`` (a dict),
    None for another rule: the sizes are :func:`training_seconds`' keywords."""
    from gmnn.train import TrainConfig
    from gmnn.workflow.grid import Setting

    if rule in _MD17_TRAINING:
        level, loss, evaluates = _MD17_TRAINING[rule]
        grid = design.grid
        n_train = {"pretrain": grid.dft_n_train, "pretrain_size": wildcards.get("npre")}.get(
            rule, wildcards.get("n")
        )
        held, n_test = grid.structures(level)
        params = grid.training_params(wildcards["seed"])
        loss = loss or Setting.parse(wildcards["setting"]).loss
        return TrainConfig.from_dict({**params, "loss": loss}), {
            "n_train": int(n_train),
            "n_valid": grid.section[level]["n_valid"],
            "atoms": molecule_atoms(wildcards["molecule"]),
            "n_test": n_test if evaluates else 0,
            "held": held,
        }
    if rule.startswith("molecule_") and design.molecules is not None:
        return design.molecules.training_job(rule, wildcards)  # rules/molecules.smk
    if rule in _ANI_TRAINING:
        name, ani = _ANI_TRAINING[rule], design.ani
        held, n_test = ani.structures(name)
        params = ani.training_params(wildcards["seed"], name)
        loss = "EF" if name == "ani1x" else "E"
        n_train = wildcards["npre"] if name == "ani1x" else wildcards["n"]
        return TrainConfig.from_dict({**params, "loss": loss}), {
            "n_train": int(n_train),
            "n_valid": ani.section[name]["n_valid"],
            "atoms": ANI_MEAN_ATOMS,
            "n_test": n_test,
            "held": held,
        }
    return None


def job_estimate(
    design, rule: str, wildcards: Mapping, ref: ReferenceCosts, gpu: bool = False
) -> tuple[float, int] | None:
    """(expected seconds, mem_mb) of a training or MD job of ``rule`` with ``wildcards``
    (a dict) in ``design``, on a GPU or not; None for a rule without a cost model."""
    training = training_job(design, rule, wildcards)
    if training is not None:
        config, size = training
        seconds = training_seconds(ref, config, gpu=gpu, **size)
        del size["n_test"]
        return seconds, training_memory_mb(ref, config, **size)
    if rule == "ala10_md":
        ala10, phase = design.ala10, wildcards["phase"]
        atoms, members = ala10.atoms(phase), len(ala10.seeds)
        steps = ala10.stage_configs(phase)[int(wildcards["stage"])].steps
        seconds = md_seconds(ref, steps=steps, atoms=atoms, members=members, gpu=gpu)
        return seconds, md_memory_mb(ref, atoms=atoms, members=members)
    if rule == "md":
        atoms = molecule_atoms(wildcards["molecule"])
        seconds = md_seconds(ref, steps=design.md.steps, atoms=atoms, gpu=gpu)
        held = design.grid.structures("cc")[0]
        return seconds, md_memory_mb(ref, atoms=atoms, held=held)
    return None


# ------------------------------------------------------------------------------------------
# The cost of a job graph (``gmnn cost``).


@dataclass(frozen=True)
class JobCost:
    """One job of the DAG: its expected seconds (None: the rule has no cost model),
    threads, whether it runs on a GPU, and its limits."""

    rule: str
    wildcards: tuple[tuple[str, str], ...]
    threads: int
    gpu: bool
    expected_s: float | None
    runtime_min: float
    mem_mb: float

    @property
    def hours(self) -> float:
        """Expected hours; for a rule without a cost model its runtime limit."""
        seconds = self.expected_s if self.expected_s is not None else 60.0 * self.runtime_min
        return seconds / 3600

    @property
    def resource_hours(self) -> float:
        """Core-hours (hours x threads) of a CPU job, GPU-hours (one GPU) of a GPU job."""
        return self.hours if self.gpu else self.hours * self.threads

    def label(self) -> str:
        wc = ",".join(f"{k}={v}" for k, v in self.wildcards)
        return f"{self.rule}[{wc}]" if wc else self.rule


@dataclass(frozen=True)
class TargetCost:
    """The jobs a target needs (its job and every job upstream of it)."""

    target: str
    jobs: tuple[JobCost, ...]

    def _sum(self, gpu: bool, modelled: bool = True) -> float:
        return sum(
            j.resource_hours
            for j in self.jobs
            if j.gpu == gpu and (j.expected_s is not None) == modelled
        )

    @property
    def core_hours(self) -> float:
        """Expected core-hours of the CPU jobs with a cost model."""
        return self._sum(gpu=False)

    @property
    def gpu_hours(self) -> float:
        """Expected GPU-hours of the GPU jobs with a cost model."""
        return self._sum(gpu=True)

    @property
    def unmodelled_hours(self) -> float:
        """Core- plus GPU-hours of the jobs without a cost model at their runtime limits
        (data, evaluation, aggregation, figures, QC labels): an upper bound."""
        return self._sum(gpu=False, modelled=False) + self._sum(gpu=True, modelled=False)

    @property
    def largest(self) -> JobCost | None:
        """The longest job with a cost model (expected hours; of equal ones, the first
        label: the same job whatever order Snakemake planned them in)."""
        modelled = [j for j in self.jobs if j.expected_s is not None]
        return min(modelled, key=lambda j: (-j.hours, j.label()), default=None)


@dataclass(frozen=True)
class CostReport:
    """What :func:`workflow_costs` found: each target's cost, all targets' (distinct
    jobs), the reference costs and the GPU rules the workflow used."""

    targets: list[TargetCost]
    union: TargetCost
    reference: ReferenceCosts | None
    gpu_rules: frozenset[str]


def pipeline_config(snakefile, configfiles: Iterable = ()) -> dict:
    """The config a run of ``snakefile`` with ``configfiles`` sees: its ``config.yaml``
    (relative to it), each configfile over it, validated by the schema (defaults filled)."""
    import yaml
    from snakemake.utils import update_config

    from gmnn.workflow.schema import validate_config

    root = Path(snakefile).resolve().parent
    config: dict = {}
    paths = [Path(c).resolve() for c in configfiles]
    if (root / "config.yaml").is_file() and (root / "config.yaml") not in paths:
        paths.insert(0, root / "config.yaml")
    for path in paths:
        with open(path, encoding="utf-8") as f:
            update_config(config, yaml.safe_load(f) or {})
    validate_config(config, root / "rules" / "schemas" / "config.schema.yaml")
    return config


class PlannedJob(NamedTuple):
    """A job of a dry run, as Snakemake reports it (its JOB_INFO log event)."""

    jobid: int
    rule: str
    wildcards: dict
    input: tuple[str, ...]
    output: tuple[str, ...]
    threads: int
    resources: Mapping


def _path(text: str) -> str:
    """A file as a JOB_INFO event names it, without Snakemake's annotation (``(temp)``)."""
    return re.sub(r" \([^()]*\)$", "", str(text))


def dry_run_jobs(snakefile, configfiles: Iterable, targets: Iterable[str], workdir) -> list:
    """Every job of ``snakemake --dry-run --forceall`` for ``targets`` in ``workdir``: the
    JOB_INFO events Snakemake logs for a dry run (the fields of its logger-plugin
    interface, snakemake_interface_logger_plugins), through its Python API; Snakemake's
    errors become ValueErrors."""
    import logging

    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        ResourceSettings,
    )
    from snakemake_interface_logger_plugins.common import LogEvent

    jobs = []

    class Collect(logging.Handler):
        def emit(self, record):
            if getattr(record, "event", None) == LogEvent.JOB_INFO:
                jobs.append(
                    PlannedJob(
                        int(record.jobid),
                        record.rule_name,
                        {k: str(v) for k, v in dict(record.wildcards or {}).items()},
                        tuple(_path(f) for f in record.input or ()),
                        tuple(_path(f) for f in record.output or ()),
                        int(record.threads),
                        record.resources,
                    )
                )

    # Snakemake replaces the handlers of its own logger; the dry run's events reach ours
    # on the parent logger
    parent = logging.getLogger("snakemake")
    collect = Collect()
    parent.addHandler(collect)
    here = os.getcwd()
    quiet = {Quietness.ALL, Quietness.PROGRESS, Quietness.RULES}
    try:
        with SnakemakeApi(OutputSettings(quiet=quiet)) as api:
            api.workflow(
                snakefile=Path(snakefile),
                workdir=Path(workdir).resolve(),
                config_settings=ConfigSettings(configfiles=list(configfiles)),
                # no local core limit: threads as on a cluster node
                resource_settings=ResourceSettings(cores=1 << 20, nodes=1 << 20),
            ).dag(DAGSettings(targets=frozenset(targets), forceall=True)).execute_workflow(
                executor="dryrun"
            )
    except Exception as err:
        if type(err).__module__.startswith("snakemake"):  # the workflow's own errors
            raise ValueError(f"{snakefile}: {err}") from err
        raise
    finally:
        parent.removeHandler(collect)
        os.chdir(here)
    return jobs


def workflow_costs(
    snakefile,
    configfiles: Iterable = (),
    targets: Iterable[str] = (),
    workdir=None,
) -> CostReport:
    """The cost of each target's part of the workflow's job graph, and of all of them.

    Plans the jobs of ``snakefile`` with ``configfiles`` for ``targets`` (default: the
    design's figures, :meth:`~gmnn.workflow.design.Design.figure_targets`) as
    ``snakemake --dry-run --forceall`` does (:func:`dry_run_jobs`) in ``workdir`` (default:
    a fresh temporary directory: the cost from nothing), each job's upstream from the files
    it reads, and evaluates every job's expected seconds with :func:`job_estimate` on the
    design of the same config (None: counted at the job's runtime limit), the reference
    costs (benchmarks/reference_costs.json) and the GPU rules (profiles/slurm) next to the
    Snakefile.
    """
    import tempfile

    from gmnn.workflow.design import Design

    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="gmnn-cost-") as tmp:
            return workflow_costs(snakefile, configfiles, targets, workdir=tmp)

    snakefile = Path(snakefile).resolve()
    configfiles = [Path(c).resolve() for c in configfiles]
    design = Design.from_config(pipeline_config(snakefile, configfiles))
    ref = load_reference(snakefile.parent / "benchmarks" / "reference_costs.json")
    gpu = gpu_rules(snakefile.parent / "profiles" / "slurm" / "config.yaml")
    targets = list(targets) or design.figure_targets()
    default_config = snakefile.parent / "config.yaml"
    if default_config.is_file() and default_config not in configfiles:
        configfiles.insert(0, default_config)  # the Snakefile's configfile, relative to it
    jobs = dry_run_jobs(snakefile, configfiles, targets, workdir)

    def expected(rule, wildcards):
        estimate = job_estimate(design, rule, wildcards, ref, gpu=rule in gpu)
        return None if estimate is None else estimate[0]

    return _target_costs(jobs, targets, expected, ref, gpu)


def _target_costs(jobs, targets, expected, ref, gpu) -> CostReport:
    producer = {f: job for job in jobs for f in job.output}
    dependencies = {
        job.jobid: {producer[f].jobid for f in job.input if f in producer} for job in jobs
    }
    by_id = {job.jobid: job for job in jobs}
    costs = {}

    def cost(job) -> JobCost:
        if job.jobid not in costs:
            resources = job.resources
            costs[job.jobid] = JobCost(
                rule=job.rule,
                wildcards=tuple(job.wildcards.items()),
                threads=job.threads,
                gpu=job.rule in gpu,
                expected_s=expected(job.rule, job.wildcards),
                runtime_min=float(resources.get("runtime", 0) or 0),
                mem_mb=float(resources.get("mem_mb", 0) or 0),
            )
        return costs[job.jobid]

    def upstream(jobid) -> set:
        seen, todo = {jobid}, [jobid]
        while todo:
            for dep in dependencies[todo.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    out = []
    for target in targets:
        made = [j.jobid for j in jobs if j.rule == target or target in j.output]
        if not made:
            raise ValueError(f"target {target!r}: no job of the DAG makes it")
        members = sorted({j for jobid in made for j in upstream(jobid)})
        out.append(TargetCost(target, tuple(cost(by_id[j]) for j in members)))
    everything = {j for t in out for j in t.jobs}
    union = TargetCost("all (distinct jobs)", tuple(sorted(everything, key=JobCost.label)))
    return CostReport(out, union, ref, frozenset(gpu))


def format_costs(report: CostReport, by_rule: bool = False) -> str:
    """The table of ``gmnn cost``: per target its jobs, the expected core-hours (CPU
    rules) and GPU-hours (GPU rules) of the jobs with a cost model, the hours of the
    others at their runtime limits, and the largest single job."""
    targets, union, ref = report.targets, report.union, report.reference
    lines = []
    if ref is not None:
        lines.append(
            f"Expected costs from nothing, per-step costs of {ref.path} "
            f"({ref.machine}; measured {ref.measured}); GPU rules "
            f"({', '.join(sorted(report.gpu_rules)) or 'none'}) {ref.gpu_speedup:g}x faster."
        )
    head = (
        f"{'target':<20} {'jobs':>5} {'core-h':>9} {'GPU-h':>8} {'other-h*':>9}  "
        "largest job (expected)"
    )
    lines += [head, "-" * (len(head) + 30)]
    for t in [*targets, union]:
        big = t.largest
        largest = f"{big.label()} {big.hours:.2f} h x {big.threads}" if big else "-"
        if big and big.gpu:
            largest = f"{big.label()} {big.hours:.2f} GPU-h"
        lines.append(
            f"{t.target:<20} {len(t.jobs):>5} {t.core_hours:>9.2f} {t.gpu_hours:>8.2f} "
            f"{t.unmodelled_hours:>9.2f}  {largest}"
        )
    lines.append(
        "* other-h: core- and GPU-hours of the jobs without a cost model (data, evaluation, "
        "aggregation, figures, QC labels) at their runtime limits: an upper bound."
    )
    if by_rule:
        lines += ["", f"{'rule (all targets)':<26} {'jobs':>5} {'hours':>9}  unit"]
        rules: dict[str, list[JobCost]] = {}
        for j in union.jobs:
            rules.setdefault(j.rule, []).append(j)
        for rule, jobs in sorted(
            rules.items(), key=lambda kv: -sum(j.resource_hours for j in kv[1])
        ):
            unit = "GPU-h" if jobs[0].gpu else "core-h"
            if jobs[0].expected_s is None:
                unit += " at the runtime limit"
            hours = sum(j.resource_hours for j in jobs)
            lines.append(f"{rule:<26} {len(jobs):>5} {hours:>9.2f}  {unit}")
    return "\n".join(lines)
