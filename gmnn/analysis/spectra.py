"""Vibrational power spectra from MD velocities (pure numpy/scipy, no TensorFlow).

The power spectrum is the Fourier (cosine) transform of the velocity
autocorrelation function (VACF), as in Fig. 4 and Figs. S3-S5 of the paper.

Conventions
-----------
VACF
    ``C(k) = sum_i w_i sum_a <v_ia(t0) v_ia(t0 + k dt)>_t0 / C(0)``: averaged over
    all time origins with the unbiased estimator (lag ``k`` divided by
    ``n_frames - k``), summed over atoms ``i`` and Cartesian components ``a``,
    normalised so that ``C(0) = 1``. By default the weights are the atomic masses
    (``w_i = m_i``), i.e. the kinetic-energy-weighted VACF, whose spectrum is the
    classical vibrational density of states in which every mode carries weight
    ``k_B T`` (equipartition), so peak areas count modes, not IR intensities.
    Velocities are used as they are (no mean is subtracted); with ASE's ``FixCom``
    the centre-of-mass velocity is zero anyway.
Windowing
    The VACF is truncated at the maximum lag ``L`` (``max_lag_ps``; default
    ``n_frames // 2``) and multiplied by the right half of a Hann window,
    ``w(k) = 0.5 (1 + cos(pi k / L))`` for ``k = 0..L`` (``w(0) = 1``,
    ``w(L) = 0``), or by nothing (``window="none"``, a plain truncation with sinc
    ripples). The windowed VACF is mirrored to an even function of length ``2L``
    and zero-padded to ``pad_factor * 2L`` points (rounded up to a fast FFT
    length); padding only interpolates the spectrum, the resolution is set by
    ``L``: the Hann window broadens a line to a FWHM of about
    ``1 / (L c)`` cm^-1 (about 34 cm^-1 for ``L = 1 ps``, 7 cm^-1 for 5 ps).
Transform
    ``S(f) = dt * [C(0) + 2 sum_{k=1}^{L} w(k) C(k) cos(2 pi f k dt)]`` (the real
    part of a real FFT of the even sequence), on frequencies ``f = m / (N dt)``
    from 0 to the Nyquist frequency, converted to wavenumbers
    ``nu = f / c`` with ``c = 2.99792458e-5 cm/fs``. Small negative values (from
    the windowed, noisy estimator or from truncation ripples) are kept as they
    are, not clipped.
Normalisation
    ``normalize="area"``: the trapezoidal integral over the returned wavenumber
    range is 1 (intensity in 1/cm^-1); ``"max"``: the largest value is 1;
    ``None``: the raw ``S`` in fs, for which the integral over all frequencies
    (both signs) in 1/fs is ``w(0) C(0) = 1``, i.e. ``c * integral S dnu`` over
    ``0..Nyquist`` is about 1/2.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import fft as sfft
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.signal import find_peaks, peak_widths

from gmnn.io import TrajectoryFrames
from gmnn.settings import Settings, SettingsError, option

SPEED_OF_LIGHT_CM_PER_FS: float = 2.99792458e-5
"""Speed of light in cm/fs; a frequency ``f`` in 1/fs is ``f / c`` in cm^-1."""

CM1_PER_FS_INV: float = 1.0 / SPEED_OF_LIGHT_CM_PER_FS
"""Wavenumber in cm^-1 of a frequency of 1/fs (about 33356.4 cm^-1)."""

STRETCH_BANDS: dict[str, tuple[float, float]] = {
    "C-H": (2600.0, 3400.0),
    "O-H": (3300.0, 4200.0),
}
"""Search bands (cm^-1) for the characteristic stretch peaks. They overlap on
purpose (3300-3400 cm^-1): :func:`fit_peak` takes the most prominent interior
peak of a band, so the O-H search finds the O-H line above 3300 cm^-1 even where
the band starts on the tail of the (stronger) C-H band."""

_NO_PEAK = {
    "center": float("nan"),
    "fwhm": float("nan"),
    "height": float("nan"),
    "prominence": float("nan"),
    "method": "none",
}


class SpectraConfig(Settings):
    """How a power spectrum is computed from an MD run (config section ``spectra``).

    The VACF of the production part is cut at ``max_lag_ps`` and multiplied by the right
    half of a Hann window (``window="none"``: plain truncation), mirrored, zero-padded
    ``pad_factor`` times and cosine-transformed; the spectrum is put on the grid
    0, ``grid_step_cm1``, ..., ``grid_max_cm1`` with unit area. None of this is stated in
    the paper; the defaults resolve stretch bands to a few cm^-1 for 100 ps runs.
    """

    section: ClassVar[str] = "spectra"

    max_lag_ps: float = option(5.0, gt=0.0, doc="VACF window length, ps")
    window: str = option("hann", choices=("hann", "none"), doc="VACF window")
    pad_factor: int = option(4, ge=1, doc="zero padding before the transform")
    grid_max_cm1: float = option(4500.0, gt=0.0, doc="upper end of the common grid, cm^-1")
    grid_step_cm1: float = option(2.0, gt=0.0, doc="spacing of the common grid, cm^-1")

    def check(self) -> None:
        if self.grid_step_cm1 >= self.grid_max_cm1:
            raise SettingsError(
                "grid_step_cm1",
                f"must be below grid_max_cm1 ({self.grid_max_cm1}): the grid 0, step, ..., "
                f"grid_max_cm1 would have no point inside, got {self.grid_step_cm1}",
            )

    def grid(self) -> np.ndarray:
        """The common wavenumber grid (cm^-1) of every tabulated spectrum."""
        step = self.grid_step_cm1
        return np.arange(0.0, self.grid_max_cm1 + step / 2, step)


_DEFAULT = SpectraConfig()


def wavenumber_from_frequency(freq_per_fs: ArrayLike) -> np.ndarray:
    """Frequency in 1/fs to wavenumber in cm^-1."""
    return np.asarray(freq_per_fs, dtype=float) * CM1_PER_FS_INV


def vacf(
    velocities: ArrayLike,
    masses: ArrayLike | None = None,
    max_lag: int | None = None,
    mass_weighted: bool = True,
) -> np.ndarray:
    """Velocity autocorrelation function, averaged over time origins, ``C(0) = 1``.

    Parameters
    ----------
    velocities
        ``(n_frames, n_atoms, 3)``, equally spaced in time (any units).
    masses
        ``(n_atoms,)`` weights; used only with ``mass_weighted`` (unit weights if None).
    max_lag
        Largest lag in frames; default ``n_frames // 2`` (beyond that fewer than
        half of the time origins contribute and the estimate gets noisy); at most
        ``n_frames - 1``.
    mass_weighted
        Weight atom ``i`` by ``m_i`` (kinetic-energy-weighted VACF).

    Returns
    -------
    ``(max_lag + 1,)`` array, lags ``0..max_lag`` in frames.

    Notes
    -----
    Computed per atom by a zero-padded FFT (no circular wrap-around), so the cost
    is O(n log n) and the memory a few arrays of ``n_frames x 3``. Lag ``k`` is
    divided by ``n_frames - k`` (unbiased estimator).
    """
    v = np.asarray(velocities, dtype=float)
    if v.ndim != 3:
        raise ValueError(f"velocities must have shape (n_frames, n_atoms, 3), got {v.shape}")
    n_frames, n_atoms = v.shape[:2]
    if n_frames < 2:
        raise ValueError("need at least 2 frames for an autocorrelation function")
    max_lag = n_frames // 2 if max_lag is None else int(max_lag)
    if max_lag < 0:
        raise ValueError(f"max_lag must be >= 0, got {max_lag}")
    max_lag = min(max_lag, n_frames - 1)
    if mass_weighted and masses is not None:
        weights = np.asarray(masses, dtype=float).reshape(-1)
        if weights.shape != (n_atoms,):
            raise ValueError(f"masses must have shape ({n_atoms},), got {weights.shape}")
    else:
        weights = np.ones(n_atoms)
    n_fft = sfft.next_fast_len(n_frames + max_lag, real=True)
    power = np.zeros(n_fft // 2 + 1)
    for i in range(n_atoms):
        if weights[i] == 0.0:
            continue
        spec = sfft.rfft(v[:, i, :], n=n_fft, axis=0)
        power += weights[i] * (spec.real**2 + spec.imag**2).sum(axis=1)
    corr = sfft.irfft(power, n=n_fft)[: max_lag + 1]
    corr /= n_frames - np.arange(max_lag + 1)
    if not np.isfinite(corr[0]) or corr[0] <= 0.0:
        raise ValueError("zero or non-finite velocities: the VACF cannot be normalised")
    return corr / corr[0]


def power_spectrum(
    velocities: ArrayLike,
    dt_fs: float,
    masses: ArrayLike | None = None,
    max_lag_ps: float | None = None,
    window: str | None = _DEFAULT.window,
    pad_factor: int = _DEFAULT.pad_factor,
    normalize: str | None = "area",
    max_wavenumber: float | None = None,
    mass_weighted: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Vibrational power spectrum: cosine transform of the windowed VACF.

    Parameters
    ----------
    velocities
        ``(n_frames, n_atoms, 3)``.
    dt_fs
        Time between frames in fs (MD time step times the write interval).
    masses
        ``(n_atoms,)`` masses for the kinetic-energy weighting (unit weights if None).
    max_lag_ps
        VACF truncation ``L`` in ps; default (None) ``n_frames // 2`` frames.
    window
        ``"hann"`` (right half of a Hann window) or ``"none"``/None.
    pad_factor
        Zero padding: FFT length ``pad_factor * 2L`` (rounded up to a fast length).
    normalize
        ``"area"`` (integral over the returned range = 1), ``"max"`` (peak = 1) or
        None (raw, in fs); see the module docstring.
    max_wavenumber
        Return only wavenumbers ``<= max_wavenumber`` cm^-1 (default: up to Nyquist).
    mass_weighted
        Passed to :func:`vacf`.

    Returns
    -------
    wavenumber_cm1, intensity
        Equally spaced from 0 cm^-1, spacing ``1 / (N dt c)``.
    """
    dt_fs = float(dt_fs)
    if not dt_fs > 0:
        raise ValueError(f"dt_fs must be positive, got {dt_fs}")
    max_lag = None if max_lag_ps is None else int(round(1000.0 * float(max_lag_ps) / dt_fs))
    corr = vacf(velocities, masses, max_lag=max_lag, mass_weighted=mass_weighted)
    lag = len(corr) - 1
    if lag < 1:
        raise ValueError("the VACF needs at least 2 lags for a spectrum")
    if window is None or str(window).lower() == "none":
        taper = np.ones(lag + 1)
    elif str(window).lower() == "hann":
        taper = 0.5 * (1.0 + np.cos(np.pi * np.arange(lag + 1) / lag))
    else:
        raise ValueError(f"unknown window {window!r}; use 'hann' or 'none'")
    if int(pad_factor) < 1:
        raise ValueError(f"pad_factor must be >= 1, got {pad_factor}")
    n_fft = sfft.next_fast_len(int(pad_factor) * 2 * lag, real=True)
    even = np.zeros(n_fft)
    cw = corr * taper
    even[: lag + 1] = cw
    even[n_fft - lag :] = cw[1:][::-1]
    intensity = sfft.rfft(even).real * dt_fs
    wavenumber = wavenumber_from_frequency(sfft.rfftfreq(n_fft, d=dt_fs))
    if max_wavenumber is not None:
        keep = wavenumber <= float(max_wavenumber)
        wavenumber, intensity = wavenumber[keep], intensity[keep]
    return wavenumber, _normalise(wavenumber, intensity, normalize)


def _normalise(x: np.ndarray, y: np.ndarray, normalize: str | None) -> np.ndarray:
    if normalize is None:
        return y
    if normalize == "area":
        area = np.trapezoid(y, x) if len(x) > 1 else 0.0
        if not np.isfinite(area) or area == 0.0:
            raise ValueError("spectrum has zero area; cannot normalise by area")
        return y / area
    if normalize == "max":
        peak = np.max(y) if len(y) else 0.0
        if not np.isfinite(peak) or peak <= 0.0:
            raise ValueError("spectrum has no positive maximum; cannot normalise by max")
        return y / peak
    raise ValueError(f"unknown normalize {normalize!r}; use 'area', 'max' or None")


def spectrum_on_grid(
    wavenumber: ArrayLike,
    intensity: ArrayLike,
    grid: ArrayLike,
    normalize: str | None = None,
) -> np.ndarray:
    """Linear interpolation of a spectrum onto ``grid`` (e.g. ``np.arange(0, 4502, 2)``).

    Points of ``grid`` outside the spectrum's range get zero intensity. With
    ``normalize`` ("area" or "max") the interpolated spectrum is renormalised on
    the grid, as in :func:`power_spectrum`.
    """
    x = np.asarray(wavenumber, dtype=float)
    y = np.asarray(intensity, dtype=float)
    g = np.asarray(grid, dtype=float)
    order = np.argsort(x, kind="stable")
    out = np.interp(g, x[order], y[order], left=0.0, right=0.0)
    return _normalise(g, out, normalize)


def _lorentzian(x, height, center, gamma, background):
    return height * gamma**2 / ((x - center) ** 2 + gamma**2) + background


def fit_peak(
    wavenumber: ArrayLike, intensity: ArrayLike, band: Sequence[float]
) -> dict[str, float | str]:
    """Position and width of the strongest peak inside ``band = (lo, hi)`` cm^-1.

    The peak is the interior local maximum of the band with the largest
    prominence (:func:`scipy.signal.find_peaks`; band edges are not peaks, so a
    tail entering the band is ignored). A Lorentzian plus constant background is
    fitted (:func:`scipy.optimize.curve_fit`) to the contiguous points around it
    that lie above half its prominence (``peak - prominence / 2``; at least 5
    points, widened within the band if needed). If the fit fails, or its centre,
    height or width is invalid or the centre is outside the band, the vertex of a
    parabola through the maximum and its two neighbours is used instead, with the
    FWHM taken at half prominence by linear interpolation.

    Returns
    -------
    dict
        ``center`` and ``fwhm`` (cm^-1), ``height`` (intensity units, including
        the background), ``prominence`` and ``method``: ``"lorentzian"``,
        ``"parabola"``, or ``"none"`` (NaNs) when the band has no peak (flat,
        monotonic, empty or non-finite data).
    """
    lo, hi = (float(b) for b in band)
    x = np.asarray(wavenumber, dtype=float).reshape(-1)
    y = np.asarray(intensity, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"wavenumber {x.shape} and intensity {y.shape} differ in shape")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    sel = np.isfinite(x) & np.isfinite(y) & (x >= lo) & (x <= hi)
    xb, yb = x[sel], y[sel]
    if len(xb) < 3:
        return dict(_NO_PEAK)
    span = float(np.ptp(yb))
    if span == 0.0 or span <= 1e-12 * float(np.max(np.abs(yb))):
        return dict(_NO_PEAK)
    peaks, props = find_peaks(yb, prominence=0.0)
    if len(peaks) == 0:
        return dict(_NO_PEAK)
    best = int(np.argmax(props["prominences"]))
    p, prom = int(peaks[best]), float(props["prominences"][best])
    if not prom > 0:
        return dict(_NO_PEAK)

    threshold = yb[p] - 0.5 * prom
    left, right = p, p
    while left > 0 and yb[left - 1] > threshold:
        left -= 1
    while right < len(yb) - 1 and yb[right + 1] > threshold:
        right += 1
    while right - left + 1 < 5 and (left > 0 or right < len(yb) - 1):
        left, right = max(left - 1, 0), min(right + 1, len(yb) - 1)

    # FWHM at half prominence (linear interpolation), used as initial guess and fallback.
    _, _, left_ip, right_ip = peak_widths(yb, [p], rel_height=0.5)
    idx = np.arange(len(xb))
    fwhm_est = float(np.interp(right_ip[0], idx, xb) - np.interp(left_ip[0], idx, xb))

    scale = abs(float(yb[p]))
    xs = xb[left : right + 1] - xb[p]
    ys = yb[left : right + 1] / scale
    if len(xs) >= 5:
        spacing = float(np.min(np.diff(xb)))
        p0 = [prom / scale, 0.0, max(0.5 * fwhm_est, spacing), (yb[p] - prom) / scale]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                popt, _ = curve_fit(_lorentzian, xs, ys, p0=p0, maxfev=5000)
            height, center, gamma, background = (float(v) for v in popt)
            center += float(xb[p])
            ok = (
                np.all(np.isfinite(popt))
                and height > 0
                and gamma != 0
                and lo <= center <= hi
                and abs(gamma) < (hi - lo)
            )
            if ok:
                return {
                    "center": center,
                    "fwhm": 2.0 * abs(gamma),
                    "height": (height + background) * scale,
                    "prominence": prom,
                    "method": "lorentzian",
                }
        except (RuntimeError, ValueError):
            pass

    a, b, c = np.polyfit(xb[p - 1 : p + 2] - xb[p], yb[p - 1 : p + 2], 2)
    if a < 0:
        offset = float(np.clip(-b / (2.0 * a), xb[p - 1] - xb[p], xb[p + 1] - xb[p]))
        height = float(c + b * offset + a * offset**2)
    else:  # cannot happen for a strict local maximum, but stay safe
        offset, height = 0.0, float(yb[p])
    return {
        "center": float(xb[p]) + offset,
        "fwhm": fwhm_est,
        "height": height,
        "prominence": prom,
        "method": "parabola",
    }


def read_trajectory(
    path: str | Path, start_frame: int = 0, stop_frame: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Velocities and masses from an ASE trajectory (e.g. one written by ``run_langevin``).

    Parameters
    ----------
    path
        ASE ``.traj`` file whose frames carry momenta.
    start_frame, stop_frame
        Frames ``[start_frame:stop_frame]`` (Python slice semantics, negative
        indices allowed). To drop an equilibration period of ``t`` ps written every
        ``interval`` steps of ``dt`` fs, use ``start_frame = round(1000 t / (interval dt))``.

    Returns
    -------
    velocities, masses
        ``(n_frames, n_atoms, 3)`` in ASE units (Å per ASE time unit,
        ``atoms.get_velocities()``) and ``(n_atoms,)`` in amu. The velocity unit
        cancels in the normalised VACF and spectrum. An empty selection (e.g. a run
        that diverged during equilibration) gives ``n_frames = 0``, not an error; a
        trajectory without frames gives shapes ``(0, 0, 3)`` and ``(0,)``.

    Raises
    ------
    ValueError
        If a selected frame has no momenta.
    """
    with TrajectoryFrames(path) as traj:
        if len(traj) == 0:
            return np.zeros((0, 0, 3)), np.zeros(0)
        frames = range(len(traj))[start_frame:stop_frame]
        first = traj[frames[0] if len(frames) else 0]
        masses = np.asarray(first.get_masses(), dtype=float)
        velocities = np.empty((len(frames), len(first), 3))
        for k, i in enumerate(frames):
            atoms = first if k == 0 else traj[i]
            if not atoms.has("momenta"):
                raise ValueError(f"frame {i} of {path} has no momenta (velocities)")
            velocities[k] = atoms.get_velocities()
    return velocities, masses


def trajectory_spectrum(
    path: str | Path,
    frame_dt_fs: float,
    skip_ps: float,
    grid: ArrayLike,
    max_lag_ps: float,
    window: str | None = _DEFAULT.window,
    pad_factor: int = _DEFAULT.pad_factor,
    bands: dict[str, Sequence[float]] = STRETCH_BANDS,
) -> dict:
    """Power spectrum and stretch-band peaks of an MD trajectory after ``skip_ps``.

    The frames after the first ``skip_ps`` (equilibration) are the production part. With
    at least ``2 * max_lag_ps`` of it, the spectrum (:func:`power_spectrum`, then
    :func:`spectrum_on_grid` with unit area on ``grid``) and :func:`fit_peak` in each of
    ``bands`` are returned; with less (e.g. a run that diverged early) ``intensity`` is
    None and every peak is the "none" fit.

    Returns
    -------
    dict
        ``production_ps``, ``intensity`` (on ``grid``, or None), ``peaks`` (band -> fit).
    """
    first = int(np.ceil(skip_ps * 1000 / frame_dt_fs))
    velocities, masses = read_trajectory(path, start_frame=first)
    production_ps = max(len(velocities) - 1, 0) * frame_dt_fs / 1000
    out = {
        "production_ps": production_ps,
        "intensity": None,
        "peaks": {band: fit_peak([], [], limits) for band, limits in bands.items()},
    }
    if production_ps < 2 * max_lag_ps:
        return out
    wavenumber, intensity = power_spectrum(
        velocities,
        frame_dt_fs,
        masses=masses,
        max_lag_ps=max_lag_ps,
        window=window,
        pad_factor=pad_factor,
        normalize=None,
    )
    grid = np.asarray(grid, dtype=float)
    on_grid = spectrum_on_grid(wavenumber, intensity, grid, normalize="area")
    out["intensity"] = on_grid
    out["peaks"] = {band: fit_peak(grid, on_grid, limits) for band, limits in bands.items()}
    return out
