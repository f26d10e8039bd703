"""gmnn.data.download: verified, atomic, retried downloads; archives; staging.

A real HTTP server on 127.0.0.1 (a thread) serves the files, including ones that break
off in the middle of the body or stall.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import stat
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _httpserver import local_server

from gmnn.data.download import (
    ChecksumError,
    DownloadConfig,
    DownloadError,
    extract,
    fetch,
    file_digests,
    is_archive,
    list_archive,
    sgdml_fingerprint,
    stage,
    write_provenance,
)
from gmnn.settings import SettingsError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()
WRONG = "0" * 64


class Handler(http.server.BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        Handler.hits[self.path] += 1
        n = Handler.hits[self.path]
        if self.path == "/missing":
            self.send_error(404)
            return
        if self.path == "/busy" and n < 2:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if self.path == "/short" or (self.path == "/flaky" and n == 1):
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])  # then hang up
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/stall":
            self.wfile.write(PAYLOAD[:1000])
            self.wfile.flush()
            time.sleep(3)
            return
        self.wfile.write(PAYLOAD)


@pytest.fixture(scope="module")
def server():
    with local_server(Handler) as url:
        yield url


@pytest.fixture(autouse=True)
def reset_hits():
    Handler.hits.clear()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------------------ fetch


def test_download_verified_atomic_read_only(server, tmp_path):
    dest = tmp_path / "raw" / "file.bin"
    result = fetch(f"{server}/good", dest, sha256=SHA256, md5=MD5, backoff=0)
    assert dest.read_bytes() == PAYLOAD
    assert (result.sha256, result.md5, result.size) == (SHA256, MD5, len(PAYLOAD))
    assert result.verified == ["sha256", "md5"] and result.attempts == 1
    assert not dest.stat().st_mode & stat.S_IWUSR  # read-only
    assert leftovers(dest.parent) == ["file.bin"]
    write_provenance(result, tmp_path / "prov.json", pinned=True)
    record = json.loads((tmp_path / "prov.json").read_text())
    assert record["sha256"] == SHA256 and record["pinned"] is True


def test_unpinned_download_reports_what_it_saw(server, tmp_path):
    result = fetch(f"{server}/good", tmp_path / "f", backoff=0)
    assert result.verified == [] and result.sha256 == SHA256


def test_checksum_mismatch_names_url_and_both_sums_and_leaves_nothing(server, tmp_path):
    url = f"{server}/good"
    with pytest.raises(ChecksumError) as err:
        fetch(url, tmp_path / "f", sha256=WRONG, backoff=0)
    message = str(err.value)
    assert url in message and WRONG in message and SHA256 in message
    assert leftovers(tmp_path) == []
    assert Handler.hits["/good"] == 1  # the same URL sends the same bytes: not retried


def test_md5_mismatch(server, tmp_path):
    with pytest.raises(ChecksumError, match="md5 mismatch"):
        fetch(f"{server}/good", tmp_path / "f", md5="f" * 32, backoff=0)
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_is_retried_then_fails_leaving_nothing(server, tmp_path):
    url = f"{server}/short"
    with pytest.raises(DownloadError) as err:
        fetch(url, tmp_path / "f", sha256=SHA256, retries=3, backoff=0)
    assert Handler.hits["/short"] == 3
    assert url in str(err.value) and "3 attempt(s)" in str(err.value)
    assert "of 1048576 bytes" in str(err.value)
    assert leftovers(tmp_path) == []


def test_transient_failures_are_retried(server, tmp_path):
    result = fetch(f"{server}/flaky", tmp_path / "a", sha256=SHA256, backoff=0)
    assert result.attempts == 2 and (tmp_path / "a").read_bytes() == PAYLOAD
    result = fetch(f"{server}/busy", tmp_path / "b", sha256=SHA256, backoff=0)  # HTTP 503
    assert result.attempts == 2
    assert leftovers(tmp_path) == ["a", "b"]


def test_stalled_transfer_times_out(server, tmp_path):
    with pytest.raises(DownloadError, match="stall"):
        fetch(f"{server}/stall", tmp_path / "f", retries=2, timeout=0.5, backoff=0)
    assert Handler.hits["/stall"] == 2
    assert leftovers(tmp_path) == []


def test_http_404_is_not_retried_and_mirrors_are_tried(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        fetch(f"{server}/missing", tmp_path / "f", retries=3, backoff=0)
    assert Handler.hits["/missing"] == 1
    result = fetch(
        f"{server}/missing", tmp_path / "f", sha256=SHA256, mirrors=[f"{server}/good"], backoff=0
    )
    assert result.source == f"{server}/good"
    assert leftovers(tmp_path) == ["f"]


def test_local_sources_plain_path_file_url_and_symlink(tmp_path):
    src = tmp_path / "staged" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    out = tmp_path / "out"
    out.mkdir()
    r1 = fetch(str(src), out / "copy.bin", sha256=SHA256)
    r2 = fetch(src.as_uri(), out / "url.bin", sha256=SHA256)
    r3 = fetch(src, out / "link.bin", sha256=SHA256, symlink=True)
    assert (r1.kind, r2.kind, r3.kind) == ("copy", "copy", "symlink")
    assert (out / "link.bin").is_symlink() and (out / "link.bin").read_bytes() == PAYLOAD
    assert (out / "copy.bin").read_bytes() == (out / "url.bin").read_bytes() == PAYLOAD
    for symlink in (False, True):
        with pytest.raises(ChecksumError, match=str(src)):
            fetch(src, out / "bad.bin", sha256=WRONG, symlink=symlink)
    with pytest.raises(DownloadError, match="not a file"):
        fetch(tmp_path / "nope", out / "x")
    assert leftovers(out) == ["copy.bin", "link.bin", "url.bin"]


def test_bad_checksum_strings_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        fetch(tmp_path / "x", tmp_path / "y", sha256="abc")


# ------------------------------------------------------------------------------ archives


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w:bz2") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_extract_zip_skips_junk_and_is_atomic(tmp_path):
    archive = make_zip(
        tmp_path / "a.zip",
        {"x-train.npz": b"train", "x-test.npz": b"test", "__MACOSX/._x-train.npz": b"junk"},
    )
    assert sorted(list_archive(archive)) == ["x-test.npz", "x-train.npz"]
    files = extract(archive, tmp_path / "out")
    assert sorted(p.name for p in files) == ["x-test.npz", "x-train.npz"]
    assert sorted(leftovers(tmp_path / "out")) == ["x-test.npz", "x-train.npz"]
    assert leftovers(tmp_path) == ["a.zip", "out"]


def test_extract_tar_bz2_members_and_failures_leave_nothing(tmp_path):
    archive = make_tar(
        tmp_path / "r.tar.bz2",
        {"rmd17/npz_data/rmd17_ethanol.npz": b"e", "rmd17/npz_data/rmd17_benzene.npz": b"b"},
    )
    extract(archive, tmp_path / "out", members=["rmd17/npz_data/rmd17_ethanol.npz"])
    assert (tmp_path / "out/rmd17/npz_data/rmd17_ethanol.npz").read_bytes() == b"e"
    assert not (tmp_path / "out/rmd17/npz_data/rmd17_benzene.npz").exists()
    with pytest.raises(ValueError, match="rmd17_toluene"):
        extract(archive, tmp_path / "bad", members=["rmd17/npz_data/rmd17_toluene.npz"])
    evil = make_tar(tmp_path / "evil.tar.gz", {"../escape.txt": b"x"}, mode="w:gz")
    with pytest.raises(ValueError, match="outside"):
        extract(evil, tmp_path / "bad")
    assert leftovers(tmp_path) == ["evil.tar.gz", "out", "r.tar.bz2"]


def test_stage_extracts_and_links_with_provenance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = make_zip(tmp_path / "m.zip", {"m-train.npz": b"tr", "m-test.npz": b"te"})
    plain = tmp_path / "extra.h5"
    plain.write_bytes(b"h5")
    record = stage(tmp_path / "staged", archives=[archive], files=[plain], info={"k": 1})
    staged = tmp_path / "staged"
    assert sorted(leftovers(staged)) == ["PROVENANCE.json", "extra.h5", "m-test.npz", "m-train.npz"]
    assert (staged / "extra.h5").is_symlink() and (staged / "extra.h5").read_bytes() == b"h5"
    on_disk = json.loads((staged / "PROVENANCE.json").read_text())
    assert on_disk == json.loads(json.dumps(record)) and on_disk["k"] == 1
    assert on_disk["files"]["m-train.npz"]["sha256"] == hashlib.sha256(b"tr").hexdigest()
    assert on_disk["files"]["extra.h5"] == {"from": str(plain), **file_digests(plain)}
    with pytest.raises(DownloadError, match="two files named"):
        stage(tmp_path / "dup", files=[plain, plain])
    assert not (tmp_path / "dup").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_extract_and_stage_replace_an_existing_directory(tmp_path, monkeypatch):
    """A rerun replaces the previous directory (atomically, via gmnn.io.atomic_path)."""
    monkeypatch.chdir(tmp_path)
    first = make_zip(tmp_path / "1.zip", {"old.npz": b"1"})
    second = make_zip(tmp_path / "2.zip", {"new.npz": b"2"})
    extract(first, tmp_path / "out")
    files = extract(second, tmp_path / "out")
    assert leftovers(tmp_path / "out") == ["new.npz"] and files == [tmp_path / "out/new.npz"]
    assert not (tmp_path / "out/new.npz").stat().st_mode & stat.S_IWUSR  # read-only
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) & stat.S_IWUSR  # a normal dir
    stage(tmp_path / "staged", archives=[first])
    stage(tmp_path / "staged", archives=[second], mode="copy")
    assert leftovers(tmp_path / "staged") == ["PROVENANCE.json", "new.npz"]
    assert leftovers(tmp_path) == ["1.zip", "2.zip", "out", "staged"]


def test_download_config_defaults_are_fetchs_and_errors_name_the_key():
    config = DownloadConfig.from_dict({"retries": 3, "timeout": 60, "local_mode": "symlink"})
    assert config == DownloadConfig() and config.timeout == 60.0
    assert fetch.__defaults__[2:4] == (config.retries, config.timeout)
    for bad, named in [
        ({"local_mode": "hardlink"}, "download.local_mode: must be one of ['symlink', 'copy']"),
        ({"retries": 0}, "download.retries: must be >= 1"),
        ({"timeout": -1}, "download.timeout: must be > 0"),
        ({"timout": 5}, "download.timout: unknown setting"),
    ]:
        with pytest.raises(SettingsError) as err:
            DownloadConfig.from_dict(bad)
        assert str(err.value).startswith(named), err.value
    assert is_archive("rmd17.tar.bz2") and is_archive("x.zip") and not is_archive("a.h5")


def test_sgdml_fingerprint_follows_the_sgdml_definition():
    rng = np.random.default_rng(0)
    arrays = {
        "z": np.array([6, 8, 1], dtype=np.uint8),
        "R": rng.normal(size=(4, 3, 3)),
        "E": rng.normal(size=(4, 1)),
        "F": rng.normal(size=(4, 3, 3)),
    }
    inner = b"".join(hashlib.md5(arrays[k].tobytes()).digest() for k in ("z", "R", "E", "F"))
    assert sgdml_fingerprint(arrays) == hashlib.md5(inner).hexdigest()
    no_energy = {k: v for k, v in arrays.items() if k != "E"}
    assert sgdml_fingerprint(no_energy) != sgdml_fingerprint(arrays)
