"""Start-up cross-checks of the pipeline config (issue 9, class 5): a bad value stops a
dry run with an error naming the key and the value, before any job is planned. Several
bad values go into one config (the checks report every problem at once), so that each
dry run tests many of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def snakemake(*args, cwd=REPO, timeout=300):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *args]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def dry_run(tmp_path, bad: str):
    (tmp_path / "bad.yaml").write_text(bad)
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", tmp_path / "bad.yaml"]
    result = snakemake("-n", "--configfile", *map(str, configs))
    return result.returncode, result.stderr + result.stdout


# one dry run with many bad values (embedded preset: 6000 MD steps, 520 DFT structures)
MANY = """\
bond_scan:
  ranges_A:
    O-H: [1.2, 0.8]
    C-H: [0.9, 0.95]
    N-H: [0.05, 1.5]
  points: 5
md:
  dynamics:
    write_interval: 8000
    checkpoint_interval: 8000
embedded_data:
  molecule: methanl
pretrain_size:
  sizes: [50, 100, 200, 600]
"""
MANY_NAMED = {
    "reversed range": "bond_scan.ranges_A.O-H=[1.2, 0.8]: the first distance must be below "
    "the second",
    "window wider than the range": "bond_scan.fit_window_A=0.05: the fit window (+-0.05 A "
    "around the minimum) is wider than bond_scan.ranges_A.C-H=[0.9, 0.95]",
    "range below the coincidence limit": "bond_scan.ranges_A.N-H=[0.05, 1.5]: starts below 0.1 A",
    "too few points for the fit": "bond_scan.points=5: a step of 0.3625 A on "
    "bond_scan.ranges_A.N-H=[0.05, 1.5] can leave fewer than 3 points within "
    "+-fit_window_A=0.05 A of the minimum for the harmonic fit; use at least 45 points",
    "write interval longer than the run": "md.dynamics.write_interval=8000 is longer than "
    "the run (equilibration_ps + production_ps = 6000 steps",
    "unknown embedded molecule": "embedded_data.molecule: unknown molecule 'methanl': use "
    "one of ['ethanol', 'methanol', 'water']",
    "pre-training size above the embedded data": "md17.dft needs 650 structures "
    "(pretrain_size.sizes up to 600, n_valid and n_test) but embedded_data.dft.n_structures "
    "is 520",
}

# a second dry run: checks that a first problem above would hide (elif), and test sets
# that come out empty
EMPTY = """\
md:
  dynamics:
    checkpoint_interval: 8000
md17:
  cc:
    train_sizes: [16, 32, 64, 128, 268]
pretrain_size:
  sizes: [50, 100, 200, 470]
"""
EMPTY_NAMED = {
    "checkpoint interval longer than the run": "md.dynamics.checkpoint_interval=8000 is "
    "longer than the run (equilibration_ps + production_ps = 6000 steps of "
    "md.dynamics.timestep_fs=0.5): a killed run would never have a checkpoint",
    "no DFT test structures left": "md17.dft: pretrain_size.sizes up to 470 and n_valid=50 "
    "take all embedded_data.dft.n_structures=520, leaving no test structures",
    "no coupled-cluster test structures left": "md17.cc: training set of 268 and "
    "n_valid=32 take all embedded_data.cc.n_structures=300, leaving no test structures",
}


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    return dry_run(tmp_path_factory.mktemp("many"), MANY)


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    return dry_run(tmp_path_factory.mktemp("empty"), EMPTY)


@pytest.mark.parametrize("what", sorted(MANY_NAMED))
def test_bad_design_values_are_named_at_start_up(many, what):
    code, text = many
    assert code != 0 and "Invalid configuration:" in text
    assert MANY_NAMED[what] in text, text[-3000:]
    assert "Job stats" not in text  # nothing planned


@pytest.mark.parametrize("what", sorted(EMPTY_NAMED))
def test_empty_test_sets_and_checkpoints_are_named(empty, what):
    code, text = empty
    assert code != 0 and EMPTY_NAMED[what] in text, text[-3000:]


# ------------------------------------------------------------------ YAML syntax errors


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (  # an unclosed list
            "md17:\n  seeds: [0, 1\n  molecules: [methanol]\n",
            ["config.yaml is not valid YAML", 'in "config.yaml", line 2, column 10'],
        ),
        (  # a tab for indentation
            "md17:\n\tseeds: [0]\n",
            ["found character '\\t' that cannot start any token", '"config.yaml", line 2'],
        ),
        (  # a key without a colon in a block mapping
            "md17:\n  seeds: [0]\n  molecules\n  cc: {}\n",
            ['"config.yaml", line 3, column'],
        ),
    ],
)
def test_yaml_syntax_error_in_config_yaml_names_file_line_and_column(tmp_path, text, named):
    (tmp_path / "config.yaml").write_text(text)
    result = snakemake("-n", cwd=tmp_path)
    out = result.stderr + result.stdout
    assert result.returncode != 0
    for part in named:
        assert part in out, out[-2000:]


def test_yaml_syntax_error_in_a_configfile_is_shown_with_verbose(tmp_path):
    """Snakemake reads --configfile files before the Snakefile runs and names neither the
    file nor the line; the README says to add --verbose, which shows both."""
    bad = tmp_path / "broken.yaml"
    bad.write_text("md17:\n  cc:\n    train_sizes: [16, 32\n  seeds: [0]\n")
    plain = snakemake("-n", "--configfile", str(bad))
    assert plain.returncode != 0
    assert "Config file is not valid JSON or YAML" in plain.stderr + plain.stdout
    verbose = snakemake("-n", "--verbose", "--configfile", str(bad))
    assert verbose.returncode != 0
    assert f'in "{bad}", line 3, column 18' in verbose.stderr + verbose.stdout
