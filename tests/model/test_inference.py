"""The Predictor (gmnn.model.inference): members, compilation modes, chunks, snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

import gmnn.model.inference as inference
from gmnn.model import GMNN
from gmnn.model.batch import atoms_inputs
from gmnn.model.inference import Predictor


def _water_box(n_side=3, spacing=3.1, seed=0):
    rng = np.random.default_rng(seed)
    atoms = Atoms()
    for ix in range(n_side):
        for iy in range(n_side):
            for iz in range(n_side):
                w = molecule("H2O")
                w.rotate(rng.uniform(0, 360), rng.normal(size=3))
                w.translate(np.array([ix, iy, iz]) * spacing)
                atoms += w
    atoms.cell = [n_side * spacing] * 3
    atoms.pbc = True
    atoms.wrap()
    return atoms


def _models(species, k=3, cutoff=4.0):
    out = []
    for seed in range(k):
        m = GMNN(species, {"cutoff": cutoff, "hidden": [32, 32], "dtype": "float64"}, seed=seed)
        weights = m.get_weights()
        rng = np.random.default_rng(seed + 10)
        for key in weights:
            if key.endswith("/b"):
                weights[key] = rng.normal(0, 0.3, weights[key].shape)
        weights["shift"] = rng.normal(-1.0, 0.5, weights["shift"].shape)
        m.set_weights(weights)
        out.append(m)
    return out


def test_members_in_one_computation_equal_each_model_alone():
    atoms = molecule("CH3CH2OH")
    models = _models([1, 6, 8])
    feed = atoms_inputs(models[0], atoms)
    together = Predictor(models, jit=False).predict(feed)
    for k, m in enumerate(models):
        alone = m.predict(feed)
        np.testing.assert_allclose(together["energy"][k], alone["energy"], rtol=1e-12)
        np.testing.assert_allclose(together["forces"][k], alone["forces"], atol=1e-12)
    assert np.ptp(together["energy"][:, 0]) > 1e-3  # the members really differ


def test_xla_and_graph_agree_and_energy_only_matches():
    atoms = molecule("CH3CH2OH")
    models = _models([1, 6, 8], k=2)
    feed = atoms_inputs(models[0], atoms)
    xla = Predictor(models, jit=True).predict(feed)
    graph = Predictor(models, jit=False).predict(feed)
    np.testing.assert_allclose(xla["energy"], graph["energy"], rtol=1e-12)
    np.testing.assert_allclose(xla["forces"], graph["forces"], atol=1e-12)
    energy_only = Predictor(models, jit=False).predict(feed, forces=False)
    assert set(energy_only) == {"energy"}
    np.testing.assert_allclose(energy_only["energy"], graph["energy"], rtol=1e-12)


def test_chunks_of_centre_atoms_sum_to_the_whole(monkeypatch):
    box = _water_box()
    models = _models([1, 8], k=2, cutoff=5.0)
    feed = atoms_inputs(models[0], box)
    whole = Predictor(models, jit=False).predict(feed, stress=True)
    monkeypatch.setattr(inference, "CHUNK_ATOMS", 20)  # 81 atoms -> 4 chunks
    chunked = Predictor(models, jit=False).predict(feed, stress=True)
    np.testing.assert_allclose(chunked["energy"], whole["energy"], rtol=1e-12)
    np.testing.assert_allclose(chunked["forces"], whole["forces"], atol=1e-11)
    np.testing.assert_allclose(chunked["dE_dstrain"], whole["dE_dstrain"], atol=1e-10)


def test_stress_is_the_strain_derivative_of_the_energy():
    box = _water_box(n_side=2)
    (model,) = _models([1, 8], k=1, cutoff=5.0)
    p = Predictor(model, jit=False)
    got = p.predict(atoms_inputs(model, box), stress=True)["dE_dstrain"][0, 0]
    h, numeric = 1e-5, np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            e = []
            for sign in (1, -1):
                strain = np.zeros((3, 3))
                strain[a, b] = strain[b, a] = sign * h / 2 if a != b else sign * h
                deformed = box.copy()
                deformed.set_cell(box.cell.array @ (np.eye(3) + strain), scale_atoms=True)
                e.append(p.predict(atoms_inputs(model, deformed), forces=False)["energy"][0, 0])
            numeric[a, b] = (e[0] - e[1]) / (2 * h)
    np.testing.assert_allclose(got, numeric, atol=1e-6 * np.abs(numeric).max() + 1e-9)


def test_members_must_agree():
    a = GMNN([1, 6, 8], cutoff=4.0)
    with pytest.raises(ValueError, match="cutoff"):
        Predictor([a, GMNN([1, 6, 8], cutoff=5.0)])
    with pytest.raises(ValueError, match="species"):
        Predictor([a, GMNN([1, 6], cutoff=4.0)])
    with pytest.raises(ValueError, match="jit"):
        Predictor(a, jit="sometimes")


def test_frozen_predictor_keeps_its_snapshot_and_predict_follows_the_model():
    atoms = molecule("CH4")
    (model,) = _models([1, 6], k=1)
    feed = atoms_inputs(model, atoms)
    frozen = Predictor(model, jit=False)
    before = frozen.predict(feed)["energy"][0, 0]
    model.shift.assign(model.shift.numpy() + 1.0)
    assert frozen.predict(feed)["energy"][0, 0] == pytest.approx(before, rel=1e-12)
    shifted = model.predict(feed)["energy"][0]
    expected = before + float(model.energy_scale.numpy()) * len(atoms)
    assert shifted == pytest.approx(expected, rel=1e-10)


def _chain(n, spacing):
    """A straight chain of n carbon atoms: inner atoms have 2 r_c/spacing neighbours."""
    return Atoms(f"C{n}", positions=[[k * spacing, 0.0, 0.0] for k in range(n)])


def _recording(predictor, monkeypatch):
    """The neighbour-slot counts of every compiled call of ``predictor`` (one XLA
    compilation per distinct count)."""
    widths = []
    make = predictor._function

    def function(kind, jit):
        fn = make(kind, jit)

        def call(positions, species, rows, neighbour, *rest):
            widths.append(int(neighbour.shape[1]))
            return fn(positions, species, rows, neighbour, *rest)

        return call

    monkeypatch.setattr(predictor, "_function", function)
    return widths


def test_md_crossing_a_multiple_of_8_neighbours_does_not_recompile(monkeypatch):
    """Compiled calls keep their neighbour layout (with headroom) while the counts fit:
    the largest count going from 8 to 10 (past the bucket of 8) compiles nothing new,
    growth past the headroom does, and the predictions equal the graph's."""
    model = _models([6], k=1, cutoff=4.0)[0]
    predictor = Predictor(model, jit=True)
    widths = _recording(predictor, monkeypatch)
    spacings = [0.95, 0.78, 0.35]  # largest count 8, 10, 22 (inner atoms: ~2 r_c / spacing)
    for spacing in spacings:
        atoms = _chain(40, spacing)
        feed = atoms_inputs(model, atoms)
        counts = np.bincount(feed["pair_i"]).max()
        got = predictor.predict(feed)
        ref = Predictor(model, jit=False).predict(feed)
        np.testing.assert_allclose(got["forces"], ref["forces"], atol=1e-10)
        assert widths[-1] >= counts
    assert [np.bincount(atoms_inputs(model, _chain(40, s))["pair_i"]).max() for s in spacings] == [
        8,
        10,
        22,
    ]
    # 8 neighbours -> 10 slots rounded up to 16; 10 fit; 22 outgrow 16 -> 27.5 -> 32
    assert widths == [16, 16, 32], widths


def test_headroom_only_for_compiled_calls_and_capped_by_the_atom_count():
    model = _models([6], k=1, cutoff=4.0)[0]
    feed = atoms_inputs(model, _chain(40, 0.95))  # largest count 8
    assert Predictor(model, jit=False).dense_inputs(feed)["neighbour"].shape[1] == 8
    assert Predictor(model, jit=True).dense_inputs(feed)["neighbour"].shape[1] == 16
    small = atoms_inputs(model, _chain(7, 0.95))  # 6 neighbours at most: 8 slots suffice
    assert Predictor(model, jit=True).dense_inputs(small)["neighbour"].shape[1] == 8
