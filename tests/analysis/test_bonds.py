"""Bond-length statistics and 1-D bond scans on a Morse oscillator with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.build import molecule
from ase.data import atomic_masses

from gmnn.analysis.bonds import (
    bonded_pairs,
    distance_histogram,
    harmonic_frequency,
    harmonic_wavenumber,
    pair_distances,
    reduced_mass,
    scan_bond,
    stretch_scan,
)

C = 2.99792458e-5  # cm/fs
D, A, R0 = 4.6, 2.2, 0.97  # Morse O-H: depth (eV), width (1/Å), minimum (Å)


def morse(r):
    return D * (1.0 - np.exp(-A * (np.asarray(r) - R0))) ** 2


def test_reduced_mass_and_unit_conversion():
    assert reduced_mass(1.0, 1.0) == 0.5
    assert reduced_mass("O", "H") == pytest.approx(
        atomic_masses[8] * atomic_masses[1] / (atomic_masses[8] + atomic_masses[1])
    )
    # H-F: k = 966 N/m with mu(H, F), computed independently in SI units.
    k_si = 966.0
    mu_si = reduced_mass("H", "F") * 1.66053906660e-27  # kg
    nu_si = np.sqrt(k_si / mu_si) / (2 * np.pi * 2.99792458e10)  # cm^-1
    k_ev = k_si / units._e * 1e-20  # J/m^2 -> eV/Å^2 (60.29)
    assert k_ev == pytest.approx(60.29, abs=0.01)
    assert harmonic_wavenumber(k_ev, reduced_mass("H", "F")) == pytest.approx(nu_si, rel=1e-4)
    assert nu_si == pytest.approx(4138.7, abs=1.0)
    # and through the fit, on an exactly quadratic scan
    r = np.linspace(0.85, 1.0, 31)
    fit = harmonic_frequency(r, 0.5 * 60.3 * (r - 0.917) ** 2, "H", "F", window=0.05)
    assert fit["wavenumber_cm1"] == pytest.approx(4138.9, abs=1.0)
    assert fit["force_constant_eV_A2"] == pytest.approx(60.3)
    assert fit["r0_A"] == pytest.approx(0.917)
    assert fit["rms_residual_eV"] < 1e-12


def test_bonded_pairs_methanol_and_ethane():
    meoh = molecule("CH3OH")
    z, pos = meoh.numbers, meoh.positions
    oh = bonded_pairs(z, pos, "O", "H")
    ch = bonded_pairs(z, pos, "C", "H")
    assert oh.shape == (1, 2) and ch.shape == (3, 2)
    assert z[oh[0, 0]] == 8 and z[oh[0, 1]] == 1
    assert np.all(z[ch[:, 0]] == 6) and np.all(z[ch[:, 1]] == 1)
    assert set(oh[:, 1]).isdisjoint(ch[:, 1])  # the hydroxyl H is not a methyl H
    assert bonded_pairs(z, pos, 8, 6).shape == (1, 2)  # numbers work too
    assert bonded_pairs(z, pos, "H", "H").shape == (0, 2)
    assert bonded_pairs(z, pos, "N", "H").shape == (0, 2)
    ethane = molecule("C2H6")
    cc = bonded_pairs(ethane.numbers, ethane.positions, "C", "C")
    assert cc.tolist() == [[0, 1]]  # once, not twice, and no self-pairs


def _sample_morse_boltzmann(n, kT, rng):
    """Distances with density p(r) ∝ r^2 exp(-V(r)/kT), by inverse CDF on a fine grid."""
    r = np.linspace(0.6, 1.6, 20001)
    p = r**2 * np.exp(-morse(r) / kT)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(r))])
    norm = cdf[-1]
    samples = np.interp(rng.uniform(0, norm, n), cdf, r)
    return samples, lambda x: np.asarray(x) ** 2 * np.exp(-morse(x) / kT) / norm


def test_distance_histogram_matches_boltzmann_density():
    rng = np.random.default_rng(0)
    n = 20000
    kT = units.kB * 3000.0
    r, density = _sample_morse_boltzmann(n, kT, rng)
    # Diatomic "structures": O at a random place, H at distance r in a random direction,
    # and a far-away C that must not be paired.
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    pos = np.zeros((n, 3, 3))
    pos[:, 0] = rng.normal(size=(n, 3))
    pos[:, 1] = pos[:, 0] + r[:, None] * u
    pos[:, 2] = pos[:, 0] + [5.0, 0.0, 0.0]
    numbers = np.array([8, 1, 6])

    pairs = bonded_pairs(numbers, np.array([[0, 0, 0], [R0, 0, 0], [5.0, 0, 0]]), "O", "H")
    assert pairs.tolist() == [[0, 1]]
    d = pair_distances(pos, pairs)
    assert d.shape == (n, 1)
    np.testing.assert_allclose(d[:, 0], r, rtol=1e-12)
    assert pair_distances(pos[0], pairs).shape == (1,)

    table = distance_histogram(d, bins=40, range=(0.75, 1.25))
    assert len(table) == 40 and list(table.columns) == ["bin_lo", "bin_hi", "count", "density"]
    assert table["count"].dtype == np.int64
    lo = table["bin_lo"].to_numpy()
    hi = table["bin_hi"].to_numpy()
    counts = table["count"].to_numpy()
    dens = table["density"].to_numpy()
    np.testing.assert_allclose(hi[:-1], lo[1:])
    assert np.sum(dens * (hi - lo)) == pytest.approx(1.0)
    n_in = counts.sum()
    assert n_in == np.count_nonzero((r >= 0.75) & (r <= 1.25))

    # Expected counts from the analytic density (bin integrals, renormalised to the range).
    fine = np.linspace(0.75, 1.25, 40 * 50 + 1)
    pf = density(fine)
    bin_mass = np.array(
        [
            np.trapezoid(pf[k * 50 : (k + 1) * 50 + 1], fine[k * 50 : (k + 1) * 50 + 1])
            for k in range(40)
        ]
    )
    expected = n_in * bin_mass / bin_mass.sum()
    use = expected >= 5
    chi2 = np.sum((counts[use] - expected[use]) ** 2 / expected[use])
    dof = use.sum() - 1
    assert dof >= 25
    assert chi2 / dof < 2.0, (chi2, dof)
    # and the density column agrees with the analytic density where bins are well filled
    centre = 0.5 * (lo + hi)
    well = counts > 400
    np.testing.assert_allclose(dens[well], density(centre[well]) * n / n_in, rtol=0.15)


def test_stretch_scan_and_morse_harmonic_frequency():
    meoh = molecule("CH3OH")
    ((i, j),) = bonded_pairs(meoh.numbers, meoh.positions, "O", "H")
    targets = np.arange(0.85, 1.10001, 0.005)
    scan = stretch_scan(meoh.positions, i, j, targets)
    assert scan.shape == (len(targets), len(meoh), 3)
    d = pair_distances(scan, [[i, j]])[:, 0]
    np.testing.assert_allclose(d, targets, rtol=0, atol=1e-12)
    others = np.arange(len(meoh)) != j
    assert np.array_equal(
        scan[:, others], np.broadcast_to(meoh.positions[others], scan[:, others].shape)
    )
    # j moves along the original bond direction
    bond = meoh.positions[j] - meoh.positions[i]
    moved = scan[:, j] - meoh.positions[i]
    np.testing.assert_allclose(np.cross(moved, bond), 0.0, atol=1e-12)

    energies = morse(d) - 1.234  # an arbitrary offset must not matter
    fit = harmonic_frequency(d, energies, "O", "H", window=0.0225)
    mu = reduced_mass("O", "H")
    k_exact = 2 * D * A**2
    nu_exact = A * np.sqrt(2 * D / mu) * units.fs / (2 * np.pi * C)
    assert 3500 < nu_exact < 3700
    assert fit["wavenumber_cm1"] == pytest.approx(nu_exact, rel=0.01)
    assert fit["force_constant_eV_A2"] == pytest.approx(k_exact, rel=0.02)
    assert fit["r0_A"] == pytest.approx(R0, abs=2e-3)
    assert fit["e0_eV"] == pytest.approx(-1.234, abs=1e-3)
    assert fit["n_points"] == 9
    assert fit["fit_lo_A"] == pytest.approx(0.95) and fit["fit_hi_A"] == pytest.approx(0.99)
    assert fit["rms_residual_eV"] < 1e-3

    # A wide window feels the anharmonicity (softer on the stretched side): larger error.
    wide = harmonic_frequency(d, energies, "O", "H", window=0.12)
    assert wide["n_points"] > fit["n_points"]
    assert abs(wide["wavenumber_cm1"] - nu_exact) > abs(fit["wavenumber_cm1"] - nu_exact)
    # Unsorted input gives the same answer.
    perm = np.random.default_rng(1).permutation(len(d))
    again = harmonic_frequency(d[perm], energies[perm], "O", "H", window=0.0225)
    assert again["wavenumber_cm1"] == pytest.approx(fit["wavenumber_cm1"])


def test_harmonic_frequency_errors():
    r = np.arange(0.80, 1.20, 0.05)
    e = morse(r)
    with pytest.raises(ValueError, match=r"only \d scan point\(s\) within ±0.02 Å.*at least 3"):
        harmonic_frequency(r, e, "O", "H", window=0.02)
    assert harmonic_frequency(r, e, "O", "H", window=0.08)["n_points"] >= 3
    with pytest.raises(ValueError, match="end of the scan"):
        harmonic_frequency(r[r > 1.0], morse(r[r > 1.0]), "O", "H")
    with pytest.raises(ValueError, match="at least 3"):
        harmonic_frequency([0.9, 1.0], [0.1, 0.0], 16.0, 1.0)
    with pytest.raises(ValueError, match="different"):
        stretch_scan(np.zeros((2, 3)), 1, 1, [1.0])
    with pytest.raises(ValueError, match="coincide"):
        stretch_scan(np.zeros((2, 3)), 0, 1, [1.0])


def test_scan_bond_fits_or_records_why_not():
    meoh = molecule("CH3OH")
    ((i, j),) = bonded_pairs(meoh.numbers, meoh.positions, "O", "H")

    def energy(numbers, geometries):  # a Morse O-H bond, whatever the rest does
        assert np.array_equal(numbers, meoh.numbers)
        return morse(pair_distances(geometries, [[i, j]])[:, 0]) + 7.0

    scan = scan_bond(energy, meoh.numbers, meoh.positions, (i, j), np.linspace(0.85, 1.1, 51))
    mu = reduced_mass("O", "H")
    nu_exact = A * np.sqrt(2 * D / mu) * units.fs / (2 * np.pi * C)
    assert scan["fit"]["wavenumber_cm1"] == pytest.approx(nu_exact, rel=0.01)
    assert scan["fit"]["note"] == ""
    assert scan["energy_rel_eV"].min() == 0.0
    np.testing.assert_allclose(scan["energy_rel_eV"], morse(scan["distance_A"]) - morse(0.97))

    # all points on the stretched side: no minimum inside the scan, recorded as NaN
    far = scan_bond(energy, meoh.numbers, meoh.positions, (i, j), np.linspace(1.1, 1.3, 21))
    assert np.isnan(far["fit"]["wavenumber_cm1"]) and far["fit"]["note"]
