"""Ensemble MD of a molecule study (gmnn.molecules.md): the ``md`` key typed and
checked, the ensemble each run simulates chosen from the errors table, an ensemble run
through gmnn.workflow.md_job with its spread recorded, and the card's MD section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gmnn.molecules import md as mmd
from gmnn.molecules.card import ERRORS


def test_md_key_defaults_and_steps():
    spec = mmd.MoleculeMD.from_section(None)
    assert spec == mmd.MoleculeMD() and spec.runs == ("finetuned", "scratch")
    assert mmd.MoleculeMD.from_section(False) is None
    cfg = spec.config()  # 1 + 4 ps at the default 0.5 fs
    assert cfg["steps"] == 10_000 and cfg["temperature_K"] == 300.0 and cfg["seed"] == 0
    short = mmd.MoleculeMD.from_section(
        {"equilibration_ps": 0.0, "production_ps": 0.01, "dynamics": {"write_interval": 3}}
    )
    cfg = short.config()  # 20 steps, rounded up to whole frames; checkpoint within the run
    assert cfg["steps"] == 21 and cfg["checkpoint_interval"] == 21
    assert cfg["write_interval"] == 3 and short.problems() == []
    assert mmd.MoleculeMD.from_section({"runs": ["scratch"]}).runs == ("scratch",)
    with pytest.raises(TypeError, match="temperature"):
        mmd.MoleculeMD.from_section({"temperature": 300})


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"production_ps": 0}, ("md.production_ps", "0: must be positive")),
        ({"equilibration_ps": -1}, ("md.equilibration_ps", "-1: must be >= 0")),
        ({"runs": ["pretrained"]}, ("md.runs", "'pretrained': one of finetuned, scratch")),
        ({"dynamics": {"steps": 10}}, ("md.dynamics", "steps and temperature_K come from md")),
        ({"dynamics": {"friction_per_fs": -1}}, ("md.dynamics.friction_per_fs", "must be > 0")),
        ({"dynamics": {"integrator": "verlet"}}, ("md.dynamics.integrator", "verlet")),
    ],
)
def test_bad_md_key_names_it(section, expected):
    problems = mmd.MoleculeMD.from_section(section).problems()
    assert any(k == expected[0] and expected[1] in p for k, p in problems), problems


def errors_table(tmp_path):
    rows = []
    for setting, curve in {
        "scratch_E": [3.0, 2.0],
        "scratch_EF": [2.5, 1.5],
        "finetune_E": [1.0, 0.6],
        "finetune_lp_E": [1.2, 0.9],
    }.items():
        for n, value in zip((4, 8), curve, strict=True):
            for seed in (0, 1):
                rows.append(
                    {
                        "setting": setting,
                        "n_train": n,
                        "seed": seed,
                        "energy_mae": value + seed / 100,
                    }
                )
    path = tmp_path / "errors.csv"
    from gmnn.molecules.card import errors_frame

    ERRORS.write(errors_frame(rows), path)
    return path


def test_scratch_run_takes_the_best_scratch_setting_every_seed(tmp_path):
    errors = errors_table(tmp_path)
    models = [
        f"models/molecules/w/{s}/n8/seed{seed}/model/model.json"
        for s in ("scratch_E", "scratch_EF")
        for seed in (1, 0)
    ]
    best, members = mmd.run_members("scratch", errors, models, ["scratch_E", "scratch_EF"])
    assert best["setting"] == "scratch_EF" and best["n_train"] == 8
    assert [m.as_posix() for m in members] == [
        "models/molecules/w/scratch_EF/n8/seed0/model",
        "models/molecules/w/scratch_EF/n8/seed1/model",
    ]
    with pytest.raises(ValueError, match="no results of scratch_nd_E"):
        mmd.best_setting(errors, ["scratch_nd_E"])


def test_finetuned_run_refuses_an_export_of_another_setting(tmp_path, monkeypatch):
    import gmnn.export

    errors = errors_table(tmp_path)
    card = {
        "description": "w: finetune_lp_E on 8 accurate labels",
        "data": {"finetuning": {"n_train": 8}},
    }
    monkeypatch.setattr(gmnn.export, "read_card", lambda path: card)
    settings = ["finetune_E", "finetune_lp_E"]
    with pytest.raises(ValueError, match="does not describe finetune_E at n=8.*export again"):
        mmd.run_members("finetuned", errors, [tmp_path / "export"], settings)
    card["description"] = "w: finetune_E on 8 accurate labels"
    best, members = mmd.run_members("finetuned", errors, [tmp_path / "export"], settings)
    assert best["setting"] == "finetune_E" and members == [tmp_path / "export"]


def test_ensemble_md_job_records_the_spread(tmp_path):
    from _synthetic import emt_structures

    from gmnn.data import write_h5
    from gmnn.io import save_model
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig
    from gmnn.workflow import md_job

    write_h5(emt_structures("CH3OH", n=3), tmp_path / "cc.h5")
    dirs = []
    for seed in (0, 1):
        model = GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2), seed=seed)
        save_model(model, tmp_path / f"m{seed}")
        dirs.append(tmp_path / f"m{seed}")
    out = md_job(
        model=dirs,
        data=tmp_path / "cc.h5",
        dynamics={"steps": 4, "write_interval": 2, "temperature_K": 100.0},
        trajectory=tmp_path / "md.traj",
        summary=tmp_path / "summary.json",
        record={"run": "scratch"},
        ensemble=True,
    )
    assert out["steps_done"] == 4 and out["model"] == [str(d) for d in dirs]
    # two differently initialised members disagree: a positive spread
    assert out["max_forces_std_max"] > 0 and out["max_energy_std"] > 0
    assert json.loads((tmp_path / "summary.json").read_text())["run"] == "scratch"


def test_card_md_section(tmp_path):
    from gmnn.analysis.md import RUN_PEAKS
    from gmnn.molecules.card import card_markdown

    summaries, peaks = [], []
    for run, diverged in (("finetuned", False), ("scratch", True)):
        s = {
            "molecule": "w",
            "run": run,
            "setting": f"{'finetune' if run == 'finetuned' else 'scratch'}_E",
            "n_train": 8,
            "seed": 0,
            "members": ["a", "b"],
            "temperature_K": 300.0,
            "steps_requested": 10_000,
            "timestep_fs": 0.5,
            "time_ps": 0.8 if diverged else 5.0,
            "diverged": diverged,
            "diverged_at_ps": 0.8 if diverged else None,
            "reason": "atoms too close" if diverged else None,
            "max_forces_std_max": 3.2 if diverged else 0.12,
            "max_energy_std": 0.5,
        }
        path = tmp_path / f"{run}.json"
        path.write_text(json.dumps(s))
        summaries.append(path)
        rows = [
            {
                "molecule": "w",
                "setting": s["setting"],
                "n_train": 8,
                "temperature_K": 300,
                "seed": 0,
                "band": band,
                "center_cm1": np.nan if diverged else center,
                "fwhm_cm1": 10.0,
                "method": "none" if diverged else "lorentzian",
                "production_ps": 0.0 if diverged else 4.0,
            }
            for band, center in (("C-H", 3010.4), ("O-H", 3655.0))
        ]
        RUN_PEAKS.write(RUN_PEAKS.frame(pd.DataFrame(rows)), tmp_path / f"{run}.csv")
        peaks.append(tmp_path / f"{run}.csv")
    md = mmd.md_summary(summaries, peaks)
    assert md[0]["simulated_ps"] == 5.0 and md[0]["peaks_cm1"] == {"C-H": 3010.4, "O-H": 3655.0}
    assert md[1]["diverged"] and md[1]["peaks_cm1"]["O-H"] is None
    from gmnn.molecules.card import md_lines

    lines = "\n".join(md_lines(md))
    assert "| finetuned | finetune_E | 8 | 2 | 300 | 5 / 5 | yes | 0.120 | 3010 | 3655 |" in lines
    assert (
        "| scratch | scratch_E | 8 | 2 | 300 | 0.8 / 5 | no: atoms too close at 0.8 ps |" in lines
    )
    assert md_lines(None) == ["not run (md: false)"]
    # the card shows the section as a table
    from gmnn.molecules.card import card_record

    record = card_record(
        "w",
        [{"setting": "scratch_E", "n_train": 8, "seed": 0, "energy_mae": 1.0}],
        {},
        md=md,
    )
    assert "| run | setting | n_train |" in card_markdown(record)
    assert "](spectra.png)" in card_markdown(record)


def test_spectra_figure(tmp_path):
    """The card's figure: a run with a spectrum and one without (diverged)."""
    from gmnn.analysis.md import RUN_PEAKS, RUN_SPECTRUM
    from gmnn.plots.molecules import plot_md_spectra

    keys = {"molecule": "w", "n_train": 8, "temperature_K": 300, "seed": 0}
    grid = np.arange(0.0, 4500.0, 2.0)
    good = pd.DataFrame(
        {
            **keys,
            "setting": "finetune_E",
            "wavenumber_cm1": grid,
            "intensity": np.exp(-(((grid - 3000) / 20) ** 2)),
        }
    )
    RUN_SPECTRUM.write(RUN_SPECTRUM.frame(good), tmp_path / "a.csv")
    RUN_SPECTRUM.write(RUN_SPECTRUM.frame(), tmp_path / "b.csv")
    peaks = [
        {
            **keys,
            "setting": s,
            "band": "C-H",
            "center_cm1": c,
            "fwhm_cm1": 10.0,
            "method": "lorentzian",
            "production_ps": p,
        }
        for s, c, p in (("finetune_E", 3000.0, 4.0), ("scratch_E", np.nan, 0.0))
    ]
    RUN_PEAKS.write(RUN_PEAKS.frame(pd.DataFrame(peaks[:1])), tmp_path / "a_peaks.csv")
    RUN_PEAKS.write(RUN_PEAKS.frame(pd.DataFrame(peaks[1:])), tmp_path / "b_peaks.csv")
    out = tmp_path / "spectra.png"
    plot_md_spectra(
        ["finetuned", "scratch"],
        [tmp_path / "a.csv", tmp_path / "b.csv"],
        [tmp_path / "a_peaks.csv", tmp_path / "b_peaks.csv"],
        "w",
        out,
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_md_spectra([], [], [], "w", tmp_path / "none.png")  # md: false
    assert (tmp_path / "none.png").stat().st_size > 0
