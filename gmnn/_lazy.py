"""Names of a package imported on first use (PEP 562), so that light parts of gmnn (its
settings, the data layer) load without TensorFlow."""

from __future__ import annotations

from importlib import import_module


def lazy_names(package: str, names: dict[str, str]):
    """A module ``__getattr__`` that imports ``names[name]`` (a module path) on first use."""

    def __getattr__(name):
        if name in names:
            return getattr(import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
