"""ASE calculators, Langevin MD, divergence detection, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _synthetic import emt_structures
from ase import Atoms
from ase.build import molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.io import read as ase_read
from ase.io import write as ase_write

from gmnn.calculator import EnsembleCalculator, GMNNCalculator
from gmnn.cli import main
from gmnn.io import save_model
from gmnn.md import MDConfig, MDRun
from gmnn.model import GMNN


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    paths = []
    for seed in range(3):
        m = GMNN(species=[1, 6, 8], hidden=(16, 16), seed=seed)
        m.energy_scale.assign(0.02)
        paths.append(save_model(m, root / f"m{seed}"))
    return paths


def test_calculator_matches_model_and_numerical_forces(models):
    atoms = molecule("CH3CH2OH")
    atoms.calc = GMNNCalculator(models[0], dtype="float64")
    f = atoms.get_forces()
    h = 1e-5
    a = atoms.copy()
    a.calc = atoms.calc
    a.positions[4, 2] += h
    ep = a.get_potential_energy()
    a.positions[4, 2] -= 2 * h
    em = a.get_potential_energy()
    assert f[4, 2] == pytest.approx(-(ep - em) / (2 * h), abs=1e-7)


def test_ensemble_mean_and_spread(models):
    atoms = molecule("CH3CH2OH")
    singles = []
    for p in models:
        a = atoms.copy()
        a.calc = GMNNCalculator(p)
        singles.append((a.get_potential_energy(), a.get_forces()))
    atoms.calc = EnsembleCalculator(models)
    e = atoms.get_potential_energy()
    energies = np.array([s[0] for s in singles])
    assert e == pytest.approx(energies.mean(), rel=1e-6)
    np.testing.assert_allclose(atoms.get_forces(), np.mean([s[1] for s in singles], 0), atol=1e-5)
    assert atoms.calc.results["energy_std"] == pytest.approx(energies.std(), rel=1e-5)
    assert atoms.calc.results["forces_std"].shape == (9, 3)
    assert atoms.calc.results["forces_std_max"] > 0


def test_stress_for_periodic_cells_only(models):
    water = molecule("H2O")
    water.cell = [3.0, 3.0, 3.0]
    water.pbc = True
    water.calc = GMNNCalculator(models[0])
    assert water.get_stress().shape == (6,)
    mol = molecule("H2O")
    mol.calc = GMNNCalculator(models[0])
    with pytest.raises(ValueError, match="periodic"):
        mol.get_stress()


def test_fingerprint_identifies_the_weights(models):
    """The same model loaded twice: one fingerprint; another model, precision or member
    order: another."""
    one = GMNNCalculator(models[0]).fingerprint()
    assert one == GMNNCalculator(models[0]).fingerprint()
    assert set(one) == {"calculator", "config", "weights"} and len(one["weights"]) == 64
    assert one != GMNNCalculator(models[1]).fingerprint()
    assert one != GMNNCalculator(models[0], dtype="float64").fingerprint()
    pair = EnsembleCalculator(models[:2]).fingerprint()
    assert pair["models"][0] == {k: one[k] for k in ("config", "weights")}
    assert pair != EnsembleCalculator(models[1::-1]).fingerprint()


class Exploding(Calculator):
    """A deliberately broken potential: a force that grows without bound with time."""

    implemented_properties = ["energy", "forces"]

    def __init__(self):
        super().__init__()
        self.calls = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        forces = np.zeros((len(self.atoms), 3))
        forces[0, 0] = 0.5 * self.calls  # eV/Å, pulls atom 0 away
        self.results = {"energy": -0.1 * self.calls, "forces": forces}


def test_divergence_is_detected_and_recorded(tmp_path):
    atoms = molecule("H2O")
    config = MDConfig(steps=5000, write_interval=10, friction_per_fs=0.01)
    summary = MDRun(atoms, Exploding(), config, trajectory=tmp_path / "t.traj").run()
    assert summary["diverged"]
    assert summary["steps_done"] < 5000
    assert "stretched" in summary["reason"] or "force" in summary["reason"]
    frames = ase_read(tmp_path / "t.traj", ":")
    assert len(frames) >= 1


def test_stable_md_runs_to_the_end(models, tmp_path):
    atoms = molecule("CH3CH2OH")
    calc = GMNNCalculator(models[0])
    config = MDConfig(steps=20, write_interval=5, friction_per_fs=0.01)
    summary = MDRun(atoms, calc, config, trajectory=tmp_path / "md.traj").run()
    assert not summary["diverged"] and summary["steps_done"] == 20
    assert len(ase_read(tmp_path / "md.traj", ":")) == 5  # steps 0, 5, 10, 15, 20


def test_cli_train_evaluate_md_info(tmp_path, capsys):
    data = emt_structures("CH3CH2OH", n=30, seed=4)
    data_file = str(tmp_path / "data.extxyz")
    ase_write(data_file, data.to_ase())
    trained, finetuned = str(tmp_path / "run" / "model"), str(tmp_path / "ft" / "model")
    # the data and batches of the training and of the fine-tuning
    common = ["--data", data_file, "--n-train", "20", "--n-valid", "5", "--batch-size", "8"]
    common += ["--no-progress"]
    train = ["--out", str(tmp_path / "run"), "--epochs", "2", "--hidden", "16"]
    assert main(["train", *common, *train]) == 0
    finetune = ["--pretrained", trained, "--loss", "E", "--out", str(tmp_path / "ft")]
    assert main(["finetune", *common, *finetune, "--epochs", "1"]) == 0
    capsys.readouterr()
    out_json = tmp_path / "metrics.json"
    evaluate = ["evaluate", "--model", finetuned, "--data", data_file]
    assert main([*evaluate, "--out", str(out_json)]) == 0
    metrics = json.loads(out_json.read_text())
    assert set(metrics) >= {"energy_mae", "energy_rmse", "force_mae", "force_rmse"}
    assert metrics["units"]["energy"] == "kcal/mol"
    ase_write(tmp_path / "start.xyz", molecule("CH3CH2OH"))
    md_args = [
        "md",
        "--model",
        trained,
        finetuned,
        "--structure",
        str(tmp_path / "start.xyz"),
        "--steps",
        "10",
        "--write-interval",
        "5",
        "--summary",
        str(tmp_path / "md.json"),
        "--checkpoint",
        str(tmp_path / "md.ckpt.npz"),
        "--checkpoint-interval",
        "5",
    ]
    rc = main(md_args)
    assert rc == 0
    assert json.loads((tmp_path / "md.json").read_text())["steps_done"] == 10
    assert (tmp_path / "md.ckpt.npz").exists()  # written at step 5
    # the checkpoint of another temperature: an error naming it, or --restart
    capsys.readouterr()
    assert main([*md_args, "--temperature-K", "100"]) == 2
    assert "dynamics.temperature_K: 300.0 before, now 100.0" in capsys.readouterr().err
    assert main([*md_args, "--temperature-K", "100", "--restart"]) == 0
    assert json.loads((tmp_path / "md.json").read_text())["resumed_from_step"] == 0
    assert main([*md_args, "--temperature-K", "100"]) == 0
    assert json.loads((tmp_path / "md.json").read_text())["resumed_from_step"] == 5
    assert main(["info", finetuned]) == 0
    # bad input: a clear error and exit code 2
    (tmp_path / "bad.xyz").write_text("garbage\n")
    rc = main(["evaluate", "--model", finetuned, "--data", str(tmp_path / "bad.xyz")])
    assert rc == 2
    assert "bad.xyz" in capsys.readouterr().err


def test_single_atom_molecule_has_no_pairs(models):
    atoms = Atoms("O", positions=[[0, 0, 0]])
    atoms.calc = GMNNCalculator(models[0])
    np.testing.assert_array_equal(atoms.get_forces(), 0.0)


def test_ensemble_forces_are_the_gradient_of_the_mean_energy():
    """Mean forces of the members = -d(mean energy)/dR (central differences, float64)."""
    atoms = molecule("CH3CH2OH")
    members = [GMNN([1, 6, 8], {"cutoff": 4.0, "dtype": "float64"}, seed=k) for k in range(3)]
    for m in members:
        m.energy_scale.assign(0.05)
    atoms.calc = EnsembleCalculator(members)
    forces = atoms.get_forces()
    h, numeric = 1e-5, np.zeros_like(forces)
    for i in range(len(atoms)):
        for a in range(3):
            e = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[i, a] += sign * h
                moved.calc = atoms.calc
                e.append(moved.get_potential_energy())
            numeric[i, a] = -(e[0] - e[1]) / (2 * h)
    np.testing.assert_allclose(forces, numeric, atol=1e-7 * max(1.0, np.abs(numeric).max()))


def test_md_frames_carry_the_ensemble_spread(models, tmp_path):
    from ase.io import Trajectory

    atoms = molecule("CH3CH2OH")
    config = MDConfig(steps=6, write_interval=3, checkpoint_interval=6, seed=0)
    MDRun(atoms, EnsembleCalculator(models), config, trajectory=tmp_path / "md.traj").run()
    with Trajectory(str(tmp_path / "md.traj")) as traj:
        frames = list(traj)
    assert len(frames) == 3
    for frame in frames:
        assert frame.info["forces_std_max"] > 0 and frame.info["energy_std"] >= 0
    MDRun(atoms, GMNNCalculator(models[0]), config, trajectory=tmp_path / "one.traj").run()
    with Trajectory(str(tmp_path / "one.traj")) as traj:
        assert "forces_std_max" not in traj[0].info
