"""Ways to damage a file, shared by the tests of bad inputs (each returns a function of
the file's path that damages it in place)."""

from __future__ import annotations

import json
import zipfile


def cut(fraction: float = 0.5):
    """Keep only the first ``fraction`` of the bytes (a truncated download or write)."""

    def damage(path):
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return damage


def zip_of(members: dict):
    """Replace the file by a zip archive of ``members`` (name -> bytes or text)."""

    def damage(path):
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)

    return damage


def json_edit(change):
    """Load the JSON document, apply ``change(document)`` in place, write it back."""

    def damage(path):
        document = json.loads(path.read_text())
        change(document)
        path.write_text(json.dumps(document))

    return damage
