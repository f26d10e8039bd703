"""sha256 fingerprints of files and of named arrays (no other gmnn module is imported).

:func:`file_sha256` identifies a data file in a split, a model's weights in an exported
ensemble or the start structure of an MD run; :func:`arrays_fingerprint` identifies what
a run depends on inside its checkpoint (:mod:`gmnn.runs`), e.g. a data set
(:meth:`gmnn.data.Structures.fingerprint`) or a model's initial weights.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

import numpy as np

__all__ = ["arrays_fingerprint", "file_sha256"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 digest of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def arrays_fingerprint(arrays: dict | Iterable) -> str:
    """sha256 of named arrays (names, dtypes, shapes and bytes), order-independent."""
    items = sorted(arrays.items()) if isinstance(arrays, dict) else list(enumerate(arrays))
    h = hashlib.sha256()
    for name, value in items:
        if value is None:
            h.update(f"{name}:None;".encode())
            continue
        a = np.ascontiguousarray(np.asarray(value))
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()
