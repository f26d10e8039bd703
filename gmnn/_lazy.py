"""Names of a package imported on first use (PEP 562), so that light parts of gmnn (its
settings, the data layer) load without TensorFlow."""

from __future__ import annotations

import os
import sys
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


class _SkipKerasAtTensorFlowImport:
    """Meta-path finder that refuses the Keras import TensorFlow makes while it is itself
    being imported.

    ``import tensorflow`` (2.16+) eagerly imports ``keras.src.optimizers`` "so that
    optimizers register with the SavedModel registry" and tolerates an ImportError there.
    gmnn uses neither Keras nor SavedModel; that import is about 40 % of TensorFlow's
    start-up (1.5-2 s of 4 s on a 2-core machine), paid by every pipeline job.  Only
    imports of ``keras`` made from inside ``tensorflow/__init__.py`` while it runs are
    refused (not TensorFlow's ``find_spec`` probes for the package's location), so
    ``tf.keras`` and ``import keras`` later work as usual.  Set ``GMNN_TF_KERAS=1`` to
    switch this off.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras" and not name.startswith("keras."):
            return None
        frame, inside_tf_init = sys._getframe(1), False
        while frame is not None:
            if frame.f_code.co_filename.endswith("module_util.py"):
                return None  # a location probe, not an import
            if (
                frame.f_globals.get("__name__") == "tensorflow"
                and frame.f_code.co_name == "<module>"
            ):
                inside_tf_init = True
                break
            frame = frame.f_back
        if inside_tf_init:
            raise ImportError("gmnn: Keras is not imported with TensorFlow (GMNN_TF_KERAS=1)")
        return None


def skip_keras_at_tensorflow_import() -> None:
    """Install :class:`_SkipKerasAtTensorFlowImport` unless TensorFlow is already loaded
    or ``GMNN_TF_KERAS=1``."""
    if "tensorflow" in sys.modules or os.environ.get("GMNN_TF_KERAS") == "1":
        return
    if not any(isinstance(f, _SkipKerasAtTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipKerasAtTensorFlowImport())
