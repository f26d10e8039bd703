"""Start-up checks of the pipeline config (issue 9, class 5) through Snakemake: a bad
value stops a dry run with an error naming the key and the value, before any job is
planned (every cross-check itself: tests/workflow/test_design.py), and a YAML syntax error
names the file, line and column."""

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


# One dry run with bad values: the design's errors (gmnn.workflow.Design, each checked in
# tests/workflow/test_design.py) stop `snakemake -n` before any job is planned.
BAD = """\
bond_scan:
  ranges_A:
    O-H: [1.2, 0.8]
embedded_data:
  molecule: methanl
"""


def test_design_errors_stop_the_dry_run(tmp_path):
    code, text = dry_run(tmp_path, BAD)
    assert code != 0 and "Invalid configuration:\n" in text, text[-3000:]
    assert "bond_scan.ranges_A.O-H=[1.2, 0.8]: the first distance must be below" in text
    assert "embedded_data.molecule: unknown molecule 'methanl'" in text
    assert "Job stats" not in text  # nothing planned


# issue 22: the ANI and embedded design and the spectra grid, checked with the rest (the
# checks themselves: tests/workflow/test_design.py)
@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (
            "embedded_ani:\n  heldout:\n    drugs: {systems: [asprin], temperature_K: 400, "
            "frames: 64}\n",
            "embedded_ani.heldout.drugs.systems: unknown system 'asprin'",
        ),
        ("ani:\n  comp6_subsets: [drugbnak]\n", "ani.comp6_subsets: 'drugbnak' is not an"),
        ("spectra:\n  grid_step_cm1: 5000\n", "spectra.grid_step_cm1: must be below"),
        (
            "ani:\n  table1:\n    sizes: [960, 9000]\n",
            "ani.table1.sizes: 9000 pre-training structures",
        ),
    ],
)
def test_ani_design_errors_stop_the_dry_run(tmp_path, bad, named):
    code, text = dry_run(tmp_path, bad)
    assert code != 0 and "Invalid configuration:" in text and named in text, text[-3000:]
    assert "Job stats" not in text and "Traceback" not in text


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
