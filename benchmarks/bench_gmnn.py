#!/usr/bin/env python
"""Throughput of gmnn: E+F training steps and ASE molecular dynamics, beside the bare
network floor and apax (JAX) configured as GM-NN.  See benchmarks/README.md.

    python benchmarks/bench_gmnn.py                 # full run (~10 min on 2 cores)
    python benchmarks/bench_gmnn.py --quick --no-apax   # smoke run (< 1 min)
    python benchmarks/bench_gmnn.py --json out.json

All timings are wall-clock (``time.perf_counter``) medians over repeats after warm-up;
gmnn and its floor are measured interleaved in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
APAX_VENV = HERE / ".venv-apax"
APAX_HELPER = HERE / "apax_helper.py"
BATCH = 32
CUTOFF_MOLECULE = 4.0  # Å, the paper's MD17 cutoff
CUTOFF_WATER = 5.0  # Å, condensed phase
FORCE_WEIGHT = 4.0  # λ_F of the paper for equally sized structures
# Targets of the speed issue (12); times are for this 2-core machine, ratios anywhere.
TARGETS = {
    "train_vs_floor": 1.3,  # E+F training step / bare network floor
    "md_flatness": 1.2,  # µs/atom/step, 30000 / 3000 atoms
    "large_vs_floor": 1.5,  # MD µs/atom/step / floor, 3000 and 30000 atoms
    "nl_fraction": 0.10,  # neighbour list + inputs / MD step, large boxes
    "small_call_ms": 1.0,  # one energy+forces call on aspirin
    "small_step_ms": 1.5,  # one ASE MD step on aspirin
    "small_vs_apax": 0.25,  # MD step / apax's calculator call (4x faster)
    "ensemble5_vs_1": 3.0,  # five members / one member, per MD step
    "nve_f32_vs_f64": 2.0,  # |drift float32| / |drift float64|
}
ALA10_PDB = "ala10/deca-ala_helix_104atoms.pdb"
SOLVATED_ATOMS = 2384  # the paper's Ala10 in 760 waters


def default_data() -> Path:
    root = os.environ.get("GMNN_SHARED_DATA")
    base = Path(root) if root else HERE.parent.parent / "shared" / "data"
    return base / "rmd17" / "rmd17_aspirin_train_01.npz"


# ----------------------------------------------------------------------------- systems
def synthetic_aspirin(n: int, seed: int = 0):
    """Aspirin-like stand-ins (C9H8O4, 21 atoms) with random labels.

    A compact random cluster with aspirin's composition and size (minimum distance
    1.0 Å inside a sphere of radius 3.6 Å, so that a 4 Å cutoff sees about as many
    neighbours as in aspirin), perturbed by 0.05 Å per structure.
    """
    from gmnn.data import Structures

    rng = np.random.default_rng(seed)
    numbers = np.array([6] * 9 + [1] * 8 + [8] * 4)
    base = []
    while len(base) < len(numbers):
        p = rng.uniform(-3.6, 3.6, 3)
        if np.linalg.norm(p) < 3.6 and all(np.linalg.norm(p - q) > 1.0 for q in base):
            base.append(p)
    base = np.array(base)
    pos = base[None] + rng.normal(scale=0.05, size=(n, len(numbers), 3))
    return Structures(
        positions=pos.reshape(-1, 3),
        numbers=np.tile(numbers, n),
        n_atoms=np.full(n, len(numbers)),
        energy=rng.normal(-17000.0, 0.3, n),
        forces=rng.normal(scale=1.0, size=(n * len(numbers), 3)),
    )


def load_aspirin(path: Path | None, n: int):
    """(structures, description): rMD17 aspirin if available, else the stand-ins."""
    from gmnn.data import read

    if path is not None and Path(path).is_file():
        data = read(path)
        return data[np.arange(min(n, len(data)))], f"rMD17 aspirin ({Path(path).name})"
    return synthetic_aspirin(n), "synthetic aspirin-like C9H8O4 clusters (random labels)"


def water_cell(seed: int = 0):
    """125 rigid waters (375 atoms) on a 5x5x5 grid at 1.0 g/cm³, random orientations."""
    from ase import Atoms
    from ase.build import molecule
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(seed)
    n_side = 5
    volume = n_side**3 * 18.015 / 0.602214  # Å³ for 1.0 g/cm³
    a = volume ** (1 / 3)
    spacing = a / n_side
    water = molecule("H2O")
    water.positions -= water.get_center_of_mass()
    pos, numbers = [], []
    for ijk in np.ndindex(n_side, n_side, n_side):
        rot = Rotation.random(random_state=int(rng.integers(2**31)))
        centre = (np.array(ijk) + 0.5) * spacing + rng.normal(scale=0.1, size=3)
        pos.append(rot.apply(water.positions) + centre)
        numbers += list(water.numbers)
    return Atoms(numbers, positions=np.concatenate(pos), cell=[a, a, a], pbc=True)


WATER_REPEATS = {375: (1, 1, 1), 3000: (2, 2, 2), 30000: (4, 4, 5)}


# ----------------------------------------------------------------------------- timing
def interleaved(fns: dict, rounds: int, warmup: int) -> dict:
    """Per-call wall times of each function, called in turn ``rounds`` times."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def med(xs) -> float:
    return float(np.median(xs))


def environment() -> dict:
    import ase
    import tensorflow as tf
    import vesin

    import gmnn

    return {
        "gmnn": gmnn.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "ase": ase.__version__,
        "vesin": getattr(vesin, "__version__", "?"),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "machine": platform.machine(),
    }


# ----------------------------------------------------------------------------- floor
class NetworkFloor:
    """The bare 360-512-512-1 network of a GMNN, without descriptor (README: "floor").

    Training: features X = X0 + R M (X0 ~ N(0, 1) fixed, M a fixed random 3x360 map),
    E_s = Σ_{i in s} y(X_i), F = -dE/dR, loss = mean_s (E_s - Ê_s)² + λ_F mean_s
    Σ_{i in s} |F_i - F̂_i|², gradient with respect to the network weights and the same
    Adam update as the trainer.  MD: E = Σ_i y(x_i) and dE/dx for random x (N, 360),
    in chunks like GMNN.predict.
    """

    def __init__(self, model, seed: int = 0):
        import tensorflow as tf

        from gmnn.model import GMNN
        from gmnn.train.trainer import GroupAdam

        self.net = GMNN(species=[1], cutoff=model.cutoff, hidden=model.config["hidden"])
        self.n_features = model.descriptor.n_features
        self.params = [v for layer in self.net.dense for v in (layer.w, layer.b)]
        self.optimizer = GroupAdam(self.params, [1e-3] * len(self.params))
        self.rng = np.random.default_rng(seed)
        self.tf = tf
        net, params, opt = self.net, self.params, self.optimizer
        f32 = tf.float32

        @tf.function(
            input_signature=[
                tf.TensorSpec((None, 3), f32),
                tf.TensorSpec((None, self.n_features), f32),
                tf.TensorSpec((3, self.n_features), f32),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((), tf.int32),
                tf.TensorSpec((None,), tf.float64),
                tf.TensorSpec((None, 3), f32),
            ]
        )
        def train_step(pos, x0, lin, segment, n_struct, e_ref, f_ref):
            with tf.GradientTape() as outer:
                with tf.GradientTape() as inner:
                    inner.watch(pos)
                    y = tf.cast(net.network(x0 + tf.matmul(pos, lin)), tf.float64)
                    energy = tf.math.unsorted_segment_sum(y, segment, n_struct)
                forces = -inner.gradient(energy, pos)
                f_sq = tf.reduce_sum(tf.cast(tf.square(forces - f_ref), tf.float64), axis=1)
                f_term = tf.math.unsorted_segment_sum(f_sq, segment, n_struct)
                loss = tf.reduce_mean(tf.square(energy - e_ref) + FORCE_WEIGHT * f_term)
            opt.apply(outer.gradient(loss, params), tf.constant(1.0, tf.float64))
            return loss

        @tf.function(input_signature=[tf.TensorSpec((None, self.n_features), f32)])
        def energy_grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                energy = tf.reduce_sum(tf.cast(net.network(x), tf.float64))
            return energy, tape.gradient(energy, x)

        self.compiled_step, self.energy_grad = train_step, energy_grad

    def train_inputs(self, batch: dict) -> tuple:
        tf, a, nf = self.tf, len(batch["positions"]), self.n_features
        x0 = self.rng.standard_normal((a, nf)).astype(np.float32)
        lin = (self.rng.standard_normal((3, nf)) / np.sqrt(3)).astype(np.float32)
        m = int(batch["n_structures"])
        return tuple(
            tf.constant(v)
            for v in (
                np.asarray(batch["positions"], np.float32),
                x0,
                lin,
                np.asarray(batch["segment"], np.int32),
                np.int32(m),
                self.rng.normal(size=m),
                self.rng.normal(size=(a, 3)).astype(np.float32),
            )
        )

    def train_step(self, inputs) -> float:
        return float(self.compiled_step(*inputs))

    def md_inputs(self, n_atoms: int):
        return self.tf.constant(self.rng.standard_normal((n_atoms, self.n_features)), np.float32)

    def md_call(self, x) -> None:
        from gmnn.model.inference import CHUNK_ATOMS

        n = int(x.shape[0])
        if n > 2 * CHUNK_ATOMS:
            bounds = np.linspace(0, n, -(-n // CHUNK_ATOMS) + 1).astype(int)
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                self.energy_grad(x[lo:hi])[1].numpy()
        else:
            self.energy_grad(x)[1].numpy()


def time_train_steps(trainer, raw: list, args, valid: bool = False) -> tuple[dict, dict]:
    """Wall times of one E+F training step of ``trainer`` (``Trainer.train_step``,
    "gmnn") and of the bare network floor ("floor"), and with ``valid`` of a validation
    batch (``Trainer.eval_step``, "valid"), on the batches ``raw`` (``GraphData.batch``,
    taken in turn): (first call of each, trace + run; per-call times of ``args.rounds``
    interleaved rounds after ``args.warmup``)."""
    import tensorflow as tf

    batches = [trainer.step_inputs(b) for b in raw]  # converted once, outside the timing
    floor = NetworkFloor(trainer.model)
    floor_inputs = [floor.train_inputs(b) for b in raw]
    factor = tf.constant(0.5, tf.float64)
    steps = {
        "gmnn": (lambda b: trainer.train_step(b, factor), batches),
        "floor": (floor.train_step, floor_inputs),
    }
    if valid:
        steps["valid"] = (trainer.eval_step, batches)
    calls = dict.fromkeys(steps, 0)

    def call(name):
        fn, inputs = steps[name]
        fn(inputs[calls[name] % len(inputs)])
        calls[name] += 1

    fns = {name: (lambda name=name: call(name)) for name in steps}
    first = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t0
    return first, interleaved(fns, args.rounds, args.warmup)


def step_results(times: dict, n_structures: int) -> dict:
    """Median, minimum, all times and rates of each timed step, and the gmnn/floor ratios
    (of the medians, and the median of the paired ratios)."""
    res = {}
    for k, ts in times.items():
        res[k] = {
            "step_s_median": med(ts),
            "step_s_min": float(np.min(ts)),
            "step_s_all": ts,
            "structures_per_s": n_structures / med(ts),
            "steps_per_s": 1.0 / med(ts),
        }
    res["ratio_gmnn_floor"] = med(times["gmnn"]) / med(times["floor"])
    res["ratio_gmnn_floor_paired"] = med(np.array(times["gmnn"]) / np.array(times["floor"]))
    return res


# ----------------------------------------------------------------------------- gmnn
def bench_training(structures, args, log) -> dict:

    from gmnn.model import GMNN
    from gmnn.train.config import TrainConfig
    from gmnn.train.trainer import Trainer

    model = GMNN(species=sorted(set(structures.numbers.tolist())), cutoff=CUTOFF_MOLECULE)
    model.init_scale_shift(structures)
    n_batches = 2 if args.quick else 4
    train = structures[np.arange(BATCH * n_batches)]
    valid = structures[np.arange(2)]
    config = TrainConfig(epochs=1, batch_size=BATCH, progress=False, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, train, valid, config, tmp)
    t0 = time.perf_counter()
    raw = [
        trainer.train_data.batch(np.arange(k * BATCH, (k + 1) * BATCH)) for k in range(n_batches)
    ]
    assembly = (time.perf_counter() - t0) / n_batches
    first, times = time_train_steps(trainer, raw, args)
    log(f"  traced: gmnn step {first['gmnn']:.1f} s, floor step {first['floor']:.1f} s")
    res = {
        "batch_structures": BATCH,
        "batch_atoms": int(raw[0]["n_atoms"].sum()),
        "batch_pairs_mean": int(np.mean([len(b["pair_i"]) for b in raw])),
        "batch_assembly_s": assembly,
        "compile_s": first,
        **step_results(times, BATCH),
    }
    return res, model


def run_md(atoms, calc, warmup: int, steps: int, seed: int = 0) -> list:
    """Wall time of each of ``steps`` Langevin steps (300 K; time step and friction of
    gmnn.md.MDConfig) after ``warmup``: ASE's integrator alone, step by step, without the
    divergence checks and frames of gmnn.md.MDRun."""
    from ase import units
    from ase.md.langevin import Langevin

    from gmnn.md import MDConfig

    try:  # ASE >= 3.28
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # older ASE
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

    rng = np.random.default_rng(seed)
    atoms.calc = calc
    thermalize_momenta(atoms, temperature_K=300, rng=rng)
    md = MDConfig.defaults()
    dt = md["timestep_fs"] * units.fs
    kwargs = dict(temperature_K=300, friction=md["friction_per_fs"] / units.fs, rng=rng)
    try:
        dyn = Langevin(atoms, dt, fixcm=False, **kwargs)
    except TypeError:  # ASE without the fixcm option
        dyn = Langevin(atoms, dt, **kwargs)
    dyn.run(warmup)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        dyn.run(1)
        times.append(time.perf_counter() - t0)
    return times


def bench_md(structures, model_asp, args, log) -> dict:
    from ase import Atoms

    from gmnn.calculator import GMNNCalculator
    from gmnn.model import GMNN
    from gmnn.model.batch import atoms_inputs

    out = {"cutoff_molecule": CUTOFF_MOLECULE, "cutoff_water": CUTOFF_WATER, "systems": []}
    n0 = int(structures.n_atoms[0])
    asp = Atoms(structures.numbers[:n0], positions=structures.positions[:n0])
    systems = [("aspirin", asp, model_asp)]
    water_model = GMNN(species=[1, 8], cutoff=CUTOFF_WATER)
    water_model.energy_scale.assign(0.01)  # untrained network: keep forces small
    base = water_cell()
    for n in args.water_sizes:
        systems.append((f"water {n}", base.repeat(WATER_REPEATS[n]), water_model))
    floor = NetworkFloor(model_asp)
    for name, atoms, model in systems:
        n = len(atoms)
        if name == "aspirin":
            warm, steps = (3, 10) if args.quick else (10, 100)
        else:
            steps = 2 if args.quick else (3 if n > 10000 else 5 if n > 1000 else 20)
            warm = 1 if args.quick or n > 1000 else 3
        log(f"  MD {name}: {n} atoms, {warm} + {steps} steps")
        calc = GMNNCalculator(model)
        times = run_md(atoms, calc, warm, steps)
        # pieces of one step: neighbour list + inputs (pairs, dense layout), the compiled
        # force call, and the whole calculator call (atoms moved a little each time)
        inp_t, force_t, call_t = [], [], []
        for _ in range(min(10 if n < 1000 else 3, steps)):
            t0 = time.perf_counter()
            inputs = atoms_inputs(model, atoms)
            dense = calc.predictor.dense_inputs(inputs)
            t1 = time.perf_counter()
            calc.predictor.predict_dense(dense)
            t2 = time.perf_counter()
            atoms.positions += 1e-4
            atoms.get_forces()
            call_t.append(time.perf_counter() - t2)
            inp_t.append(t1 - t0)
            force_t.append(t2 - t1)
        x = floor.md_inputs(n)
        floor_t = interleaved({"floor": lambda x=x: floor.md_call(x)}, len(force_t) + 1, 1)["floor"]
        row = {
            "name": name,
            "n_atoms": n,
            "n_pairs": int(len(inputs["pair_i"])),
            "s_per_step_median": med(times),
            "s_per_step_all": times,
            "steps_per_s": 1.0 / med(times),
            "us_per_atom_step": med(times) / n * 1e6,
            "neighbour_list_s": med(inp_t),
            "force_call_s": med(force_t),
            "calculator_call_s": med(call_t),
            "neighbour_fraction": med(inp_t) / med(times),
            "floor_s": med(floor_t),
            "ratio_floor": med(times) / med(floor_t),
            "floor_us_per_atom": med(floor_t) / n * 1e6,
        }
        out["systems"].append(row)
    by_n = {r["n_atoms"]: r for r in out["systems"] if r["name"].startswith("water")}
    if 3000 in by_n and 30000 in by_n:
        out["flatness_30000_vs_3000"] = (
            by_n[30000]["us_per_atom_step"] / by_n[3000]["us_per_atom_step"]
        )
        out["floor_flatness_30000_vs_3000"] = (
            by_n[30000]["floor_us_per_atom"] / by_n[3000]["floor_us_per_atom"]
        )
    return out


# ----------------------------------------------------------------------------- ensembles
def ala10_atoms():
    """The paper's 104-atom α-helical Ala10 (shared data), else a stand-in of its
    composition (C30H53N11O10): a random compact cluster with atoms >= 1 Å apart."""
    from ase import Atoms
    from ase.io import read

    shared = os.environ.get("GMNN_SHARED_DATA")
    root = Path(shared) if shared else HERE.parent.parent / "shared" / "data"
    pdb = root / ALA10_PDB
    if pdb.exists():
        return read(pdb), str(pdb)
    rng = np.random.default_rng(0)
    numbers = [6] * 30 + [1] * 53 + [7] * 11 + [8] * 10
    pos = np.zeros((0, 3))
    while len(pos) < len(numbers):
        trial = rng.uniform(0.0, [8.0, 8.0, 16.0])
        if len(pos) == 0 or np.linalg.norm(pos - trial, axis=1).min() > 1.0:
            pos = np.vstack([pos, trial])
    return Atoms(numbers, positions=pos), "stand-in (random C30H53N11O10 cluster)"


def solvated_atoms(n_atoms: int = SOLVATED_ATOMS):
    """A periodic water box of about ``n_atoms`` atoms at 1 g/cm³ (the Ala10-in-water
    system's size; the peptide's 104 atoms are replaced by waters)."""
    from ase import Atoms
    from ase.build import molecule

    n_water = n_atoms // 3
    side = int(np.ceil(n_water ** (1 / 3)))
    spacing = (18.015 / 0.6022 / 1.0) ** (1 / 3)  # Å per water at 1 g/cm³
    rng = np.random.default_rng(1)
    atoms = Atoms()
    grid = [(x, y, z) for x in range(side) for y in range(side) for z in range(side)]
    for x, y, z in grid[:n_water]:
        w = molecule("H2O")
        w.rotate(rng.uniform(0, 360), rng.normal(size=3))
        w.translate(np.array([x, y, z]) * spacing)
        atoms += w
    length = (n_water * spacing**3) ** (1 / 3)
    atoms.cell = [length] * 3
    atoms.pbc = True
    atoms.wrap()
    return atoms


def bench_ensemble(args, log) -> dict:
    """Five models in one evaluation against one model, per MD step (interleaved)."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.model import GMNN

    ala, source = ala10_atoms()
    out = {"ala10_source": source, "systems": []}
    systems = [("Ala10 gas", ala, CUTOFF_WATER)]
    if not args.quick:
        systems.append((f"solvated {SOLVATED_ATOMS}", solvated_atoms(), CUTOFF_WATER))
    for name, atoms, cutoff in systems:
        species = sorted(set(atoms.numbers.tolist()))
        models = [GMNN(species, cutoff=cutoff, seed=k) for k in range(5)]
        for m in models:
            m.energy_scale.assign(0.01)  # untrained networks: keep the forces small
        n = len(atoms)
        steps = 3 if args.quick else (20 if n < 1000 else 5)
        dyn = {}
        for label, calc in (("1", GMNNCalculator(models[0])), ("5", EnsembleCalculator(models))):
            a = atoms.copy()
            a.calc = calc
            dyn[label] = VelocityVerlet(a, 0.5 * units.fs)
            dyn[label].run(2)  # compile
        log(f"  ensemble {name}: {n} atoms, {steps} steps each")
        times = interleaved({k: (lambda d=d: d.run(1)) for k, d in dyn.items()}, steps, 1)
        out["systems"].append(
            {
                "name": name,
                "n_atoms": n,
                "one_s_per_step": med(times["1"]),
                "five_s_per_step": med(times["5"]),
                "ratio_5_vs_1": med(times["5"]) / med(times["1"]),
            }
        )
    return out


def nve_results(args, log) -> dict | None:
    """The float32/float64 NVE drift (benchmarks/nve_drift.py): run it (--nve) or read
    its JSON (--nve-json, default benchmarks/results/nve_drift.json when present)."""
    sys.path.insert(0, str(HERE))
    if args.nve:
        import nve_drift

        log("NVE drift (benchmarks/nve_drift.py)")
        return nve_drift.run(quick=args.quick)
    path = args.nve_json or HERE / "results" / "nve_drift.json"
    if path.exists():
        return {**json.loads(path.read_text()), "from_file": str(path)}
    return None


def ani_results(args, log) -> dict | None:
    """Training throughput at the ANI batch size beside its floor (ani_throughput.py)."""
    if args.quick or args.no_ani:
        return None
    sys.path.insert(0, str(HERE))
    from types import SimpleNamespace

    import ani_throughput

    log("ANI batch (benchmarks/ani_throughput.py)")
    opts = SimpleNamespace(quick=False, batch=2048, rounds=3, warmup=1, seed=0)
    return ani_throughput.bench(opts, log)


def write_costs(res: dict, path: Path) -> None:
    """benchmarks/reference_costs.json (gmnn.workflow.resources) from this run's measurements; fields
    this script does not measure keep their values from the existing file."""
    old = json.loads(path.read_text()) if path.exists() else {}
    tr = res["training"]
    floor = old.get("training_s_per_step_floor", 0.005)
    per_atom_ef = max(tr["gmnn"]["step_s_median"] - floor, 1e-9) / tr["batch_atoms"]
    ratio_e = old.get("training_s_per_atom_step", {}).get("E", 0.5) / old.get(
        "training_s_per_atom_step", {}
    ).get("EF", 1.0)
    md_points = sorted(
        (r["n_atoms"], r["s_per_step_median"] / r["n_atoms"]) for r in res["md"]["systems"]
    )
    ens = {str(5): max(r["ratio_5_vs_1"] for r in res["ensemble"]["systems"])}
    env = res["environment"]
    speedup, speedup_note = gpu_speedup(res, GPU_CHECK_JSON, old.get("gpu_speedup", 20.0))
    new = {
        **old,
        "machine": f"{platform.node()}: {env['cpu_count']} CPUs, TensorFlow {env['tensorflow']} "
        f"on the CPU (intra-op {env['tf_intra_op_threads']}, inter-op "
        f"{env['tf_inter_op_threads']})",
        "measured": time.strftime("%Y-%m-%d"),
        "command": "benchmarks/bench_gmnn.py --write-costs",
        "load_average": float(env["load_average"][0]) if env["load_average"] else 0.0,
        "note": "Written by bench_gmnn.py --write-costs: training E+F per atom-step from the "
        "batch-32 aspirin step (E-only scaled by the previous E/EF ratio, "
        f"{ratio_e:.2f}), MD per atom-step from the aspirin and water-box steps, the "
        "five-member ensemble factor the larger of Ala10 and the solvated box; "
        f"{speedup_note}; the other fields are kept from the previous file.",
        "training_s_per_atom_step": {"EF": per_atom_ef, "E": per_atom_ef * ratio_e},
        "md_s_per_atom_step": [[n, t] for n, t in md_points],
        "md_s_per_step_floor": 0.0,
        "ensemble_factor": ens,
        "gpu_speedup": speedup,
    }
    path.write_text(json.dumps(new, indent=1) + "\n")


GPU_CHECK_JSON = HERE / "results" / "gpu_check.json"


def gpu_speedup(res: dict, check_path: Path, previous: float) -> tuple[float, str]:
    """(gpu_speedup, how it was obtained): this run's ANI batch-2048 E+F step on the CPU
    over the GPU's in ``check_path`` (``benchmarks/gpu_check.sh`` on a GPU machine: the same
    stand-in molecules and model); without a GPU measurement the previous value, said to be
    an assumption."""
    try:
        check = json.loads(Path(check_path).read_text())
    except (OSError, ValueError):
        check = None
    cpu = (res.get("ani") or {}).get("gmnn", {}).get("step_s_median")
    gpu = None
    if check and check.get("mode") == "gpu":
        ani = check.get("ani") or {}
        if ani.get("batch_structures") == (res.get("ani") or {}).get("batch_structures"):
            gpu = ani.get("gmnn", {}).get("step_s_median")
    if cpu and gpu:
        device = ", ".join(check.get("environment", {}).get("gpus", [])) or "GPU"
        return cpu / gpu, (
            f"gpu_speedup = this CPU's ANI batch-2048 E+F step / the GPU's in {check_path.name} "
            f"({device}, {check.get('environment', {}).get('measured', 'date unknown')})"
        )
    return float(previous), (
        "gpu_speedup kept from the previous file: an assumption until benchmarks/gpu_check.sh "
        "has run on a GPU (benchmarks/results/gpu_check.json)"
    )


# ----------------------------------------------------------------------------- apax
def ensure_apax(log, timeout: float = 900.0) -> tuple[Path | None, str]:
    """The apax venv's python (created and filled with `pip install apax` if missing)."""
    python = APAX_VENV / "bin" / "python"
    check = [str(python), "-c", "import apax, jax, optax, vesin, ase"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, "existing venv"
    try:
        if not python.exists():
            log(f"  creating {APAX_VENV}")
            subprocess.run(
                [sys.executable, "-m", "venv", str(APAX_VENV)], check=True, capture_output=True
            )
        log("  pip install apax (JAX CPU) into it, once")
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "apax"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if pip.returncode != 0:
            return None, "pip install apax failed: " + pip.stderr.strip()[-400:]
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode != 0:
            return None, "apax installed but not importable: " + done.stderr.strip()[-400:]
        return python, "installed now"
    except subprocess.TimeoutExpired:
        return None, f"pip install apax did not finish within {timeout:.0f} s"
    except Exception as exc:  # no venv module, no network, ...
        return None, f"cannot create the apax venv: {type(exc).__name__}: {exc}"


def bench_apax(structures, args, log) -> dict:
    python, how = ensure_apax(log)
    if python is None:
        return {"error": how}
    n0 = int(structures.n_atoms[0])
    batch = structures[np.arange(BATCH)]
    data = {
        "train_positions": batch.positions.reshape(BATCH, n0, 3),
        "train_numbers": batch.numbers[:n0],
        "train_energy": batch.energy,
        "train_forces": batch.forces.reshape(BATCH, n0, 3),
    }
    systems = [("aspirin", batch.positions[:n0], batch.numbers[:n0], np.zeros((3, 3)), False)]
    base = water_cell()
    for n in args.water_sizes:
        if n > args.apax_max_atoms:
            continue
        w = base.repeat(WATER_REPEATS[n])
        systems.append((f"water {n}", w.positions, w.numbers, w.cell.array, True))
    md = []
    for k, (name, pos, num, cell, pbc) in enumerate(systems):
        data.update(
            {f"md{k}_positions": pos, f"md{k}_numbers": num, f"md{k}_cell": cell, f"md{k}_pbc": pbc}
        )
        n = len(num)
        steps = 10 if name == "aspirin" else (3 if n > 1000 else 10)
        md.append(
            {
                "name": name,
                "n_atoms": n,
                "cutoff": CUTOFF_MOLECULE if name == "aspirin" else CUTOFF_WATER,
                "warmup": 3 if name == "aspirin" else 2,
                "steps": 3 if args.quick else steps,
            }
        )
    settings = {
        "cutoff_train": CUTOFF_MOLECULE,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "force_weight": FORCE_WEIGHT,
        "md_systems": md,
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.savez(tmp / "in.npz", **data)
        (tmp / "settings.json").write_text(json.dumps(settings))
        out = tmp / "out.json"
        env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONWARNINGS="ignore")
        log(f"  running apax helper ({how})")
        try:
            proc = subprocess.run(
                [
                    str(python),
                    str(APAX_HELPER),
                    str(tmp / "in.npz"),
                    str(tmp / "settings.json"),
                    str(out),
                ],
                capture_output=True,
                text=True,
                timeout=args.apax_timeout,
                env=env,
            )
        except subprocess.TimeoutExpired:
            proc = None
        if not out.exists():
            why = "timed out" if proc is None else proc.stderr.strip()[-600:]
            return {"error": f"apax helper gave no result: {why}"}
        res = json.loads(out.read_text())
        if proc is None:
            res["note"] = f"helper killed after {args.apax_timeout} s; partial results"
        return res


# ----------------------------------------------------------------------------- report
def fmt(x, spec=".1f", na="n/a") -> str:
    return na if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, spec)


def report(res: dict) -> str:
    env = res["environment"]
    load = env["load_average"][0] if env["load_average"] else None
    lines = [
        "=" * 96,
        f"gmnn benchmark  |  TF {env['tensorflow']}, numpy {env['numpy']}, ase {env['ase']}, "
        f"vesin {env['vesin']}, python {env['python']}",
        f"threads: {env['cpu_count']} CPUs, TF intra-op {env['tf_intra_op_threads']} / "
        f"inter-op {env['tf_inter_op_threads']} (0 = all cores); load average at start "
        f"{fmt(load, '.2f')}",
    ]
    ap = res.get("apax", {})
    if "versions" in ap:
        v = ap["versions"]
        lines.append(
            f"apax {v['apax']}, JAX {v['jax']} ({', '.join(v['jax_devices'])}), x64 {v['x64']}"
        )
    lines.append("=" * 96)
    tr = res["training"]
    lines.append(
        f"TRAINING  E+F step, batch of {tr['batch_structures']} x {res['data']['atoms_per_structure']}"
        f" atoms ({tr['batch_atoms']} atoms, ~{tr['batch_pairs_mean']} pairs), cutoff "
        f"{CUTOFF_MOLECULE} Å; data: {res['data']['source']}"
    )
    lines.append(f"  {'':34s} {'step ms (median)':>17s} {'min':>8s} {'structures/s':>13s}")
    rows = [("gmnn (Trainer train_step)", tr["gmnn"]), ("bare network floor", tr["floor"])]
    if "train" in ap and "step_s_median" in ap["train"]:
        rows.append(("apax as GM-NN (jit)", ap["train"]))
    for name, r in rows:
        lines.append(
            f"  {name:34s} {r['step_s_median'] * 1e3:17.1f} {r['step_s_min'] * 1e3:8.1f} "
            f"{r['structures_per_s']:13.1f}"
        )
    lines.append(
        f"  batch assembly (GraphData.batch, not in the step): {tr['batch_assembly_s'] * 1e3:.1f} ms"
    )
    md = res["md"]
    lines += [
        "-" * 96,
        f"MD  ASE Langevin, 0.5 fs, 300 K; cutoff {CUTOFF_MOLECULE} Å (aspirin), "
        f"{CUTOFF_WATER} Å (water boxes, 1.0 g/cm³)",
        f"  {'system':14s} {'atoms':>6s} {'pairs':>8s} {'steps/s':>8s} {'µs/atom/step':>13s} "
        f"{'NL ms':>7s} {'force ms':>9s} {'floor µs/atom':>14s} {'apax µs/atom':>13s}",
    ]
    apax_md = {r["name"]: r for r in ap.get("md", []) if isinstance(ap.get("md"), list)}
    for r in md["systems"]:
        a = apax_md.get(r["name"], {})
        a_txt = fmt(a.get("us_per_atom_step")) if "error" not in a else "error"
        lines.append(
            f"  {r['name']:14s} {r['n_atoms']:6d} {r['n_pairs']:8d} {r['steps_per_s']:8.2f} "
            f"{r['us_per_atom_step']:13.1f} {r['neighbour_list_s'] * 1e3:7.1f} "
            f"{r['force_call_s'] * 1e3:9.1f} {r['floor_us_per_atom']:14.1f} {a_txt:>13s}"
        )
    lines.append("-" * 96)
    lines.append("RATIOS (target)")
    r_floor = tr["ratio_gmnn_floor"]
    lines.append(
        f"  training gmnn/floor      {r_floor:6.2f}   (target <= {TARGETS['train_vs_floor']}: "
        f"{'met' if r_floor <= TARGETS['train_vs_floor'] else 'NOT met'}; paired median "
        f"{tr['ratio_gmnn_floor_paired']:.2f})"
    )
    if "train" in ap and "step_s_median" in ap["train"]:
        r_apax = tr["gmnn"]["step_s_median"] / ap["train"]["step_s_median"]
        res["ratios"]["train_gmnn_apax"] = r_apax
        lines.append(
            f"  training gmnn/apax       {r_apax:6.2f}   (target < 1, faster than apax: "
            f"{'met' if r_apax < 1 else 'NOT met'})"
        )
    else:
        why = ap.get("error") or (ap.get("train") or {}).get("error") or "not run (--no-apax)"
        lines.append(f"  training gmnn/apax         n/a    ({why})")
    flat = md.get("flatness_30000_vs_3000")
    if flat is not None:
        lines.append(
            f"  MD µs/atom 30000/3000    {flat:6.2f}   (target <= {TARGETS['md_flatness']}: "
            f"{'met' if flat <= TARGETS['md_flatness'] else 'NOT met'}; floor "
            f"{md['floor_flatness_30000_vs_3000']:.2f})"
        )
    else:
        lines.append("  MD µs/atom 30000/3000      n/a    (30000-atom box not run)")
    for r in md["systems"]:
        a = apax_md.get(r["name"], {})
        if "us_per_atom_step" in a:
            lines.append(
                f"  MD {r['name']:12s} gmnn/apax {r['us_per_atom_step'] / a['us_per_atom_step']:6.2f}"
            )
        elif "error" in a:
            lines.append(f"  MD {r['name']:12s} apax error: {a['error'][:80]}")
    lines += report_targets(res)
    lines.append("=" * 96)
    return "\n".join(lines)


def _verdict(value, target, smaller=True) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    ok = value <= target if smaller else value >= target
    return f"target {'<=' if smaller else '>='} {target:g}: {'met' if ok else 'NOT met'}"


def report_targets(res: dict) -> list[str]:
    """The speed issue's targets, one line each, with the value, ratio and verdict."""
    lines = ["-" * 96, "TARGETS (speed issue)"]
    md = {r["name"]: r for r in res["md"]["systems"]}
    ap = {r["name"]: r for r in res.get("apax", {}).get("md", []) or [] if isinstance(r, dict)}
    asp = md.get("aspirin")
    if asp:
        call_ms = asp["calculator_call_s"] * 1e3
        step_ms = asp["s_per_step_median"] * 1e3
        lines.append(
            f"  aspirin E+F call        {call_ms:7.2f} ms  ({_verdict(call_ms, TARGETS['small_call_ms'])};"
            f" compiled force call alone {asp['force_call_s'] * 1e3:.2f} ms)"
        )
        lines.append(
            f"  aspirin ASE MD step     {step_ms:7.2f} ms  ({_verdict(step_ms, TARGETS['small_step_ms'])})"
        )
        a = ap.get("aspirin", {})
        if "us_per_atom_step" in a:
            apax_ms = a["us_per_atom_step"] * asp["n_atoms"] / 1e3
            r = step_ms / apax_ms
            res["ratios"]["md_aspirin_vs_apax"] = r
            lines.append(
                f"  aspirin step / apax     {r:7.2f}     (apax calculator {apax_ms:.2f} ms per "
                f"step; {_verdict(r, TARGETS['small_vs_apax'])})"
            )
    for n in (3000, 30000):
        r = md.get(f"water {n}")
        if r:
            res["ratios"][f"md_water{n}_vs_floor"] = r["ratio_floor"]
            lines.append(
                f"  water {n:5d} step/floor  {r['ratio_floor']:7.2f}     "
                f"({_verdict(r['ratio_floor'], TARGETS['large_vs_floor'])}); neighbour list + "
                f"inputs {100 * r['neighbour_fraction']:.0f} % of a step "
                f"({_verdict(r['neighbour_fraction'], TARGETS['nl_fraction'])})"
            )
    for r in (res.get("ensemble") or {}).get("systems", []):
        res["ratios"][f"ensemble5_{r['name']}"] = r["ratio_5_vs_1"]
        lines.append(
            f"  5 members / 1, {r['name']:18s} {r['ratio_5_vs_1']:5.2f}  "
            f"({r['one_s_per_step'] * 1e3:.1f} -> {r['five_s_per_step'] * 1e3:.1f} ms per step; "
            f"{_verdict(r['ratio_5_vs_1'], TARGETS['ensemble5_vs_1'])})"
        )
    nve = res.get("nve")
    runs = (nve or {}).get("runs", {})
    if "float32" in runs and "float64" in runs:
        d32, d64 = runs["float32"], runs["float64"]
        comp = nve.get("comparison", {})
        lines.append(
            f"  NVE drift f32 / f64     {comp.get('ratio_abs_drift_32_64', float('nan')):7.2f}     "
            f"({d32['drift_meV_per_ps']:+.3f} ± {d32['drift_se_meV_per_ps']:.3f} vs "
            f"{d64['drift_meV_per_ps']:+.3f} ± {d64['drift_se_meV_per_ps']:.3f} meV/ps over "
            f"{nve.get('ps', '?')} ps, aspirin; noise-floored ratio "
            f"{comp.get('ratio_abs_drift_32_to_floored_64', float('nan')):.2f}, target <= "
            f"{TARGETS['nve_f32_vs_f64']:g}: {'met' if comp.get('passed') else 'NOT met'}"
            + (f"; from {nve['from_file']}" if "from_file" in nve else "")
            + ")"
        )
    else:
        lines.append(
            "  NVE drift f32 / f64       n/a     (run with --nve or benchmarks/nve_drift.py)"
        )
    ani = res.get("ani")
    if ani:
        lines.append(
            f"  ANI batch {ani['batch_structures']} E+F step {ani['gmnn']['step_s_median']:.2f} s vs "
            f"floor {ani['floor']['step_s_median']:.2f} s: {ani['ratio_gmnn_floor']:.2f}x "
            f"({_verdict(ani['ratio_gmnn_floor'], TARGETS['train_vs_floor'])})"
        )
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="fast pass (smoke test): few repeats, small boxes"
    )
    p.add_argument("--no-apax", action="store_true", help="skip apax")
    p.add_argument("--json", type=Path, help="write all numbers to this file")
    p.add_argument(
        "--data", type=Path, default=None, help="rMD17 aspirin npz (default: shared data)"
    )
    p.add_argument("--rounds", type=int, default=None, help="timed training steps per variant")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps before timing")
    p.add_argument("--apax-timeout", type=float, default=600.0, help="seconds for the apax helper")
    p.add_argument(
        "--apax-max-atoms", type=int, default=3000, help="largest water box run with apax"
    )
    p.add_argument("--no-ani", action="store_true", help="skip the ANI batch-2048 step")
    p.add_argument("--nve", action="store_true", help="run benchmarks/nve_drift.py here")
    p.add_argument("--nve-json", type=Path, default=None, help="nve_drift.py JSON to report")
    p.add_argument(
        "--write-costs",
        nargs="?",
        type=Path,
        const=HERE / "reference_costs.json",
        default=None,
        help="write the per-step costs for gmnn.workflow.resources (default benchmarks/reference_costs.json)",
    )
    args = p.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 20)
    args.warmup = args.warmup or (1 if args.quick else 3)
    args.water_sizes = [375] if args.quick else [375, 3000, 30000]
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    res = {"environment": environment(), "ratios": {}, "quick": args.quick}
    path = args.data if args.data is not None else default_data()
    n_needed = BATCH * (2 if args.quick else 4)
    structures, source = load_aspirin(path, n_needed)
    res["data"] = {"source": source, "atoms_per_structure": int(structures.n_atoms[0])}
    log(f"training benchmark ({source})")
    res["training"], model = bench_training(structures, args, log)
    res["ratios"]["train_gmnn_floor"] = res["training"]["ratio_gmnn_floor"]
    log("MD benchmark")
    res["md"] = bench_md(structures, model, args, log)
    if "flatness_30000_vs_3000" in res["md"]:
        res["ratios"]["md_flatness_30000_vs_3000"] = res["md"]["flatness_30000_vs_3000"]
    log("ensembles")
    res["ensemble"] = bench_ensemble(args, log)
    res["nve"] = nve_results(args, log)
    res["ani"] = ani_results(args, log)
    if args.no_apax:
        res["apax"] = {"error": "not run (--no-apax)"}
    else:
        log("apax")
        res["apax"] = bench_apax(structures, args, log)
    res["total_s"] = time.perf_counter() - t_start
    print(report(res))
    print(f"total benchmark time {res['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=float))
    if args.write_costs:
        write_costs(res, args.write_costs)
        print(f"wrote {args.write_costs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
