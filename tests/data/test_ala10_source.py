"""The deca-alanine (Ala10) structure as a checksummed source of gmnn.data.sources.

The registry entry (URL pinned to a commit, sha256 of the shared byte-identical copy), a
real download from an HTTP server on 127.0.0.1 done as the `download` rule does it
(workflow_scripts/download.py), the refusal of other bytes, and `local:` overrides staged
as the `stage` rule does it. Tests that need the real file use the `shared_data` fixture
(tests/conftest.py) and are skipped without ../shared/data/ala10.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
from pathlib import Path

import pytest
from _httpserver import local_server

from gmnn.data import sources as S
from gmnn.data.ala10 import read_ala10_pdb
from gmnn.data.download import (
    ChecksumError,
    DownloadConfig,
    fetch,
    file_digests,
    stage,
    write_provenance,
)
from gmnn.data.errors import DataError

LAYOUT = {
    "download_path": "data/raw/{source}/download/{filename}",
    "staged_path": "data/raw/{source}/{item}",
}
SHARED_NAME = "deca-ala_helix_104atoms.pdb"
REGISTRY = S.ALA10.files[0]
NOT_ALA10 = b"REMARK  NOT THE DECA-ALANINE OF THE REGISTRY\nEND\n"


def sources(section=None) -> S.Sources:
    return S.Sources.from_config(section, molecules=("ethanol",), **LAYOUT)


@pytest.fixture(scope="module")
def shared_pdb(shared_data) -> Path:
    path = shared_data / "ala10" / SHARED_NAME
    if not path.is_file():
        pytest.skip(f"{path} not found (the shared copy of the registry's deca-ala.pdb)")
    return path


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}  # URL path -> body

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        body = Handler.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    with local_server(Handler) as url:
        yield url
    Handler.files = {}


def download_as_the_rule_does(plan: S.FetchPlan) -> dict:
    """What workflow_scripts/download.py does in rule `download`; returns the provenance."""
    settings = DownloadConfig()
    result = fetch(
        plan.local or plan.url,
        plan.path,
        sha256=plan.sha256,
        md5=plan.md5,
        retries=settings.retries,
        timeout=5,
        mirrors=() if plan.local else plan.mirrors,
        symlink=bool(plan.local) and settings.local_mode == "symlink",
        backoff=0,
    )
    provenance = f"{plan.path}.provenance.json"
    write_provenance(result, provenance, url=plan.url, pinned=plan.pinned)
    return json.loads(Path(provenance).read_text())


def stage_as_the_rule_does(plan: S.StagePlan) -> Path:
    """What workflow_scripts/download.py does in rule `stage`: the staged PDB file."""
    files = S.find_files(plan.finder, plan.local, list(plan.items)) if plan.local else []
    stage(
        plan.path,
        archives=[] if plan.local else plan.archives,
        members=plan.members,
        files=files,
        mode="symlink",
        info={"plan": plan.to_dict()},
    )
    return S.ala10_file(plan.path)


# ------------------------------------------------------------------------------ registry


def test_registry_entry_pins_the_commit_and_checksum():
    assert REGISTRY.url == (
        "https://raw.githubusercontent.com/Lapsis-glitch/WTM-eABF_parameters/"
        "d7c5e5e336420abdb8586787cf766e7dd418798c/Deca_ala/common/deca-ala.pdb"
    )
    assert S.ALA10_COMMIT in REGISTRY.url and S.ALA10_COMMIT in REGISTRY.origin
    assert REGISTRY.sha256 == "ef7011cb8cb627bbbda6a0df5506e4a813995f95229051adb55a7b3749b65839"
    assert (REGISTRY.filename, REGISTRY.size) == ("deca-ala.pdb", 8384)
    assert "byte-identical" in REGISTRY.origin and "none stated" in S.ALA10.license
    assert "ala10" in S.SOURCE_NAMES and S.FINDERS["ala10"] == "ala10"
    assert S.Sources.items("ala10") == (S.ALL,)
    assert "deca-ala.pdb" in S.Sources.remote_filenames()
    src = sources()
    assert src.raw("ala10") == "data/raw/ala10/files"
    plan = src.stage_plan("ala10")
    assert (plan.path, plan.finder, plan.items, plan.local, plan.members) == (
        "data/raw/ala10/files",
        "ala10",
        (),
        None,
        None,
    )
    (download,) = plan.downloads
    assert download == src.fetch_plan("ala10", "deca-ala.pdb")
    assert download.path == "data/raw/ala10/download/deca-ala.pdb"
    assert (download.url, download.sha256, download.md5) == (
        REGISTRY.url,
        REGISTRY.sha256,
        REGISTRY.md5,
    )
    assert download.pinned and download.pin == "sources.ala10.sha256"
    assert plan.inputs() == {"archives": [download.path]} and download.inputs() == []
    with pytest.raises(ValueError, match="staged as one item 'files', not 'helix'"):
        src.raw("ala10", "helix")


def test_registry_checksums_are_those_of_the_shared_copy(shared_pdb):
    assert file_digests(shared_pdb) == {
        "sha256": REGISTRY.sha256,
        "md5": REGISTRY.md5,
        "size": REGISTRY.size,
    }


def test_every_override_key_is_accepted(tmp_path):
    section = {
        "ala10": {
            "local": str(tmp_path),
            "mirrors": ["https://mirror.example/deca-ala.pdb"],
            "sha256": "ab" * 32,
            "url": "https://example.org/deca-ala.pdb",
        }
    }
    fetch_plan = sources(section).fetch_plan("ala10", "deca-ala.pdb")
    assert fetch_plan.url == "https://example.org/deca-ala.pdb"
    assert fetch_plan.mirrors == ("https://mirror.example/deca-ala.pdb",)
    assert (fetch_plan.sha256, fetch_plan.md5) == ("ab" * 32, None)  # another file
    assert S.Overrides.from_config({"ala10": None}) == S.Overrides()


# ------------------------------------------------------------------------------ download


def test_download_from_a_local_server_is_verified_against_the_registry_pin(
    server, shared_pdb, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    Handler.files["/Deca_ala/common/deca-ala.pdb"] = shared_pdb.read_bytes()
    url = f"{server}/Deca_ala/common/deca-ala.pdb"
    # a URL of one's own drops the registry's pins: the registry's sha256 is pinned again
    assert not sources({"ala10": {"url": url}}).fetch_plan("ala10", "deca-ala.pdb").pinned
    src = sources({"ala10": {"url": url, "sha256": REGISTRY.sha256}})
    plan = src.fetch_plan("ala10", "deca-ala.pdb")
    assert (plan.url, plan.sha256, plan.local) == (url, REGISTRY.sha256, None)
    record = download_as_the_rule_does(plan)
    assert record["verified"] == ["sha256"] and record["pinned"] is True
    assert (record["source"], record["url"], record["kind"]) == (url, url, "download")
    assert (record["sha256"], record["size"]) == (REGISTRY.sha256, 8384)
    assert record["dest"] == "data/raw/ala10/download/deca-ala.pdb"
    staged = stage_as_the_rule_does(src.stage_plan("ala10"))
    assert (
        staged
        == Path("data/raw/ala10/files/deca-ala.pdb")
        == Path(src.raw("ala10"), "deca-ala.pdb")
    )
    assert staged.read_bytes() == shared_pdb.read_bytes()
    (staged.parent / ".snakemake_timestamp").touch()  # what Snakemake adds to a directory()
    assert S.ala10_file(src.raw("ala10")) == staged
    provenance = json.loads((staged.parent / "PROVENANCE.json").read_text())
    assert provenance["files"]["deca-ala.pdb"]["sha256"] == REGISTRY.sha256
    assert provenance["plan"]["urls"] == [url]
    atoms = read_ala10_pdb(staged)
    assert (len(atoms), atoms.get_chemical_formula()) == (104, "C30H53N11O10")


def test_served_file_with_other_bytes_is_refused(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Handler.files["/other/deca-ala.pdb"] = NOT_ALA10
    url = f"{server}/other/deca-ala.pdb"
    plan = sources({"ala10": {"url": url, "sha256": REGISTRY.sha256}}).fetch_plan(
        "ala10", "deca-ala.pdb"
    )
    with pytest.raises(ChecksumError) as err:
        download_as_the_rule_does(plan)
    message = str(err.value)
    assert f"sha256 mismatch for {url}" in message
    assert REGISTRY.sha256 in message and hashlib.sha256(NOT_ALA10).hexdigest() in message
    assert not Path(plan.path).exists() and not Path(f"{plan.path}.provenance.json").exists()
    # the registry's own entry (mirror tried after the registry URL, which is not reached
    # here) checks the same pin: a `mirrors` override does not weaken it
    mirrored = sources({"ala10": {"mirrors": [url]}}).fetch_plan("ala10", "deca-ala.pdb")
    assert mirrored.mirrors == (url,) and mirrored.sha256 == REGISTRY.sha256


def test_local_copy_with_other_bytes_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = tmp_path / "mine" / "deca-ala.pdb"
    local.parent.mkdir()
    local.write_bytes(NOT_ALA10)
    plan = sources({"ala10": {"local": str(local)}}).fetch_plan("ala10", "deca-ala.pdb")
    assert plan.local == str(local) and plan.sha256 == REGISTRY.sha256
    with pytest.raises(ChecksumError, match=f"sha256 mismatch for {local}"):
        download_as_the_rule_does(plan)
    assert not Path(plan.path).exists()


# ------------------------------------------------------------------------------ local:


def test_local_copy_of_the_file_replaces_the_download(shared_pdb, tmp_path, monkeypatch):
    """`local:` the file itself (any name): verified like a download, staged as deca-ala.pdb."""
    monkeypatch.chdir(tmp_path)
    src = sources({"ala10": {"local": str(shared_pdb)}})
    fetch_plan = src.fetch_plan("ala10", "deca-ala.pdb")
    assert fetch_plan.local == str(shared_pdb) and fetch_plan.inputs() == [str(shared_pdb)]
    plan = src.stage_plan("ala10")
    assert plan.local is None and plan.downloads == (fetch_plan,)
    record = download_as_the_rule_does(fetch_plan)
    assert (record["kind"], record["verified"]) == ("symlink", ["sha256", "md5"])
    staged = stage_as_the_rule_does(plan)
    assert staged == Path("data/raw/ala10/files/deca-ala.pdb")
    assert staged.read_bytes() == shared_pdb.read_bytes()


def test_local_directory_is_searched(shared_pdb, tmp_path, monkeypatch):
    """`local:` a directory with one .pdb file (the shared one): staged under its name."""
    monkeypatch.chdir(tmp_path)
    src = sources({"ala10": {"local": str(shared_pdb.parent)}})
    assert src.fetch_plan("ala10", "deca-ala.pdb").local is None  # nothing downloaded
    plan = src.stage_plan("ala10")
    assert (plan.local, plan.downloads, plan.finder) == (str(shared_pdb.parent), (), "ala10")
    assert plan.inputs() == {"local": [str(shared_pdb.parent)]}
    staged = stage_as_the_rule_does(plan)
    assert staged == Path(src.raw("ala10"), SHARED_NAME) and staged.is_symlink()
    assert sorted(p.name for p in staged.parent.iterdir()) == ["PROVENANCE.json", SHARED_NAME]


@pytest.mark.parametrize(
    "layout",
    [
        ("deca-ala.pdb", "deca-ala.psf", "other.pdb"),  # the registry's name wins
        ("Deca_ala/common/deca-ala.pdb", "Deca_ala/common/deca-ala.psf", "README.md"),
        ("common/deca-ala.pdb", "common/deca-ala.psf"),
        ("helix.PDB", "helix.psf"),  # the one .pdb file
    ],
)
def test_ala10_file_in_the_layouts_a_directory_comes_in(tmp_path, monkeypatch, layout):
    monkeypatch.chdir(tmp_path)
    tree = tmp_path / "tree"
    for rel in layout:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(rel.encode())
    assert S.ala10_file(tree) == tree / layout[0]
    assert S.find_files("ala10", tree, []) == [tree / layout[0]]
    staged = stage_as_the_rule_does(sources({"ala10": {"local": str(tree)}}).stage_plan("ala10"))
    assert staged.name == Path(layout[0]).name and staged.read_bytes() == layout[0].encode()
    assert S.ala10_file(staged) == staged  # the file itself


def test_ala10_file_errors_name_the_path_and_what_is_wrong(tmp_path):
    with pytest.raises(DataError, match=r"absent: no such file or directory"):
        S.ala10_file(tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "deca-ala.psf").write_bytes(b"psf")
    with pytest.raises(DataError, match=r"empty: no Ala10 PDB file: looked for deca-ala.pdb"):
        S.ala10_file(empty)
    several = tmp_path / "several"
    several.mkdir()
    for name in ("a.pdb", "b.pdb"):
        (several / name).write_bytes(b"END\n")
    with pytest.raises(DataError, match=r"\['a.pdb', 'b.pdb'\]; point sources.ala10.local"):
        S.ala10_file(several)


def test_local_file_elsewhere_is_copied_when_local_mode_is_copy(shared_pdb, tmp_path):
    """A copy of the file under another name, with `download.local_mode: copy`."""
    copy = tmp_path / "ala10.pdb"
    shutil.copyfile(shared_pdb, copy)
    plan = sources({"ala10": {"local": str(copy)}}).fetch_plan("ala10", "deca-ala.pdb")
    result = fetch(plan.local, tmp_path / "out.pdb", sha256=plan.sha256, md5=plan.md5)
    assert result.kind == "copy" and result.verified == ["sha256", "md5"]
