"""Names of a package imported on first use (PEP 562), so that light parts of gmnn (its
settings, the data layer) load without TensorFlow."""

from __future__ import annotations

from importlib import import_module


def lazy_names(package: str, modules: dict[str, tuple[str, ...]]):
    """A module ``__getattr__`` that imports a name on first use from the module that
    ``modules`` (module path -> its names) lists it under; ``__getattr__.names`` lists
    them all (for ``__all__``)."""
    names = {name: module for module, listed in modules.items() for name in listed}

    def __getattr__(name):
        if name in names:
            return getattr(import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    __getattr__.names = sorted(names)
    return __getattr__
