"""Aggregation over seeds (gmnn.analysis.aggregate) and the Fig. 2 plot (gmnn.plots)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from _records import error_record

from gmnn.analysis.aggregate import (
    CONVERGENCE_COMMENT,
    DFT_REFERENCE,
    LEARNING_CURVES,
    STATISTICS_COMMENT,
    learning_curves,
    load_records,
    reference_errors,
)
from gmnn.plots import plot_learning_curves, save_figure

SETTINGS = ("scratch_E", "scratch_EF", "finetune_E", "finetune_EF")


def test_learning_curves_tiny_table():
    records = [
        error_record("scratch_EF", 64, 0, 1.0, 3.0),
        error_record("scratch_EF", 64, 1, 3.0, 5.0),
        error_record("scratch_EF", 32, 0, 4.0, 8.0),  # one seed only
        error_record("finetune_E", 32, 0, 2.0, 6.0),
        error_record("finetune_E", 32, 1, 2.0, 2.0),
        error_record("finetune_E", 32, 2, 5.0, 4.0),
    ]
    table = learning_curves(records)
    keys = list(zip(table["setting"], table["n_train"], strict=True))
    assert keys == [("finetune_E", 32), ("scratch_EF", 32), ("scratch_EF", 64)]  # sorted
    ft, one, two = table.to_dict("records")
    assert ft["n_seeds"] == 3
    assert ft["energy_rmse_mean"] == pytest.approx(3.0)
    # std(ddof=1) of (2, 2, 5) = sqrt(3); SEM = sqrt(3)/sqrt(3) = 1
    assert ft["energy_rmse_sem"] == pytest.approx(1.0)
    assert ft["force_rmse_mean"] == pytest.approx(4.0)
    assert ft["force_rmse_sem"] == pytest.approx(2.0 / math.sqrt(3))  # std 2
    assert ft["energy_mae_mean"] == pytest.approx(1.5)
    assert two["energy_rmse_mean"] == 2.0 and two["energy_rmse_sem"] == pytest.approx(1.0)
    assert one["n_seeds"] == 1 and one["energy_rmse_mean"] == 4.0
    assert math.isnan(one["energy_rmse_sem"])
    assert list(table.columns) == list(LEARNING_CURVES.columns)


def test_duplicate_seed_is_an_error_and_missing_metric_is_nan():
    with pytest.raises(ValueError, match="seed \\[0\\] occurs more than once"):
        learning_curves(
            [error_record("scratch_E", 8, 0, 1.0, 1.0), error_record("scratch_E", 8, 0, 2.0, 1.0)]
        )
    no_forces = {
        k: v for k, v in error_record("scratch_E", 8, 1, 1.0, 1.0).items() if "force" not in k
    }
    (row,) = learning_curves([error_record("scratch_E", 8, 0, 1.0, 1.0), no_forces]).to_dict(
        "records"
    )
    assert row["energy_rmse_mean"] == 1.0 and math.isnan(row["force_rmse_mean"])
    with pytest.raises(KeyError, match="lacks key"):
        learning_curves([{"molecule": "ethanol", "seed": 0}])


def test_records_table_round_trip(tmp_path):
    paths = []
    for seed, e in enumerate([1.0, 2.0]):
        for test_set, shift in (("cc", 500.0), ("dft", 0.0)):
            record = error_record("pretrain", 512, seed, e + shift, 5.0 + seed)
            record["test_set"] = test_set
            paths.append(tmp_path / f"seed{seed}_{test_set}.json")
            paths[-1].write_text(json.dumps(record))
    rows = reference_errors(load_records(paths))
    assert list(zip(rows["test_set"], rows["n_seeds"], strict=True)) == [("cc", 2), ("dft", 2)]
    assert rows["energy_rmse_mean"].iloc[0] == pytest.approx(501.5)
    out = DFT_REFERENCE.write(rows, tmp_path / "ref.csv")
    text = out.read_text()
    assert text.startswith("# Models pre-trained on DFT only")
    assert "# energy_* in kcal/mol" in text and "kcal/mol/Angstrom" in text
    back = DFT_REFERENCE.read(out)
    assert back.attrs["comments"] == list(DFT_REFERENCE.comments)
    assert back.attrs["comments"][1:] == [*STATISTICS_COMMENT, CONVERGENCE_COMMENT]
    assert list(back.columns) == list(DFT_REFERENCE.columns)
    assert back["n_train"].iloc[0] == 512 and back["test_set"].iloc[0] == "cc"
    assert back["energy_rmse_sem"].iloc[0] == pytest.approx(rows["energy_rmse_sem"].iloc[0])


def synthetic_tables(tmp_path, molecules=("ethanol", "aspirin"), seeds=(0, 1, 2)):
    rng = np.random.default_rng(0)
    sizes = [32, 64, 128, 256, 512, 950]
    factor = {"scratch_E": 30.0, "scratch_EF": 4.0, "finetune_E": 3.0, "finetune_EF": 1.0}
    records, pre = [], []
    for molecule in molecules:
        for setting in SETTINGS:
            for n in sizes:
                for seed in seeds:
                    e = factor[setting] * (n / 32) ** -0.5 * rng.lognormal(0, 0.1)
                    records.append(error_record(setting, n, seed, e, 3 * e, molecule))
        for seed in seeds:
            pre.append(
                {**error_record("pretrain", 8192, seed, 500.0, 6.0, molecule), "test_set": "cc"}
            )
            pre.append(
                {**error_record("pretrain", 8192, seed, 0.1, 0.3, molecule), "test_set": "dft"}
            )
    curves = LEARNING_CURVES.write(learning_curves(records), tmp_path / "curves.csv")
    reference = DFT_REFERENCE.write(reference_errors(pre), tmp_path / "ref.csv")
    return curves, reference


def test_plot_from_synthetic_csv(tmp_path):
    curves, reference = synthetic_tables(tmp_path)
    fig = plot_learning_curves(curves, reference)
    axes = fig.axes
    assert len(axes) == 4  # 2 rows (energy, forces) x 2 molecules
    assert [ax.get_title() for ax in axes[:2]] == ["Ethanol", "Aspirin"]  # the paper's order
    assert axes[0].get_xscale() == axes[0].get_yscale() == "log"
    # four settings and the black DFT-only line in every panel
    assert all(len(ax.get_lines()) == 5 for ax in axes)
    black = [ln for ln in axes[1].get_lines() if ln.get_color() == "black"]
    assert black[0].get_ydata()[0] == pytest.approx(500.0)
    energy_max = max(max(ln.get_ydata()) for ln in axes[0].get_lines()[:4])
    assert energy_max > 1.0
    paths = save_figure(fig, [tmp_path / "fig" / "fig2.pdf", tmp_path / "fig" / "fig2.png"])
    assert paths[0].read_bytes()[:4] == b"%PDF"
    assert paths[1].read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["fig2.pdf", "fig2.png"]
    # the same figure from DataFrames: the same bytes (no creation date in the PDF)
    again = plot_learning_curves(LEARNING_CURVES.read(curves), DFT_REFERENCE.read(reference))
    copies = save_figure(again, [tmp_path / "copy" / "fig2.pdf", tmp_path / "copy" / "fig2.png"])
    assert [p.read_bytes() for p in copies] == [p.read_bytes() for p in paths]
    assert oct(paths[0].stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def test_plot_one_seed_and_selection(tmp_path):
    curves, reference = synthetic_tables(tmp_path, molecules=("toluene",), seeds=(0,))
    fig = plot_learning_curves(curves, reference, settings=["finetune_EF", "scratch_EF"])
    assert len(fig.axes) == 2
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == [
        "fine-tuning (E+F)",
        "from scratch (E+F)",
        "pre-trained on DFT only",
    ]
    assert not fig.axes[0].collections  # one seed: no standard-error bands
    with pytest.raises(ValueError, match="no learning-curve rows"):
        plot_learning_curves([])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_save_figure_keeps_the_old_file_when_drawing_fails(tmp_path):
    curves, reference = synthetic_tables(tmp_path, molecules=("toluene",), seeds=(0,))
    fig = plot_learning_curves(curves, reference)
    target = tmp_path / "fig2.xyz"  # not a format matplotlib can write
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="xyz"):
        save_figure(fig, [target])
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "fig2.xyz", "ref.csv"]


def test_plots_do_not_import_tensorflow():
    """Redrawing a figure from cached tables must stay a matter of seconds."""
    code = "import sys, gmnn.plots; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
