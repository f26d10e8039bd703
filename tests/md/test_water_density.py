"""NPT of a periodic water box with a gmnn model: the density relaxes to a stable value.

A small GM-NN (4.0 Å cutoff, 64-64 hidden, float32) is trained with gmnn's own training
API (:func:`gmnn.train.fit`, energies and forces, a fixed number of optimiser steps) on the
GFN2-xTB water data committed in ``data/embedded/ani_xtb.h5``: the water clusters
``water2`` ... ``water6`` and the isolated molecule ``H2O`` (1,320 structures). packmol
(:func:`gmnn.md.solvate.solvate`) packs 32 waters into an orthorhombic box at 0.85 g/cm³,
below the model's equilibrium; after 200 fs of strongly damped Langevin NVT the box runs
under ASE's Melchionna NPT (:class:`gmnn.md.MDRun`, diagonal mask, 300 K, 1 bar,
thermostat and barostat times shortened to 100 fs so that the cell relaxes within
picoseconds), 0.5 fs steps. Checked: the angles stay at 90° while the three lengths change
independently, the density leaves its start value and settles (the last third of the run
has the mean of the middle third within the measured fluctuation, and a small relative
spread), the run does not diverge, and the density is that of a liquid (0.5-1.5 g/cm³).

Why these choices (measured while writing this test, 2 shared CPU cores):

* **Cutoff 4.0 Å, not ANI's 5.0 Å.** A molecule in a cluster of at most six waters has at
  most five neighbouring waters, one in the 0.85 g/cm³ box ~15 within 5 Å but ~8 within
  4 Å. Three 5 Å models (300, 600 and 2,000 training steps, validation force MAE 3.0, 1.4
  and 0.8 kcal/mol/Å) failed in the box: it heated to >800 K within 40 fs and broke an
  O-H bond (also after the Langevin start below), and a geometry optimisation with the
  best of them fell into an unphysical minimum (H-H 0.10 Å, 0.9 eV per water below the
  lowest training energy). With 4.0 Å (and 3.5 Å) the runs are stable.
* **Langevin pre-equilibration.** The packmol box has no hydrogen-bond network; forming
  it releases ~0.15 eV per water, which heats the box by ~400 K within ~20 fs, faster
  than a 100 fs Nose-Hoover thermostat removes it. 400 steps of Langevin at a friction of
  0.05/fs (a 20 fs relaxation time) hold it near 300 K; the NPT run continues from that
  state with its velocities (``initialise_velocities=False``).
* **The isolated molecule in the training set** gives the model the intramolecular O-H
  stretch and H-O-H bend at 500 K, beyond what the 300 K clusters sample.

Measured on 2 shared cores: 160-200 s in all (training 20-35 s, NPT 15-19 ms per step on
96 atoms, 8,400 MD steps), far above a 60 s budget, so the module is marked ``slow``. Three
runs gave bit-identical density traces (0.850 at the start, then every 0.5 ps: 0.888 1.013
1.048 1.047 1.079 1.018 1.064 0.954 g/cm³; thirds 1.047 +- 0.036 and 1.039 +- 0.047);
packmol and MD seeds 1 instead of 0 gave another trajectory with the same verdict (thirds
1.034 +- 0.042 and 1.054 +- 0.052 g/cm³).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
from ase.build import molecule
from ase.io import Trajectory

from gmnn.md import MDConfig, MDRun
from gmnn.md.solvate import PackmolError, density, find_packmol, solvate

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "data" / "embedded" / "ani_xtb.h5"
# the water systems of the embedded GFN2-xTB set (group names of the file)
WATER_SYSTEMS = ("H2O", "water2", "water3", "water4", "water5", "water6")

MODEL = {"cutoff": 4.0, "hidden": (64, 64), "dtype": "float32"}
TRAINING = {
    "steps": 1000,  # fixed length (~25 s); validation force MAE ~0.9 kcal/mol/Å
    "valid_every": 200,
    "batch_size": 32,
    "force_weight": 1.0,  # Å²; the mixed-size default 0.01 weights the forces too little for MD
    "seed": 0,
    "progress": False,
}

N_WATER = 32
START_DENSITY = 0.85  # g/cm³, below the model's equilibrium (measured ~1.04 g/cm³)
TIMESTEP_FS = 0.5
WRITE_INTERVAL = 20  # steps between frames: 10 fs
EQUILIBRATION_STEPS = 400  # 200 fs of Langevin NVT
NPT_STEPS = 8000  # 4 ps

# (d) the density of a liquid: the model's water is not a gas (which would expand without
# bound at 1 bar) and not collapsed (no real condensed phase of water is above ~1.5 g/cm³:
# ice VII at 2 GPa is 1.6 g/cm³); a wide window because this small model is not expected
# to reproduce 1.0 g/cm³.
PLAUSIBLE_DENSITY = (0.5, 1.5)


def _read_water(path: Path):
    """The water structures (``WATER_SYSTEMS``) of ``path``, split 90/10 (seeded)."""
    from gmnn.data import read_h5

    data = read_h5(path)
    names = list(data.group_names or ())
    missing = [name for name in WATER_SYSTEMS if name not in names]
    if missing:
        raise AssertionError(f"{path}: no system(s) {missing} among its groups {names}")
    index = np.flatnonzero(np.isin(data.groups, [names.index(n) for n in WATER_SYSTEMS]))
    rng = np.random.default_rng(0)
    rng.shuffle(index)
    n_valid = len(index) // 10
    return data[np.sort(index[n_valid:])], data[np.sort(index[:n_valid])]


@pytest.fixture(scope="module")
def water_model(tmp_path_factory):
    """(model, validation force MAE in kcal/mol/Å, training wall seconds)."""
    from gmnn.train import TrainConfig, fit

    train, valid = _read_water(DATA)
    out = tmp_path_factory.mktemp("water_model")
    t0 = time.perf_counter()
    model = fit(train, valid, out, TrainConfig(**TRAINING), model_config=MODEL, resume=False)
    seconds = time.perf_counter() - t0
    with open(out / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    best = [row for row in rows if row["best"] == "1"][-1]
    return model, float(best["valid_force_mae"]), seconds


@pytest.fixture(scope="module")
def water_box():
    """32 waters packed by packmol at 0.85 g/cm³ (one of them as the 'solute')."""
    try:
        find_packmol()
    except PackmolError as err:
        pytest.skip(f"packmol unavailable: {err}")
    box = solvate(
        molecule("H2O"),
        N_WATER - 1,
        density_g_cm3=START_DENSITY,
        margin=1.0,
        tolerance=2.0,
        seed=0,
    )
    assert len(box) == 3 * N_WATER and box.get_chemical_symbols() == ["O", "H", "H"] * N_WATER
    return box


def _frames(path: Path) -> list:
    with Trajectory(str(path)) as traj:
        return [atoms.copy() for atoms in traj]


def test_npt_water_density_relaxes_to_a_stable_liquid_value(water_box, water_model, tmp_path):
    from gmnn.calculator import GMNNCalculator

    model, force_mae, train_seconds = water_model
    # a model this size reaches ~0.9 kcal/mol/Å; far above, the MD below tests nothing
    assert force_mae < 2.0, f"validation force MAE {force_mae:.2f} kcal/mol/Å: training failed"
    calc = GMNNCalculator(model)

    equilibration = MDConfig(
        steps=EQUILIBRATION_STEPS,
        integrator="langevin",
        friction_per_fs=0.05,
        timestep_fs=TIMESTEP_FS,
        write_interval=WRITE_INTERVAL,
        checkpoint_interval=EQUILIBRATION_STEPS,
        seed=0,
    )
    summary = MDRun(water_box, calc, equilibration, trajectory=tmp_path / "nvt.traj").run()
    assert not summary["diverged"], summary["reason"]
    start = _frames(tmp_path / "nvt.traj")[-1]
    np.testing.assert_allclose(density(start), START_DENSITY, rtol=1e-9)  # NVT: cell kept

    npt = MDConfig(
        steps=NPT_STEPS,
        integrator="npt_melchionna",
        temperature_K=300.0,
        pressure_bar=1.0,
        thermostat_time_fs=100.0,
        barostat_time_fs=100.0,
        timestep_fs=TIMESTEP_FS,
        write_interval=WRITE_INTERVAL,
        checkpoint_interval=NPT_STEPS,
        seed=0,
        initialise_velocities=False,  # continue with the equilibrated velocities
    )
    summary = MDRun(start, calc, npt, trajectory=tmp_path / "npt.traj").run()
    frames = _frames(tmp_path / "npt.traj")
    rho = np.array([density(f) for f in frames])
    cells = np.array([f.cell.cellpar() for f in frames])
    temperature = np.array([f.get_temperature() for f in frames])
    per_half_ps = int(500 / (WRITE_INTERVAL * TIMESTEP_FS))
    print(
        f"\ntraining {train_seconds:.1f} s (valid force MAE {force_mae:.2f} kcal/mol/Å); "
        f"NPT {1e3 * summary['seconds_per_step']:.1f} ms/step\n"
        "density every 0.5 ps (g/cm³): " + " ".join(f"{d:.3f}" for d in rho[::per_half_ps])
    )

    # (c) no divergence over the whole run
    assert not summary["diverged"], summary["reason"]
    assert summary["steps_done"] == NPT_STEPS and len(frames) == NPT_STEPS // WRITE_INTERVAL + 1

    # (a) diagonal mask: angles fixed to round-off, the three lengths move independently
    np.testing.assert_allclose(cells[:, 3:], 90.0, atol=1e-8)
    lengths = cells[:, :3]
    strain = lengths / lengths[0] - 1.0  # relative change of each length over the run
    assert np.all(np.ptp(strain, axis=0) > 0.01), np.ptp(strain, axis=0)
    # independent: not one isotropic scaling (all three strains equal at every frame)
    assert np.max(np.ptp(strain, axis=1)) > 0.01, np.ptp(strain, axis=1)

    # the thermostat holds 300 K (96 atoms: instantaneous spread ~±15%)
    assert 270.0 < temperature[len(frames) // 3 :].mean() < 330.0, temperature.mean()

    # (b) moves away from the start, then settles
    n = len(rho) // 3
    middle, last = rho[n : 2 * n], rho[2 * n :]
    print(
        f"middle third {middle.mean():.4f} +- {middle.std():.4f}, last third "
        f"{last.mean():.4f} +- {last.std():.4f} g/cm³; lengths at the end "
        f"{np.round(lengths[-1], 2).tolist()} Å (start {np.round(lengths[0], 2).tolist()})"
    )
    # measured: 0.85 -> 1.04 g/cm³, 4.0 standard deviations of the last third; two of them
    # tell a real shift from the fluctuation
    assert abs(last.mean() - START_DENSITY) > 2.0 * last.std(), (last.mean(), last.std())
    # the density's integrated autocorrelation time is ~65 fs (first zero ~190 fs), so a
    # third (1.33 ps) holds ~10 independent samples and two block means of a stationary
    # series differ by ~0.45 standard deviations (measured: 0.18); two standard deviations
    # of the last third allow for the slow oscillation of the box shape, not for a drift
    assert abs(last.mean() - middle.mean()) < 2.0 * last.std(), (
        middle.mean(),
        last.mean(),
        last.std(),
    )
    # relative spread over the last third: a 32-water box of real water (compressibility
    # 4.5e-10 1/Pa) fluctuates by sqrt(kT kappa / V) = 4% in volume at 300 K; measured
    # 4.6%; 8% allows for the ~25% statistical error of a spread from ~10 samples
    assert last.std() / last.mean() < 0.08, last.std() / last.mean()

    # (d) a liquid's density
    low, high = PLAUSIBLE_DENSITY
    assert low < rho.min() and rho.max() < high, (rho.min(), rho.max())
