"""gmnn.analysis.bonds.bond_analysis: the three tables of Figs. S1/S2 on a synthetic molecule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import units
from ase.build import molecule

from gmnn.analysis.bonds import (
    FREQUENCIES,
    HISTOGRAMS,
    SCANS,
    bond_analysis,
    bonded_pairs,
    pair_distances,
    reduced_mass,
)
from gmnn.data import Structures, write_h5
from gmnn.units import ev_to_kcal_mol

C = 2.99792458e-5  # cm/fs
BOND_SCAN = {
    "ranges_A": {"O-H": [0.80, 1.20], "C-H": [0.90, 1.35], "N-H": [0.9, 1.2]},
    "points": 41,
    "fit_window_A": 0.05,
    "histogram_bins": 12,
}


def methanol_data(n=30, seed=0):
    """Perturbed methanol geometries; structure n // 2 has the lowest energy."""
    meoh = molecule("CH3OH")
    rng = np.random.default_rng(seed)
    positions = meoh.positions[None] + rng.normal(scale=0.02, size=(n, len(meoh), 3))
    energy = rng.uniform(1.0, 2.0, n)
    energy[n // 2] = 0.0
    structures = Structures(
        numbers=np.tile(meoh.numbers, n),
        positions=positions.reshape(-1, 3),
        n_atoms=np.full(n, len(meoh)),
        energy=energy,
    )
    return structures, positions[n // 2], meoh.numbers


def morse_energy(numbers, reference, depth, width=2.2, r0=(0.97, 1.09)):
    """Energy of every O-H and C-H bond of the reference as a Morse oscillator."""
    bonds = {
        "O-H": bonded_pairs(numbers, reference, "O", "H"),
        "C-H": bonded_pairs(numbers, reference, "C", "H"),
    }

    def energy(z, geometries):
        assert np.array_equal(z, numbers)
        total = np.zeros(len(geometries))
        for (_, pairs), r_eq in zip(bonds.items(), r0, strict=True):
            d = pair_distances(geometries, pairs)
            total += np.sum(depth * (1 - np.exp(-width * (d - r_eq))) ** 2, axis=1)
        return total

    return energy


def test_bond_analysis_tables(tmp_path):
    structures, reference, numbers = methanol_data()
    models = [
        {"setting": "pretrain", "n_train": 400, "model": morse_energy(numbers, reference, 4.6)},
        {"setting": "scratch_EF", "n_train": 128, "model": morse_energy(numbers, reference, 5.0)},
        # a repulsive potential: no minimum inside the scans, the fits fail
        {
            "setting": "finetune_E",
            "n_train": 32,
            "model": lambda z, g: -pair_distances(g, [[1, 5]])[:, 0],
        },
    ]
    path = write_h5(structures, tmp_path / "cc.h5")
    tables = bond_analysis(path, "methanol", models, BOND_SCAN)

    hist = tables.histograms
    assert list(hist.columns) == list(HISTOGRAMS.columns)
    assert hist.groupby("bond")["n_bonds"].first().to_dict() == {"C-H": 3, "O-H": 1}  # no N-H
    assert hist.groupby("bond")["count"].sum().to_dict() == {"C-H": 90, "O-H": 30}
    widths = hist["bin_hi"] - hist["bin_lo"]
    assert (hist["density"] * widths).groupby(hist["bond"]).sum().tolist() == pytest.approx([1, 1])

    scans = tables.scans
    assert len(scans) == 3 * 2 * 41
    assert scans.groupby(["setting", "bond"])["energy_rel_kcal_mol"].min().eq(0).all()
    oh = scans[(scans["setting"] == "pretrain") & (scans["bond"] == "O-H")]
    pairs = bonded_pairs(numbers, reference, "O", "H")
    assert set(oh["atoms"]) == {f"{pairs[0, 0]}-{pairs[0, 1]}"}
    r = oh["distance_A"].to_numpy()
    np.testing.assert_allclose(r, np.linspace(0.8, 1.2, 41))
    morse = 4.6 * (1 - np.exp(-2.2 * (r - 0.97))) ** 2  # only this bond moves
    expected = ev_to_kcal_mol(morse - morse.min())
    np.testing.assert_allclose(oh["energy_rel_kcal_mol"], expected, atol=1e-9)

    freq = tables.frequencies.set_index(["setting", "bond"])
    assert list(tables.frequencies.columns) == list(FREQUENCIES.columns)
    nu = 2.2 * np.sqrt(2 * 4.6 / reduced_mass("O", "H")) * units.fs / (2 * np.pi * C)
    # the ±0.05 Å window feels the anharmonicity: a little softer than the harmonic limit
    assert freq.loc[("pretrain", "O-H"), "wavenumber_cm1"] == pytest.approx(nu, rel=0.02)
    assert freq.loc[("scratch_EF", "O-H"), "wavenumber_cm1"] == pytest.approx(
        freq.loc[("pretrain", "O-H"), "wavenumber_cm1"] * math.sqrt(5.0 / 4.6), rel=1e-6
    )
    failed = freq.loc[("finetune_E", "O-H")]
    assert math.isnan(failed["wavenumber_cm1"]) and "end of the scan" in failed["note"]
    assert freq.loc[("pretrain", "O-H"), "note"] == ""

    # written: a failed fit has "nan" as wavenumber and empty fit details, as before
    out = FREQUENCIES.write(tables.frequencies, tmp_path / "harmonic_frequencies.csv")
    line = next(x for x in out.read_text().splitlines() if ",finetune_E,32," in x)
    assert line.startswith("methanol,O-H,finetune_E,32,nan,,,,,,,the lowest energy is at the end")
    back = FREQUENCIES.read(out)
    assert back["n_points"].isna().sum() == 2 and FREQUENCIES.format(back) == out.read_text()
    for table, frame in ((HISTOGRAMS, tables.histograms), (SCANS, tables.scans)):
        path = table.write(frame, tmp_path / f"{table.name}.csv")
        assert table.format(table.read(path)) == path.read_text()

    # the same from Structures in memory
    again = bond_analysis(structures, "methanol", models[:1], BOND_SCAN)
    assert again.histograms.equals(tables.histograms)

    with pytest.raises(ValueError, match=r"model 0 .*missing key\(s\) \['n_train'\]"):
        bond_analysis(structures, "methanol", [{"setting": "x", "model": "m"}], BOND_SCAN)
    with pytest.raises(TypeError, match=r"model 0: expected a mapping .* got \['pretrain', 400\]"):
        bond_analysis(structures, "methanol", [["pretrain", 400]], BOND_SCAN)  # the old contract
    with pytest.raises(TypeError, match="model directory or an energy function"):
        bond_analysis(
            structures, "methanol", [{"setting": "x", "n_train": 1, "model": 3}], BOND_SCAN
        )


def test_bond_analysis_with_a_model_directory(tmp_path):
    """The pipeline's contract: params.models = [{"setting", "n_train", "model": directory}]."""
    from gmnn.io import save_model
    from gmnn.model import GMNN

    structures, _, _ = methanol_data(n=6)
    directory = save_model(GMNN(species=[1, 6, 8], hidden=(8,), seed=1), tmp_path / "model")
    config = {**BOND_SCAN, "points": 9, "ranges_A": {"O-H": [0.8, 1.2]}}
    models = [{"setting": "pretrain", "n_train": 16, "model": str(directory)}]
    tables = bond_analysis(structures, "methanol", models, config)
    assert len(tables.scans) == 9 and len(tables.frequencies) == 1
    assert tables.scans["energy_rel_kcal_mol"].min() == 0.0
    with pytest.raises(FileNotFoundError, match="no model.json"):
        bond_analysis(structures, "methanol", [{**models[0], "model": str(tmp_path)}], config)
