"""What every resumable run (training, MD) shares: its identity, and stopping on a signal.

* **Identity.** A run's identity is a JSON mapping of everything that determines its
  result: every setting, a fingerprint of the data it reads and of the model weights it
  starts from. It is stored inside the run's checkpoint; :func:`claim_checkpoint` lets a
  run resume only from a checkpoint with the same identity. Otherwise it either raises
  :class:`CheckpointMismatch`, which lists what differs (the library's and the command
  line's default), or, with ``on_mismatch="restart"``, deletes the checkpoint and the
  files that go with it so that the run starts over (the pipeline's choice: Snakemake
  reran the job because something changed). A checkpoint that cannot be read (truncated
  by a full disk, damaged, not a checkpoint) is a :class:`CheckpointDamaged` naming the
  file and what to delete, or, with ``on_mismatch="restart"``, deleted likewise.
* **Signals.** :class:`StopSignals` turns SIGTERM/SIGINT (a SLURM time limit, Ctrl-C)
  into a flag that the run checks between steps, so that it can checkpoint and stop.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gmnn.io import FileError, read_npz
from gmnn.settings import differences

__all__ = [
    "CheckpointDamaged",
    "CheckpointMismatch",
    "StopSignals",
    "claim_checkpoint",
    "normalise",
    "read_checkpoint",
    "read_identity",
]

IDENTITY_KEY = "identity"  # the member of a checkpoint .npz holding the identity (JSON)
RESTART_HINT = "(or rerun with --restart; in Python on_mismatch='restart')"


class CheckpointMismatch(ValueError):
    """A checkpoint belongs to another run; ``differences`` says how it differs."""

    def __init__(self, path, diffs: list[str]):
        self.path, self.differences = Path(path), diffs
        shown = "\n  ".join(diffs[:12]) + ("\n  ..." if len(diffs) > 12 else "")
        super().__init__(
            f"{path}: checkpoint of a different run; it differs in\n  {shown}\n"
            f"Delete {path} {RESTART_HINT} to start over."
        )


class CheckpointDamaged(FileError):
    """A checkpoint that cannot be read (truncated, damaged, lacking what it must hold);
    the message names the file, what is wrong and what to delete. ``damage`` is what is
    wrong alone."""

    def __init__(self, path, damage: str):
        self.damage = damage
        super().__init__(
            path,
            f"damaged checkpoint, cannot resume from it: {damage}. "
            f"Delete {path} {RESTART_HINT} to start over.",
        )

    def __reduce__(self):
        return (type(self), (self.source, self.damage))


def normalise(identity: dict) -> dict:
    """JSON round trip: tuples become lists, numpy scalars plain numbers."""
    return json.loads(json.dumps(identity, default=_json_default, sort_keys=True))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def read_checkpoint(path) -> dict[str, np.ndarray]:
    """Every array of the checkpoint ``.npz`` at ``path``, read completely; a file that
    cannot be read is a :class:`CheckpointDamaged` naming it (a missing one a
    :class:`gmnn.io.MissingFile`)."""
    return read_npz(path, "checkpoint file (.npz)", error=CheckpointDamaged)


def read_identity(path, arrays: dict | None = None) -> dict | None:
    """The identity stored in a checkpoint ``.npz`` (None if it has none); ``arrays``:
    the checkpoint already read (:func:`read_checkpoint`). A damaged file or identity is
    a :class:`CheckpointDamaged`."""
    arrays = read_checkpoint(path) if arrays is None else arrays
    if IDENTITY_KEY not in arrays:
        return None
    try:
        identity = json.loads(str(arrays[IDENTITY_KEY]))
    except ValueError as err:
        raise CheckpointDamaged(path, f"its {IDENTITY_KEY!r} is not valid JSON ({err})") from err
    if not isinstance(identity, dict):
        raise CheckpointDamaged(path, f"its {IDENTITY_KEY!r} is not a JSON object")
    return identity


def identity_array(identity: dict) -> np.ndarray:
    """The identity as the array to store under :data:`IDENTITY_KEY` in a checkpoint."""
    return np.array(json.dumps(normalise(identity), sort_keys=True))


def claim_checkpoint(
    path, identity: dict, on_mismatch: str = "error", companions: Iterable = ()
) -> bool:
    """True if ``path`` exists and was written by the run ``identity`` (resume from it).

    A checkpoint of another run raises :class:`CheckpointMismatch` naming what differs
    (``on_mismatch="error"``), or is deleted together with ``companions`` (files that
    only make sense with it, e.g. a partial trajectory or a metrics log) when
    ``on_mismatch="restart"``; then False is returned and the run starts over. A
    checkpoint that cannot be read completely raises :class:`CheckpointDamaged`, or is
    deleted likewise with ``on_mismatch="restart"``.
    """
    if on_mismatch not in ("error", "restart"):
        raise ValueError(f"on_mismatch must be 'error' or 'restart', got {on_mismatch!r}")
    path = Path(path)
    if not path.exists():
        return False
    try:
        stored = read_identity(path)
    except CheckpointDamaged:
        if on_mismatch == "error":
            raise
        discard_checkpoint(path, companions)
        return False
    wanted = normalise(identity)
    if stored == wanted:
        return True
    diffs = (
        differences(stored, wanted)
        if stored is not None
        else ["identity: none stored (a checkpoint of an older gmnn)"]
    )
    if on_mismatch == "error":
        raise CheckpointMismatch(path, diffs)
    discard_checkpoint(path, companions)
    return False


def discard_checkpoint(path, companions: Iterable = ()) -> None:
    """Delete the checkpoint ``path`` and the files that only make sense with it."""
    for p in (Path(path), *map(Path, companions)):
        p.unlink(missing_ok=True)


class StopSignals:
    """Context manager: SIGTERM/SIGINT set :attr:`received` instead of killing the process.

    Handlers are installed only in the main thread (elsewhere signals cannot be caught)
    and the previous ones are restored on exit.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.received: int | None = None
        self._old = {}

    def __enter__(self):
        if self.enabled:
            for sig in self.SIGNALS:
                try:
                    self._old[sig] = signal.signal(sig, self._handle)
                except ValueError:  # not the main thread
                    pass
        return self

    def _handle(self, signum, frame):
        self.received = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
        return False
