"""gmnn.md Nose-Hoover NVT and NPT (Melchionna, masked MTK) runs: angles fixed while the
lengths relax toward the set pressure, NVT holds the cell and the temperature, a killed
run resumes bit-identically (cell in every frame), settings and start errors name the key.

EMT on a 32-atom Cu fcc box (EMT has stress) keeps every run under a few seconds."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.calculator import all_changes
from ase.calculators.emt import EMT
from ase.io import Trajectory

from gmnn.md import MDConfig, MDInterrupted, MDRun, checkpoint_path, run_md
from gmnn.runs import read_checkpoint
from gmnn.settings import SettingsError

NPT = ("npt_melchionna", "npt_mtk")
NEW_SETTINGS = ("thermostat_time_fs", "barostat_time_fs", "pressure_bar", "bulk_modulus_GPa")


class TermEMT(EMT):
    """EMT without history that sends SIGTERM to this process at its ``term_at``-th
    calculation. ASE's EMT keeps its neighbour list while the atoms move less than the
    skin, so its forces depend on where the list was built (the order of the sums: a
    resumed run then differs by ~1e-15 Å and grows); this one rebuilds the list at every
    call, so that equal states give equal forces and a resume can be compared bit by bit.
    """

    def __init__(self, term_at=None):
        super().__init__()
        self.calls, self.term_at = 0, term_at

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        self.calls += 1
        if self.calls == self.term_at:
            os.kill(os.getpid(), signal.SIGTERM)
        super().calculate(atoms, properties, all_changes)  # all_changes: a new neighbour list


def copper(volume_factor: float = 1.0):
    """2x2x2 cubic Cu cells (32 atoms, EMT's lattice), volume scaled by ``volume_factor``."""
    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    atoms.set_cell(atoms.cell * volume_factor ** (1 / 3), scale_atoms=True)
    return atoms


def config(integrator, steps=300, **changes):
    settings = dict(
        steps=steps,
        integrator=integrator,
        timestep_fs=2.0,
        write_interval=10,
        checkpoint_interval=40,
        thermostat_time_fs=50.0,
        barostat_time_fs=100.0,
        bulk_modulus_GPa=140.0,  # copper's
        seed=1,
        divergence={"bond_factor": None},  # (a metal: no covalent bonds)
    )
    return MDConfig(**{**settings, **changes})


def read(path):
    with Trajectory(str(path)) as traj:
        return [a.copy() for a in traj]


@pytest.mark.parametrize("integrator", NPT)
def test_npt_keeps_the_angles_and_relaxes_the_lengths_toward_the_set_pressure(integrator, tmp_path):
    start, equilibrium = copper(1.05).get_volume(), copper().get_volume()
    cfg = config(integrator, 400)
    summary = MDRun(copper(1.05), EMT(), cfg, trajectory=tmp_path / "t.traj").run()
    frames = read(tmp_path / "t.traj")
    assert summary["frames"] == len(frames) == 41 and not summary["diverged"]
    cells = np.array([f.cell.cellpar() for f in frames])
    np.testing.assert_allclose(cells[:, 3:], 90.0, atol=1e-8)  # angles fixed
    lengths = cells[:, :3]
    assert np.all(np.abs(lengths[-1] - lengths[0]) / lengths[0] > 1e-3), lengths[-1]
    volumes = np.array([f.get_volume() for f in frames])
    # the volume oscillates about its equilibrium (a period of ~330 fs here, barely damped
    # in Melchionna's scheme): the mean over the second half (400 fs) is near it
    late = volumes[20:].mean()
    assert abs(late - equilibrium) < 0.3 * (start - equilibrium), (late, equilibrium, start)
    assert summary["volume_A3"] == pytest.approx(volumes[-1])


def test_nose_hoover_keeps_the_cell_and_holds_the_temperature(tmp_path):
    atoms = copper()
    summary = MDRun(atoms, EMT(), config("nose_hoover", 400), trajectory=tmp_path / "t.traj").run()
    frames = read(tmp_path / "t.traj")
    assert summary["frames"] == len(frames) == 41 and summary["thermostat_time_fs"] == 50.0
    for frame in frames:
        np.testing.assert_array_equal(frame.cell.array, atoms.cell.array)
    # a perfect lattice drawn at 300 K falls to ~150 K (equipartition) without a thermostat
    temperature = np.mean([f.get_temperature() for f in frames[20:]])
    # no FixCom: the zero net momentum of the start velocities keeps the centre of mass
    drift = frames[-1].get_center_of_mass() - atoms.get_center_of_mass()
    assert np.abs(drift).max() < 1e-8
    assert temperature == pytest.approx(300.0, rel=0.1)


@pytest.mark.parametrize("integrator", ["nose_hoover", *NPT])
def test_a_killed_run_resumes_bit_identically_with_the_cell_in_every_frame(integrator, tmp_path):
    cfg = config(integrator, steps=120)
    final = tmp_path / "run" / "md.traj"
    with pytest.raises(MDInterrupted):
        run_md(copper(1.05), TermEMT(term_at=70), cfg, final)
    saved = read_checkpoint(checkpoint_path(final))
    assert 0 < int(saved["step"]) < 120 and saved["cell"].shape == (3, 3)
    assert any(k.startswith("integrator.") for k in saved)
    summary = run_md(copper(1.05), TermEMT(), cfg, final)
    assert summary["resumed_from_step"] == int(saved["step"]) and summary["steps_done"] == 120
    reference = tmp_path / "reference.traj"
    MDRun(copper(1.05), TermEMT(), cfg, trajectory=reference).run()
    resumed, uninterrupted = read(final), read(reference)
    assert len(resumed) == len(uninterrupted) == 13
    for a, b in zip(resumed, uninterrupted, strict=True):
        np.testing.assert_array_equal(a.cell.array, b.cell.array)
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.get_momenta(), b.get_momenta())
    if integrator in NPT:
        assert len({f.get_volume() for f in resumed}) > 5  # the cell really moved


def test_a_langevin_checkpoint_without_cell_or_integrator_state_still_resumes(tmp_path):
    cfg = MDConfig(steps=40, write_interval=2, checkpoint_interval=20, seed=4)
    traj, ck = tmp_path / "md.traj", tmp_path / "md.ckpt.npz"
    MDRun(molecule("H2O"), EMT(), cfg, trajectory=traj, checkpoint=ck).run()
    old = {k: v for k, v in read_checkpoint(ck).items() if k != "cell"}
    assert not any(k.startswith("integrator.") for k in old)
    np.savez(ck, **old)  # a checkpoint as written before NPT existed
    summary = MDRun(molecule("H2O"), EMT(), cfg, trajectory=traj, checkpoint=ck).run()
    assert summary["resumed_from_step"] == 20 and summary["frames"] == 21
    assert not set(NEW_SETTINGS) & set(summary)  # a Langevin summary as before


def test_identity_holds_only_the_settings_of_the_integrator():
    langevin = MDConfig(steps=10).identity()
    assert not set(NEW_SETTINGS) & set(langevin) and "friction_per_fs" in langevin
    assert langevin == MDConfig(steps=10, bulk_modulus_GPa=9.0, pressure_bar=5.0).identity()
    nvt = MDConfig(steps=10, integrator="nose_hoover").identity()
    assert "thermostat_time_fs" in nvt and "friction_per_fs" not in nvt
    assert "barostat_time_fs" not in nvt
    mtk = MDConfig(steps=10, integrator="npt_mtk").identity()
    assert mtk != MDConfig(steps=10, integrator="npt_mtk", pressure_bar=2.0).identity()
    assert "bulk_modulus_GPa" not in mtk
    melchionna = MDConfig(steps=10, integrator="npt_melchionna")
    assert (melchionna.thermostat_time_fs, melchionna.barostat_time_fs) == (1000.0, 1000.0)
    assert (melchionna.temperature_K, melchionna.pressure_bar) == (300.0, 1.0)
    assert melchionna.bulk_modulus_GPa == 2.2


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"bulk_modulus_GPa": -2.2}, "bulk_modulus_GPa"),
        ({"thermostat_time_fs": 0.0}, "thermostat_time_fs"),
        ({"barostat_time_fs": -1.0}, "barostat_time_fs"),
        ({"pressure_bar": float("nan")}, "pressure_bar"),
        ({"integrator": "npt"}, "integrator"),
    ],
)
def test_bad_settings_name_the_key(changes, key):
    with pytest.raises(SettingsError) as err:
        MDConfig.from_dict({"steps": 10, **changes})
    assert err.value.key == f"md.dynamics.{key}"


class NoStress(EMT):
    implemented_properties = ["energy", "forces"]


@pytest.mark.parametrize("integrator", NPT)
@pytest.mark.parametrize(
    ("atoms", "calc", "problem"),
    [
        (molecule("H2O"), EMT, "periodic in x, y and z"),
        (copper(), NoStress, "needs the stress, which the calculator NoStress"),
    ],
)
def test_an_npt_start_it_cannot_run_names_the_integrator(integrator, atoms, calc, problem):
    with pytest.raises(ValueError, match=f"^md.dynamics.integrator: '{integrator}'.*{problem}"):
        MDRun(atoms, calc(), config(integrator))


def test_melchionna_refuses_a_cell_that_is_not_triangular():
    atoms = copper()
    atoms.set_cell([[7.2, 0.5, 0.1], [0.3, 7.2, 0.2], [0.1, 0.4, 7.2]], scale_atoms=True)
    with pytest.raises(ValueError, match="triangular cell matrix"):
        MDRun(atoms, EMT(), config("npt_melchionna"))
    MDRun(atoms, EMT(), config("npt_mtk"))  # MTK takes any cell
