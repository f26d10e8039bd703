"""Vibrational power spectra: synthetic signals with known lines, and a harmonic diatomic
run through the pipeline's own MD code (gmnn.md.MDRun)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_masses
from ase.io import Trajectory
from scipy.signal import lfilter

from gmnn.analysis.spectra import (
    CM1_PER_FS_INV,
    SPEED_OF_LIGHT_CM_PER_FS,
    STRETCH_BANDS,
    fit_peak,
    power_spectrum,
    read_trajectory,
    spectrum_on_grid,
    trajectory_spectrum,
    vacf,
)

C = SPEED_OF_LIGHT_CM_PER_FS


def _damped_oscillators(modes, n_frames, n_atoms, dt_fs, seed):
    """Stationary velocities whose VACF is ``sum_j var_j exp(-t/tau_j) cos(2 pi c nu_j t)``.

    Each mode is a complex Ornstein-Uhlenbeck process (a noise-driven damped
    oscillator) with random phases per atom and component; its real part has
    exactly a damped-cosine autocorrelation.
    """
    rng = np.random.default_rng(seed)
    v = np.zeros((n_frames, n_atoms, 3))
    for nu, var, tau in modes:
        a = np.exp((2j * np.pi * nu * C - 1.0 / tau) * dt_fs)
        shape = (n_frames, n_atoms, 3)
        noise = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * np.sqrt(
            var * (1 - abs(a) ** 2) / 2
        )
        z0 = (rng.normal(size=shape[1:]) + 1j * rng.normal(size=shape[1:])) * np.sqrt(var / 2)
        z, _ = lfilter([1.0], [1.0, -a], noise, axis=0, zi=(a * z0)[None])
        v += np.sqrt(2.0) * z.real
    return v


def _band_area(w, s, lo, hi):
    m = (w >= lo) & (w <= hi)
    return np.trapezoid(s[m], w[m])


def test_constants():
    assert CM1_PER_FS_INV == pytest.approx(33356.40952)
    assert STRETCH_BANDS["O-H"][0] < STRETCH_BANDS["C-H"][1]


def test_damped_cosines_peaks_areas_and_normalisation():
    # (wavenumber cm^-1, variance, damping time fs)
    modes = [(1000.0, 1.0, 800.0), (3000.0, 0.5, 600.0), (3700.0, 0.25, 1000.0)]
    dt = 1.0
    v = _damped_oscillators(modes, 2**15, 4, dt, seed=0)
    w, s = power_spectrum(v, dt, max_lag_ps=4.0, max_wavenumber=5000.0)
    assert w[0] == 0.0 and w[-1] <= 5000.0
    assert np.all(np.diff(w) > 0)
    assert np.trapezoid(s, w) == pytest.approx(1.0, abs=1e-12)

    for (nu, _, _), band in zip(
        modes, [(800, 1200), STRETCH_BANDS["C-H"], STRETCH_BANDS["O-H"]], strict=True
    ):
        peak = fit_peak(w, s, band)
        assert peak["method"] == "lorentzian"
        assert abs(peak["center"] - nu) < 5.0, (nu, peak)
        assert 0 < peak["fwhm"] < 60.0

    # Peak areas are proportional to the variances (equipartition-like weights).
    areas = np.array([_band_area(w, s, nu - 300, nu + 300) for nu, _, _ in modes])
    assert areas[0] > areas[1] > areas[2]
    expected = np.array([m[1] for m in modes]) / sum(m[1] for m in modes)
    np.testing.assert_allclose(areas, expected, rtol=0.1)

    w2, s2 = power_spectrum(v, dt, max_lag_ps=4.0, normalize="max", window="none")
    assert s2.max() == pytest.approx(1.0)
    assert abs(fit_peak(w2, s2, (800, 1200))["center"] - 1000.0) < 5.0

    # Raw spectrum: integral over all frequencies (both signs) in 1/fs is C(0) = 1.
    w3, s3 = power_spectrum(v, dt, max_lag_ps=4.0, normalize=None)
    assert C * np.trapezoid(s3, w3) == pytest.approx(0.5, abs=2e-3)

    # Zero padding interpolates; it must not move the line.
    w4, s4 = power_spectrum(v, dt, max_lag_ps=4.0, pad_factor=1, max_wavenumber=5000.0)
    assert len(w4) < len(w)
    assert abs(fit_peak(w4, s4, STRETCH_BANDS["O-H"])["center"] - 3700.0) < 5.0


def test_vacf_matches_direct_average_over_time_origins():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(60, 3, 3))
    m = np.array([1.0, 12.0, 16.0])
    c = vacf(v, m, max_lag=59)
    direct = np.array(
        [np.einsum("i,tia,tia->", m, v[: 60 - k], v[k:]) / (60 - k) for k in np.arange(60)]
    )
    np.testing.assert_allclose(c, direct / direct[0], rtol=1e-10, atol=1e-12)
    assert len(vacf(v)) == 60 // 2 + 1
    # No mass weighting: masses are ignored.
    np.testing.assert_allclose(vacf(v, m, mass_weighted=False), vacf(v))


def test_vacf_of_white_noise_is_a_delta():
    rng = np.random.default_rng(2)
    n, n_atoms = 20000, 5
    c = vacf(rng.normal(size=(n, n_atoms, 3)), masses=np.full(n_atoms, 3.0))
    assert c[0] == 1.0
    assert len(c) == n // 2 + 1
    sigma = 1.0 / np.sqrt((n - np.arange(1, len(c))) * n_atoms * 3)
    assert np.max(np.abs(c[1:]) / sigma) < 5.5


def test_mass_weighting_lets_the_heavy_atom_dominate():
    n, dt = 4000, 1.0
    t = np.arange(n) * dt
    rng = np.random.default_rng(3)
    w1, w2 = 2 * np.pi * C * 500.0, 2 * np.pi * C * 2000.0  # rad/fs
    v = np.zeros((n, 2, 3))
    v[:, 0, :] = np.cos(w1 * t[:, None] + rng.uniform(0, 2 * np.pi, 3))  # heavy
    v[:, 1, :] = np.cos(w2 * t[:, None] + rng.uniform(0, 2 * np.pi, 3))  # light
    masses = np.array([100.0, 1.0])
    lags = np.arange(201) * dt
    c = vacf(v, masses, max_lag=200)
    np.testing.assert_allclose(c, (100 * np.cos(w1 * lags) + np.cos(w2 * lags)) / 101, atol=0.02)
    c_plain = vacf(v, masses, max_lag=200, mass_weighted=False)
    np.testing.assert_allclose(c_plain, (np.cos(w1 * lags) + np.cos(w2 * lags)) / 2, atol=0.02)

    w, s = power_spectrum(v, dt, masses=masses, max_lag_ps=1.0)
    ratio = _band_area(w, s, 300, 700) / _band_area(w, s, 1800, 2200)
    assert 70 < ratio < 140


class _Spring(Calculator):
    """Harmonic diatomic: stretch ``k/2 (x - r0)^2`` along x plus a soft transverse
    spring ``k_perp/2 (y^2 + z^2)`` (relative coordinates). The transverse spring
    stops the molecule from rotating freely, which would split the stretch line into
    P and R branches (ω ± Ω_rot) instead of one peak at ω."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, k, r0, k_perp):
        super().__init__()
        self.k, self.r0, self.k_perp = k, r0, k_perp

    def check_state(self, atoms, tol=1e-15):  # cheap cache check: positions only
        if self.atoms is None or not np.array_equal(self.atoms.positions, atoms.positions):
            return ["positions"]
        return []

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        self.atoms = atoms.copy()
        d = atoms.positions[1] - atoms.positions[0]
        k = np.array([self.k, self.k_perp, self.k_perp])
        u = d - np.array([self.r0, 0.0, 0.0])
        g = k * u
        self.results = {"energy": 0.5 * float(np.dot(k, u * u)), "forces": np.array([g, -g])}


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_harmonic_diatomic_md_spectrum(tmp_path):
    from gmnn.md import MDConfig, MDRun

    mu = atomic_masses[8] * atomic_masses[1] / (atomic_masses[8] + atomic_masses[1])
    nu0 = 3600.0
    omega = 2 * np.pi * C * nu0 / units.fs  # rad per ASE time unit
    k = mu * omega**2  # eV/Å^2 (about 45.2)
    timestep, interval = 0.5, 4
    traj = tmp_path / "oh.traj"
    atoms = Atoms("OH", positions=[[0, 0, 0], [0.97, 0, 0]])
    config = MDConfig(
        steps=8000,
        temperature_K=300.0,
        timestep_fs=timestep,
        friction_per_fs=0.001,
        seed=1,
        write_interval=interval,
    )
    summary = MDRun(atoms, _Spring(k, 0.97, k / 16), config, trajectory=traj).run()
    assert not summary["diverged"], summary
    v, masses = read_trajectory(traj)
    assert v.shape[1:] == (2, 3) and v.shape[0] >= 2000
    np.testing.assert_allclose(masses, [atomic_masses[8], atomic_masses[1]])

    w, s = power_spectrum(v, timestep * interval, masses=masses, max_lag_ps=2.0)
    peak = fit_peak(w, s, STRETCH_BANDS["O-H"])
    assert abs(peak["center"] - nu0) / nu0 < 0.01, peak
    # Velocity-Verlet-type integrators blue-shift a harmonic line:
    # sin(ω_eff dt / 2) = ω dt / 2, about +0.5% for O-H at 0.5 fs.
    x = omega * timestep * units.fs
    nu_integrator = nu0 * 2 / x * np.arcsin(x / 2)
    assert abs(peak["center"] - nu_integrator) / nu_integrator < 0.003, (peak, nu_integrator)
    # The transverse (bending-like) line at nu0 / 4.
    bend = fit_peak(w, s, (700.0, 1100.0))
    assert abs(bend["center"] - nu0 / 4) / (nu0 / 4) < 0.01, bend

    # the pipeline's entry point: the same line after skipping 1 ps of the 4 ps; no
    # spectrum when less than two VACF windows of data remain
    grid = np.arange(0.0, 4501.0, 2.0)
    res = trajectory_spectrum(traj, timestep * interval, 1.0, grid, max_lag_ps=1.0)
    assert res["production_ps"] == pytest.approx(3.0)
    assert np.trapezoid(res["intensity"], grid) == pytest.approx(1.0)
    assert abs(res["peaks"]["O-H"]["center"] - nu0) / nu0 < 0.01, res["peaks"]
    short = trajectory_spectrum(traj, timestep * interval, 3.5, grid, max_lag_ps=1.0)
    assert short["intensity"] is None and short["peaks"]["O-H"]["method"] == "none"


def test_fit_peak_without_a_peak():
    w = np.linspace(0, 5000, 2501)
    for s in (np.zeros_like(w), np.full_like(w, 3.0), np.exp(-w / 500.0)):
        peak = fit_peak(w, s, STRETCH_BANDS["O-H"])
        assert peak["method"] == "none"
        assert np.isnan(peak["center"]) and np.isnan(peak["fwhm"]) and np.isnan(peak["height"])
    assert fit_peak(w, np.ones_like(w), (6000.0, 7000.0))["method"] == "none"


def test_fit_peak_prefers_the_oh_line_over_a_ch_tail():
    w = np.arange(0.0, 4500.0, 2.0)

    def lor(x0, g, h):
        return h * g**2 / ((w - x0) ** 2 + g**2)

    s = lor(3200.0, 60.0, 10.0) + lor(3750.0, 15.0, 0.5)  # C-H tail at 3300 > O-H peak
    assert s[w == 3300.0][0] > s.max() * 0.02 > 0
    oh = fit_peak(w, s, STRETCH_BANDS["O-H"])
    assert oh["method"] == "lorentzian"
    assert oh["center"] == pytest.approx(3750.0, abs=0.5)
    assert fit_peak(w, s, STRETCH_BANDS["C-H"])["center"] == pytest.approx(3200.0, abs=0.5)


def test_fit_peak_parabola_fallback():
    x = np.arange(10.0)
    y = np.array([0, 0, 0, 1.0, 3.0, 2.0, 0, 0, 0, 0])
    peak = fit_peak(x, y, (3.0, 5.0))  # 3 points: too few for the Lorentzian
    assert peak["method"] == "parabola"
    # Vertex of the parabola through (3, 1), (4, 3), (5, 2): x = 4 + 1/6.
    assert peak["center"] == pytest.approx(4.0 + 1.0 / 6.0)
    assert peak["height"] == pytest.approx(3.0 + 1.0 / 24.0)


def test_spectrum_on_grid():
    w = np.linspace(0.0, 1000.0, 101)
    s = np.exp(-(((w - 500.0) / 50.0) ** 2))
    grid = np.arange(0.0, 1202.0, 2.0)
    g = spectrum_on_grid(w, s, grid)
    np.testing.assert_allclose(g[grid <= 1000], np.interp(grid[grid <= 1000], w, s))
    assert np.all(g[grid > 1000] == 0.0)
    ga = spectrum_on_grid(w, s, grid, normalize="area")
    assert np.trapezoid(ga, grid) == pytest.approx(1.0)
    assert spectrum_on_grid(w, s, grid, normalize="max").max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="normalize"):
        spectrum_on_grid(w, s, grid, normalize="sum")


def test_read_trajectory_start_stop(tmp_path):
    path = tmp_path / "v.traj"
    rng = np.random.default_rng(4)
    vel = rng.normal(size=(10, 3, 3))
    atoms = Atoms("OCH", positions=rng.normal(size=(3, 3)))
    with Trajectory(str(path), "w") as traj:
        for frame in vel:
            atoms.set_velocities(frame)
            traj.write(atoms)
    v, m = read_trajectory(path)
    np.testing.assert_allclose(v, vel, rtol=1e-12)
    np.testing.assert_allclose(m, atoms.get_masses())
    np.testing.assert_allclose(read_trajectory(path, start_frame=3, stop_frame=7)[0], vel[3:7])
    np.testing.assert_allclose(read_trajectory(path, start_frame=-2)[0], vel[-2:])
    empty, m_empty = read_trajectory(path, start_frame=10)  # e.g. diverged in equilibration
    assert empty.shape == (0, 3, 3)
    np.testing.assert_allclose(m_empty, m)

    bare = tmp_path / "bare.traj"
    with Trajectory(str(bare), "w") as traj:
        traj.write(Atoms("OH", positions=[[0, 0, 0], [1, 0, 0]]))
    with pytest.raises(ValueError, match="momenta"):
        read_trajectory(bare)


def test_bad_arguments():
    v = np.ones((10, 2, 3))
    with pytest.raises(ValueError, match="shape"):
        vacf(np.ones((10, 3)))
    with pytest.raises(ValueError, match="zero"):
        vacf(np.zeros((10, 2, 3)))
    with pytest.raises(ValueError, match="window"):
        power_spectrum(v, 1.0, window="gauss")
    with pytest.raises(ValueError, match="dt_fs"):
        power_spectrum(v, 0.0)
