"""Self-contained model directories and atomic file writing.

A model directory holds ``model.json`` (architecture, species, cutoff, units,
energy scale, provenance) and ``weights.npz`` (every variable by name).  It loads
with :func:`load_model` without any training configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

FORMAT = "gmnn-model"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(path, directory: bool = False) -> None:
    """Give a temporary file/dir (created 0600/0700) the permissions of a normal one."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


FORMAT_VERSION = 1


@contextlib.contextmanager
def atomic_path(path, directory: bool = False) -> Iterator[Path]:
    """The one way ``gmnn`` writes an output: yield a temporary path next to ``path``,
    and when the body succeeds give it normal permissions (0666/0777 less the umask) and
    rename it onto ``path``; if the body raises, remove it and leave ``path`` as it was.

    The temporary file is created empty (the body may open it for writing or replace
    it); with ``directory=True`` it is an empty directory that replaces ``path`` (an
    existing directory is moved aside first and removed after the swap).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    else:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if tmp.is_symlink():
            pass  # a link keeps its target's permissions
        elif tmp.exists():
            _publish(tmp, directory=directory)
        if directory and path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_save_npz(path, arrays: dict) -> None:
    """``np.savez`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def save_model(model, path, provenance: dict | None = None) -> Path:
    """Write ``model`` to the directory ``path`` (replaced atomically)."""
    weights = model.get_weights()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": "GM-NN",
        "config": model.config,
        "energy_scale_eV": float(weights["energy_scale"]),
        "units": {"energy": "eV", "length": "Angstrom", "forces": "eV/Angstrom"},
        "provenance": provenance or {},
    }
    with atomic_path(path, directory=True) as tmp:
        np.savez(tmp / "weights.npz", **weights)
        (tmp / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return Path(path)


def read_model_meta(path) -> dict:
    path = Path(path)
    meta_file = path / "model.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path}: not a gmnn model directory (no model.json)")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{meta_file}: format {meta.get('format')!r} is not {FORMAT!r}")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{meta_file}: format version {meta['format_version']} is newer than this "
            f"gmnn supports ({FORMAT_VERSION}); upgrade gmnn"
        )
    return meta


def load_model(path, dtype: str | None = None):
    """Load a model directory written by :func:`save_model`.

    ``dtype`` overrides the stored precision (e.g. evaluate a float32-trained
    model in float64).
    """
    from gmnn.model import GMNN

    path = Path(path)
    meta = read_model_meta(path)
    cfg = dict(meta["config"])
    if dtype is not None:
        cfg["dtype"] = dtype
    model = GMNN(**cfg)
    with np.load(path / "weights.npz") as data:
        model.set_weights({k: data[k] for k in data.files})
    model.provenance = meta.get("provenance", {})
    return model
