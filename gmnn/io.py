"""Self-contained model directories, atomic file writing and named read errors.

A model directory holds ``model.json`` (architecture, species, cutoff, units,
energy scale, provenance) and ``weights.npz`` (every variable by name).  It loads
with :func:`load_model` without any training configuration.

Reading: every reader of gmnn opens and parses its files inside :func:`reading`, which
turns whatever the parser raises (``BadZipFile``, ``OSError`` of h5py, JSON errors,
``EOFError``, a missing key, ...) into one :class:`FileError` whose message starts with
the file's path and says what is wrong; a missing file is a :class:`MissingFile` (also a
``FileNotFoundError``). :func:`describe_error` is the one line the entry points (the
CLI, the pipeline's jobs) print for an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

FORMAT = "gmnn-model"
ENSEMBLE_FILE = "ensemble.json"
"""The file that marks an exported ensemble directory (:mod:`gmnn.export`)."""


class FileError(ValueError):
    """A file that cannot be read, or whose contents are not what they must be.

    The message is ``"<source>: <problem>"``, e.g. ``"models/a/weights.npz: not a valid
    .npz file (truncated or damaged?): File is not a zip file"``.

    Attributes:
        source: the path (or origin) at fault, as a string.
        problem: the message without the ``source`` prefix.
    """

    def __init__(self, source, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")

    @property
    def path(self) -> str:
        return self.source

    def __reduce__(self):
        return (type(self), (self.source, self.problem))


class MissingFile(FileError, FileNotFoundError):
    """A file (or model directory) that does not exist: a :class:`FileError` and a
    ``FileNotFoundError``."""

    def __init__(self, source, problem: str = "no such file") -> None:
        super().__init__(source, problem)


def _problem(err: BaseException, what: str) -> str:
    """What is wrong, in words, for an exception raised while reading a ``what``."""
    detail = str(err)
    if isinstance(err, json.JSONDecodeError):
        return f"not valid JSON ({err})"
    if isinstance(err, zipfile.BadZipFile):
        return f"not a valid {what} (truncated or damaged?): {detail}"
    if isinstance(err, EOFError):
        return f"empty or truncated {what}" + (f" ({detail})" if detail else "")
    if isinstance(err, UnicodeDecodeError):
        return f"not a text file ({err.reason} at byte {err.start})"
    if isinstance(err, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, (OSError, RuntimeError)):  # h5py: OSError, some RuntimeError
        return f"cannot read this {what}: {getattr(err, 'strerror', None) or detail}"
    if isinstance(err, KeyError):
        key = err.args[0] if err.args else ""
        return key if isinstance(key, str) and " " in key else f"missing key {key!r}"
    if isinstance(err, ValueError) and detail:
        return f"invalid {what}: {detail}"
    return f"invalid {what}: {type(err).__name__}" + (f": {detail}" if detail else "")


@contextlib.contextmanager
def reading(path, what: str = "file", error: type[FileError] = FileError) -> Iterator[Path]:
    """The one way gmnn opens and parses an input file: any error raised in the body
    becomes a :class:`FileError` (or the subclass ``error``, e.g.
    :class:`gmnn.data.DataError`) naming ``path`` and what is wrong (a missing file a
    :class:`MissingFile`); ``what`` names the kind of file in the message (``".npz
    file"``, ``"HDF5 file"``). A :class:`FileError` raised in the body (e.g. naming a
    key of ``path``, or another file) passes through unchanged.

    >>> with reading(path, "model metadata") as p:
    ...     meta = json.loads(p.read_text())
    """
    path = Path(path)
    try:
        yield path
    except FileError:
        raise
    except FileNotFoundError as err:
        missing = err.filename is None or Path(err.filename) == path
        raise MissingFile(
            err.filename or path,
            "no such file" if missing else f"no such file (needed to read {path})",
        ) from err
    except (MemoryError, RecursionError):
        raise
    except Exception as err:  # noqa: BLE001 - every parser's errors: the file is bad
        raise error(path, _problem(err, what)) from err


def describe_error(exc: BaseException) -> str:
    """One line (or a few, for a list of differences) describing ``exc`` for a user:
    the file at fault first, when the error knows it."""
    if isinstance(exc, FileError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0]) if isinstance(exc.args[0], str) else f"missing key {exc}"
    text = str(exc)
    return text if text else type(exc).__name__


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


def check_model_dir(path) -> Path:
    """``path`` if it may be a single model directory; an exported ensemble
    (:mod:`gmnn.export`) is a :class:`FileError` saying how to use it instead (one member,
    or every member)."""
    path = Path(path)
    if (path / ENSEMBLE_FILE).is_file() and not (path / "model.json").is_file():
        raise FileError(
            path,
            f"an exported ensemble ({ENSEMBLE_FILE}), not one model directory: give one "
            f"member ({path / 'member0'}) or load all with gmnn.export.load_ensemble",
        )
    return path


def read_format_json(
    meta_file, what: str, fmt: str, max_version: int, default_version: int | None = None
) -> dict:
    """The JSON object in ``meta_file`` (a ``what``, named in errors), checked to be of
    the format ``fmt`` in a version up to ``max_version`` (a missing ``format_version``
    counts as ``default_version``); anything else is a :class:`FileError` naming the
    file and the key."""
    with reading(meta_file, what):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise FileError(meta_file, f"expected a JSON object, got {type(meta).__name__}")
    if meta.get("format") != fmt:
        raise FileError(meta_file, f"format {meta.get('format')!r} is not {fmt!r}")
    version = meta.get("format_version", default_version)
    if not isinstance(version, int) or isinstance(version, bool):
        raise FileError(meta_file, f"format_version {version!r} is not an integer")
    if version > max_version:
        raise FileError(
            meta_file,
            f"format version {version} is newer than this gmnn supports "
            f"({max_version}); upgrade gmnn",
        )
    return meta


def read_model_meta(path) -> dict:
    """The metadata (``model.json``) of the model directory ``path``, checked.

    Raises:
        MissingFile: ``path`` or its ``model.json`` does not exist.
        FileError: ``model.json`` is not JSON, not a gmnn model, a newer format, or lacks
            ``config`` (the message names the file and the key); ``path`` is an exported
            ensemble (:func:`check_model_dir`).
    """
    path = Path(path)
    meta_file = path / "model.json"
    if not path.exists():
        raise MissingFile(path, "no such model directory")
    if not meta_file.is_file():
        check_model_dir(path)  # says how to use an exported ensemble
        raise MissingFile(path, "not a gmnn model directory (no model.json)")
    meta = read_format_json(meta_file, "model metadata file", FORMAT, FORMAT_VERSION, 0)
    if not isinstance(meta.get("config"), dict):
        raise FileError(
            meta_file,
            f"key 'config' must be a mapping of the model settings, got {meta.get('config')!r}"[
                :200
            ],
        )
    if not isinstance(meta.get("provenance", {}), dict):
        raise FileError(meta_file, "key 'provenance' must be a mapping")
    return meta


def read_npz(path, what: str = ".npz file", error: type[FileError] = FileError) -> dict:
    """Every array of the ``.npz`` file ``path`` by name, read completely (so that a
    damaged member is found here, not later). A missing file is a :class:`MissingFile`;
    a damaged one, or a member that is not an array, an ``error`` (:class:`FileError`)
    naming the file (and the member)."""
    path = Path(path)
    with reading(path, what, error):
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise error(path, f"a single .npy array, not an {what}")
        arrays = {}
        with data:
            for name in data.files:
                with reading(path, f"{what} (member {name!r})", error):
                    value = data[name]
                if not isinstance(value, np.ndarray):
                    raise error(path, f"member {name!r} is not a numpy array")
                arrays[name] = value
    return arrays


def load_model(path, dtype: str | None = None):
    """Load a model directory written by :func:`save_model`.

    ``dtype`` overrides the stored precision (e.g. evaluate a float32-trained
    model in float64). A missing or damaged ``model.json`` or ``weights.npz``, a bad
    setting in ``model.json`` or weights that do not fit it are a :class:`FileError`
    naming the file and what is wrong.
    """
    from gmnn.model import GMNN

    path = Path(path)
    meta = read_model_meta(path)
    cfg = dict(meta["config"])
    if dtype is not None:
        cfg["dtype"] = dtype
    try:
        model = GMNN(**cfg)
    except (TypeError, ValueError, KeyError) as err:
        raise FileError(path / "model.json", f"config: {err}") from err
    weights_file = path / "weights.npz"
    if not weights_file.is_file():
        raise MissingFile(weights_file)
    weights = read_npz(weights_file, "weights file (.npz)")
    missing = sorted(set(model.named_variables()) - set(weights))
    if missing:
        raise FileError(weights_file, f"lacks the weights {missing} of the model in model.json")
    with reading(weights_file, "weights file"):
        model.set_weights(weights)
    model.provenance = meta.get("provenance", {})
    return model


class TrajectoryFrames:
    """The frames of an ASE trajectory (``.traj``) for reading, as
    ``ase.io.Trajectory(path, "r")`` (``len``, indexing, iteration, ``with``), but every
    error of a missing, truncated or damaged file is a :class:`FileError` naming the file
    and the frame: the one way gmnn reads a trajectory another job wrote (the spectrum
    job, the next Ala10 stage, the analyses)."""

    what = "ASE trajectory (.traj)"

    def __init__(self, path) -> None:
        from ase.io import Trajectory

        self.path = Path(path)
        if self.path.is_dir():
            raise FileError(self.path, "is a directory, not a trajectory file")
        with self._reading(self.what):
            self._traj = Trajectory(str(self.path), "r")

    @contextlib.contextmanager
    def _reading(self, what: str):
        try:
            with reading(self.path, what):
                yield
        except MissingFile:
            raise
        except FileError as err:
            raise FileError(
                self.path,
                f"{err.problem}: a truncated or damaged trajectory (delete it to have the "
                "job that writes it run again)",
            ) from err

    def __len__(self) -> int:
        with self._reading(self.what):
            return len(self._traj)

    def __getitem__(self, i):
        with self._reading(f"{self.what}, frame {i}"):
            return self._traj[i]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def close(self) -> None:
        self._traj.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
