"""O–H and C–H bond analysis (Figs. S1 and S2): sampled distances and 1D energy scans.

Reads the tidy tables of :mod:`gmnn.analysis.bonds` (DataFrames, or CSV paths):

- ``histograms``: :data:`~gmnn.analysis.bonds.HISTOGRAMS`, distances of the bond in the
  coupled-cluster data set;
- ``scans``: :data:`~gmnn.analysis.bonds.SCANS`, a model's energy along the stretched bond;
- ``frequencies``: :data:`~gmnn.analysis.bonds.FREQUENCIES`, harmonic fits of the scans.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from gmnn.analysis.bonds import FREQUENCIES, HISTOGRAMS, SCANS
from gmnn.plots.spectra import (
    finite,
    markdown_table,
    model_label,
    model_sort_key,
    pick_molecule,
    pretty_bond,
)
from gmnn.plots.style import GRID_ALPHA, model_colours, model_linestyle, panel_grid

BOND_ORDER = ("O-H", "C-H")


def _fmt(value, digits: int) -> str:
    return f"{float(value):.{digits}f}" if finite(value) else "n/a"


def plot_bond_analysis(
    histograms,
    scans,
    frequencies,
    bond: str,
    *,
    molecule: str | None = None,
    ylim: tuple[float, float] | None = None,
    panel_size: tuple[float, float] = (3.3, 2.9),
) -> Figure:
    """Fig. S1 (``bond="O-H"``) / S2 (``"C-H"``): (left) density of the bond's distances in
    the coupled-cluster data set; (right) relative energy vs distance for every model of
    ``scans``, labelled with the harmonic wavenumber from ``frequencies``. The two panels
    share the distance axis; the right one shades the range the data set samples.
    ``molecule`` defaults to the only one in ``histograms``.
    """
    hist, hist_src = HISTOGRAMS.load(histograms), HISTOGRAMS.source(histograms)
    scan_rows, scan_src = SCANS.load(scans), SCANS.source(scans)
    freq_rows, freq_src = FREQUENCIES.load(frequencies), FREQUENCIES.source(frequencies)
    if hist.empty:
        raise ValueError(f"{hist_src}: no histogram rows")
    molecule = pick_molecule(hist, molecule, hist_src)
    hist = hist[(hist["molecule"] == molecule) & (hist["bond"] == bond)]
    hist = hist.sort_values("bin_lo", kind="stable")
    if hist.empty:
        raise ValueError(f"{hist_src}: no histogram of {bond} distances for {molecule}")
    scan_rows = scan_rows[(scan_rows["molecule"] == molecule) & (scan_rows["bond"] == bond)]
    if scan_rows.empty:
        raise ValueError(f"{scan_src}: no {bond} scan for {molecule}")
    model_of = scan_rows[["setting", "n_train"]].astype({"n_train": int})
    models = sorted(set(model_of.itertuples(index=False, name=None)), key=model_sort_key)
    freq_rows = freq_rows[(freq_rows["molecule"] == molecule) & (freq_rows["bond"] == bond)]
    freqs = {(r["setting"], int(r["n_train"])): r for r in freq_rows.to_dict("records")}
    missing = [m for m in models if m not in freqs]
    if missing:
        raise ValueError(
            f"{freq_src}: no harmonic frequency of the {bond} bond of {molecule} for "
            f"(setting, n_train) {missing}"
        )

    name = pretty_bond(bond)
    fig, axes = panel_grid(1, 2, panel_size, (0.0, 0.5))
    ax_hist, ax_scan = axes[0]
    lo = hist["bin_lo"].to_numpy(float)
    hi = hist["bin_hi"].to_numpy(float)
    density = hist["density"].to_numpy(float)
    ax_hist.bar(
        lo, density, width=hi - lo, align="edge", color="#7f8c8d", edgecolor="white", lw=0.3
    )
    ax_hist.set_xlabel(f"{name} distance [Å]")
    ax_hist.set_ylabel("Density [1/Å]")
    ax_hist.set_title(f"Coupled-cluster data ({molecule})", fontsize=10)

    counts = hist["count"].to_numpy(float)
    sampled = counts > 0
    if np.any(sampled):
        ax_scan.axvspan(
            lo[sampled].min(),
            hi[sampled].max(),
            color="#7f8c8d",
            alpha=0.12,
            lw=0,
            zorder=0,
            label="sampled by the data set",
        )
    colours = model_colours(models)
    for model in models:
        pts = scan_rows[(model_of["setting"] == model[0]) & (model_of["n_train"] == model[1])]
        pts = pts.sort_values("distance_A", kind="stable")
        x = pts["distance_A"].to_numpy(float)
        y = pts["energy_rel_kcal_mol"].to_numpy(float)
        wavenumber = freqs[model]["wavenumber_cm1"]
        label = f"{model_label(*model)}: {_fmt(wavenumber, 0)} cm⁻¹"
        ax_scan.plot(
            x, y, color=colours[model], linestyle=model_linestyle(model[0]), lw=1.3, label=label
        )
    ax_scan.set_xlabel(f"{name} distance [Å]")
    ax_scan.set_ylabel("Relative energy [kcal/mol]")
    ax_scan.set_title(f"{name} stretch, energy scan", fontsize=10)
    if ylim is not None:
        ax_scan.set_ylim(*ylim)
    else:  # headroom for the legend above the curves
        bottom, top = ax_scan.get_ylim()
        n_entries = len(models) + int(np.any(sampled))
        free = 0.12 / max(panel_size[1] - 0.6, 0.5) * n_entries + 0.04
        ax_scan.set_ylim(bottom, bottom + (top - bottom) / max(1.0 - free, 0.4))
    ax_scan.legend(fontsize=7, frameon=False, loc="upper center")
    for ax in (ax_hist, ax_scan):
        ax.grid(True, alpha=GRID_ALPHA)
    return fig


def frequency_table_markdown(
    frequencies, *, molecule: str | None = None, bonds: Sequence[str] | None = None
) -> str:
    """Markdown table of harmonic wavenumbers (cm^-1), one row per model, one column per
    bond. With a single bond (``bonds=["O-H"]``) the fit's force constant, equilibrium
    distance and fit range are given as well."""
    rows, source = FREQUENCIES.load(frequencies), FREQUENCIES.source(frequencies)
    if molecule is not None:
        rows = rows[rows["molecule"] == molecule]
    if bonds is not None:
        rows = rows[rows["bond"].isin(list(bonds))]
    title = "Harmonic wavenumbers of 1D bond scans [cm⁻¹]"
    if rows.empty:
        return f"{title}\n\n_No harmonic frequencies in {source}._\n"
    molecules = sorted(set(rows["molecule"]))
    found = sorted(
        set(rows["bond"]),
        key=lambda b: (BOND_ORDER.index(b) if b in BOND_ORDER else len(BOND_ORDER), str(b)),
    )
    detail = len(found) == 1
    lead = ["Molecule"] if len(molecules) > 1 else []
    if detail:
        header = [*lead, "Model", f"{pretty_bond(found[0])} wavenumber [cm⁻¹]"]
        header += ["Force constant [eV/Å²]", "r₀ [Å]", "Fit range [Å]"]
    else:
        header = [*lead, "Model", *(f"{pretty_bond(b)} [cm⁻¹]" for b in found)]
    body = []
    for mol in molecules:
        by_key = {
            (r["setting"], int(r["n_train"]), r["bond"]): r
            for r in rows[rows["molecule"] == mol].to_dict("records")
        }
        for model in sorted({k[:2] for k in by_key}, key=model_sort_key):
            cells = [*([mol] if lead else []), model_label(*model)]
            if detail:
                r = by_key[(*model, found[0])]
                cells += [
                    _fmt(r["wavenumber_cm1"], 0),
                    _fmt(r["force_constant_eV_A2"], 2),
                    _fmt(r["r0_A"], 4),
                    f"{_fmt(r['fit_lo_A'], 3)}–{_fmt(r['fit_hi_A'], 3)}",
                ]
            else:
                cells += [
                    _fmt(by_key[(*model, b)]["wavenumber_cm1"], 0) if (*model, b) in by_key else "–"
                    for b in found
                ]
            body.append(cells)
    return f"{title}\n\n" + markdown_table(header, body)


__all__ = ["frequency_table_markdown", "plot_bond_analysis"]
