"""The GM-NN model: descriptor size, symmetries, derivatives, batching, periodicity, I/O."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from scipy.spatial.transform import Rotation

from gmnn.data import Structures
from gmnn.io import load_model, save_model
from gmnn.model import GMNN, n_features
from gmnn.model.batch import GraphData, atoms_inputs

inputs_for = atoms_inputs


def energy_forces(model, atoms, stress=False):
    out = model.predict(inputs_for(model, atoms), forces=True, stress=stress)
    return out


@pytest.fixture(scope="module")
def model64():
    m = GMNN(species=[1, 6, 8], cutoff=4.0, hidden=(64, 64), dtype="float64", seed=3)
    m.energy_scale.assign(0.05)
    return m


@pytest.fixture(scope="module")
def ethanol():
    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def test_exactly_360_features():
    assert n_features(5) == 360
    assert [n_features(n) for n in (3, 4, 6)] == [94, 198, 593]
    model = GMNN(species=[1, 6, 8], hidden=(8,))
    atoms = molecule("CH3CH2OH")
    inp = inputs_for(model, atoms)
    pos = inp["positions"]
    r_ij = pos[inp["pair_j"]] - pos[inp["pair_i"]]
    sp = inp["species"]
    feats = model.descriptor(r_ij, inp["pair_i"], sp[inp["pair_i"]], sp[inp["pair_j"]], len(atoms))
    assert feats.shape == (9, 360)
    assert model.dense[0].w.shape == (360, 8)
    default = GMNN(species=[1, 6, 8])
    assert [tuple(layer.w.shape) for layer in default.dense] == [(360, 512), (512, 512), (512, 1)]


def test_float32_default_and_float64_on_request(ethanol):
    m32 = GMNN(species=[1, 6, 8], hidden=(16,))
    m64 = GMNN(species=[1, 6, 8], hidden=(16,), dtype="float64")
    m64.set_weights(m32.get_weights())
    e32 = energy_forces(m32, ethanol)
    e64 = energy_forces(m64, ethanol)
    assert e32["forces"].dtype == np.float32 and e64["forces"].dtype == np.float64
    np.testing.assert_allclose(e32["energy"], e64["energy"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(e32["forces"], e64["forces"], atol=1e-4)


def test_rotation_translation_permutation_invariance(model64, ethanol):
    ref = energy_forces(model64, ethanol)
    rot = Rotation.random(random_state=7).as_matrix()
    moved = ethanol.copy()
    moved.positions = ethanol.positions @ rot.T + np.array([1.0, -2.0, 3.5])
    out = energy_forces(model64, moved)
    np.testing.assert_allclose(out["energy"], ref["energy"], atol=1e-10)
    np.testing.assert_allclose(out["forces"], ref["forces"] @ rot.T, atol=1e-9)
    # swap like atoms: the hydrogens 3 and 6, and reverse the order of all atoms
    perm = np.arange(len(ethanol))[::-1].copy()
    h = np.flatnonzero(ethanol.numbers == 1)
    perm[[h[0], h[-1]]] = perm[[h[-1], h[0]]]
    permuted = ethanol[perm]
    out = energy_forces(model64, permuted)
    np.testing.assert_allclose(out["energy"], ref["energy"], atol=1e-10)
    np.testing.assert_allclose(out["forces"], ref["forces"][perm], atol=1e-9)


def test_forces_are_finite_differences_of_energy(model64, ethanol):
    ref = energy_forces(model64, ethanol)
    h = 1e-5
    numeric = np.zeros_like(ethanol.positions)
    for a in range(len(ethanol)):
        for c in range(3):
            plus, minus = ethanol.copy(), ethanol.copy()
            plus.positions[a, c] += h
            minus.positions[a, c] -= h
            ep = energy_forces(model64, plus)["energy"][0]
            em = energy_forces(model64, minus)["energy"][0]
            numeric[a, c] = -(ep - em) / (2 * h)
    np.testing.assert_allclose(ref["forces"], numeric, atol=1e-7, rtol=1e-6)
    assert np.abs(ref["forces"]).max() > 1e-3  # not trivially zero


def periodic_water_cell():
    """Two water molecules in a small triclinic cell (smaller than twice the cutoff)."""
    atoms = Atoms(
        "OH2OH2",
        positions=[
            [0.0, 0.0, 0.0],
            [0.96, 0.0, 0.0],
            [-0.24, 0.93, 0.0],
            [1.6, 1.5, 1.4],
            [2.5, 1.6, 1.6],
            [1.4, 2.3, 0.9],
        ],
        cell=[[3.1, 0.0, 0.0], [0.4, 3.0, 0.0], [0.3, -0.2, 3.2]],
        pbc=True,
    )
    return atoms


def test_stress_is_finite_strain_derivative(model64):
    atoms = periodic_water_cell()
    ref = energy_forces(model64, atoms, stress=True)
    dedeps = ref["dE_dstrain"][0]
    h = 1e-6
    numeric = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            eps = np.zeros((3, 3))
            eps[a, b] += h / 2
            eps[b, a] += h / 2
            out = []
            for sign in (1, -1):
                s = atoms.copy()
                s.set_cell(atoms.cell.array @ (np.eye(3) + sign * eps), scale_atoms=True)
                out.append(energy_forces(model64, s)["energy"][0])
            numeric[a, b] = (out[0] - out[1]) / (2 * h)
    np.testing.assert_allclose(dedeps, numeric, atol=1e-7, rtol=1e-5)
    assert np.abs(dedeps).max() > 1e-4


def test_energy_smooth_across_cutoff(model64):
    """E and F are continuous as a neighbour crosses r_c (cosine cutoff, C1)."""
    rc = model64.cutoff
    energies, forces = [], []
    for r in (rc - 1e-4, rc, rc + 1e-4):
        atoms = Atoms("OH", positions=[[0, 0, 0], [r, 0, 0]])
        out = energy_forces(model64, atoms)
        energies.append(out["energy"][0])
        forces.append(out["forces"][1, 0])
    assert abs(energies[0] - energies[2]) < 1e-8
    assert abs(forces[0] - forces[2]) < 1e-4
    # beyond the cutoff the atoms do not interact at all
    far = [energy_forces(model64, Atoms("OH", positions=[[0, 0, 0], [r, 0, 0]])) for r in (4.2, 6)]
    np.testing.assert_allclose(far[0]["energy"], far[1]["energy"], atol=1e-12)
    np.testing.assert_allclose(far[0]["forces"], 0.0, atol=1e-12)


def test_molecule_alone_equals_molecule_in_mixed_batch(model64, ethanol):
    alone = energy_forces(model64, ethanol)
    water = molecule("H2O")
    methane = molecule("CH4")
    frames = [water, ethanol, methane]
    structs = Structures.from_ase(frames, energy=False, forces=False)
    data = GraphData(structs, model64.cutoff, model64.species)
    out = model64.predict(data.batch([0, 1, 2], np.float64))
    np.testing.assert_allclose(out["energy"][1], alone["energy"][0], atol=1e-10)
    np.testing.assert_allclose(out["forces"][3:12], alone["forces"], atol=1e-10)
    # and each in its own batch in a different order
    out2 = model64.predict(data.batch([2, 1], np.float64))
    np.testing.assert_allclose(out2["energy"][1], alone["energy"][0], atol=1e-10)


def test_periodic_cell_equals_supercell_per_atom(model64):
    atoms = periodic_water_cell()
    small = energy_forces(model64, atoms, stress=True)
    sc = atoms.repeat((2, 3, 1))
    big = energy_forces(model64, sc, stress=True)
    np.testing.assert_allclose(big["energy"][0] / len(sc), small["energy"][0] / len(atoms))
    np.testing.assert_allclose(big["forces"][: len(atoms)], small["forces"], atol=1e-9)
    vol_ratio = sc.get_volume() / atoms.get_volume()
    np.testing.assert_allclose(big["dE_dstrain"][0] / vol_ratio, small["dE_dstrain"][0], atol=1e-9)
    # a cubic metal cell much smaller than the cutoff (many images per pair)
    cu = GMNN(species=[29], cutoff=4.0, hidden=(16,), dtype="float64")
    prim = bulk("Cu", "fcc", a=3.6)
    e1 = energy_forces(cu, prim)["energy"][0]
    e8 = energy_forces(cu, prim.repeat(2))["energy"][0]
    np.testing.assert_allclose(e8 / 8, e1, rtol=1e-10)


def test_unknown_element_is_a_clear_error(model64):
    with pytest.raises(ValueError, match=r"Z=\[7\]"):
        energy_forces(model64, molecule("NH3"))


def test_save_load_round_trip_identical(tmp_path, ethanol):
    model = GMNN(species=[1, 6, 8], hidden=(32, 32), seed=5)
    model.shift.assign([-13.6, -1030.0, -2040.0])
    model.energy_scale.assign(0.03)
    save_model(model, tmp_path / "m", provenance={"note": "test"})
    loaded = load_model(tmp_path / "m")
    a, b = energy_forces(model, ethanol), energy_forces(loaded, ethanol)
    assert a["energy"][0] == b["energy"][0]
    np.testing.assert_array_equal(a["forces"], b["forces"])
    assert loaded.config == model.config
    assert loaded.provenance["note"] == "test"
    for k, v in model.get_weights().items():
        np.testing.assert_array_equal(v, loaded.get_weights()[k])


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.json"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="something-else"):
        load_model(tmp_path)


def test_scale_shift_initialisation():
    from _synthetic import mixed_structures

    data = mixed_structures(n_each=6)
    model = GMNN(species=[1, 6, 8], hidden=(8,))
    model.init_scale_shift(data, regularisation=1e-8)
    c = float(model.energy_scale.numpy())
    n = data.n_atoms.astype(float)
    ebar = data.energy.sum() / n.sum()
    expected_c = np.sqrt(np.sum((data.energy - ebar * n) ** 2 / n) / n.sum())
    assert c == pytest.approx(expected_c)
    np.testing.assert_array_equal(model.scale.numpy(), 1.0)
    # the regression shift reproduces the energies as well as any per-element constant
    counts = np.stack(
        [
            np.bincount(z, minlength=9)[[1, 6, 8]]
            for z in np.split(data.numbers, np.cumsum(data.n_atoms)[:-1])
        ]
    )
    fitted = counts @ (model.shift.numpy() * c)
    lstsq = counts @ np.linalg.lstsq(counts, data.energy, rcond=None)[0]
    np.testing.assert_allclose(fitted, lstsq, atol=1e-5)
