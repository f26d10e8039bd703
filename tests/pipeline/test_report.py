"""`snakemake --report` from the committed results, as on a fresh clone.

A temporary copy of the workflow with the committed ``results/`` and ``figures/`` and no
``.snakemake/`` metadata, ``models/`` or ``data/md17/`` (what a fresh clone has): the
report must hold every figure (PNG), every Markdown table next to the figures and every
tidy table ``results/md17/*.csv``, each with a rendered caption (no Jinja left, no
docutils error) that names the configured number of seeds. Two ways of building it: the
whole DAG (HTML) and only the figure rules (``--profile profiles/figures``, zip).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# What a fresh clone needs for the report (gmnn itself comes from the environment).
COPIED = (
    "Snakefile",
    "config.yaml",
    "rules",
    "workflow_scripts",
    "presets",
    "profiles",
    "envs",
    "report",
    "results",
    "figures",
    "data/embedded",
    "benchmarks/reference_costs.json",  # the cost model's per-step costs (rules/common.smk)
)
PRESET = "presets/embedded.yaml"
BUILDS = {
    "whole_dag_html": ("report.html", ("--configfile", PRESET)),
    "figure_rules_zip": (
        "report.zip",
        ("figures", "--profile", "profiles/figures", "--configfile", PRESET),
    ),
}


def fresh_copy(dest: Path) -> Path:
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".snakemake")
            )
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def configured_seeds() -> list:
    seeds = yaml.safe_load((REPO / "config.yaml").read_text())["md17"]["seeds"]
    preset = yaml.safe_load((REPO / PRESET).read_text()) or {}
    return preset.get("md17", {}).get("seeds", seeds)


def expected_results(work: Path) -> set[str]:
    """Every figure (PNG), Markdown table and tidy table the copy holds."""
    files = [*work.glob("figures/*.png"), *work.glob("figures/*.md")]
    files += work.glob("results/md17/*.csv")
    return {str(f.relative_to(work)) for f in files}


def script_json(page: str, script_id: str, var: str):
    """The JSON a report page assigns to `var` in its <script id=...> block."""
    match = re.search(rf'<script id="{script_id}">\s*var {var} = (.*?);\s*</script>', page, re.S)
    assert match, f"no {var} in the report"
    return json.loads(match.group(1))


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return fresh_copy(tmp_path_factory.mktemp("fresh_clone"))


@pytest.mark.parametrize("build", BUILDS)
def test_report_from_committed_results(work, build):
    name, args = BUILDS[build]
    report = work / name
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "--report", str(report), *args]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert not (work / "models").exists()  # nothing was (re)built

    if name.endswith(".zip"):
        with zipfile.ZipFile(report) as archive:
            names = archive.namelist()
            page = archive.read(next(n for n in names if n.endswith("/report.html"))).decode()
        stored = {Path(n).name for n in names if "/data/raw/" in n}
        missing = {Path(f).name for f in expected_results(work)} - stored
        assert not missing, f"files not in the zip: {sorted(missing)}"
    else:
        page = report.read_text(encoding="utf-8")

    results = script_json(page, "results", "results")
    missing = expected_results(work) - set(results)
    assert not missing, f"not in the report: {sorted(missing)}"

    captions = {path: r["caption"] for path, r in results.items()}
    captions["(workflow description)"] = script_json(page, "workflow-desc", "workflow_desc")
    for path, caption in captions.items():
        assert text(caption), f"{path}: empty caption"
        assert "system-message" not in caption, f"{path}: docutils error\n{text(caption)}"
        assert "{{" not in caption and "{%" not in caption, f"{path}: Jinja left over"

    seeds = configured_seeds()
    fig2 = text(captions["figures/fig2.png"])
    assert f"over {len(seeds)} independent runs" in fig2, fig2
    assert f"seeds: {len(seeds)} ({', '.join(map(str, seeds))})" in fig2, fig2
    for path in ("figures/fig2.png", "results/md17/fig2_learning_curves.csv"):
        assert results[path]["labels"]["seeds"].startswith(f"{len(seeds)} ("), path
    assert "Embedded default" in text(captions["(workflow description)"])
