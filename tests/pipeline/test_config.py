"""The pipeline skeleton: config schema, lint/format, dry runs, the data rules end to end,
and the converters on the real files in shared/data (skipped when that is absent)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from gmnn.data import load_split, read_h5
from gmnn.data import sources as S
from gmnn.data.download import sgdml_fingerprint
from gmnn.workflow.schema import ConfigSchemaError, validate_config

REPO = Path(__file__).resolve().parents[2]
SCHEMA = str(REPO / "rules" / "schemas" / "config.schema.yaml")


def load(path):
    return yaml.safe_load(Path(path).read_text())


def merged(*configs):
    def merge(a, b):
        for key, value in b.items():
            if isinstance(value, dict) and isinstance(a.get(key), dict):
                merge(a[key], value)
            else:
                a[key] = value
        return a

    out = {}
    for config in configs:
        merge(out, copy.deepcopy(config))
    return out


def snakemake(*args, cwd=REPO, timeout=300):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *args]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


# ------------------------------------------------------------------------------ schema


def test_schema_accepts_config_and_embedded_preset():
    config = load(REPO / "config.yaml")
    validate_config(copy.deepcopy(config), SCHEMA)
    preset = merged(config, load(REPO / "presets/embedded.yaml"))
    validate_config(preset, SCHEMA)
    assert preset["md17"]["molecules"] == [preset["embedded_data"]["molecule"]] == ["methanol"]
    assert preset["md17"]["cc"]["source"] == preset["md17"]["dft"]["source"] == "embedded"
    assert preset["md17"]["settings"] == config["md17"]["settings"]  # merged, not replaced


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"md17": {"moleculs": ["ethanol"]}}, "'moleculs' was unexpected"),
        ({"md17": {"molecules": ["eth anol"]}}, "'eth anol' does not match"),
        ({"md": {"models": ["finetune_XF@small"]}}, "'finetune_XF@small' does not match"),
        ({"figures": {"spectra": {"figX": {"temperature_K": 300}}}}, "'panels' is a required"),
        ({"md17": {"cc": {"train_sizes": [32, "64"]}}}, "'64' is not of type 'integer'"),
        ({"embedded_data": {"dft": {"n_structure": 5}}}, "'n_structure' was unexpected"),
        ({"md": {"temperatures_K": [300, 0]}}, "0 is less than the minimum of 1"),
        ({"md": {"frction_per_fs": 0.1}}, "'frction_per_fs' was unexpected"),
        ({"pretrain_size": {"sizes": [256, 256]}}, "has non-unique elements"),
    ],
)
def test_schema_errors_name_the_key_or_value(change, named):
    config = merged(load(REPO / "config.yaml"), change)
    with pytest.raises(ConfigSchemaError) as err:
        validate_config(config, SCHEMA)
    assert named in str(err.value)
    assert str(err.value).splitlines()[1].startswith("config key ")


# ------------------------------------------------------------------------------ snakemake


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ("md17:\n  moleculs: [ethanol]\n", "'moleculs' was unexpected"),
        (  # a cross-check of the design (gmnn.workflow.Design; the others: tests/workflow)
            "md17:\n  cc:\n    train_sizes: [16, 512]\n",
            "md17.cc needs 544 structures (training set of 512, n_valid and n_test) but "
            "embedded_data.cc.n_structures is 300",
        ),
        # typed gmnn settings, checked by gmnn at start-up (the others: tests/workflow)
        ("model:\n  cutoff: -4.0\n", "model.cutoff: must be > 0.0, got -4.0"),
        ("sources:\n  rmd17:\n    sha256: abc\n", "sources.rmd17.sha256: must be 64 hex"),
        ("sources:\n  rmd17:\n    locl: /data\n", "sources.rmd17.locl: unknown"),
        ("download:\n  local_mode: hardlink\n", "download.local_mode: must be one of"),
        (  # a molecule without a coupled-cluster source (paper-scale config)
            "md17:\n  molecules: [ethanoll]\npretrain_size: null\nmd: null\nani: null\n",
            "sources.rmd17 has no entry for md17.molecules ['ethanoll']",
        ),
    ],
)
def test_dry_run_with_a_bad_config_names_the_key(tmp_path, bad, named):
    (tmp_path / "bad.yaml").write_text(bad)
    configs = [REPO / "config.yaml", tmp_path / "bad.yaml"]
    if "ethanoll" not in bad:
        configs.insert(1, REPO / "presets/embedded.yaml")
    result = snakemake("-n", "--configfile", *map(str, configs))
    assert result.returncode != 0
    assert named in result.stderr + result.stdout


def test_figure_groups_can_be_switched_off(tmp_path):
    """`md: null` and `pretrain_size: null`: Fig. 2 alone, no MD or Fig. 3 jobs."""
    (tmp_path / "off.yaml").write_text("md: null\npretrain_size: null\n")
    configs = [REPO / "config.yaml", REPO / "presets/embedded.yaml", tmp_path / "off.yaml"]
    result = snakemake("-n", "--configfile", *map(str, configs), "-d", str(tmp_path / "w"))
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "rule fig2:" in out
    for rule in ("rule md:", "rule pretrain_size:", "rule spectra_figure:", "rule fig3:"):
        assert rule not in out


def test_dry_run_of_the_data_targets():
    result = snakemake("-n", "data_md17", "data_ani")
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    for rule in ("download", "stage", "convert_md17", "split_md17", "convert_ani", "convert_comp6"):
        assert rule in out


def test_lint_and_format_are_clean():
    result = snakemake("--lint")
    assert result.returncode == 0 and "Lints for" not in result.stdout, result.stdout
    files = [str(REPO / "Snakefile"), *map(str, sorted((REPO / "rules").glob("*.smk")))]
    fmt = subprocess.run(
        [str(Path(sys.executable).parent / "snakefmt"), "--check", *files],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stderr


# ------------------------------------------------------------------------------ end to end

ETHANOL_Z = np.array([6, 6, 8, 1, 1, 1, 1, 1, 1], dtype=np.uint8)


def fake_md(n, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(scale=1.5, size=(n, 9, 3)),
        rng.normal(-97000.0, 5.0, size=n),
        rng.normal(size=(n, 9, 3)),
    )


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fake_sources(tmp_path_factory):
    """An rMD17-like tarball and an sGDML-like zip, served as file:// URLs."""
    root = tmp_path_factory.mktemp("remote")
    R, E, F = fake_md(120, 0)
    rmd17 = npz_bytes(
        nuclear_charges=ETHANOL_Z,
        coords=R,
        energies=E,
        forces=F,
        old_indices=np.arange(1000, 1120),
        old_energies=E,
        old_forces=F,
    )
    tar_path = root / "rmd17.tar.bz2"
    with tarfile.open(tar_path, "w:bz2") as tf:
        for name, data in (("rmd17/npz_data/rmd17_ethanol.npz", rmd17), ("rmd17/readme.txt", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    zip_path = root / "ethanol_ccsd_t.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for part, n, seed in (("train", 60, 1), ("test", 25, 2)):
            R, E, F = fake_md(n, seed)
            arrays = {"R": R, "z": ETHANOL_Z, "E": E[:, None], "F": F}
            md5 = sgdml_fingerprint(arrays)
            zf.writestr(
                f"ethanol_ccsd_t-{part}.npz",
                npz_bytes(**arrays, name="ethanol", theory="fake CCSD(T)", md5=md5),
            )
        zf.writestr("__MACOSX/._ethanol_ccsd_t-train.npz", b"junk")
    return {
        "tar": tar_path,
        "tar_sha256": hashlib.sha256(tar_path.read_bytes()).hexdigest(),
        "zip": zip_path,
        "zip_sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest(),
    }


def small_config(fake, rmd17_sha256):
    return {
        "sources": {
            "rmd17": {"url": fake["tar"].as_uri(), "sha256": rmd17_sha256},
            "md17_ccsd": {"ethanol": {"url": fake["zip"].as_uri()}},
        },
        "md17": {
            "molecules": ["ethanol"],
            "dft": {"source": "rmd17", "n_train": 64, "n_valid": 16, "n_test": None},
            "cc": {"source": "md17_ccsd", "train_sizes": [8, 16, 32], "n_valid": 8},
            "seeds": [0],
        },
        # data steps only: the figure groups, whose sizes refer to the paper's grid, are off
        "pretrain_size": None,
        "md": None,
        "ani": None,
    }


def run_data(workdir: Path, config: dict, *targets):
    cfg = workdir / "test.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return snakemake(
        "--directory",
        str(workdir),
        "--configfile",
        str(REPO / "config.yaml"),
        str(cfg),
        "--cores",
        "2",
        *(targets or ["data_md17"]),
        cwd=workdir,
    )


def test_download_convert_split_end_to_end(tmp_path, fake_sources):
    result = run_data(tmp_path, small_config(fake_sources, fake_sources["tar_sha256"]))
    assert result.returncode == 0, result.stderr[-3000:]
    data = tmp_path / "data"

    prov = json.loads((data / "raw/rmd17/download/rmd17.tar.bz2.provenance.json").read_text())
    assert prov["verified"] == ["sha256"] and prov["pinned"] is True
    prov = json.loads(
        (data / "raw/md17_ccsd/download/ethanol_ccsd_t.zip.provenance.json").read_text()
    )
    assert prov["pinned"] is False and prov["sha256"] == fake_sources["zip_sha256"]
    log = (tmp_path / "logs/download/md17_ccsd/ethanol_ccsd_t.zip.log").read_text()
    assert "no checksum pinned" in log and fake_sources["zip_sha256"] in log
    staged = json.loads((data / "raw/md17_ccsd/ethanol/PROVENANCE.json").read_text())
    assert sorted(staged["files"]) == ["ethanol_ccsd_t-test.npz", "ethanol_ccsd_t-train.npz"]

    dft = read_h5(data / "md17/ethanol/dft.h5")
    assert len(dft) == 120 and dft.ids[0] == 1000
    cc = read_h5(data / "md17/ethanol/cc.h5")
    assert len(cc) == 85 and cc.meta["official_test"] == [60, 85]
    assert all(f["matches_stored"] for f in cc.meta["fingerprints"].values())
    # kcal/mol in the files, eV inside
    assert np.isclose(cc.energy.mean(), -97000.0 * 0.0433641, rtol=1e-3)

    split = load_split(data / "splits/md17/ethanol/cc_seed0.json")
    assert (len(split.train), len(split.valid)) == (32, 8)
    assert np.array_equal(split.test, np.arange(60, 85))  # the sGDML test file
    assert split.train.max() < 60 and split.valid.max() < 60
    dft_split = load_split(data / "splits/md17/ethanol/dft_seed0.json")
    assert (len(dft_split.train), len(dft_split.valid), len(dft_split.test)) == (64, 16, 40)


def test_checksum_mismatch_stops_the_pipeline_and_leaves_nothing(tmp_path, fake_sources):
    result = run_data(tmp_path, small_config(fake_sources, "0" * 64), "data/md17/ethanol/dft.h5")
    assert result.returncode != 0
    log = (tmp_path / "logs/download/rmd17/rmd17.tar.bz2.log").read_text()
    out = result.stderr + log
    assert "sha256 mismatch" in out and "0" * 64 in out and fake_sources["tar_sha256"] in out
    download = tmp_path / "data/raw/rmd17/download"
    assert not download.exists() or list(download.iterdir()) == []


# ------------------------------------------------------------------------------ real files
# (the `shared_data` fixture of conftest.py skips these when shared/data is absent)


def test_rmd17_directory_of_overlapping_splits_is_merged(shared_data):
    s = S.load_rmd17(shared_data / "rmd17", "ethanol")
    assert len(s) == 9633 and np.all(np.diff(s.ids) > 0)  # distinct old_indices, sorted
    assert len(s.meta["files"]) == 10
    split = S.md17_split(s, 8192, 1000, None, seed=0)
    assert (len(split.train), len(split.valid), len(split.test)) == (8192, 1000, 441)


def test_sgdml_single_train_file_carves_the_test_set(shared_data):
    path = shared_data / "md17_ccsd" / "ethanol_ccsd_t-train-subset700.npz"
    s = S.load_sgdml(path, "ethanol")
    assert len(s) == 700 and S.official_test(s) is None
    assert s.meta["fingerprints"]["train"]["stored"] == "cdad377f9048f070ba9071b647d19397"
    assert s.meta["fingerprints"]["train"]["matches_expected"] is False  # a subset
    split = S.md17_split(s, [32, 64, 128, 256, 512], 50, None, seed=3)
    assert (len(split.train), len(split.valid), len(split.test)) == (512, 50, 138)
    with pytest.raises(Exception, match=r"size\(s\) \[950\] do not fit"):
        S.md17_split(s, [32, 512, 950], 50, None, seed=0)


def test_comp6_s66x8_forces_point_downhill(shared_data):
    s = S.load_comp6(shared_data / "comp6", "s66x8")
    assert len(s) == 528 and s.meta["forces_negated"]
    agree = total = 0
    for g in range(len(s.group_names)):
        rows = np.flatnonzero(s.groups == g)
        for a, b in zip(rows[:-1], rows[1:], strict=True):
            atoms_a, atoms_b = s.atom_indices([a]), s.atom_indices([b])
            force = 0.5 * (s.forces[atoms_a] + s.forces[atoms_b])
            work = -np.sum(force * (s.positions[atoms_b] - s.positions[atoms_a]))
            agree += np.sign(work) == np.sign(s.energy[b] - s.energy[a])
            total += 1
    assert agree / total > 0.9


def test_ani1x_fixture_dft_and_ccx(shared_data):
    path = shared_data / "ani1x" / "ani1x_subset_n5_modelforge.hdf5"
    dft, cc = S.load_ani1x(path, "dft"), S.load_ani1x(path, "cc")
    assert (len(dft), len(cc)) == (8, 6)
    assert dft.forces is not None and cc.forces is None
    assert S.find_files("file", path, []) == [path]
