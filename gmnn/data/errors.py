"""The exception raised for invalid or unreadable data."""

from __future__ import annotations

import os
from pathlib import Path

from gmnn.io import FileError, MissingFile


class DataError(FileError):
    """Invalid, inconsistent or unreadable data (a :class:`gmnn.io.FileError`, so a
    ``ValueError``).

    The message always starts with the file (or in-memory origin) at fault, followed by
    the key, index or value that is wrong, e.g.
    ``"data/ethanol.npz: key 'F' has shape (700, 9); expected (700, 9, 3)"``.

    Attributes:
        source: the file path or origin description the error refers to.
        problem: the message without the ``source`` prefix.
    """

    def __init__(self, source: str | os.PathLike[str] | None, problem: str) -> None:
        super().__init__(source if source is not None else "<in-memory structures>", problem)

    def __reduce__(self) -> tuple[type[DataError], tuple[str, str]]:
        return (type(self), (self.source, self.problem))


def check_data_file(path: Path) -> None:
    """Raise :class:`~gmnn.io.MissingFile` or :class:`DataError` unless ``path`` is an
    existing, non-empty file (the first check of every reader)."""
    if not path.exists():
        raise MissingFile(path)
    if path.is_dir():
        raise DataError(path, "is a directory, not a data file")
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes)")
