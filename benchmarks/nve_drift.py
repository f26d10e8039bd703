"""NVE energy conservation of gmnn MD in float32 and float64.

Velocity Verlet (ASE ``VelocityVerlet``), 0.5 fs, 10 ps of rMD17 aspirin with a
briefly trained GM-NN model, once with the model loaded in float32 and once in float64,
from the same geometry and the same Maxwell-Boltzmann velocities (300 K, fixed seed,
zero total momentum and angular momentum).  The total energy E_tot = E_pot + E_kin (eV)
is recorded every 10 steps; per precision the script reports

* the drift: slope of a least-squares line through E_tot(t), meV/ps and meV/ps/atom,
  with its standard error SE (the noise level of the slope; successive samples are
  correlated, so the independent-residual SE is scaled by the square root of the
  residuals' statistical inefficiency g from block averages), and the drift of each
  half of the run as a consistency check;
* the RMS fluctuation of E_tot around that line (meV) and the largest
  |E_tot(t) - E_tot(0)| (meV);
* the mean temperature, the wall time per MD step (ms) and whether the run stayed finite;

then |drift32| / |drift64| against the target (<= 2).  A drift near zero makes that ratio
meaningless, so the verdict tests float32's drift against float64's floored at its noise
level, |drift32| <= 2 max(|drift64|, 2 SE64), says which drifts are below their noise
level (|drift| < 2 SE), and compares the drift over the whole run with the RMS
fluctuation.

The model is trained once with gmnn's own trainer (paper settings for MD17: cutoff 4 Å,
360-512-512-1 network, E+F loss with λ_F = 4 Å², batch 32, the paper's learning rates,
but a short run: the paper's 950 training and 50 validation structures, 3,000 optimiser
steps, a tenth of the paper's 1000 epochs; ~5 min on 2 cores, validation force MAE
~1.5 kcal/mol/Å) and cached in ``--model-dir`` (default ``benchmarks/.cache/nve_model``; ``--retrain`` to
train again).

    .venv/bin/python benchmarks/nve_drift.py --json benchmarks/results/nve_drift.json
    .venv/bin/python benchmarks/nve_drift.py --quick --json /tmp/nve.json   # smoke test

:func:`run` returns everything as a dict (the same as the ``--json`` file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = HERE / ".cache" / "nve_model"
QUICK_MODEL_DIR = HERE / ".cache" / "nve_model_quick"
DTYPES = ("float32", "float64")
TARGET_RATIO = 2.0  # |drift32| / |drift64| at most this
RECORD_EVERY = 10  # MD steps between E_tot samples
BLOCKS = 20  # blocks of the residuals for the correlation-corrected standard error
TRAIN_SEED = 0  # split, weights and batch order of the model
NOISE_SIGMAS = 2.0  # a drift below this many standard errors is noise
MAX_SERIES_POINTS = 1000  # samples per precision kept in the JSON time series

# paper settings for MD17 (Sec. 2.1), except the length of the run
FULL = {"n_train": 950, "n_valid": 50, "steps": 3000, "hidden": (512, 512), "ps": 10.0}
# --quick: a tiny model and a short trajectory (smoke test only)
QUICK = {"n_train": 40, "n_valid": 10, "steps": 20, "hidden": (64, 64), "ps": 0.5}


def default_data() -> Path:
    root = os.environ.get("GMNN_SHARED_DATA")
    base = Path(root) if root else HERE.parent.parent / "shared" / "data"
    return base / "rmd17" / "rmd17_aspirin_train_01.npz"


class DataMissing(FileNotFoundError):
    """The aspirin data file does not exist."""


def load_data(path):
    from gmnn.data import read

    path = Path(path)
    if not path.is_file():
        raise DataMissing(
            f"{path}: no such file; the benchmark needs rMD17 aspirin "
            "(rmd17_aspirin_train_01.npz): give --data PATH or set GMNN_SHARED_DATA"
        )
    return read(path)


# ----------------------------------------------------------------------------- model
def _split(data, n_train: int, n_valid: int, seed: int):
    from gmnn.data import make_split

    if n_train + n_valid > len(data):
        raise ValueError(
            f"{n_train} training + {n_valid} validation structures asked for, "
            f"but the data hold {len(data)}"
        )
    return make_split(len(data), n_train, n_valid, n_test=0, seed=seed)


def train_model(data, model_dir, n_train, n_valid, steps, hidden, seed=0, log=print):
    """Train a GM-NN on aspirin with gmnn's trainer and save it to ``model_dir``."""
    from gmnn.io import load_model, save_model
    from gmnn.model.config import ModelConfig
    from gmnn.train import TrainConfig, fit

    split = _split(data, n_train, n_valid, seed)
    train, valid = data[split.train], data[split.valid]
    config = TrainConfig(steps=steps, loss="EF", seed=seed, progress=False)  # paper's rest
    model_config = ModelConfig(cutoff=4.0, hidden=tuple(hidden))
    log(
        f"training: {n_train} train / {n_valid} valid structures, {steps} steps of "
        f"batch {config.batch_size}, E+F (lambda_F = 4 A^2), cutoff 4.0 A, "
        f"hidden {tuple(hidden)} ..."
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nve_train_") as tmp:
        fit(train, valid, tmp, config, model_config=model_config)
        trained = load_model(Path(tmp) / "model")
        prov = dict(trained.provenance)
    prov["nve_drift"] = {
        "train_indices": [int(i) for i in split.train],
        "valid_indices": [int(i) for i in split.valid],
        "train_seconds": time.perf_counter() - t0,
    }
    save_model(trained, model_dir, provenance=prov)
    return prov


def model_summary(model_dir) -> dict:
    from gmnn.io import read_model_meta

    meta = read_model_meta(model_dir)
    prov = meta.get("provenance", {})
    best = prov.get("best_valid") or {}
    return {
        "dir": str(model_dir),
        "config": meta["config"],
        "n_train": prov.get("n_train"),
        "n_valid": prov.get("n_valid"),
        "steps_run": prov.get("steps_run"),
        "best_step": prov.get("best_step"),
        "train_seconds": (prov.get("nve_drift") or {}).get("train_seconds"),
        "valid_energy_mae_kcal_mol": best.get("valid_energy_mae"),
        "valid_force_mae_kcal_mol_A": best.get("valid_force_mae"),
        "valid_force_rmse_kcal_mol_A": best.get("valid_force_rmse"),
        "train_indices": (prov.get("nve_drift") or {}).get("train_indices"),
    }


# ----------------------------------------------------------------------------- MD
def inefficiency(res, n_blocks: int = BLOCKS) -> float:
    """Statistical inefficiency g >= 1 of the series ``res`` (block averaging: g =
    block length x variance of the block means / variance of the series, with
    ``n_blocks`` blocks): about how many successive samples make one independent one."""
    res = np.asarray(res, float)
    b = len(res) // n_blocks
    var = np.var(res)
    if b < 2 or var == 0:
        return 1.0
    means = res[: b * n_blocks].reshape(n_blocks, b).mean(axis=1)
    return float(max(1.0, b * np.var(means, ddof=1) / var))


def linear_fit(t, e) -> dict:
    """Least-squares line e = a + b t: slope b, its standard error (``slope_se_naive``
    for independent residuals; ``slope_se`` scaled by sqrt of the residuals' statistical
    inefficiency, since successive MD samples are correlated), residual RMS."""
    t = np.asarray(t, float)
    e = np.asarray(e, float)
    n = len(t)
    if n < 3 or not np.all(np.isfinite(e)):
        nan = math.nan
        return {
            "slope": nan,
            "slope_se": nan,
            "slope_se_naive": nan,
            "inefficiency": nan,
            "rms": nan,
            "intercept": nan,
        }
    tm, em = t.mean(), e.mean()
    sxx = np.sum((t - tm) ** 2)
    slope = float(np.sum((t - tm) * (e - em)) / sxx)
    intercept = float(em - slope * tm)
    res = e - (intercept + slope * t)
    se_naive = float(np.sqrt(np.sum(res**2) / (n - 2) / sxx))
    g = inefficiency(res)
    return {
        "slope": slope,
        "slope_se": se_naive * math.sqrt(g),
        "slope_se_naive": se_naive,
        "inefficiency": g,
        "rms": float(np.sqrt(np.mean(res**2))),
        "intercept": intercept,
    }


def start_atoms(data, index: int, temperature_K: float, seed: int):
    """Structure ``index`` of ``data`` with Maxwell-Boltzmann velocities at
    ``temperature_K`` (seeded), zero total momentum and zero angular momentum."""
    from ase.md.velocitydistribution import Stationary, ZeroRotation

    try:  # ASE >= 3.29
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # pragma: no cover - older ASE
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

    atoms = data.atoms(index)
    atoms.calc = None
    thermalize_momenta(atoms, temperature_K=temperature_K, rng=np.random.RandomState(seed))
    Stationary(atoms)
    ZeroRotation(atoms)
    return atoms


def run_nve(model_dir, atoms0, dtype: str, ps: float, timestep_fs: float, log=print) -> dict:
    """Velocity Verlet of a copy of ``atoms0`` with the model in ``dtype``."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    from gmnn.calculator import GMNNCalculator
    from gmnn.io import load_model

    atoms = atoms0.copy()
    atoms.set_momenta(atoms0.get_momenta())
    atoms.calc = GMNNCalculator(load_model(model_dir, dtype=dtype))
    n_steps = int(round(ps * 1000.0 / timestep_fs))
    n_records = n_steps // RECORD_EVERY
    dyn = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)

    t0 = time.perf_counter()
    atoms.get_potential_energy()  # trace/compile outside the timed loop
    first_call_s = time.perf_counter() - t0

    def sample():
        epot = atoms.get_potential_energy()
        ekin = atoms.get_kinetic_energy()
        return epot, ekin, atoms.get_temperature()

    epot, ekin, temp = [], [], []
    e, k, tk = sample()
    epot.append(e), ekin.append(k), temp.append(tk)
    finite = bool(np.isfinite(e + k))
    steps_done = 0
    t0 = time.perf_counter()
    report_every = max(1, n_records // 10)
    for r in range(n_records):
        dyn.run(RECORD_EVERY)
        steps_done += RECORD_EVERY
        e, k, tk = sample()
        epot.append(e), ekin.append(k), temp.append(tk)
        if not (np.isfinite(e + k) and np.all(np.isfinite(atoms.positions))):
            finite = False
            break
        if (r + 1) % report_every == 0:
            el = time.perf_counter() - t0
            log(
                f"  {dtype}: {steps_done * timestep_fs / 1000:.2f} ps, "
                f"E_tot - E_0 = {1000 * (e + k - epot[0] - ekin[0]):+.2f} meV, "
                f"T = {tk:.0f} K, {1000 * el / steps_done:.2f} ms/step"
            )
    wall = time.perf_counter() - t0

    epot, ekin, temp = (np.asarray(x, float) for x in (epot, ekin, temp))
    etot = epot + ekin
    t_ps = np.arange(len(etot)) * RECORD_EVERY * timestep_fs / 1000.0
    ok = np.isfinite(etot)
    fit = linear_fit(t_ps[ok], etot[ok])
    n_atoms = len(atoms)
    dev = np.abs(etot[ok] - etot[0]) if ok.any() else np.array([math.nan])
    stride = max(1, int(math.ceil(len(etot) / MAX_SERIES_POINTS)))
    half = int(ok.sum()) // 2
    halves = [
        linear_fit(t_ps[ok][:half], etot[ok][:half]),
        linear_fit(t_ps[ok][half:], etot[ok][half:]),
    ]
    drift = 1000.0 * fit["slope"]
    drift_se = 1000.0 * fit["slope_se"]
    noise = NOISE_SIGMAS * drift_se
    return {
        "dtype": dtype,
        "finite": finite,
        "n_atoms": n_atoms,
        "steps": steps_done,
        "steps_planned": n_steps,
        "ps_run": steps_done * timestep_fs / 1000.0,
        "drift_meV_per_ps": drift,
        "drift_se_meV_per_ps": drift_se,
        "drift_meV_per_ps_per_atom": drift / n_atoms,
        # the drift of each half of the run: a consistency check of the slope
        "drift_halves_meV_per_ps": [1000.0 * h["slope"] for h in halves],
        "drift_se_naive_meV_per_ps": 1000.0 * fit["slope_se_naive"],
        "residual_inefficiency": fit["inefficiency"],
        "drift_t": drift / drift_se if drift_se > 0 else math.inf,
        "noise_level_meV_per_ps": noise,
        "below_noise": bool(abs(drift) < noise),
        "drift_over_run_meV": drift * (t_ps[ok][-1] - t_ps[0]) if ok.any() else math.nan,
        "rms_fluctuation_meV": 1000.0 * fit["rms"],
        "max_abs_deviation_meV": float(1000.0 * np.max(dev)),
        "mean_temperature_K": float(np.mean(temp[ok])) if ok.any() else math.nan,
        "ms_per_step": 1000.0 * wall / max(1, steps_done),
        "first_call_s": first_call_s,
        "e_tot_0_eV": float(etot[0]),
        "series": {
            "every_steps": RECORD_EVERY * stride,
            "t_ps": t_ps[::stride].tolist(),
            "e_tot_minus_e0_meV": (1000.0 * (etot - etot[0]))[::stride].tolist(),
            "temperature_K": temp[::stride].tolist(),
        },
    }


# ----------------------------------------------------------------------------- verdict
def compare(r32: dict, r64: dict) -> dict:
    """float32 against float64.  The plain ratio |drift32|/|drift64| is meaningless when
    float64's drift is noise (it may be ~0 by chance), so the test is against float64's
    drift floored at its noise level: |drift32| <= 2 max(|drift64|, 2 SE64)."""
    d32, d64 = abs(r32["drift_meV_per_ps"]), abs(r64["drift_meV_per_ps"])
    ratio = d32 / d64 if d64 > 0 else math.inf
    floor64 = max(d64, r64["noise_level_meV_per_ps"])
    floored = d32 / floor64 if floor64 > 0 else math.inf
    finite = r32["finite"] and r64["finite"]
    passed = bool(finite and floored <= TARGET_RATIO)
    below = {d: r["below_noise"] for d, r in (("float32", r32), ("float64", r64))}
    if not finite:
        verdict = "FAIL: a run did not stay finite"
    else:
        noise = (
            "both drifts are below their noise level (|drift| < 2 SE): no measurable "
            "drift in either precision"
            if all(below.values())
            else ", ".join(
                f"{d} drift {'below' if b else 'above'} its noise level" for d, b in below.items()
            )
        )
        verdict = (
            f"{'PASS' if passed else 'FAIL'}: |drift32| / max(|drift64|, 2 SE64) = "
            f"{floored:.2f} {'<=' if passed else '>'} {TARGET_RATIO:g}; {noise}"
        )
    fluct = {
        d: r["drift_over_run_meV"] / r["rms_fluctuation_meV"]
        if r["rms_fluctuation_meV"] > 0
        else math.inf
        for d, r in (("float32", r32), ("float64", r64))
    }
    return {
        "ratio_abs_drift_32_64": ratio,
        "ratio_abs_drift_32_to_floored_64": floored,
        "target_ratio": TARGET_RATIO,
        "ratio_within_target": bool(ratio <= TARGET_RATIO),
        "passed": passed,
        "below_noise": below,
        "both_below_noise": all(below.values()),
        "fluctuation_ratio_32_64": r32["rms_fluctuation_meV"] / r64["rms_fluctuation_meV"]
        if r64["rms_fluctuation_meV"] > 0
        else math.inf,
        "drift_over_run_vs_fluctuation": fluct,
        "verdict": verdict,
    }


def format_table(res: dict) -> str:
    m = res["model"]
    lines = [
        f"NVE drift: rMD17 aspirin ({res['n_atoms']} atoms), velocity Verlet "
        f"{res['timestep_fs']} fs, {res['ps']} ps, T0 = {res['temperature_K']:g} K "
        f"(seed {res['seed']}), E_tot every {RECORD_EVERY} steps",
        f"model: {m['n_train']} train / {m['n_valid']} valid, {m['steps_run']} steps, "
        f"hidden {tuple(m['config']['hidden'])}; valid MAE "
        f"E {m['valid_energy_mae_kcal_mol']:.3f} kcal/mol, "
        f"F {m['valid_force_mae_kcal_mol_A']:.3f} kcal/mol/A",
        "",
        f"{'':22s}{'float32':>14s}{'float64':>14s}",
    ]
    r32, r64 = res["runs"]["float32"], res["runs"]["float64"]
    rows = [
        ("finite", "finite", "{}"),
        ("ps run", "ps_run", "{:.2f}"),
        ("drift meV/ps", "drift_meV_per_ps", "{:+.4f}"),
        ("  std. error", "drift_se_meV_per_ps", "{:.4f}"),
        ("  (naive, g)", None, None),
        ("drift meV/ps/atom", "drift_meV_per_ps_per_atom", "{:+.5f}"),
        ("  1st, 2nd half", "drift_halves_meV_per_ps", "{0[0]:+.2f},{0[1]:+.2f}"),
        ("drift over run meV", "drift_over_run_meV", "{:+.3f}"),
        ("RMS fluct. meV", "rms_fluctuation_meV", "{:.3f}"),
        ("max|E-E0| meV", "max_abs_deviation_meV", "{:.3f}"),
        ("mean T K", "mean_temperature_K", "{:.1f}"),
        ("ms / MD step", "ms_per_step", "{:.2f}"),
    ]
    for label, key, fmt in rows:
        if key is None:  # the uncorrected standard error and the inefficiency
            cells = [
                f"{r['drift_se_naive_meV_per_ps']:.4f},{r['residual_inefficiency']:.1f}"
                for r in (r32, r64)
            ]
            lines.append(f"{label:22s}{cells[0]:>14s}{cells[1]:>14s}")
            continue
        lines.append(f"{label:22s}{fmt.format(r32[key]):>14s}{fmt.format(r64[key]):>14s}")
    c = res["comparison"]
    lines += [
        "",
        f"|drift32|/|drift64| = {c['ratio_abs_drift_32_64']:.2f}; against float64's drift "
        f"floored at its noise level: {c['ratio_abs_drift_32_to_floored_64']:.2f} "
        f"(target <= {TARGET_RATIO:g}); RMS fluctuation 32/64 = "
        f"{c['fluctuation_ratio_32_64']:.2f}; drift over run / RMS fluctuation: "
        + ", ".join(f"{d} {v:+.2f}" for d, v in c["drift_over_run_vs_fluctuation"].items()),
        f"verdict: {c['verdict']}",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- entry
def run(
    data=None,
    model_dir=None,
    retrain: bool = False,
    quick: bool = False,
    ps: float | None = None,
    timestep_fs: float = 0.5,
    temperature_K: float = 300.0,
    seed: int = 0,
    n_train: int | None = None,
    n_valid: int | None = None,
    train_steps: int | None = None,
    dtypes=DTYPES,
    log=print,
) -> dict:
    """Train (or reuse) the model, run NVE in each precision, return all numbers."""
    preset = QUICK if quick else FULL
    data_path = Path(data) if data else default_data()
    model_dir = Path(model_dir) if model_dir else (QUICK_MODEL_DIR if quick else DEFAULT_MODEL_DIR)
    ps = preset["ps"] if ps is None else float(ps)
    structures = load_data(data_path)

    if retrain or not (model_dir / "model.json").is_file():
        train_model(
            structures,
            model_dir,
            n_train or preset["n_train"],
            n_valid or preset["n_valid"],
            train_steps or preset["steps"],
            preset["hidden"],
            seed=TRAIN_SEED,
            log=log,
        )
    else:
        log(f"reusing the model in {model_dir} (--retrain to train again)")
    model = model_summary(model_dir)
    log(
        f"model: validation MAE E {model['valid_energy_mae_kcal_mol']:.3f} kcal/mol, "
        f"F {model['valid_force_mae_kcal_mol_A']:.3f} kcal/mol/A"
    )

    index = int(model["train_indices"][0]) if model.get("train_indices") else 0
    atoms0 = start_atoms(structures, index, temperature_K, seed)
    runs = {}
    for dtype in dtypes:
        log(f"NVE {dtype}: {ps} ps at {timestep_fs} fs ...")
        runs[dtype] = run_nve(model_dir, atoms0, dtype, ps, timestep_fs, log=log)
    res = {
        "benchmark": "nve_drift",
        "quick": bool(quick),
        "data": str(data_path),
        "start_structure_index": index,
        "n_atoms": len(atoms0),
        "timestep_fs": timestep_fs,
        "ps": ps,
        "temperature_K": temperature_K,
        "seed": seed,
        "record_every_steps": RECORD_EVERY,
        "model": model,
        "runs": runs,
    }
    if "float32" in runs and "float64" in runs:
        res["comparison"] = compare(runs["float32"], runs["float64"])
    res["versions"] = _versions()
    return res


def _versions() -> dict:
    import ase
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "ase": ase.__version__, "numpy": np.__version__}


def _clean(obj):
    """JSON-safe: non-finite floats become None."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help=f"rMD17 aspirin npz (default {default_data()})")
    p.add_argument("--model-dir", default=None, help=f"model cache (default {DEFAULT_MODEL_DIR})")
    p.add_argument("--retrain", action="store_true", help="train the model even if cached")
    p.add_argument("--quick", action="store_true", help="tiny model, 0.5 ps (smoke test)")
    p.add_argument("--ps", type=float, default=None, help="trajectory length (default 10)")
    p.add_argument("--timestep", type=float, default=0.5, help="fs (default 0.5)")
    p.add_argument("--temperature", type=float, default=300.0, help="K (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of the velocities (default 0)")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-valid", type=int, default=None)
    p.add_argument("--train-steps", type=int, default=None)
    p.add_argument("--json", default=None, help="write every number here")
    args = p.parse_args(argv)
    try:
        res = run(
            data=args.data,
            model_dir=args.model_dir,
            retrain=args.retrain,
            quick=args.quick,
            ps=args.ps,
            timestep_fs=args.timestep,
            temperature_K=args.temperature,
            seed=args.seed,
            n_train=args.n_train,
            n_valid=args.n_valid,
            train_steps=args.train_steps,
        )
    except DataMissing as err:
        print(f"nve_drift: error: {err}", file=sys.stderr)
        return 2
    print()
    print(format_table(res))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(_clean(res), indent=1) + "\n")
        print(f"\nJSON written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
