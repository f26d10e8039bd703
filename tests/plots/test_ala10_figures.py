"""Figs. 7 and 8 (Ala10 RMSD against time, gmnn.plots.ala10) and the caption numbers, from
synthetic frames: a gas-phase protocol in which the from-scratch model fails mid-run, and a
three-stage water protocol in which it never produces a frame."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gmnn.analysis.structure import kabsch_align, running_average
from gmnn.plots import save_figure
from gmnn.plots.ala10 import (
    ALA10_RUNS,
    ALA10_SERIES,
    NO_DYNAMICS,
    ala10_caption_numbers,
    plot_ala10_rmsd,
)

MODELS = ("pretrained", "scratch", "finetuned")
GAS_FAILURE_PS = 352.5
GAS_REASON = "forces_std_max 2.31 eV/Å exceeds the 1.0 eV/Å limit; positions became NaN soon"


def run_row(phase, model, stage, integrator, start, end, planned, **extra):
    row = {
        "phase": phase,
        "model": model,
        "stage": stage,
        "integrator": integrator,
        "members": 5,
        "n_atoms": 104 if phase == "gas" else 2384,
        "start_ps": start,
        "end_ps": end,
        "planned_end_ps": planned,
        "steps_requested": round((planned - start) / 0.0005) if math.isfinite(start) else 0,
        "steps_done": round((end - start) / 0.0005) if math.isfinite(end) else 0,
        "diverged": False,
        "reason": "",
        "failed_at_ps": math.nan,
        "skipped": False,
        "ms_per_step": 12.0,
        "max_forces_std_eV_A": 0.2,
        "window_ps": 25.0 if phase == "gas" else 5.0,
        "equilibration_ps": 100.0 if phase == "gas" else 10.0,
        "max_energy_std_eV": 0.01,
        "mean_rmsd_heavy_A": math.nan,
        "mean_helical_fraction": math.nan,
        "final_volume_A3": math.nan,
        # the gate before the run (first stage): gas, against a relaxed helix; water, none
        "gate_reference": "",
        "gate_reference_tol_eV_A": math.nan,
        "gate_force_rmse_members_eV_A": "",
        "gate_force_rmse_max_eV_A": math.nan,
        "gate_mean_force_rmse_eV_A": math.nan,
        "gate_forces_std_max_eV_A": math.nan,
        "gate_forces_std_mean_eV_A": math.nan,
    }
    if stage == 0 and phase == "gas":
        rmse = {"pretrained": 0.21, "scratch": 1.37, "finetuned": 0.32}[model]
        row.update(
            gate_reference="GFN2-xTB forces of the relaxed helix: 0 within fmax 0.044 eV/A",
            gate_reference_tol_eV_A=0.025,
            gate_force_rmse_members_eV_A=f"{rmse - 0.01};{rmse + 0.02}",
            gate_force_rmse_max_eV_A=rmse + 0.02,
            gate_mean_force_rmse_eV_A=rmse,
            gate_forces_std_max_eV_A=rmse / 2,
            gate_forces_std_mean_eV_A=rmse / 5,
        )
    elif stage == 0:
        row.update(gate_reference="none: not relaxed", gate_forces_std_max_eV_A=0.4)
    row.update(extra)
    row = {c: row[c] for c in ALA10_RUNS}
    return row


def frames(phase, model, stage, integrator, t, production_from, window, seed):
    """Frames at protocol times ``t`` (ps) with a rising noisy RMSD (Å)."""
    rng = np.random.default_rng(seed)
    rmsd = 1.5 * (1 - np.exp(-t / 50.0)) + 0.1 * rng.standard_normal(len(t)) + 0.2
    production = t >= production_from
    return pd.DataFrame(
        {
            "phase": phase,
            "model": model,
            "stage": stage,
            "integrator": integrator,
            "time_ps": t,
            "production": production,
            "rmsd_heavy_A": rmsd,
            "rmsd_backbone_A": 0.8 * rmsd + 0.05 * np.sin(t),
            "rmsd_all_A": 1.3 * rmsd,
            "rmsd_heavy_avg_A": np.nan,
            "helical_fraction": np.clip(
                0.9 - t / 3000.0 + 0.02 * rng.standard_normal(len(t)), 0, 1
            ),
            "energy_std_eV": 0.01,
            "forces_std_max_eV_A": 0.05 + t / 10000.0,
            "volume_A3": np.nan if phase == "gas" else 24000.0 + t,
            "density_g_cm3": np.nan if phase == "gas" else 1.0 - t / 1e5,
        }
    )


def with_average(df, window):
    """``rmsd_heavy_avg_A``: running average over each model's production frames."""
    df = df.copy()
    for _, idx in df.groupby(["phase", "model"]).groups.items():
        mine = df.loc[idx]
        prod = mine[mine["production"]]
        if len(prod):
            df.loc[prod.index, "rmsd_heavy_avg_A"] = running_average(
                prod["time_ps"].to_numpy(), prod["rmsd_heavy_A"].to_numpy(), window
            )
    return df


def gas_tables():
    """1.1 ns Langevin, 100 ps equilibration, a frame per ps; scratch fails at 352.5 ps."""
    series, runs = [], []
    for seed, model in enumerate(MODELS):
        failed = model == "scratch"
        end = GAS_FAILURE_PS if failed else 1100.0
        t = np.arange(0.0, math.floor(end) + 1.0 if failed else 1101.0, 1.0)
        series.append(frames("gas", model, 0, "langevin", t, 100.0, 25.0, seed))
        extra = {"diverged": True, "reason": GAS_REASON, "failed_at_ps": GAS_FAILURE_PS}
        runs.append(
            run_row(
                "gas",
                model,
                0,
                "langevin",
                0.0,
                end,
                1100.0,
                **(extra | {"max_forces_std_eV_A": 2.31} if failed else {}),
            )
        )
    return with_average(pd.concat(series, ignore_index=True), 25.0), pd.DataFrame(runs)


WATER_STAGES = (("langevin", 0.0, 10.0), ("nose_hoover", 10.0, 20.0), ("npt", 20.0, 530.0))


def water_tables():
    """Langevin 10 ps, Nosé-Hoover 10 ps, NPT 510 ps (production from 30 ps), a frame per
    0.5 ps; scratch fails 0.25 ps into the first stage (no frame) and skips the others."""
    series, runs = [], []
    for seed, model in enumerate(MODELS):
        for stage, (integrator, start, planned) in enumerate(WATER_STAGES):
            if model == "scratch":
                first = stage == 0
                runs.append(
                    run_row(
                        "water",
                        model,
                        stage,
                        integrator,
                        0.0 if first else math.nan,
                        0.25 if first else math.nan,
                        planned,
                        diverged=first,
                        reason="NaN energy" if first else "",
                        failed_at_ps=0.25 if first else math.nan,
                        skipped=not first,
                    )
                )
                continue
            t = np.arange(start + 0.5, planned + 0.25, 0.5)
            series.append(frames("water", model, stage, integrator, t, 30.0, 5.0, 10 + seed))
            runs.append(run_row("water", model, stage, integrator, start, planned, planned))
    return with_average(pd.concat(series, ignore_index=True), 5.0), pd.DataFrame(runs)


def by_gid(ax, gid):
    return [a for a in [*ax.lines, *ax.texts] if a.get_gid() == gid]


def test_tables_have_the_documented_columns():
    series, runs = gas_tables()
    assert set(series.columns) == set(ALA10_SERIES) and tuple(runs.columns) == ALA10_RUNS


def test_gas_figure_average_failure_and_statistics(tmp_path):
    series, runs = gas_tables()
    fig = plot_ala10_rmsd(series, runs, "gas")
    assert len(fig.axes) == 3
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "pre-trained (ANI-1x)",
        "from scratch (ANI-1ccx)",
        "fine-tuned (ANI-1ccx)",
    ]
    for ax, model in zip(fig.axes, MODELS, strict=True):
        assert ax.get_xlim() == (0.0, 1100.0)
        mine = series[series["model"] == model]
        prod = mine[mine["production"]]
        (red,) = by_gid(ax, "running average")
        assert red.get_color() == "red"
        np.testing.assert_array_equal(red.get_xdata(), prod["time_ps"].to_numpy())
        np.testing.assert_array_equal(red.get_ydata(), prod["rmsd_heavy_avg_A"].to_numpy())
        (thin,) = by_gid(ax, "rmsd")
        assert len(thin.get_xdata()) == len(mine)  # equilibration frames drawn as well
        (stats,) = by_gid(ax, "statistics")
        text = stats.get_text()
        assert "ensemble of 5" in text
        assert f"mean RMSD {prod['rmsd_heavy_A'].mean():.2f} Å" in text
        assert f"helical {prod['helical_fraction'].mean():.2f}" in text
        gate = runs[(runs["model"] == model) & (runs["stage"] == 0)].iloc[0]
        rmse, worst = gate["gate_mean_force_rmse_eV_A"], gate["gate_force_rmse_max_eV_A"]
        assert f"gate on helix: F RMSE {rmse:.2f} eV/Å (members ≤ {worst:.2f})" in text
        assert f"gate on helix: F spread ≤ {gate['gate_forces_std_max_eV_A']:.2f} eV/Å" in text
        (label,) = by_gid(ax, "stage label")
        assert label.get_text() == "langevin"
        # the equilibration (first 100 ps) shaded
        (span,) = ax.patches
        assert span.get_x() == 0.0 and span.get_width() == pytest.approx(100.0)
    scratch = fig.axes[1]
    (marker,) = by_gid(scratch, "failure")
    assert list(marker.get_xdata()) == [GAS_FAILURE_PS, GAS_FAILURE_PS]
    (note,) = by_gid(scratch, "failure note")
    assert note.get_text().startswith("unstable after 352.5 ps (forces_std_max 2.31")
    assert note.get_text().endswith("…)") and len(note.get_text()) < len(GAS_REASON) + 20
    assert not by_gid(fig.axes[0], "failure") and not by_gid(fig.axes[2], "failure")
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "RMSD",
        "running average (25 ps)",
        "equilibration",
    ]
    paths = save_figure(fig, [tmp_path / "fig7.pdf", tmp_path / "fig7.png"])
    assert all(p.stat().st_size > 1000 for p in paths)


def test_water_figure_stages_skipped_model_and_inset(tmp_path):
    series, runs = water_tables()
    # read back from CSV files, as the pipeline writes them
    series.to_csv(tmp_path / "series.csv", index=False)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    rng = np.random.default_rng(3)
    initial = np.cumsum(rng.normal(size=(30, 3)) + [1.0, 0.0, 0.0], axis=0)
    theta = 0.7
    rotation = np.array(
        [[math.cos(theta), -math.sin(theta), 0], [math.sin(theta), math.cos(theta), 0], [0, 0, 1]]
    )
    moved = initial @ rotation.T + [5.0, -3.0, 2.0]  # the same structure, rotated and shifted
    titles = {"pretrained": "pre-trained (SPICE)"}
    fig = plot_ala10_rmsd(
        tmp_path / "series.csv",
        tmp_path / "runs.csv",
        "water",
        titles=titles,
        structures={"finetuned": (initial, moved)},
    )
    assert len(fig.axes) == 3
    pre, scratch, tuned = fig.axes
    assert pre.get_title(loc="left") == "pre-trained (SPICE)"
    assert tuned.get_title(loc="left") == "fine-tuned (ANI-1ccx)"
    assert pre.get_xlim() == (0.0, 530.0)
    assert [t.get_text() for t in by_gid(pre, "stage label")] == ["langevin", "nose_hoover", "npt"]
    boundaries = [line.get_xdata()[0] for line in pre.lines if line.get_gid() is None]
    assert boundaries == [10.0, 20.0]
    # the from-scratch model: no frame at all
    (empty,) = by_gid(scratch, "no dynamics")
    assert empty.get_text() == NO_DYNAMICS
    assert not by_gid(scratch, "rmsd") and not by_gid(scratch, "running average")
    assert [t.get_text() for t in by_gid(scratch, "stage label")] == [
        "langevin",
        "nose_hoover (not run)",
        "npt (not run)",
    ]
    (marker,) = by_gid(scratch, "failure")
    assert marker.get_xdata()[0] == 0.25
    assert by_gid(scratch, "failure note")[0].get_text() == "unstable after 0.25 ps (NaN energy)"
    assert "mean RMSD –" in by_gid(scratch, "statistics")[0].get_text()
    # no reference forces in water: the spread, and no RMSE
    stats = by_gid(pre, "statistics")[0].get_text()
    assert "gate on helix: no reference forces" in stats and "F spread ≤ 0.40 eV/Å" in stats
    assert "F RMSE" not in stats
    assert not by_gid(pre, "no dynamics")
    # the equilibration ends at the first production frame, 30 ps
    assert pre.patches[0].get_width() == pytest.approx(30.0)
    # the inset: the late structure superposed onto the initial one before projecting
    assert not pre.child_axes and not scratch.child_axes
    (inset,) = tuned.child_axes
    assert inset.get_label() == "structure inset"
    first, late = inset.lines
    np.testing.assert_allclose(late.get_xydata(), first.get_xydata(), atol=1e-8)
    assert inset.texts[0].get_text() == "initial (grey), late: 0.00 Å"
    paths = save_figure(fig, [tmp_path / "fig8.pdf", tmp_path / "fig8.png"])
    assert all(p.stat().st_size > 1000 for p in paths)


def test_inset_projection_of_a_changed_structure():
    series, runs = gas_tables()
    initial = np.column_stack([np.arange(12.0), np.sin(np.arange(12.0)), np.zeros(12)])
    late = initial.copy()
    late[-3:, 2] += 2.0  # a terminal residue turned out of the plane
    fig = plot_ala10_rmsd(series, runs, "gas", structures={"pretrained": (initial, late)})
    (inset,) = fig.axes[0].child_axes
    first, second = inset.lines
    # projected onto the initial structure's principal plane (x, y here): the initial trace
    # keeps its in-plane shape; the late one differs
    a = first.get_xydata()
    assert np.linalg.norm(a[1:] - a[:-1], axis=1) == pytest.approx(
        np.linalg.norm(initial[1:, :2] - initial[:-1, :2], axis=1)
    )
    assert not np.allclose(second.get_xydata(), a, atol=1e-3)
    rmsd = kabsch_align(initial, late).rmsd
    assert rmsd > 0.1 and inset.texts[0].get_text() == f"initial (grey), late: {rmsd:.2f} Å"


def test_other_rmsd_column_is_averaged_here():
    series, runs = gas_tables()
    fig = plot_ala10_rmsd(series, runs, "gas", models=("finetuned",), column="rmsd_backbone_A")
    (ax,) = fig.axes
    prod = series[(series["model"] == "finetuned") & series["production"]]
    expected = running_average(prod["time_ps"], prod["rmsd_backbone_A"], 25.0)
    np.testing.assert_allclose(by_gid(ax, "running average")[0].get_ydata(), expected)
    assert "backbone" in ax.get_ylabel()


def test_caption_numbers():
    series, runs = gas_tables()
    table = ala10_caption_numbers(series, runs, "gas")
    assert list(table["model"]) == list(MODELS)
    pre, scratch, tuned = (r for _, r in table.iterrows())
    assert pre["stable"] and tuned["stable"] and not scratch["stable"]
    assert math.isnan(pre["failed_at_ps"]) and pre["reason"] == ""
    assert scratch["failed_at_ps"] == GAS_FAILURE_PS and scratch["reason"] == GAS_REASON
    assert scratch["simulated_ps"] == 352.0 and pre["planned_ps"] == 1100.0
    prod = series[(series["model"] == "finetuned") & series["production"]]
    assert tuned["production_frames"] == 1001
    assert tuned["rmsd_heavy_mean_A"] == pytest.approx(prod["rmsd_heavy_A"].mean())
    assert tuned["rmsd_heavy_max_A"] == pytest.approx(prod["rmsd_heavy_A"].max())
    assert tuned["helical_fraction_mean"] == pytest.approx(prod["helical_fraction"].mean())
    assert tuned["helical_fraction_final"] == prod["helical_fraction"].iloc[-1]
    assert tuned["forces_std_max_eV_A"] == pytest.approx(0.2)  # the runs' maximum
    assert pre["forces_std_max_eV_A"] == pytest.approx(0.2) and scratch[
        "forces_std_max_eV_A"
    ] == pytest.approx(2.31)
    assert math.isnan(tuned["density_mean_g_cm3"]) and tuned["members"] == 5

    water = ala10_caption_numbers(*water_tables(), "water")
    row = water.set_index("model").loc["scratch"]
    assert not row["stable"] and row["failed_at_ps"] == 0.25 and row["production_frames"] == 0
    assert math.isnan(row["rmsd_heavy_mean_A"]) and math.isnan(row["simulated_ps"])
    tuned = water.set_index("model").loc["finetuned"]
    assert tuned["stable"] and tuned["simulated_ps"] == 530.0
    assert tuned["density_mean_g_cm3"] == pytest.approx(1.0 - 280.0 / 1e5)  # mean t = 280 ps


def test_bad_input():
    series, runs = gas_tables()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['rmsd_heavy_avg_A'\]"):
        plot_ala10_rmsd(series.drop(columns="rmsd_heavy_avg_A"), runs, "gas")
    with pytest.raises(
        ValueError, match=r"Ala10 MD runs.*missing column\(s\) \['planned_end_ps'\]"
    ):
        ala10_caption_numbers(series, runs.drop(columns="planned_end_ps"), "gas")
    with pytest.raises(ValueError, match=r"no runs of phase 'water' \(phases: \['gas'\]\)"):
        plot_ala10_rmsd(series, runs, "water")
    with pytest.raises(ValueError, match=r"no runs of model\(s\) \['ani2x'\]"):
        plot_ala10_rmsd(series, runs, "gas", models=("pretrained", "ani2x"))
    with pytest.raises(ValueError, match="'rmsd_ca_A' is not an RMSD column"):
        plot_ala10_rmsd(series, runs, "gas", column="rmsd_ca_A")
    bad = runs.astype({"diverged": object})
    bad.loc[0, "diverged"] = "maybe"
    with pytest.raises(ValueError, match="column 'diverged'.*'maybe'"):
        plot_ala10_rmsd(series, bad, "gas")
    with pytest.raises(ValueError, match=r"structures\['finetuned'\]: late positions \(4, 3\)"):
        plot_ala10_rmsd(
            series, runs, "gas", structures={"finetuned": (np.zeros((5, 3)), np.zeros((4, 3)))}
        )
    with pytest.raises(ValueError, match=r"model\(s\) \['other'\] are not among the panels"):
        plot_ala10_rmsd(series, runs, "gas", structures={"other": (np.zeros((5, 3)),) * 2})
    with pytest.raises(ValueError, match=r"titles: 2 titles for 3 models"):
        plot_ala10_rmsd(series, runs, "gas", titles=["a", "b"])
    orphan = series.copy()
    orphan.loc[0, "model"] = "ani2x"
    with pytest.raises(ValueError, match=r"frames of model\(s\) \['ani2x'\].*have no rows"):
        plot_ala10_rmsd(orphan, runs, "gas")
