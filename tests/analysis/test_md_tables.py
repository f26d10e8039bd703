"""The MD tables (gmnn.analysis.md): one run's spectrum and peaks, the three joined tables."""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ase import Atoms
from ase.io import Trajectory

from gmnn.analysis.md import (
    PEAKS,
    RUN_PEAKS,
    RUN_SPECTRUM,
    RUNS,
    SPECTRA,
    collect_md,
    run_spectrum,
)

REPO = Path(__file__).resolve().parents[2]
C = 2.99792458e-5  # cm/fs
SPECTRA_CONFIG = {
    "max_lag_ps": 0.1,
    "window": "hann",
    "pad_factor": 4,
    "grid_max_cm1": 4500,
    "grid_step_cm1": 2.0,
}


def fake_run(tmp_path, setting, n_frames, diverged, temperature=300.0):
    """A trajectory (a frame per fs) with O-H-like and C-H-like velocity oscillations."""
    rng = np.random.default_rng(n_frames)
    directory = tmp_path / setting / f"T{temperature:g}K"
    directory.mkdir(parents=True)
    with Trajectory(str(directory / "md.traj"), "w") as traj:
        for k in range(n_frames):
            atoms = Atoms("COH", positions=[[0, 0, 0], [1.4, 0, 0], [1.9, 0.9, 0]])
            v = np.zeros((3, 3))
            v[2, 0] = np.cos(2 * np.pi * 3600 * C * k)
            v[1, 1] = 0.5 * np.cos(2 * np.pi * 3000 * C * k + 0.3)
            v[0] = 0.1 * rng.normal(size=3)
            atoms.set_velocities(v)
            traj.write(atoms)
    summary = {
        "molecule": "methanol",
        "setting": setting,
        "n_train": 8,
        "temperature_K": temperature,
        "seed": 0,
        "timestep_fs": 0.5,
        "interval": 2,
        "equilibration_ps": 0.05,
        "steps_requested": 1200,
        "steps_done": 2 * (n_frames - 1),
        "time_ps": (n_frames - 1) / 1000,
        "diverged": diverged,
        "diverged_at_ps": (n_frames - 1) / 1000 if diverged else None,
        "reason": "bond 1-3 (O-H) stretched, by 2.0x" if diverged else None,
        "seconds_per_step": 0.01,
    }
    (directory / "summary.json").write_text(json.dumps(summary))
    return directory


def test_run_spectrum_and_collect_md(tmp_path):
    good = fake_run(tmp_path, "scratch_EF", 600, False)
    bad = fake_run(tmp_path, "scratch_E", 80, True)
    for d in (good, bad):
        result = run_spectrum(d / "summary.json", d / "md.traj", SPECTRA_CONFIG)
        RUN_SPECTRUM.write(result.spectrum, d / "spectrum.csv", comments=result.comments)
        RUN_PEAKS.write(result.peaks, d / "peaks.csv")
    result = run_spectrum(good / "summary.json", good / "md.traj", SPECTRA_CONFIG)
    assert result.comments[0].startswith("power spectrum of 0.549 ps of production MD")
    grid = result.spectrum["wavenumber_cm1"].to_numpy()
    np.testing.assert_array_equal(grid, np.arange(0, 4501, 2.0))
    assert np.trapezoid(result.spectrum["intensity"], grid) == pytest.approx(1.0)
    peaks = result.peaks.set_index("band")
    assert peaks.loc["O-H", "center_cm1"] == pytest.approx(3600, abs=30)
    assert peaks.loc["C-H", "center_cm1"] == pytest.approx(3000, abs=30)
    assert peaks["production_ps"].tolist() == pytest.approx([0.549, 0.549])
    short = run_spectrum(bad / "summary.json", bad / "md.traj", SPECTRA_CONFIG)
    assert short.spectrum.empty and short.peaks["center_cm1"].isna().all()
    assert set(short.peaks["method"]) == {"none"}

    dirs = [good, bad]
    tables = collect_md(
        [d / "summary.json" for d in dirs],
        [d / "spectrum.csv" for d in dirs],
        [d / "peaks.csv" for d in dirs],
    )
    assert tables.runs["setting"].tolist() == ["scratch_EF", "scratch_E"]  # input order
    assert tables.runs["diverged"].tolist() == [0, 1]
    assert tables.runs["production_ps"].tolist() == pytest.approx([0.549, 0.029])
    assert len(tables.spectra) == len(grid) and len(tables.peaks) == 4
    text = RUNS.format(tables.runs).splitlines()
    # no reason and an empty "diverged at" for the run that went to the end
    assert text[2] == "methanol,scratch_EF,8,300,0,1200,1198,0.599,0,,,0.01,0.549"
    assert text[3].startswith('methanol,scratch_E,8,300,0,1200,158,0.079,1,"bond 1-3 (O-H) ')
    assert text[3].endswith(",0.079,0.01,0.029")
    for table, frame in ((RUNS, tables.runs), (SPECTRA, tables.spectra), (PEAKS, tables.peaks)):
        path = table.write(frame, tmp_path / f"{table.name}.csv")
        back = table.read(path)
        assert table.format(back) == path.read_text()
    assert math.isnan(RUNS.read(tmp_path / "MD runs.csv")["diverged_at_ps"].iloc[0])

    with pytest.raises(ValueError, match=r"scratch_E/T300K/peaks\.csv: rows of run\(s\)"):
        collect_md([good / "summary.json"], [good / "spectrum.csv"], [bad / "peaks.csv"])
    with pytest.raises(ValueError, match="need one of each per run"):
        collect_md([good / "summary.json"], [], [])


def test_md_workflow_scripts(tmp_path):
    run = fake_run(tmp_path, "finetune_EF", 600, False, temperature=100.0)
    out = SimpleNamespace(spectrum=str(run / "spectrum.csv"), peaks=str(run / "peaks.csv"))
    snakemake = SimpleNamespace(
        input=SimpleNamespace(summary=str(run / "summary.json"), trajectory=str(run / "md.traj")),
        output=out,
        params=SimpleNamespace(spectra=SPECTRA_CONFIG),
        log=[str(tmp_path / "power_spectrum.log")],
    )
    script = REPO / "workflow_scripts"
    runpy.run_path(str(script / "power_spectrum.py"), init_globals={"snakemake": snakemake})
    assert Path(out.spectrum).read_text().startswith("# power spectrum of 0.549 ps")
    tables = SimpleNamespace(
        **{k: str(tmp_path / f"{k}.csv") for k in ("runs", "spectra", "peaks")}
    )
    snakemake = SimpleNamespace(
        input=SimpleNamespace(
            summaries=[str(run / "summary.json")], spectra=[out.spectrum], peaks=[out.peaks]
        ),
        output=tables,
        log=[str(tmp_path / "collect_md.log")],
    )
    runpy.run_path(str(script / "collect_md.py"), init_globals={"snakemake": snakemake})
    assert RUNS.read(tables.runs)["temperature_K"].tolist() == [100]
    assert SPECTRA.read(tables.spectra).attrs["comments"] == list(SPECTRA.comments)
    assert PEAKS.read(tables.peaks)["band"].tolist() == ["C-H", "O-H"]
