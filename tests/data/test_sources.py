"""gmnn.data.sources: the registry with a user's overrides applied (which files, from where,
staged how), and the MD17 splits whose DFT test set does not depend on the size grid."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from gmnn.data import Structures, load_split, save_split
from gmnn.data import sources as S
from gmnn.data.download import stage
from gmnn.settings import SettingsError

REPO = Path(__file__).resolve().parents[2]
LAYOUT = {
    "download_path": "data/raw/{source}/download/{filename}",
    "staged_path": "data/raw/{source}/{item}",
}


def sources(section=None, molecules=("ethanol", "aspirin")) -> S.Sources:
    return S.Sources.from_config(section, molecules=molecules, **LAYOUT)


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------ rMD17


def test_rmd17_download_and_archive_members():
    plan = sources().stage_plan("rmd17")
    assert plan.path == "data/raw/rmd17/files" and plan.finder == "rmd17"
    assert plan.members == (
        "rmd17/npz_data/rmd17_ethanol.npz",
        "rmd17/npz_data/rmd17_aspirin.npz",
    )
    assert plan.items == ("ethanol", "aspirin") and plan.local is None
    (download,) = plan.downloads
    assert download.path == "data/raw/rmd17/download/rmd17.tar.bz2"
    assert (download.url, download.mirrors) == (S.RMD17.files[0].url, S.RMD17.files[0].mirrors)
    assert (download.sha256, download.md5) == (S.RMD17.files[0].sha256, S.RMD17.files[0].md5)
    assert plan.inputs() == {"archives": [download.path]}
    assert download.inputs() == []  # nothing local: downloaded
    assert sources().fetch_plan("rmd17", "rmd17.tar.bz2") == download
    # one staged directory for every molecule
    assert sources().raw("rmd17", "ethanol") == sources().raw("rmd17", "aspirin") == plan.path


def test_rmd17_members_extract_from_the_official_layout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = tmp_path / "rmd17.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tf:
        for molecule in ("ethanol", "aspirin", "benzene"):
            info = tarfile.TarInfo(f"rmd17/npz_data/rmd17_{molecule}.npz")
            info.size = len(molecule)
            tf.addfile(info, io.BytesIO(molecule.encode()))
    plan = sources().stage_plan("rmd17")
    stage(plan.path, archives=[archive], members=plan.members)
    staged = tmp_path / plan.path
    for molecule in plan.items:  # the finder the plan names locates what was extracted
        assert S.find_files(plan.finder, staged, [molecule])[0].read_text() == molecule
    assert not (staged / "rmd17/npz_data/rmd17_benzene.npz").exists()


def test_local_copy_of_the_archive_replaces_the_download(tmp_path):
    local = touch(tmp_path / "copy" / "rmd17.tar.bz2")
    src = sources({"rmd17": {"local": str(local)}})
    fetch = src.fetch_plan("rmd17", "rmd17.tar.bz2")
    assert fetch.local == str(local) and fetch.inputs() == [str(local)]
    assert fetch.sha256 == S.RMD17.files[0].sha256  # verified against the registry's pin
    plan = src.stage_plan("rmd17")
    assert plan.local is None and plan.downloads == (fetch,)
    assert plan.members is not None  # extracted like a download


@pytest.mark.parametrize("kind", ["directory", "npz", "missing"])
def test_local_tree_is_searched_instead(tmp_path, kind):
    local = tmp_path / "rmd17"
    if kind == "directory":
        touch(local / "rmd17_ethanol.npz")
    elif kind == "npz":
        local = touch(tmp_path / "rmd17_ethanol.npz")
    src = sources({"rmd17": {"local": str(local)}})
    plan = src.stage_plan("rmd17")
    assert plan.local == str(local) and plan.downloads == () and plan.members is None
    assert plan.inputs() == {"local": [str(local)]}  # a missing one is reported by name
    assert (plan.finder, plan.items) == ("rmd17", ("ethanol", "aspirin"))
    assert src.fetch_plan("rmd17", "rmd17.tar.bz2").local is None


def test_sgdml_zip_copy_vs_single_npz(tmp_path):
    zip_copy = touch(tmp_path / "ethanol_ccsd_t.zip")
    npz = touch(tmp_path / "ethanol_ccsd_t-train.npz")
    src = sources(
        {"md17_ccsd": {"ethanol": {"local": str(zip_copy)}, "aspirin": {"local": str(npz)}}}
    )
    ethanol = src.stage_plan("md17_ccsd", "ethanol")
    assert ethanol.local is None and ethanol.archives == [
        "data/raw/md17_ccsd/download/ethanol_ccsd_t.zip"
    ]
    assert src.fetch_plan("md17_ccsd", "ethanol_ccsd_t.zip").inputs() == [str(zip_copy)]
    aspirin = src.stage_plan("md17_ccsd", "aspirin")  # an npz standing in for the zip
    assert aspirin.local == str(npz) and aspirin.finder == "sgdml"
    assert aspirin.items == ("aspirin",) and aspirin.path == "data/raw/md17_ccsd/aspirin"
    assert src.raw("md17_ccsd", "aspirin") == aspirin.path
    # molecules without overrides come from the registry
    benzene = src.fetch_plan("md17_ccsd", "benzene_ccsd_t.zip")
    assert benzene.url == S.MD17_CCSD["benzene"].files[0].url and benzene.local is None
    assert benzene.pin == "sources.md17_ccsd.benzene.sha256" and not benzene.pinned


# ------------------------------------------------------------------------------ ANI


def test_ani1ccx_shares_ani1x_file(tmp_path):
    src = sources()
    assert src.shares_ani1x()
    assert src.raw("ani1ccx") == src.raw("ani1x") == "data/raw/ani1x/files"
    # ... including ani1x's overrides
    tree = tmp_path / "ani"
    tree.mkdir()
    shared = sources({"ani1x": {"local": str(tree)}, "ani1ccx": {"local": None}})
    assert shared.raw("ani1ccx") == "data/raw/ani1x/files"
    assert shared.stage_plan("ani1x").local == str(tree)
    assert shared.stage_plan("ani1x").finder == "file"


def test_ani1ccx_with_overrides_of_its_own(tmp_path):
    own = touch(tmp_path / "ani1x-release.h5")
    src = sources({"ani1ccx": {"local": str(own)}})
    assert not src.shares_ani1x() and src.raw("ani1ccx") == "data/raw/ani1ccx/files"
    fetch = src.fetch_plan("ani1ccx", "ani1x-release.h5")
    assert fetch.path == "data/raw/ani1ccx/download/ani1x-release.h5"
    assert fetch.local == str(own)  # a copy of the ANI-1x file, verified against its pin
    assert (fetch.url, fetch.sha256) == (S.ANI1X.files[0].url, S.ANI1X.files[0].sha256)
    assert src.stage_plan("ani1ccx").archives == [fetch.path]
    assert src.raw("ani1x") == "data/raw/ani1x/files"  # ani1x itself is unchanged


# ------------------------------------------------------------------------------ COMP6


def test_comp6_subsets_files_and_pins():
    src = sources()
    plan = src.stage_plan("comp6", "gdb07to09")
    assert plan.path == "data/raw/comp6/gdb07to09" and plan.finder == "comp6"
    assert plan.items == ("gdb07to09",) and plan.members is None
    assert plan.archives == [
        f"data/raw/comp6/download/GDB07to09/gdb11_0{i}_test500.h5" for i in (7, 8, 9)
    ]
    assert all(f.sha256 is None and f.url.startswith(S.COMP6_BASE_URL) for f in plan.downloads)
    (s66x8,) = src.stage_plan("comp6", "s66x8").downloads
    assert s66x8.sha256 == S.COMP6_SHA256["s66x8/s66x8_wb97x6-31gd.h5"] and s66x8.pinned
    assert src.raw("comp6", "s66x8") == "data/raw/comp6/s66x8"
    assert set(S.Sources.items("comp6")) == set(S.COMP6_SUBSETS)
    with pytest.raises(ValueError, match="no entry for subset 'gdb14'"):
        src.stage_plan("comp6", "gdb14")


def test_comp6_overrides_pin_by_file_url_and_local(tmp_path):
    pin = "ab" * 32
    src = sources(
        {
            "comp6": {
                "sha256": {"ANI-MD/ani_md_bench.h5": pin},
                "mirrors": ["https://mirror.example/COMP6v1/"],
            }
        }
    )
    (ani_md,) = src.stage_plan("comp6", "ani_md").downloads
    assert ani_md.sha256 == pin and ani_md.pin == "sources.comp6.sha256.ANI-MD/ani_md_bench.h5"
    assert ani_md.mirrors == ("https://mirror.example/COMP6v1/ANI-MD/ani_md_bench.h5",)
    moved = sources({"comp6": {"url": "file:///data/COMP6v1"}})
    (s66x8,) = moved.stage_plan("comp6", "s66x8").downloads
    assert s66x8.url == "file:///data/COMP6v1/s66x8/s66x8_wb97x6-31gd.h5"
    assert s66x8.sha256 is None  # another file: the registry's pin does not apply
    tree = sources({"comp6": {"local": str(tmp_path)}}).stage_plan("comp6", "drugbank")
    assert tree.local == str(tmp_path) and tree.downloads == ()


# ------------------------------------------------------------------------------ overrides


def test_url_override_drops_registry_pins_and_mirrors_extra_mirrors_appended():
    url, pin = "file:///scratch/rmd17.tar.bz2", "cd" * 32
    moved = sources({"rmd17": {"url": url, "sha256": pin, "md5": None}})
    fetch = moved.fetch_plan("rmd17", "rmd17.tar.bz2")
    assert (fetch.url, fetch.mirrors, fetch.sha256, fetch.md5) == (url, (), pin, None)
    extra = sources({"rmd17": {"mirrors": ["https://mirror.example/rmd17.tar.bz2"]}})
    fetch = extra.fetch_plan("rmd17", "rmd17.tar.bz2")
    assert fetch.mirrors == (*S.RMD17.files[0].mirrors, "https://mirror.example/rmd17.tar.bz2")
    assert fetch.sha256 == S.RMD17.files[0].sha256


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"rmd17": {"locl": "/x"}}, "sources.rmd17.locl: unknown setting"),
        ({"rmd71": {"local": "/x"}}, "sources.rmd71: unknown setting"),
        (
            {"md17_ccsd": {"ethanoll": {"local": "/x"}}},
            "sources.md17_ccsd.ethanoll: unknown molecule",
        ),
        ({"md17_ccsd": {"ethanol": {"sha265": "0"}}}, "sources.md17_ccsd.ethanol.sha265: unknown"),
        ({"comp6": {"subsets": {}}}, "sources.comp6.subsets: unknown setting"),
        ({"comp6": {"sha256": {"ANI-MD/x.h5": "0" * 64}}}, "sources.comp6.sha256.ANI-MD/x.h5"),
        ({"rmd17": {"sha256": "abc"}}, "sources.rmd17.sha256: must be 64 hex characters"),
        ({"ani1x": {"md5": "f" * 64}}, "sources.ani1x.md5: must be 32 hex characters"),
        ({"ani1x": {"url": "www.example.org/x.h5"}}, "sources.ani1x.url: must be an http"),
        ({"ani1x": {"mirrors": "https://a.example/x"}}, "sources.ani1x.mirrors: must be a list"),
        ({"ani1ccx": {"same_as": "ani1x"}}, "sources.ani1ccx.same_as: unknown setting"),
        ({"ala10": {"locl": "/x"}}, "sources.ala10.locl: unknown setting"),
        ({"ala10": {"sha256": "ef70"}}, "sources.ala10.sha256: must be 64 hex characters"),
        ({"ala10": {"url": "deca-ala.pdb"}}, "sources.ala10.url: must be an http"),
        ({"ala_10": {"local": "/x"}}, "sources.ala_10: unknown setting"),
    ],
)
def test_unknown_or_bad_override_is_named(section, named):
    with pytest.raises(SettingsError) as err:
        S.Overrides.from_config(section)
    assert str(err.value).startswith(named), str(err.value)


def test_config_yaml_sources_section_resolves_everything():
    section = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    src = sources(section, molecules=("ethanol", "malonaldehyde", "benzene", "toluene", "aspirin"))
    # only empty placeholders: the registry as it is
    assert src.overrides.replace(md17_ccsd={}) == S.Overrides()
    assert set(src.overrides.md17_ccsd.values()) <= {S.FileOverride()}
    for source in S.SOURCE_NAMES:
        for item in S.Sources.items(source):
            plan = src.stage_plan(source, item)
            for fetch in plan.downloads:
                assert fetch.filename in S.Sources.remote_filenames()
                assert src.fetch_plan(source, fetch.filename) == fetch
    assert set(S.Sources.stage_items()) == {"files", *S.MD17_CCSD, *S.COMP6_SUBSETS}
    assert S.Overrides.from_config(None) == S.Overrides.from_config({"rmd17": None})


def test_require_names_molecules_missing_from_the_registry():
    src = sources()
    src.require("md17_ccsd", ["ethanol", "aspirin"])
    src.require("embedded", ["methanol"])  # not a registry source: not checked
    with pytest.raises(
        ValueError, match=r"sources.md17_ccsd has no entry for md17.molecules \['ethanoll'\]"
    ):
        src.require("md17_ccsd", ["ethanol", "ethanoll"])
    with pytest.raises(
        ValueError, match=r"sources.rmd17 has no entry for md17.molecules \['methanol'\]"
    ):
        src.require("rmd17", ["methanol"])
    with pytest.raises(ValueError, match="unknown source 'rmd71'"):
        src.stage_plan("rmd71")
    with pytest.raises(ValueError, match="no remote file 'x.zip'"):
        src.fetch_plan("md17_ccsd", "x.zip")


# ------------------------------------------------------------------------------ MD17 splits


def n_structures(n: int, test: tuple[int, int] | None = None) -> Structures:
    """``n`` one-atom structures (md17_split looks only at their number and meta)."""
    meta = {"source": "synthetic"} | ({"official_test": list(test)} if test else {})
    return Structures(
        numbers=np.ones(n, dtype=np.int32),
        positions=np.zeros((n, 3)),
        n_atoms=np.ones(n, dtype=np.int64),
        energy=np.zeros(n),
        meta=meta,
    )


def test_dft_test_set_does_not_depend_on_the_size_grid(tmp_path):
    """A larger pre-training size (Fig. 3) leaves the DFT test set (Fig. 2) as it is."""
    data = n_structures(2000)
    fig2 = S.md17_split(data, [400], 100, None, seed=3, n_train=400)
    fig3 = S.md17_split(data, [50, 400, 800, 1600], 100, None, seed=3, n_train=400)
    assert np.array_equal(fig2.test, fig3.test) and len(fig3.test) == 2000 - 400 - 100
    assert np.array_equal(fig2.valid, fig3.valid)
    assert np.array_equal(fig3.train[:400], fig2.train) and len(fig3.train) == 1600
    assert fig2.train_overlaps_test_from is None
    assert fig3.train_overlaps_test_from == 400  # longer prefixes share test structures
    assert not np.isin(fig3.train[:400], fig3.test).any()
    assert np.isin(fig3.train[400:], fig3.test).all()
    assert not np.isin(fig3.train, fig3.valid).any()
    # before: the test set was what remained after the largest size
    old = S.md17_split(data, [50, 400, 800, 1600], 100, None, seed=3)
    assert len(old.test) == 2000 - 1600 - 100 and old.train_overlaps_test_from is None
    assert np.array_equal(old.train, fig3.train)  # the same nested training order
    # the JSON file records it
    save_split(fig3, tmp_path / "dft.json")
    assert load_split(tmp_path / "dft.json") == fig3
    assert '"train_overlaps_test_from":400' in (tmp_path / "dft.json").read_text()
    assert "train_overlaps_test_from" not in save_split(fig2, tmp_path / "f2.json").read_text()


def test_paper_grid_keeps_the_90808_rmd17_test_structures():
    fig3_sizes = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
    split = S.md17_split(n_structures(100_000), fig3_sizes, 1000, None, seed=0, n_train=8192)
    assert (len(split.train), len(split.valid), len(split.test)) == (65536, 1000, 90808)
    assert split.train_overlaps_test_from == 8192


def test_a_fixed_n_test_is_independent_of_the_grid_too():
    data = n_structures(1000)
    small = S.md17_split(data, [100], 50, 200, seed=1, n_train=100)
    large = S.md17_split(data, [100, 500], 50, 200, seed=1, n_train=100)
    assert np.array_equal(small.test, large.test) and len(large.test) == 200
    assert np.array_equal(large.train[:100], small.train)
    # 50 + 500 training structures stay clear of the last 200: no overlap
    assert not np.isin(large.train, large.test).any()


def test_split_sizes_that_do_not_fit_are_named():
    data = n_structures(1000)
    with pytest.raises(S.DataError, match=r"size\(s\) \[960\] do not fit"):
        S.md17_split(data, [100, 960], 50, None, seed=0, n_train=100)
    with pytest.raises(S.DataError, match=r"size\(s\) \[900\] do not fit"):
        S.md17_split(data, [100], 50, 100, seed=0, n_train=900)


def test_cc_official_test_set_unchanged():
    data = n_structures(1100, test=(1000, 1100))
    split = S.md17_split(data, [32, 64, 950], 50, None, seed=2)
    assert np.array_equal(split.test, np.arange(1000, 1100))
    assert len(split.train) == 950 and split.train.max() < 1000


# ------------------------------------------------------------------------------ real files
# (the `shared_data` fixture of tests/conftest.py skips these when shared/data is absent)


def stage_as_the_pipeline_does(plan: S.StagePlan, mode: str = "symlink") -> Path:
    """What workflow_scripts/download.py does for a `local:` tree."""
    files = S.find_files(plan.finder, plan.local, list(plan.items))
    stage(plan.path, files=files, mode=mode, info={"plan": plan.to_dict()})
    return Path(plan.path)


def test_local_trees_of_real_files_stage_and_load(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = sources(
        {
            "rmd17": {"local": str(shared_data / "rmd17")},
            "md17_ccsd": {
                "ethanol": {
                    "local": str(shared_data / "md17_ccsd/ethanol_ccsd_t-train-subset700.npz")
                }
            },
            "comp6": {"local": str(shared_data / "comp6")},
        },
        molecules=("ethanol",),
    )
    rmd17 = stage_as_the_pipeline_does(src.stage_plan("rmd17"))
    assert len(S.load_rmd17(rmd17, "ethanol")) == 9633  # the per-split files, merged
    ccsd = stage_as_the_pipeline_does(src.stage_plan("md17_ccsd", "ethanol"))
    assert len(S.load_sgdml(ccsd, "ethanol")) == 700
    comp6 = stage_as_the_pipeline_does(src.stage_plan("comp6", "s66x8"), mode="copy")
    assert len(S.load_comp6(comp6, "s66x8")) == 528
    assert Path(src.raw("comp6", "s66x8")) == comp6
