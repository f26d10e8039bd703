"""Checksummed, atomic downloads and archive extraction.

Nothing here knows about Snakemake. ``fetch`` streams a URL (``http(s)://``, ``file://`` or a
plain local path) to a temporary name next to its destination, hashes the bytes while they
arrive, and renames the file into place only when every given checksum matches. A checksum
mismatch, a short transfer, or any other failure leaves nothing behind: neither the
destination nor a temporary file. ``extract`` and ``stage`` fill a temporary directory and
rename it into place the same way. Every file and directory is written through
:func:`gmnn.io.atomic_path`; raw data are made read-only after the rename.

:class:`DownloadConfig` holds the settings of the pipeline's ``download:`` section (retries,
timeout, how ``local:`` copies are staged); its defaults are the defaults of :func:`fetch`.

Checksums are hex strings; ``sha256`` and ``md5`` may be given together (both are checked).
When none is given the transfer is accepted and the checksums seen are returned, so that the
caller can record them (the pipeline writes them to a provenance file next to the data).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gmnn.io import atomic_path, atomic_write_json
from gmnn.settings import Settings, option

log = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = "gmnn-tl/0.1 (python urllib; data download)"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz")
LOCAL_MODES = ("symlink", "copy")


class DownloadConfig(Settings):
    """How files are fetched and how ``local:`` copies are staged (``download:``)."""

    section = "download"

    retries: int = option(
        3, ge=1, le=20, doc="attempts per URL (exponential back-off), then the next mirror"
    )
    timeout: float = option(60.0, gt=0, doc="seconds without data before an attempt fails")
    local_mode: str = option(
        "symlink",
        choices=LOCAL_MODES,
        doc="how a `local:` copy is staged: symlink (verified in place) or copy",
    )


_DEFAULTS = DownloadConfig()


def is_archive(name: str | os.PathLike) -> bool:
    """Whether ``name`` ends like a zip or tar archive (``.zip``, ``.tar.bz2``, ...)."""
    return os.fspath(name).endswith(ARCHIVE_SUFFIXES)


class DownloadError(RuntimeError):
    """A transfer failed (network error, HTTP error, short read), after all retries."""


class ChecksumError(DownloadError):
    """The bytes received do not match the expected checksum."""

    def __init__(self, source: str, algorithm: str, expected: str, actual: str):
        self.source, self.algorithm = source, algorithm
        self.expected, self.actual = expected, actual
        super().__init__(
            f"{algorithm} mismatch for {source}: expected {expected}, got {actual}. "
            "Nothing was written. If the upstream file changed on purpose, check the new "
            "file and pin its checksum for this source under `sources:` in config.yaml."
        )


class IncompleteTransfer(DownloadError):
    """The server closed the connection before sending Content-Length bytes."""


@dataclass
class FetchResult:
    """What ``fetch`` did; written as JSON provenance next to the data."""

    source: str
    dest: str
    size: int
    sha256: str
    md5: str
    verified: list[str] = field(default_factory=list)  # algorithms checked against a pin
    kind: str = "download"  # download | copy | symlink
    attempts: int = 1
    fetched_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# hashing


def _norm(digest: str | None, algorithm: str) -> str | None:
    if digest is None:
        return None
    digest = digest.strip().lower()
    size = {"sha256": 64, "md5": 32}[algorithm]
    if len(digest) != size or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a {algorithm} hex digest ({size} hex characters): {digest!r}")
    return digest


class _Hasher:
    def __init__(self) -> None:
        self.sha256, self.md5, self.size = hashlib.sha256(), hashlib.md5(), 0

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)


def file_digests(path: str | os.PathLike) -> dict[str, str | int]:
    """sha256, md5 and size of a file (streamed)."""
    h = _Hasher()
    _stream_file(Path(path), None, h)
    return {"sha256": h.sha256.hexdigest(), "md5": h.md5.hexdigest(), "size": h.size}


def _verify(source: str, h: _Hasher, sha256: str | None, md5: str | None) -> list[str]:
    checked = []
    for algorithm, expected, actual in (
        ("sha256", sha256, h.sha256.hexdigest()),
        ("md5", md5, h.md5.hexdigest()),
    ):
        if expected is None:
            continue
        if actual != expected:
            raise ChecksumError(source, algorithm, expected, actual)
        checked.append(algorithm)
    return checked


# --------------------------------------------------------------------------------------------
# sources


def is_url(source: str | os.PathLike) -> bool:
    return isinstance(source, str) and urllib.parse.urlsplit(source).scheme in {
        "http",
        "https",
        "ftp",
    }


def local_path(source: str | os.PathLike) -> Path | None:
    """The local path behind ``file://...`` or a plain path; ``None`` for remote URLs."""
    if isinstance(source, os.PathLike):
        return Path(source)
    parts = urllib.parse.urlsplit(source)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    if len(parts.scheme) <= 1:  # a plain path (or a Windows drive letter)
        return Path(source)
    if is_url(source):
        return None
    raise ValueError(f"unsupported source (want http(s)://, ftp://, file:// or a path): {source}")


def _stream_url(url: str, fh, h: _Hasher, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        while chunk := response.read(CHUNK):
            fh.write(chunk)
            h.update(chunk)
        if expected is not None and h.size != expected:
            raise IncompleteTransfer(f"{url}: connection closed after {h.size} of {expected} bytes")


def _stream_file(path: Path, fh, h: _Hasher) -> None:
    """Hash ``path`` and, unless ``fh`` is None, copy it to ``fh``."""
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            if fh is not None:
                fh.write(chunk)
            h.update(chunk)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in {408, 425, 429} or exc.code >= 500
    return isinstance(exc, IncompleteTransfer | urllib.error.URLError | OSError | TimeoutError)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def fetch(
    url_or_path: str | os.PathLike,
    dest: str | os.PathLike,
    sha256: str | None = None,
    md5: str | None = None,
    retries: int = _DEFAULTS.retries,
    timeout: float = _DEFAULTS.timeout,
    *,
    mirrors: Sequence[str] = (),
    backoff: float = 2.0,
    symlink: bool = False,
    read_only: bool = True,
) -> FetchResult:
    """Fetch ``url_or_path`` to ``dest``, verified and atomic.

    Remote URLs are tried ``retries`` times each (exponential back-off starting at
    ``backoff`` seconds) and then each of ``mirrors`` in turn; transient failures (network
    errors, HTTP 5xx/429, a transfer shorter than Content-Length) are retried, a checksum
    mismatch moves on to the next mirror. Local sources (``file://`` or a path) are copied,
    or, with ``symlink=True``, verified in place and linked. On any failure nothing is left
    at ``dest`` or as a temporary file, and the raised error names the source and, for a
    mismatch, the expected and actual checksum.
    """
    dest = Path(dest)
    sha256, md5 = _norm(sha256, "sha256"), _norm(md5, "md5")
    if retries < 1:
        raise ValueError("retries must be >= 1")
    source = os.fspath(url_or_path)
    local = local_path(url_or_path)
    if local is not None:
        return _fetch_local(local, dest, sha256, md5, symlink=symlink, read_only=read_only)

    errors: list[str] = []
    attempts = 0
    last: BaseException | None = None
    for url in [source, *mirrors]:
        for attempt in range(1, retries + 1):
            attempts += 1
            try:
                with atomic_path(dest) as tmp:  # removed again on any failure
                    h = _Hasher()
                    with open(tmp, "wb") as fh:
                        _stream_url(url, fh, h, timeout)
                    checked = _verify(url, h, sha256, md5)
            except Exception as exc:
                last = exc
                if isinstance(exc, ChecksumError) or not _retryable(exc):
                    # the same URL would send the same bytes (or the same refusal)
                    errors.append(str(exc) if isinstance(exc, ChecksumError) else f"{url}: {exc}")
                    break
                errors.append(f"{url} (attempt {attempt}/{retries}): {exc}")
                log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
                if attempt < retries:
                    time.sleep(backoff * 2 ** (attempt - 1))
                continue
            if read_only:
                _read_only(dest)
            return FetchResult(
                source=url,
                dest=str(dest),
                size=h.size,
                sha256=h.sha256.hexdigest(),
                md5=h.md5.hexdigest(),
                verified=checked,
                attempts=attempts,
                fetched_at=_now(),
            )
    if isinstance(last, ChecksumError) and len(errors) == 1:
        raise last
    raise DownloadError(
        f"could not fetch {source} to {dest} after {attempts} attempt(s):\n  " + "\n  ".join(errors)
    ) from last


def _fetch_local(
    path: Path, dest: Path, sha256: str | None, md5: str | None, *, symlink: bool, read_only: bool
) -> FetchResult:
    """Copy (or verify and symlink) a local file; the same guarantees as a download."""
    if not path.is_file():
        raise DownloadError(f"local source is not a file: {path}")
    with atomic_path(dest) as tmp:
        h = _Hasher()
        if symlink:
            _stream_file(path, None, h)
            tmp.unlink()  # the link takes the temporary file's place
            _link_or_copy(path, tmp, "symlink")
        else:
            with open(tmp, "wb") as fh:
                _stream_file(path, fh, h)
        checked = _verify(str(path), h, sha256, md5)
    if read_only and not symlink:
        _read_only(dest)
    return FetchResult(
        source=str(path),
        dest=str(dest),
        size=h.size,
        sha256=h.sha256.hexdigest(),
        md5=h.md5.hexdigest(),
        verified=checked,
        kind="symlink" if symlink else "copy",
        fetched_at=_now(),
    )


def write_provenance(result: FetchResult | dict, path: str | os.PathLike, **extra) -> None:
    """Write ``result`` (plus ``extra`` keys) as JSON, atomically."""
    data = result.to_dict() if isinstance(result, FetchResult) else dict(result)
    data.update(extra)
    atomic_write_json(path, data)


# --------------------------------------------------------------------------------------------
# archives

JUNK_PREFIXES = ("__MACOSX/",)


def _archive_kind(path: Path) -> str:
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise ValueError(f"{path} is neither a zip nor a tar archive")


def _safe_member(name: str, root: Path) -> bool:
    target = (root / name).resolve()
    return target == root or root in target.parents


def list_archive(archive: str | os.PathLike) -> list[str]:
    """Names of the regular files in a zip or tar archive (junk such as __MACOSX left out)."""
    archive = Path(archive)
    if _archive_kind(archive) == "zip":
        with zipfile.ZipFile(archive) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    else:
        with tarfile.open(archive) as tf:
            names = [m.name for m in tf.getmembers() if m.isfile()]
    return [n for n in names if not n.startswith(JUNK_PREFIXES)]


def _extract_into(archive: Path, root: Path, members: Iterable[str] | None) -> list[str]:
    """Extract ``archive`` into the existing directory ``root``; return the names written."""
    kind = _archive_kind(archive)
    wanted = None if members is None else set(members)
    resolved = root.resolve()
    written: list[str] = []

    def take(name: str, is_dir: bool) -> bool:
        if is_dir or name.startswith(JUNK_PREFIXES) or (wanted is not None and name not in wanted):
            return False
        if not _safe_member(name, resolved):
            raise ValueError(f"{archive}: refusing member outside the target: {name}")
        return True

    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if take(info.filename, info.is_dir()):
                    zf.extract(info, root)
                    written.append(info.filename)
    else:
        with tarfile.open(archive) as tf:
            for member in tf:
                if not take(member.name, member.isdir()):
                    continue
                if not member.isfile():
                    raise ValueError(f"{archive}: refusing non-regular member {member.name}")
                target = root / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with tf.extractfile(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                written.append(member.name)
    if wanted is not None and (missing := wanted - set(written)):
        raise ValueError(f"{archive} does not contain: {', '.join(sorted(missing))}")
    return written


def _read_only(path: Path) -> None:
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def extract(
    archive: str | os.PathLike,
    dest_dir: str | os.PathLike,
    members: Iterable[str] | None = None,
    *,
    read_only: bool = True,
) -> list[Path]:
    """Extract a zip / tar(.gz|.bz2|.xz) archive into ``dest_dir``, atomically.

    Everything is written to a temporary directory next to ``dest_dir``, which is renamed
    into place (replacing an existing ``dest_dir``) only when extraction finished; on
    failure nothing is left (:func:`gmnn.io.atomic_path`). ``members``
    restricts extraction to those names (an error names any that are missing). Paths
    escaping the directory, links and device files are refused; ``__MACOSX/`` junk is
    skipped. Returns the extracted files (paths inside ``dest_dir``).
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    with atomic_path(dest_dir, directory=True) as tmp:
        written = _extract_into(archive, tmp, members)
    if read_only:
        for name in written:
            _read_only(dest_dir / name)
    return [dest_dir / name for name in written]


# --------------------------------------------------------------------------------------------
# sGDML dataset fingerprint


def sgdml_fingerprint(arrays) -> str:
    """The dataset fingerprint sGDML stores under key ``md5`` in its npz files.

    It is the md5 of the concatenated md5 digests of the raw bytes of ``z``, ``R``, ``E``
    (when present) and ``F``, in that order (sGDML ``utils.io.dataset_md5``). ``arrays`` is
    a mapping such as an opened ``np.load`` archive.
    """
    outer = hashlib.md5()
    keys = ["z", "R", *(["E"] if "E" in arrays else []), "F"]
    for key in keys:
        data = arrays[key]
        outer.update(hashlib.md5(data.ravel().tobytes()).digest())
    return outer.hexdigest()


# --------------------------------------------------------------------------------------------
# Staging: one directory per data set with the raw files ready for conversion

PROVENANCE = "PROVENANCE.json"


def _link_or_copy(src: Path, dest: Path, mode: str) -> None:
    if mode == "copy":
        shutil.copyfile(src, dest)
    elif mode == "symlink":
        target, root = src.resolve(), Path.cwd().resolve()
        # relative links inside the project (which can then be moved), absolute outside
        inside = target.is_relative_to(root)
        os.symlink(os.path.relpath(target, dest.parent.resolve()) if inside else target, dest)
    else:
        raise ValueError(f"mode must be 'symlink' or 'copy', got {mode!r}")


def stage(
    dest_dir: str | os.PathLike,
    *,
    archives: Sequence[str | os.PathLike] = (),
    members: Iterable[str] | None = None,
    files: Sequence[str | os.PathLike] = (),
    mode: str = "symlink",
    info: dict | None = None,
) -> dict:
    """Fill ``dest_dir`` with the raw files of one data set, atomically.

    ``archives`` (zip/tar, by suffix) are extracted (only ``members`` if given); other
    files in ``archives`` and all of ``files`` are linked (``mode="symlink"``) or copied
    (``mode="copy"``) under their base names. ``dest_dir/PROVENANCE.json`` records every
    staged file with its sha256 and size, where it came from, and ``info``. Returns that
    record. The directory is filled next to ``dest_dir`` and renamed into place
    (:func:`gmnn.io.atomic_path`); on failure nothing is left at ``dest_dir``. Staged
    files (not links) are made read-only.
    """
    dest_dir = Path(dest_dir)
    record: dict = {"staged_at": _now(), "mode": mode, "files": {}, **(info or {})}
    with atomic_path(dest_dir, directory=True) as tmp:
        staged: list[tuple[str, str]] = []
        plain = [Path(f) for f in files]
        for archive in map(Path, archives):
            if is_archive(archive.name):
                staged += [(str(archive), n) for n in _extract_into(archive, tmp, members)]
            else:
                plain.append(archive)
        for src in plain:
            if (tmp / src.name).exists() or (tmp / src.name).is_symlink():
                raise DownloadError(f"two files named {src.name} to stage in {dest_dir}")
            _link_or_copy(src, tmp / src.name, mode)
            staged.append((str(src), src.name))
        for origin, name in staged:
            record["files"][name] = {"from": origin, **file_digests(tmp / name)}
        (tmp / PROVENANCE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    for _, name in staged:
        if not (dest_dir / name).is_symlink():
            _read_only(dest_dir / name)
    return record
