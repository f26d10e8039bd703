"""Tests of gmnn.refdata.qc: GFN2-xTB sampling, PySCF labels, units and the embedded data.

Fast tests use tiny systems (H2, H2O in small basis sets). The slow tests validate the
committed data/embedded/ files: analytic forces against finite differences of the energy
at the level of theory stored in the files, and the reproducibility of one label.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import ase
import numpy as np
import pytest
from ase import units

from gmnn.analysis.structure import covalent_bonds
from gmnn.refdata import qc

needs_tblite = pytest.mark.skipif(find_spec("tblite") is None, reason="tblite not installed")
needs_pyscf = pytest.mark.skipif(find_spec("pyscf") is None, reason="pyscf not installed")

EMBEDDED = Path(__file__).resolve().parents[2] / "data" / "embedded"

pytestmark = pytest.mark.usefixtures("one_pyscf_thread")  # tests/data/conftest.py


def distorted_water() -> ase.Atoms:
    """H2O away from its minimum (nonzero forces) and without symmetry."""
    return ase.Atoms("OH2", positions=[[0.0, 0.0, 0.05], [0.02, 0.78, 0.55], [0.0, -0.74, 0.6]])


# ------------------------------------------------------------------------- pure functions


def test_build_molecule_accepts_common_and_g2_names():
    assert qc.build_molecule("ethanol").get_chemical_formula() == "C2H6O"
    assert qc.build_molecule("CH3CH2OH").get_chemical_formula() == "C2H6O"
    with pytest.raises(ValueError, match="unknown molecule 'unobtainium'"):
        qc.build_molecule("unobtainium")


@pytest.mark.parametrize(("n_dft", "n_cc"), [(1200, 600), (10, 3), (5, 0), (0, 4), (7, 7)])
def test_split_frames_is_a_disjoint_even_partition(n_dft, n_cc):
    split = qc.split_frames(n_dft, n_cc)
    assert len(split["dft"]) == n_dft and len(split["cc"]) == n_cc
    assert np.array_equal(
        np.sort(np.concatenate([split["dft"], split["cc"]])), np.arange(n_dft + n_cc)
    )
    if n_cc > 1:  # CC frames spread over the whole trajectory
        gaps = np.diff(split["cc"])
        assert gaps.max() - gaps.min() <= 1


def test_split_frames_rejects_negative_counts():
    with pytest.raises(ValueError, match="must be >= 0"):
        qc.split_frames(-1, 3)


def test_provenance_names_the_codes():
    versions = qc.provenance()
    assert {"python", "pyscf", "tblite", "ase", "numpy"} <= set(versions)
    assert versions["numpy"] == np.__version__


# ------------------------------------------------------------------------- sampling


@needs_tblite
def test_xtb_sampling_is_reproducible_and_sane():
    start = qc.build_molecule("ethanol")
    kwargs = dict(temperature_K=500, timestep_fs=0.5, n_equil=20, n_frames=4, stride=5)
    frames = qc.sample_xtb_md(start, seed=3, **kwargs)
    again = qc.sample_xtb_md(start, seed=3, **kwargs)
    other = qc.sample_xtb_md(start, seed=4, **kwargs)

    assert len(frames) == 4
    for k, (a, b) in enumerate(zip(frames, again, strict=True)):
        assert np.array_equal(a.positions, b.positions)
        assert a.info == b.info
        assert a.info["frame"] == k
        assert a.info["step"] == 20 + 5 * (k + 1)
        assert a.info["time_fs"] == pytest.approx(0.5 * a.info["step"])
    assert not np.allclose(frames[-1].positions, other[-1].positions)

    def bonds(atoms):  # the topology the sampler checks
        return covalent_bonds(atoms.numbers, atoms.positions, factor=qc.SAMPLING_BOND_FACTOR)

    reference_bonds = bonds(start)
    for frame in frames:
        assert frame.calc is None and not frame.constraints
        assert np.array_equal(frame.numbers, start.numbers)
        assert np.array_equal(bonds(frame), reference_bonds)
        distances = frame.get_all_distances()[np.triu_indices(len(frame), 1)]
        assert distances.min() > 0.8  # Å: no collapsed atoms
        assert np.allclose(frame.get_center_of_mass(), start.get_center_of_mass(), atol=1e-6)
        # GFN2-xTB total energy of ethanol is about -11.4 Hartree
        assert frame.info["xtb_energy_eV"] == pytest.approx(-11.4 * units.Hartree, rel=0.02)
        assert 0 < frame.info["kinetic_temperature_K"] < 2000
    assert start.calc is None  # the input is not modified


@needs_tblite
def test_xtb_sampling_rejects_bad_arguments():
    water = distorted_water()
    with pytest.raises(ValueError, match="stride >= 1"):
        qc.sample_xtb_md(water, 300, 0.5, 0, 2, 0, seed=0)
    with pytest.raises(ValueError, match="must be positive"):
        qc.sample_xtb_md(water, -300, 0.5, 0, 2, 1, seed=0)


# ------------------------------------------------------------------------- labels


@needs_pyscf
def test_h2_energies_match_known_pyscf_values_in_ev():
    """H2/STO-3G at 0.735 Å: RHF -1.116998996754 Ha, FCI (= CCSD(T)) -1.137306035753 Ha."""
    h2 = ase.Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.735]])
    for method, hartree in (("HF", -1.116998996754), ("CCSD(T)", -1.137306035753)):
        energy, forces, info = qc.label_pyscf([h2], method, "STO-3G")
        assert energy.shape == (1,) and forces.shape == (2, 3)
        assert energy[0] == pytest.approx(hartree * units.Hartree, abs=1e-6)
        assert np.allclose(forces[:, :2], 0, atol=1e-8)  # along the bond,
        assert forces[0, 2] == pytest.approx(-forces[1, 2], abs=1e-8)  # equal and opposite
        assert info["method"] == method and info["n_basis"] == [2]


@needs_pyscf
@pytest.mark.parametrize(
    ("method", "frozen_core", "tolerance"),
    [
        ("PBE", False, 2e-3),  # eV/Å; PySCF DFT gradients omit the grid response
        ("MP2", True, 2e-4),
        ("CCSD(T)", False, 2e-4),
        ("CCSD(T)", True, 2e-4),
    ],
)
def test_forces_match_finite_differences(method, frozen_core, tolerance):
    water = distorted_water()
    components = [(0, 2), (1, 1), (2, 0)]
    _, forces, info = qc.label_pyscf(
        [water], method, "6-31G", frozen_core=frozen_core, conv_tol=1e-11, cc_conv_tol=1e-10
    )
    numeric = qc.finite_difference_forces(
        water, method, "6-31G", components, frozen_core=frozen_core
    )
    analytic = np.array([forces[atom, axis] for atom, axis in components])
    assert np.abs(analytic).max() > 0.5  # a real test: forces are large here
    assert np.abs(analytic - numeric).max() < tolerance
    assert info["n_frozen_orbitals"] == [1 if frozen_core else 0]
    assert info["xc"] == ("PBE" if method == "PBE" else None)


@needs_pyscf
def test_label_reports_and_drops_unconverged_structures(monkeypatch):
    structures = [distorted_water(), distorted_water()]
    structures[1].info["frame"] = 17
    original = qc._scf

    def fail_on_frame_17(mol, s, frame, retries):
        if frame == 17:
            raise qc.ConvergenceError("SCF", frame)
        return original(mol, s, frame, retries)

    monkeypatch.setattr(qc, "_scf", fail_on_frame_17)
    with pytest.raises(qc.ConvergenceError, match="SCF did not converge for frame 17"):
        qc.label_pyscf(structures, "HF", "STO-3G")
    energy, forces, info = qc.label_pyscf(structures, "HF", "STO-3G", on_failure="drop")
    assert np.isfinite(energy[0]) and np.isnan(energy[1])
    assert np.isfinite(forces[:3]).all() and np.isnan(forces[3:]).all()
    assert info["failures"] == [{"index": 1, "frame": 17, "stage": "SCF"}]
    assert info["frames"] == [0, 17]


@needs_pyscf
def test_label_rejects_bad_requests():
    water = distorted_water()
    with pytest.raises(ValueError, match="unknown method 'NOT-A-FUNCTIONAL'"):
        qc.label_pyscf([water], "NOT-A-FUNCTIONAL", "STO-3G")
    with pytest.raises(ValueError, match="frozen_core applies to MP2"):
        qc.label_pyscf([water], "PBE", "STO-3G", frozen_core=True)
    with pytest.raises(ValueError, match="odd number of electrons"):
        qc.label_pyscf([ase.Atoms("OH", positions=[[0, 0, 0], [0, 0, 0.97]])], "HF", "STO-3G")
    with pytest.raises(ValueError, match="on_failure"):
        qc.label_pyscf([water], "HF", "STO-3G", on_failure="ignore")


# ------------------------------------------------------------------------- committed data


def embedded_file(level: str):
    import yaml

    from gmnn.data import read_h5

    config = yaml.safe_load((EMBEDDED.parents[1] / "config.yaml").read_text())
    path = EMBEDDED / f"{config['embedded_data']['molecule']}_{level}.h5"
    if not path.is_file():
        pytest.skip(f"{path} not generated yet (rules/embedded.smk)")
    return read_h5(path)


@pytest.mark.slow
@needs_pyscf
@pytest.mark.parametrize(("level", "tolerance"), [("cc", 5e-4), ("dft", 5e-3)])
def test_embedded_forces_match_finite_differences(level, tolerance):
    """Stored forces of the first structure vs. central differences of the energy (eV/Å).

    DFT forces omit the grid response of PySCF's integration grid, hence the looser bound.
    """
    data = embedded_file(level)
    meta = data.meta
    atoms = data.atoms(0)
    numbers = list(atoms.numbers)
    # a carbon, the oxygen and the last hydrogen
    components = [(numbers.index(6), 0), (numbers.index(8), 1), (len(numbers) - 1, 2)]
    numeric = qc.finite_difference_forces(
        atoms, meta["method"], meta["basis"], components, frozen_core=meta["frozen_core"]
    )
    stored = np.array([data.forces[atom, axis] for atom, axis in components])
    assert np.abs(stored - numeric).max() < tolerance


@pytest.mark.slow
@needs_pyscf
@pytest.mark.parametrize("level", ["cc", "dft"])
def test_embedded_label_is_reproducible(level):
    data = embedded_file(level)
    meta = data.meta
    atoms = data.atoms(0)
    energy, forces, _ = qc.label_pyscf(
        [atoms], meta["method"], meta["basis"], frozen_core=meta["frozen_core"]
    )
    assert energy[0] == pytest.approx(atoms.get_potential_energy(), abs=1e-5)
    assert np.allclose(forces, atoms.get_forces(), atol=1e-4)


@pytest.mark.slow
@needs_tblite
def test_embedded_frames_are_reproduced_by_sampling():
    """The first frames of the committed data are regenerated from the sampling meta."""
    data = embedded_file("dft")
    sampling = data.meta["sampling"]
    first = np.flatnonzero(data.ids < 4)
    frames = qc.sample_xtb_md(
        qc.build_molecule(data.meta["molecule"]),
        temperature_K=sampling["temperature_K"],
        timestep_fs=sampling["timestep_fs"],
        n_equil=sampling["n_equil"],
        n_frames=4,
        stride=sampling["stride"],
        seed=sampling["seed"],
        method=sampling["method"],
        friction_per_fs=sampling["friction_per_fs"],
    )
    assert len(first) > 0
    for i in first:
        stored = data.atoms(int(i))
        # extxyz keeps 8 decimals
        assert np.allclose(stored.positions, frames[data.ids[i]].positions, atol=1e-7)
