"""Bond-length statistics and one-dimensional bond-stretch scans (pure numpy/scipy).

Used for the O-H and C-H distance distributions of a data set (Figs. S1 and S2,
left) and for the rigid O-H stretch scans with a harmonic (quadratic) fit of
the energy around the minimum (Fig. S1, right), which gives a rough harmonic
wavenumber ``nu = sqrt(k / mu) / (2 pi c)``.

Units: Å, eV, eV/Å^2, amu, cm^-1.

The tidy tables of Figs. S1/S2 are defined here (:data:`HISTOGRAMS`, :data:`SCANS`,
:data:`FREQUENCIES`) and made by :func:`bond_analysis` (rule ``bond_analysis``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from ase import units
from ase.data import atomic_masses, atomic_numbers, chemical_symbols
from numpy.typing import ArrayLike

from gmnn.analysis.structure import covalent_bonds
from gmnn.analysis.tables import Table

SPEED_OF_LIGHT_CM_PER_FS: float = 2.99792458e-5
"""Speed of light in cm/fs."""

MODEL_KEYS = ("molecule", "bond", "setting", "n_train")
"""The columns that identify one potential's scan of one bond."""

HISTOGRAMS = Table(
    "bond histograms",
    columns=("molecule", "bond", "n_bonds", "bin_lo", "bin_hi", "count", "density"),
    comments=(
        "Bond lengths (Angstrom) of every bond of the kind in the coupled-cluster data set; "
        "density integrates to 1",
    ),
    keys=("molecule", "bond", "bin_lo"),
    text=("molecule", "bond"),
)
"""``results/md17/bond_histograms.csv``: distances of every bond of a kind in a data set."""

SCANS = Table(
    "bond scans",
    columns=(*MODEL_KEYS, "atoms", "distance_A", "energy_rel_kcal_mol"),
    comments=(
        "Rigid bond scans from the lowest-energy coupled-cluster structure: energy relative "
        "to the curve's lowest point (kcal/mol); n_train of pretrain = DFT structures",
    ),
    keys=(*MODEL_KEYS, "distance_A"),
    text=("molecule", "bond", "setting", "atoms"),
)
"""``results/md17/bond_scans.csv``: a potential's energy along one stretched bond."""

FIT_COLUMNS = (
    "wavenumber_cm1",
    "force_constant_eV_A2",
    "r0_A",
    "fit_lo_A",
    "fit_hi_A",
    "n_points",
    "rms_residual_eV",
    "note",
)
"""The columns of a harmonic fit (:func:`harmonic_frequency`, ``note`` of :func:`scan_bond`)."""

FREQUENCIES = Table(
    "harmonic frequencies",
    columns=(*MODEL_KEYS, *FIT_COLUMNS),
    comments=(
        "Harmonic wavenumbers (cm^-1) from a quadratic fit E0 + k/2 (r - r0)^2 to the scan "
        "points within fit_window_A of the minimum; force constant k in eV/Angstrom^2; "
        "note: why a fit failed (then NaN)",
    ),
    keys=MODEL_KEYS,
    text=("molecule", "bond", "setting", "note"),
    blank=FIT_COLUMNS[1:-1],  # a failed fit: wavenumber nan, the fit's details empty
)
"""``results/md17/harmonic_frequencies.csv``: harmonic fits of the scans."""

_log = logging.getLogger(__name__)


def _element(symbol_or_number: str | int) -> int:
    if isinstance(symbol_or_number, str):
        try:
            return atomic_numbers[symbol_or_number]
        except KeyError:
            raise ValueError(f"unknown element {symbol_or_number!r}") from None
    return int(symbol_or_number)


def _mass(mass: float | str) -> float:
    """A mass in amu, or an element symbol (its standard atomic mass)."""
    if isinstance(mass, str):
        return float(atomic_masses[_element(mass)])
    mass = float(mass)
    if not mass > 0:
        raise ValueError(f"masses must be positive, got {mass}")
    return mass


def reduced_mass(mass_a: float | str, mass_b: float | str) -> float:
    """Reduced mass ``m_a m_b / (m_a + m_b)`` in amu (masses in amu or element symbols)."""
    ma, mb = _mass(mass_a), _mass(mass_b)
    return ma * mb / (ma + mb)


BOND_PAIR_FACTOR = 1.25
"""The ``factor`` of :func:`bonded_pairs` on the summed covalent radii, in gmnn's one bond
definition (:func:`gmnn.analysis.structure.covalent_bonds`). Slightly looser than its
default :data:`~gmnn.analysis.structure.COVALENT_BOND_FACTOR` (1.2) so that a bond of
the reference structure (a sampled MD17 geometry, not a minimum) still counts when it is
stretched; the bond tables of Figs. S1 and S2 are made with it."""


def bonded_pairs(
    numbers: ArrayLike,
    positions: ArrayLike,
    a: str | int = "O",
    b: str | int = "H",
    factor: float = BOND_PAIR_FACTOR,
) -> np.ndarray:
    """Bonded atom pairs of elements ``a`` and ``b`` in one geometry.

    Atoms ``i`` (element ``a``) and ``j`` (element ``b``) are bonded if
    ``|r_i - r_j| < factor * (R_a + R_b)`` with the covalent radii of
    :data:`ase.data.covalent_radii` (:func:`gmnn.analysis.structure.covalent_bonds`).

    Parameters
    ----------
    numbers
        ``(n_atoms,)`` atomic numbers.
    positions
        ``(n_atoms, 3)`` positions in Å (a reference geometry; no periodic images).
    a, b
        Element symbols or atomic numbers. For ``a == b`` each pair appears once,
        with ``i < j``.
    factor
        Tolerance on the sum of covalent radii (default :data:`BOND_PAIR_FACTOR`).

    Returns
    -------
    ``(k, 2)`` integer array of ``(i, j)``, sorted by ``i`` then ``j``.
    """
    z = np.asarray(numbers, dtype=int).reshape(-1)
    pos = np.asarray(positions, dtype=float)
    if pos.shape != (len(z), 3):
        raise ValueError(f"positions must have shape ({len(z)}, 3), got {pos.shape}")
    za, zb = _element(a), _element(b)
    bonds = covalent_bonds(z, pos, factor=factor)
    first, second = z[bonds[:, 0]], z[bonds[:, 1]]
    forward = (first == za) & (second == zb)
    backward = (first == zb) & (second == za) & ~forward
    pairs = np.concatenate([bonds[forward], bonds[backward][:, ::-1]])
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))].astype(int)


def pair_distances(positions: ArrayLike, pairs: ArrayLike) -> np.ndarray:
    """Distances of atom pairs.

    Parameters
    ----------
    positions
        ``(n_structures, n_atoms, 3)`` or ``(n_atoms, 3)`` in Å.
    pairs
        ``(k, 2)`` atom indices, e.g. from :func:`bonded_pairs`.

    Returns
    -------
    ``(n_structures, k)`` distances, or ``(k,)`` for a single geometry.
    """
    pos = np.asarray(positions, dtype=float)
    idx = np.asarray(pairs, dtype=int).reshape(-1, 2)
    if pos.ndim not in (2, 3) or pos.shape[-1] != 3:
        raise ValueError(f"positions must be (n_atoms, 3) or (n, n_atoms, 3), got {pos.shape}")
    diff = pos[..., idx[:, 1], :] - pos[..., idx[:, 0], :]
    return np.linalg.norm(diff, axis=-1)


def distance_histogram(
    distances: ArrayLike,
    bins: int | ArrayLike = 50,
    range: tuple[float, float] | None = None,  # numpy.histogram's name
) -> pd.DataFrame:
    """Histogram of distances as a table.

    Parameters
    ----------
    distances
        Any shape; flattened, non-finite values dropped.
    bins, range
        As in :func:`numpy.histogram` (number of bins or bin edges; default range
        the data's min-max).

    Returns
    -------
    DataFrame
        One row per bin with ``bin_lo``, ``bin_hi`` (Å), ``count`` and ``density``
        (``count / (n_in_range * width)``, which integrates to 1 over the
        histogram range; values outside ``range`` are not counted).
    """
    d = np.asarray(distances, dtype=float).reshape(-1)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        raise ValueError("no finite distances to histogram")
    counts, edges = np.histogram(d, bins=bins, range=range)
    total = counts.sum()
    widths = np.diff(edges)
    density = counts / (total * widths) if total > 0 else np.zeros(len(counts))
    return pd.DataFrame(
        {
            "bin_lo": edges[:-1].astype(float),
            "bin_hi": edges[1:].astype(float),
            "count": counts.astype(np.int64),
            "density": density.astype(float),
        }
    )


def stretch_scan(positions: ArrayLike, i: int, j: int, distances: ArrayLike) -> np.ndarray:
    """Rigid bond scan: atom ``j`` moved along the ``i -> j`` bond to each distance.

    Parameters
    ----------
    positions
        ``(n_atoms, 3)`` reference geometry in Å.
    i, j
        The fixed atom and the moved atom.
    distances
        ``(n,)`` target distances ``|r_j - r_i|`` in Å.

    Returns
    -------
    ``(n, n_atoms, 3)`` geometries; all atoms but ``j`` are unchanged.
    """
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"positions must have shape (n_atoms, 3), got {pos.shape}")
    i, j = int(i), int(j)
    if i == j:
        raise ValueError("i and j must be different atoms")
    bond = pos[j] - pos[i]
    length = np.linalg.norm(bond)
    if not length > 0:
        raise ValueError(f"atoms {i} and {j} coincide; the bond direction is undefined")
    unit = bond / length
    d = np.asarray(distances, dtype=float).reshape(-1)
    out = np.repeat(pos[None], len(d), axis=0)
    out[:, j] = pos[i] + d[:, None] * unit
    return out


def harmonic_frequency(
    distances: ArrayLike,
    energies_eV: ArrayLike,
    mass_a: float | str,
    mass_b: float | str,
    window: float = 0.05,
) -> dict[str, float | int]:
    """Harmonic wavenumber from a 1-D bond scan by a quadratic fit around the minimum.

    The minimum ``r_min`` is the vertex of a parabola through the lowest scan point
    and its two neighbours (in distance order). Then ``E = E0 + k/2 (r - r0)^2``
    is fitted by linear least squares to all points with
    ``|r - r_min| <= window`` and converted to ``nu = sqrt(k / mu) / (2 pi c)``
    with ``mu = m_a m_b / (m_a + m_b)``. As the paper notes, the result depends
    on the fit window (anharmonicity) and is only a rough estimate.

    Parameters
    ----------
    distances, energies_eV
        ``(n,)`` scan distances (Å) and energies (eV).
    mass_a, mass_b
        Masses in amu, or element symbols.
    window
        Half-width (Å) of the fit window around ``r_min``.

    Returns
    -------
    dict
        ``wavenumber_cm1``, ``force_constant_eV_A2``, ``r0_A`` (fitted minimum),
        ``e0_eV``, ``fit_lo_A``/``fit_hi_A`` (smallest/largest distance used),
        ``n_points`` and ``rms_residual_eV``.

    Raises
    ------
    ValueError
        If the minimum is at an end of the scan, fewer than 3 points lie in the
        window, or the fitted curvature is not positive.
    """
    r = np.asarray(distances, dtype=float).reshape(-1)
    e = np.asarray(energies_eV, dtype=float).reshape(-1)
    if r.shape != e.shape:
        raise ValueError(f"distances {r.shape} and energies {e.shape} differ in shape")
    ok = np.isfinite(r) & np.isfinite(e)
    r, e = r[ok], e[ok]
    order = np.argsort(r, kind="stable")
    r, e = r[order], e[order]
    if len(r) < 3:
        raise ValueError(f"a harmonic fit needs at least 3 scan points, got {len(r)}")
    m = int(np.argmin(e))
    if m == 0 or m == len(r) - 1:
        raise ValueError(
            f"the lowest energy is at the end of the scan (r = {r[m]:.4f} Å); "
            "extend the scan so that it brackets the minimum"
        )
    a2, a1, _ = np.polyfit(r[m - 1 : m + 2] - r[m], e[m - 1 : m + 2], 2)
    r_min = r[m] - a1 / (2.0 * a2) if a2 > 0 else r[m]
    r_min = float(np.clip(r_min, r[m - 1], r[m + 1]))

    sel = np.abs(r - r_min) <= float(window)
    n = int(sel.sum())
    if n < 3:
        raise ValueError(
            f"only {n} scan point(s) within ±{window} Å of the minimum at {r_min:.4f} Å; "
            "a quadratic fit needs at least 3: use a finer scan or a larger window"
        )
    x, y = r[sel] - r_min, e[sel]
    c2, c1, c0 = np.polyfit(x, y, 2)
    if not c2 > 0:
        raise ValueError(f"fitted curvature {2 * c2:.4g} eV/Å^2 is not positive")
    k = 2.0 * c2
    r0 = r_min - c1 / (2.0 * c2)
    e0 = c0 - c1**2 / (4.0 * c2)
    residual = y - (c2 * x**2 + c1 * x + c0)
    return {
        "wavenumber_cm1": harmonic_wavenumber(k, reduced_mass(mass_a, mass_b)),
        "force_constant_eV_A2": float(k),
        "r0_A": float(r0),
        "e0_eV": float(e0),
        "fit_lo_A": float(r[sel].min()),
        "fit_hi_A": float(r[sel].max()),
        "n_points": n,
        "rms_residual_eV": float(np.sqrt(np.mean(residual**2))),
    }


def harmonic_wavenumber(force_constant_eV_A2: float, mu_amu: float) -> float:
    """``sqrt(k / mu) / (2 pi c)`` in cm^-1 for ``k`` in eV/Å^2 and ``mu`` in amu.

    ``sqrt(eV / (Å^2 amu))`` is one inverse ASE time unit; one fs is ``ase.units.fs``
    ASE time units, so the angular frequency per fs is ``sqrt(k / mu) * units.fs``.
    """
    omega_per_fs = np.sqrt(float(force_constant_eV_A2) / float(mu_amu)) * units.fs
    return float(omega_per_fs / (2.0 * np.pi * SPEED_OF_LIGHT_CM_PER_FS))


def scan_bond(
    energy_fn: Callable[[np.ndarray, np.ndarray], ArrayLike],
    numbers: ArrayLike,
    positions: ArrayLike,
    pair: Sequence[int],
    distances: ArrayLike,
    window: float = 0.05,
) -> dict:
    """Rigid scan of the bond ``pair = (i, j)`` and its harmonic wavenumber.

    ``energy_fn(numbers, geometries)`` returns the energies (eV) of the ``(n, A, 3)``
    geometries of :func:`stretch_scan` (e.g. a model's predictions). Returns
    ``distance_A``, ``energy_rel_eV`` (relative to the scan's lowest point) and ``fit``:
    :func:`harmonic_frequency` with ``note`` empty, or, when the fit is impossible (no
    minimum inside the scan, too few points), ``wavenumber_cm1`` NaN and the reason in
    ``note``.
    """
    numbers = np.asarray(numbers)
    i, j = (int(x) for x in pair)
    r = np.asarray(distances, dtype=float)
    energy = np.asarray(energy_fn(numbers, stretch_scan(positions, i, j, r)), dtype=float)
    a, b = chemical_symbols[numbers[i]], chemical_symbols[numbers[j]]
    try:
        fit = {**harmonic_frequency(r, energy, a, b, window=window), "note": ""}
    except ValueError as err:
        fit = {"wavenumber_cm1": float("nan"), "note": str(err)}
    return {"distance_A": r, "energy_rel_eV": energy - energy.min(), "fit": fit}


class BondTables(NamedTuple):
    """Result of :func:`bond_analysis`: the :data:`HISTOGRAMS`, :data:`SCANS` and
    :data:`FREQUENCIES` tables."""

    histograms: pd.DataFrame
    scans: pd.DataFrame
    frequencies: pd.DataFrame


def bond_analysis(data, molecule: str, models: Sequence[Mapping], bond_scan: Mapping) -> BondTables:
    """Rule ``bond_analysis`` (Figs. S1, S2): bond-length histograms of a data set, rigid
    scans of one bond of each kind with several potentials, harmonic wavenumbers.

    Parameters
    ----------
    data
        The coupled-cluster data of one molecule: a gmnn HDF5 path or
        :class:`~gmnn.data.Structures` with energies. The reference geometry is its
        lowest-energy structure (the MD start structure); the scanned bond is the first bond
        of its kind there (:func:`bonded_pairs`).
    molecule
        The molecule's name in the tables.
    models
        One mapping per potential: ``setting`` (e.g. "pretrain", "scratch_EF"), ``n_train``
        and ``model``: a gmnn model directory (``model.json``, ``weights.npz``; loaded with
        :func:`gmnn.io.load_model`), or a callable ``energy(numbers, geometries)`` returning
        energies in eV of ``(n, A, 3)`` geometries.
    bond_scan
        The config section: ``ranges_A`` (bond "A-B" -> [lo, hi] Å scan range; a bond
        the molecule lacks is skipped), ``histogram_bins``, ``points`` (per scan) and
        ``fit_window_A`` (:func:`harmonic_frequency`).

    Returns
    -------
    BondTables
        Energies relative to each curve's lowest point in kcal/mol; a failed fit has NaN
        numbers and the reason in ``note``.
    """
    from gmnn.units import ev_to_kcal_mol

    structures = _structures(data)
    numbers, positions = structures.molecule_arrays()
    ref = structures.lowest_energy()
    _log.info("%s: %d structures, reference structure %d", molecule, len(structures), ref)
    histograms, scans, frequencies = [], [], []
    bonds = {}  # bond -> its atom pairs in the reference structure
    for bond in bond_scan["ranges_A"]:
        pairs = bonded_pairs(numbers, positions[ref], *bond.split("-"))
        if len(pairs) == 0:
            _log.warning("%s has no %s bond: skipped", molecule, bond)
            continue
        bonds[bond] = pairs
        d = pair_distances(positions, pairs)
        hist = distance_histogram(d, bins=bond_scan["histogram_bins"])
        histograms.append(hist.assign(molecule=molecule, bond=bond, n_bonds=len(pairs)))
        _log.info("%s: %d bonds, %.3f-%.3f A in the data", bond, len(pairs), d.min(), d.max())

    for i, spec in enumerate(models):
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"bond_analysis model {i}: expected a mapping with setting, n_train and model, "
                f"got {spec!r}"
            )
        missing = [k for k in ("setting", "n_train", "model") if k not in spec]
        if missing:
            raise ValueError(f"bond_analysis model {i} ({dict(spec)}): missing key(s) {missing}")
        setting, n_train = str(spec["setting"]), int(spec["n_train"])
        energy = _energy_function(spec["model"])
        for bond, pairs in bonds.items():
            lo, hi = bond_scan["ranges_A"][bond]
            scan = scan_bond(
                energy,
                numbers,
                positions[ref],
                pairs[0],
                np.linspace(lo, hi, bond_scan["points"]),
                window=bond_scan["fit_window_A"],
            )
            keys = {"molecule": molecule, "bond": bond, "setting": setting, "n_train": n_train}
            scans.append(
                pd.DataFrame(
                    {
                        **keys,
                        "atoms": "-".join(str(int(x)) for x in pairs[0]),
                        "distance_A": scan["distance_A"],
                        "energy_rel_kcal_mol": ev_to_kcal_mol(scan["energy_rel_eV"]),
                    }
                )
            )
            frequencies.append({**keys, **{c: scan["fit"].get(c, np.nan) for c in FIT_COLUMNS}})
            _log.info("%s %s n=%d: %s", bond, setting, n_train, scan["fit"])
    return BondTables(
        _joined(HISTOGRAMS, histograms), _joined(SCANS, scans), FREQUENCIES.frame(frequencies)
    )


def _joined(table: Table, frames: list[pd.DataFrame]) -> pd.DataFrame:
    return table.frame(pd.concat(frames, ignore_index=True)) if frames else table.frame()


def _structures(data):
    if isinstance(data, (str, os.PathLike)):
        from gmnn.data import read_h5

        return read_h5(data)
    return data


def _energy_function(model) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``energy(numbers, geometries)`` in eV of a model directory or an energy function."""
    if not isinstance(model, (str, os.PathLike)):
        if not callable(model):
            raise TypeError(
                f"a bond_analysis model must be a model directory or an energy function, "
                f"got {type(model).__name__}"
            )
        return model
    from gmnn.analysis.metrics import predict_geometries
    from gmnn.io import load_model

    loaded = load_model(model)

    def energy(numbers, geometries):
        return predict_geometries(loaded, numbers, geometries)

    return energy
