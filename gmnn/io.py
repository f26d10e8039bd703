"""Self-contained model directories and atomic file writing.

A model directory holds ``model.json`` (architecture, species, cutoff, units,
energy scale, provenance) and ``weights.npz`` (every variable by name).  It loads
with :func:`load_model` without any training configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        _publish(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_save_npz(path, arrays: dict) -> None:
    """``np.savez`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        _publish(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model, path, provenance: dict | None = None) -> Path:
    """Write ``model`` to the directory ``path`` (replaced atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
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
        np.savez(tmp / "weights.npz", **weights)
        (tmp / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        _publish(tmp, directory=True)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


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
