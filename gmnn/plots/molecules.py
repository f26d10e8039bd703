"""The figure of a molecule's transfer-learning card: the power spectra of its MD runs
(gmnn.molecules.md), one line per run, the stretch peaks marked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gmnn.plots.style import new_figure, save_figure

RUN_COLOURS = {"finetuned": "tab:blue", "scratch": "tab:red"}


def plot_md_spectra(
    runs: Sequence[str], spectra: Sequence, peaks: Sequence, name: str, out, max_cm1=4000.0
):
    """``results/molecules/<name>/spectra.png``: each run's spectrum (``spectra``: its
    RUN_SPECTRUM files, ``peaks`` its RUN_PEAKS files, in the order of ``runs``), labelled
    with its setting, and its fitted stretch peaks as dotted lines; a run without a
    spectrum (diverged before its production part) is named in the legend as such."""
    from gmnn.analysis.md import RUN_PEAKS, RUN_SPECTRUM

    fig = new_figure((6.0, 2.8))
    ax = fig.add_subplot()
    top = 0.0
    for run, spectrum_path, peaks_path in zip(runs, spectra, peaks, strict=True):
        spectrum, fits = RUN_SPECTRUM.read(spectrum_path), RUN_PEAKS.read(peaks_path)
        colour = RUN_COLOURS.get(run, "0.3")
        setting = str(fits["setting"].iloc[0]) if len(fits) else run
        if spectrum.empty:
            ax.plot([], [], color=colour, label=f"{run} ({setting}): no spectrum (diverged)")
            continue
        x, y = spectrum["wavenumber_cm1"].to_numpy(), spectrum["intensity"].to_numpy()
        keep = x <= max_cm1
        ax.plot(x[keep], y[keep], color=colour, lw=1.0, label=f"{run} ({setting})")
        top = max(top, float(np.nanmax(y[keep])))
        for row in fits.itertuples():
            if np.isfinite(row.center_cm1):
                ax.axvline(row.center_cm1, color=colour, ls=":", lw=0.8)
                ax.annotate(
                    f"{row.band} {row.center_cm1:.0f}",
                    (row.center_cm1, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(-2, -2),
                    textcoords="offset points",
                    rotation=90,
                    ha="right",
                    va="top",
                    fontsize=7,
                    color=colour,
                )
    if not runs:
        ax.text(
            0.5, 0.5, "no MD runs (md: false)", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_xlim(0, max_cm1)
    ax.set_ylim(0, top * 1.1 if top > 0 else 1)
    ax.set_xlabel("Wavenumber [cm$^{-1}$]")
    ax.set_ylabel("Intensity [a.u.]")
    ax.set_title(f"{name}: power spectra of the ensemble MD runs", fontsize=9)
    if runs:
        ax.legend(fontsize=7, loc="upper left", frameon=False)
    return save_figure(fig, out, dpi=150)
