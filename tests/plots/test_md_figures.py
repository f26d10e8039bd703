"""Figs. 3, 4, S1-S5 from synthetic tidy tables (gmnn.plots) and their workflow scripts."""

from __future__ import annotations

import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gmnn.analysis.aggregate import LEARNING_CURVES, PRETRAIN_SIZE
from gmnn.analysis.bonds import FREQUENCIES, HISTOGRAMS, SCANS
from gmnn.analysis.md import PEAKS, RUNS, SPECTRA
from gmnn.plots import (
    frequency_table_markdown,
    peaks_table_markdown,
    plot_bond_analysis,
    plot_pretrain_size,
    plot_spectra,
    save_figure,
)

REPO = Path(__file__).resolve().parents[2]
PRETRAIN_SIZES = (256, 1024, 4096, 16384)
FIG4 = [[("scratch_EF", 950), ("finetune_EF", 128)], [("scratch_E", 950), ("finetune_E", 950)]]


def _stats(e, f, sem):
    row = {}
    for name, value in (("energy", e), ("force", f)):
        for kind, scale in (("rmse", 1.0), ("mae", 0.8)):
            row[f"{name}_{kind}_mean"] = value * scale
            row[f"{name}_{kind}_sem"] = sem * value * scale
    return row


def fig3_tables(tmp_path, molecules=("malonaldehyde", "aspirin"), n_seeds=5, drop_ref=None):
    sem = 0.1 if n_seeds > 1 else math.nan
    rows, curves = [], []
    for mol in molecules:
        for setting in ("finetune_E", "finetune_EF"):
            for n in (128, 950):
                for k, n_pre in enumerate(PRETRAIN_SIZES):
                    e = (2.0 if setting == "finetune_E" else 0.5) * (1 + 0.1 * k) * 128 / n
                    rows.append(
                        {"molecule": mol, "setting": setting, "n_train": n, "n_pretrain": n_pre}
                        | {"n_seeds": n_seeds}
                        | _stats(e, 4 * e, sem)
                    )
        for n in (64, 128, 950):
            if (mol, n) != drop_ref:
                curves.append(
                    {"molecule": mol, "setting": "scratch_EF", "n_train": n, "n_seeds": n_seeds}
                    | _stats(3.0 * 128 / n, 12.0 * 128 / n, sem)
                )
        curves.append(
            {"molecule": mol, "setting": "finetune_EF", "n_train": 128, "n_seeds": n_seeds}
            | _stats(0.1, 0.4, sem)
        )
    table = PRETRAIN_SIZE.write(rows, tmp_path / "fig3.csv")
    fig2 = LEARNING_CURVES.write(curves, tmp_path / "fig2.csv")
    return table, fig2


# --- Fig. 3 -------------------------------------------------------------------------------------


def test_fig3_lines_bands_reference(tmp_path):
    table, fig2 = fig3_tables(tmp_path)
    fig = plot_pretrain_size(table, fig2)
    axes = fig.axes
    assert len(axes) == 4  # energy/force x aspirin/malonaldehyde
    assert [ax.get_title() for ax in axes[:2]] == ["Aspirin", "Malonaldehyde"]  # paper order
    ax = axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.xaxis.get_transform().base == 2
    assert ax.get_ylabel() == "Energy RMSE [kcal/mol]"
    assert axes[2].get_ylabel() == "Force RMSE [kcal/mol/Å]"
    assert axes[3].get_xlabel() == "Pre-training set size"
    lines = ax.get_lines()
    # 2 settings x 2 fine-tuning sizes + 2 from-scratch references
    assert len(lines) == 6
    styles = {ln.get_label(): ln.get_linestyle() for ln in lines}
    assert styles["fine-tuning (E+F), 128"] == "-" and styles["fine-tuning (E), 950"] == "--"
    refs = {ln.get_label(): ln for ln in lines if ln.get_label().startswith("from scratch")}
    assert refs["from scratch (E+F), 128"].get_color() == "black"
    assert refs["from scratch (E+F), 950"].get_color() == "red"
    assert refs["from scratch (E+F), 950"].get_ydata()[0] == pytest.approx(3.0 * 128 / 950)
    # 4 SEM bands of the curves + 2 light reference bands
    assert len(ax.collections) + len(ax.patches) == 6
    assert len(fig.legends[0].get_texts()) == 6
    save_figure(fig, [tmp_path / "f" / "fig3.pdf", tmp_path / "f" / "fig3.png"])
    assert (tmp_path / "f" / "fig3.png").read_bytes()[:4] == b"\x89PNG"


def test_fig3_single_seed_and_other_molecule(tmp_path):
    table, fig2 = fig3_tables(tmp_path, molecules=("methanol",), n_seeds=1)
    fig = plot_pretrain_size(table, fig2, metric="mae")
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "Methanol"
    assert not fig.axes[0].collections and not fig.axes[0].patches  # NaN SEM: no bands
    assert fig.axes[1].get_ylabel() == "Force MAE [kcal/mol/Å]"


def test_fig3_missing_reference_is_named(tmp_path):
    table, fig2 = fig3_tables(tmp_path, drop_ref=("aspirin", 950))
    with pytest.raises(ValueError, match=r"fig2\.csv.*'aspirin', 950"):
        plot_pretrain_size(table, fig2)
    with pytest.raises(ValueError, match="no rows for molecule"):
        plot_pretrain_size(table, fig2, molecules=["ethanol"])


# --- spectra ------------------------------------------------------------------------------------

GRID = np.linspace(0.0, 4500.0, 226)


def _spectrum(centres, width=40.0):
    y = sum(np.exp(-0.5 * ((GRID - c) / width) ** 2) for c in centres)
    return y / np.trapezoid(y, GRID)


def md_tables(tmp_path, molecule="aspirin", seeds=(0,), temperatures=(300,)):
    """Runs of the four Fig. 4 models and finetune_EF 950; scratch_E 950 diverges, at 300 K
    before the end of equilibration (no spectrum), at 100 K later (with a spectrum)."""
    models = [m for panel in FIG4 for m in panel] + [("finetune_EF", 950)]
    runs, spectra, peaks = [], [], []
    for t in temperatures:
        for setting, n in models:
            for seed in seeds:
                diverged = setting == "scratch_E" and seed == 0
                production = 0.0 if diverged and t == 300 else (4.0 if diverged else 10.0)
                time_ps = 2.5 if diverged and t == 300 else (14.0 if diverged else 20.0)
                key = {"molecule": molecule, "setting": setting, "n_train": n}
                key |= {"temperature_K": t, "seed": seed}
                runs.append(
                    key
                    | {"steps_requested": 40000, "steps_done": int(time_ps * 2000)}
                    | {"time_ps": time_ps, "diverged": int(diverged)}
                    | {"reason": "max force > 20 eV/Å" if diverged else ""}
                    | {"diverged_at_ps": time_ps if diverged else math.nan}
                    | {"seconds_per_step": 0.01, "production_ps": production}
                )
                if production == 0:
                    continue
                oh = 3550.0 + 20 * (setting == "finetune_E") + seed
                spectra += [
                    key | {"wavenumber_cm1": w, "intensity": i}
                    for w, i in zip(GRID, _spectrum([1200, 3050, oh]), strict=True)
                ]
                for band, centre in (("C-H", 3050.0 + seed), ("O-H", oh)):
                    peaks.append(
                        key
                        | {"band": band, "center_cm1": centre, "fwhm_cm1": 80.0}
                        | {"method": "lorentzian", "production_ps": production}
                    )
    return (
        SPECTRA.write(spectra, tmp_path / "spectra.csv"),
        RUNS.write(runs, tmp_path / "md_runs.csv"),
        PEAKS.write(peaks, tmp_path / "peaks.csv"),
    )


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_fig4_spectra_with_diverged_run(tmp_path):
    spectra, runs, peaks = md_tables(tmp_path)
    fig = plot_spectra(spectra, runs, FIG4, 300, peaks=peaks)
    top, bottom = fig.axes
    assert len(top.get_lines()) == 2 and len(bottom.get_lines()) == 1  # diverged: no curve
    assert _legend(top) == ["from scratch, 950 (E+F)", "fine-tuned, 128 (E+F)"]
    assert _legend(bottom) == [
        "from scratch, 950 (E): diverged at 2.5 ps:\nmax force > 20 eV/Å, no spectrum",
        "fine-tuned, 950 (E)",
    ]
    assert bottom.get_xlabel() == "Wavenumber [cm$^{-1}$]"
    assert top.get_xlim() == (0, 4200)
    assert top.get_ylabel() == "Intensity [arb. units]"
    assert len(top.patches) == 2  # C-H and O-H regions
    assert {t.get_text() for t in top.texts} == {"C–H", "O–H"}
    assert len(top.collections) == 2  # peak ticks of two models
    assert fig.get_suptitle() == "Aspirin, 300 K"
    save_figure(fig, [tmp_path / "fig4.pdf", tmp_path / "fig4.png"])


def test_spectra_diverged_with_spectrum_and_seeds(tmp_path):
    spectra, runs, peaks = md_tables(tmp_path, seeds=(0, 1), temperatures=(100, 300))
    fig = plot_spectra(spectra, runs, FIG4, 100, title="S3")
    bottom = fig.axes[1]
    assert len(bottom.get_lines()) == 4  # 2 models x 2 seeds, diverged run drawn at 100 K
    assert "from scratch, 950 (E), seed 0: diverged at 14.0 ps:\nmax force > 20 eV/Å" in (
        _legend(bottom)
    )
    assert fig.get_suptitle() == "S3"
    fig = plot_spectra(spectra, runs, FIG4, 100, average_seeds=True)
    labels = _legend(fig.axes[1])
    assert "fine-tuned, 950 (E) (mean of 2 runs)" in labels
    assert "from scratch, 950 (E)" in labels  # the one run that did not diverge
    assert any("seed 0: diverged at 14.0 ps" in lab for lab in labels)
    # S4: fine-tuned on 128 and 950 in one panel, distinct colours
    fig = plot_spectra(spectra, runs, [[("finetune_EF", 128), ("finetune_EF", 950)]], 300)
    (ax,) = fig.axes
    assert len({ln.get_color() for ln in ax.get_lines()}) == 2


def test_spectra_missing_rows_are_named(tmp_path):
    spectra, runs, _ = md_tables(tmp_path, molecule="methanol")
    with pytest.raises(ValueError, match=r"md_runs\.csv.*finetune_E n_train=64 at 300 K"):
        plot_spectra(spectra, runs, [[("finetune_E", 64)]], 300)
    with pytest.raises(ValueError, match=r"md_runs\.csv.*no MD run.*at 500 K"):
        plot_spectra(spectra, runs, FIG4, 500)
    with pytest.raises(ValueError, match="no rows for molecule 'aspirin'"):
        plot_spectra(spectra, runs, FIG4, 300, molecule="aspirin")
    empty = PEAKS.write([], tmp_path / "empty.csv")
    with pytest.raises(ValueError, match=r"spectra.*no spectrum.*finetune_EF n_train=128"):
        plot_spectra([], runs, [[("finetune_EF", 128)]], 300, peaks=empty)


def test_peaks_table_markdown(tmp_path):
    _, _, peaks = md_tables(tmp_path, seeds=(0, 1), temperatures=(100, 300))
    text = peaks_table_markdown(peaks)
    assert "| Model | C–H, 100 K | O–H, 100 K | C–H, 300 K | O–H, 300 K |" in text
    assert "| fine-tuned, 128 (E+F) | 3050 ± 0 (n=2) | 3550 ± 0 (n=2) |" in text
    assert "| from scratch, 950 (E) | 3050 ± 0 (n=2) |" in text  # 100 K: both seeds
    assert "lorentzian" in text
    text = peaks_table_markdown(peaks, models=[("finetune_E", 950)], temperatures=[300])
    assert text.count("\n| ") == 2 and "3570 ± 0 (n=2)" in text  # header + one model
    assert "No fitted peaks" in peaks_table_markdown(peaks, temperatures=[500])


# --- bonds --------------------------------------------------------------------------------------

BOND_MODELS = [("pretrain", 8192), ("scratch_EF", 950), ("finetune_EF", 128), ("finetune_E", 950)]
WAVENUMBERS = {"O-H": (3532, 3558, 3589, 3793), "C-H": (3150, 3170, 3180, 3230)}


def bond_tables(tmp_path, molecule="aspirin", drop=None):
    hist, scans, freqs = [], [], []
    for bond, r0 in (("O-H", 0.97), ("C-H", 1.09)):
        edges = np.linspace(r0 - 0.15, r0 + 0.15, 31)
        counts = np.round(1000 * np.exp(-0.5 * ((edges[:-1] + 0.005 - r0) / 0.04) ** 2))
        density = counts / (counts.sum() * 0.01)
        hist += [
            {"molecule": molecule, "bond": bond, "n_bonds": 1, "bin_lo": lo, "bin_hi": hi}
            | {"count": int(c), "density": d}
            for lo, hi, c, d in zip(edges[:-1], edges[1:], counts, density, strict=True)
        ]
        for (setting, n), nu in zip(BOND_MODELS, WAVENUMBERS[bond], strict=True):
            key = {"molecule": molecule, "bond": bond, "setting": setting, "n_train": n}
            x = np.linspace(r0 - 0.25, r0 + 0.35, 41)
            scans += [
                key
                | {"atoms": "1-3", "distance_A": d}
                | {"energy_rel_kcal_mol": 600 * (nu / 3500) ** 2 * (d - r0) ** 2}
                for d in x
            ]
            if (bond, setting) != drop:
                freqs.append(
                    key
                    | {"wavenumber_cm1": float(nu), "force_constant_eV_A2": 45.123}
                    | {"r0_A": r0, "fit_lo_A": r0 - 0.05, "fit_hi_A": r0 + 0.05}
                    | {"n_points": 11, "rms_residual_eV": 1e-4, "note": ""}
                )
    return (
        HISTOGRAMS.write(hist, tmp_path / "bond_histograms.csv"),
        SCANS.write(scans, tmp_path / "bond_scans.csv"),
        FREQUENCIES.write(freqs, tmp_path / "harmonic_frequencies.csv"),
    )


def test_bond_analysis_figure(tmp_path):
    hist, scans, freqs = bond_tables(tmp_path)
    fig = plot_bond_analysis(hist, scans, freqs, "O-H")
    left, right = fig.axes
    assert len(left.patches) == 30  # one bar per bin
    assert left.get_xlabel() == right.get_xlabel() == "O–H distance [Å]"
    assert right.get_ylabel() == "Relative energy [kcal/mol]"
    assert left.get_shared_x_axes().joined(left, right)
    assert len(right.get_lines()) == 4
    assert _legend(right) == [
        "sampled by the data set",
        "pre-trained (DFT): 3532 cm⁻¹",
        "from scratch, 950 (E+F): 3558 cm⁻¹",
        "fine-tuned, 128 (E+F): 3589 cm⁻¹",
        "fine-tuned, 950 (E): 3793 cm⁻¹",
    ]
    assert right.get_lines()[0].get_color() == "black"
    assert right.get_lines()[3].get_linestyle() == "--"
    save_figure(fig, [tmp_path / "figS1.pdf", tmp_path / "figS1.png"])
    fig = plot_bond_analysis(hist, scans, freqs, "C-H")
    assert "fine-tuned, 128 (E+F): 3180 cm⁻¹" in _legend(fig.axes[1])


def test_bond_analysis_missing_rows(tmp_path):
    hist, scans, freqs = bond_tables(tmp_path, molecule="methanol", drop=("C-H", "finetune_E"))
    assert plot_bond_analysis(hist, scans, freqs, "O-H").axes[0].get_title().endswith("(methanol)")
    with pytest.raises(ValueError, match=r"harmonic_frequencies\.csv.*C-H.*\('finetune_E', 950\)"):
        plot_bond_analysis(hist, scans, freqs, "C-H")
    with pytest.raises(ValueError, match=r"bond_histograms\.csv: no histogram of N-H"):
        plot_bond_analysis(hist, scans, freqs, "N-H")


def test_frequency_table_markdown(tmp_path):
    _, _, freqs = bond_tables(tmp_path, drop=("C-H", "finetune_E"))
    text = frequency_table_markdown(freqs)
    assert "| Model | O–H [cm⁻¹] | C–H [cm⁻¹] |" in text
    assert "| pre-trained (DFT) | 3532 | 3150 |" in text
    assert "| fine-tuned, 950 (E) | 3793 | – |" in text
    text = frequency_table_markdown(freqs, bonds=["O-H"])
    assert "| fine-tuned, 128 (E+F) | 3589 | 45.12 | 0.9700 | 0.920–1.020 |" in text
    assert text.count("\n| ") == 5  # header + 4 models


# --- DataFrames and column checks ---------------------------------------------------------------


def test_figures_take_dataframes_and_name_a_wrong_column(tmp_path):
    spectra, runs, peaks = md_tables(tmp_path)
    from_files = plot_spectra(spectra, runs, FIG4, 300, peaks=peaks)
    from_frames = plot_spectra(
        SPECTRA.read(spectra), RUNS.read(runs), FIG4, 300, peaks=PEAKS.read(peaks)
    )
    out = [
        save_figure(f, tmp_path / f"s{i}.pdf")[0].read_bytes()
        for i, f in enumerate((from_files, from_frames))
    ]
    assert out[0] == out[1]
    assert peaks_table_markdown(PEAKS.read(peaks)) == peaks_table_markdown(peaks)
    hist, scans, freqs = bond_tables(tmp_path)
    text = frequency_table_markdown(FREQUENCIES.read(freqs), bonds=["O-H"])
    assert text == frequency_table_markdown(freqs, bonds=["O-H"])
    fig = plot_bond_analysis(
        HISTOGRAMS.read(hist), SCANS.read(scans), FREQUENCIES.read(freqs), "O-H"
    )
    assert len(fig.axes[1].get_lines()) == 4

    stale = tmp_path / "old_runs.csv"  # a table of an older layout: no diverged_at_ps
    stale.write_text(
        "".join(
            line.replace(",diverged_at_ps", "")
            for line in Path(runs).read_text().splitlines(True)[:2]
        )
    )
    with pytest.raises(
        ValueError, match=r"old_runs\.csv: missing column\(s\) \['diverged_at_ps'\]"
    ):
        plot_spectra(spectra, stale, FIG4, 300)
    with pytest.raises(ValueError, match=r"the MD runs table: missing column\(s\) \['time_ps'\]"):
        plot_spectra(spectra, RUNS.read(runs).drop(columns="time_ps"), FIG4, 300)


# --- workflow scripts ---------------------------------------------------------------------------


def _run_script(name, tmp_path, inputs, outputs, params=None):
    log = tmp_path / "logs" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    snakemake = SimpleNamespace(
        input=SimpleNamespace(**{k: str(v) for k, v in inputs.items()}),
        output=SimpleNamespace(**{k: str(tmp_path / "figures" / v) for k, v in outputs.items()}),
        params=SimpleNamespace(**(params or {})),
        log=[str(log)],
    )
    runpy.run_path(str(REPO / "workflow_scripts" / name), init_globals={"snakemake": snakemake})
    for value in outputs.values():
        assert (tmp_path / "figures" / value).stat().st_size > 0
    return snakemake


def test_workflow_scripts(tmp_path):
    table, fig2 = fig3_tables(tmp_path)
    _run_script(
        "plot_fig3.py",
        tmp_path,
        {"table": table, "fig2_curves": fig2},
        {"pdf": "fig3.pdf", "png": "fig3.png"},
    )
    spectra, runs, peaks = md_tables(tmp_path)
    panels = [[list(m) for m in panel] for panel in FIG4]  # as from YAML
    _run_script(
        "plot_spectra.py",
        tmp_path,
        {"spectra": spectra, "runs": runs, "peaks": peaks},
        {"pdf": "fig4.pdf", "png": "fig4.png", "table": "fig4_peaks.md"},
        {"panels": panels, "temperature_K": 300},
    )
    peaks_md = (tmp_path / "figures" / "fig4_peaks.md").read_text()
    assert "| fine-tuned, 128 (E+F) | 3050 | 3550 |" in peaks_md
    assert "finetune_EF, 950" not in peaks_md and "fine-tuned, 950 (E+F)" not in peaks_md
    _run_script(  # no peaks table requested, a title given
        "plot_spectra.py",
        tmp_path,
        {"spectra": spectra, "runs": runs, "peaks": peaks},
        {"pdf": "figS4.pdf", "png": "figS4.png"},
        {"panels": [[["finetune_EF", 128], ["finetune_EF", 950]]], "temperature_K": 300.0}
        | {"title": "Fig. S4"},
    )
    hist, scans, freqs = bond_tables(tmp_path)
    _run_script(
        "plot_bonds.py",
        tmp_path,
        {"histograms": hist, "scans": scans, "frequencies": freqs},
        {"pdf": "figS1.pdf", "png": "figS1.png", "table": "figS1_frequencies.md"},
        {"bond": "O-H"},
    )
    text = (tmp_path / "figures" / "figS1_frequencies.md").read_text()
    assert "| from scratch, 950 (E+F) | 3558 |" in text and "C–H" not in text
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "fig3.pdf",
        "fig3.png",
        "fig4.pdf",
        "fig4.png",
        "fig4_peaks.md",
        "figS1.pdf",
        "figS1.png",
        "figS1_frequencies.md",
        "figS4.pdf",
        "figS4.png",
    ]
