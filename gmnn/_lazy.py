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


XLA_CACHE_FLAG = "--tf_xla_persistent_cache_directory"


def _machine_key() -> str:
    """A short hash of what compiled code depends on: the TensorFlow version, the
    architecture and the CPU's model and instruction-set flags (so that a cache in a
    shared home directory never hands code compiled for one CPU to another)."""
    import hashlib
    import platform
    from importlib.util import find_spec

    # the installed TensorFlow (tensorflow, tensorflow-cpu, ...) from its dist-info and
    # its library's size and time, without importlib.metadata (~20 ms at import gmnn)
    tf_version, build = "", []
    try:
        spec = find_spec("tensorflow")
        package = os.path.dirname(spec.origin) if spec and spec.origin else None
    except (ImportError, ValueError):
        package = None
    if package:
        site = os.path.dirname(package)
        for name in sorted(os.listdir(site)):
            if name.startswith("tensorflow") and name.endswith(".dist-info"):
                build.append(name)
                tf_version = tf_version or name[: -len(".dist-info")].rpartition("-")[2]
        for name in ("libtensorflow_framework.so.2", "libtensorflow_framework.2.dylib"):
            try:
                st = os.stat(os.path.join(package, name))
                build.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "flags", "Features")):
                    cpu += line
                if line.startswith("flags"):
                    break
    except OSError:
        cpu = platform.processor()
    text = f"{build}|{platform.machine()}|{cpu}"
    return f"tf{tf_version or 'unknown'}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def xla_cache_directory() -> str | None:
    """The persistent XLA compilation cache's directory: ``$GMNN_XLA_CACHE`` if set (off
    with ``0``, ``off``, ``no`` or ``false``), else ``$XDG_CACHE_HOME/gmnn/xla/<key>``
    (``~/.cache/...``) with a key for the TensorFlow version and the CPU."""
    setting = os.environ.get("GMNN_XLA_CACHE", "").strip()
    if setting.lower() in ("0", "off", "no", "false"):
        return None
    if setting:
        return setting
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gmnn", "xla", _machine_key())


def use_persistent_xla_cache() -> str | None:
    """Let TensorFlow keep XLA-compiled programs on disk (``TF_XLA_FLAGS``
    ``--tf_xla_persistent_cache_directory``), so that a job compiles a shape only if no
    earlier job on this machine did: the compiled predictors of the ASE calculators
    (MD) take ~0.3 s instead of 1-2 s to their first step.  The programs do not depend on
    the weights (parameters are arguments of the compiled function), and TensorFlow
    checks each entry against the program it stands for, so a changed model or code
    compiles anew.

    Only before TensorFlow is imported (it reads the flag once), only if the directory
    can be created and written (TensorFlow fails the call otherwise), and not if
    ``TF_XLA_FLAGS`` already names a cache. Returns the directory in use, or None."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if "tensorflow" in sys.modules or XLA_CACHE_FLAG in flags:
        return None
    directory = xla_cache_directory()
    if directory is None:
        return None
    try:
        import tempfile

        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return None
    os.environ["TF_XLA_FLAGS"] = f"{flags} {XLA_CACHE_FLAG}={directory}".strip()
    _XLA_CACHE["directory"] = directory
    return directory


_XLA_CACHE: dict = {"directory": None, "reset": False}


def reset_xla_cache(error) -> bool:
    """Remove the persistent XLA cache this process uses after a compiled call failed
    with ``error`` (a truncated or damaged entry makes TensorFlow fail the call instead of
    compiling anew), so that later jobs compile anew; warns, naming the directory. Once
    per process; False if no cache is in use (or it was reset already)."""
    directory = _XLA_CACHE["directory"]
    if directory is None or _XLA_CACHE["reset"]:
        return False
    _XLA_CACHE["reset"] = True
    import shutil
    import warnings

    aside = f"{directory}.unreadable-{os.getpid()}"
    try:
        os.rename(directory, aside)  # atomic: other jobs see an empty cache, not half of one
    except OSError:
        aside = directory
    shutil.rmtree(aside, ignore_errors=True)
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    warnings.warn(
        f"gmnn: a compiled call failed with the persistent XLA cache {directory} ({first}); "
        "the cache was removed (later jobs compile anew) and this evaluation runs as a "
        "TensorFlow graph (GMNN_XLA_CACHE=off switches the cache off)",
        RuntimeWarning,
        stacklevel=3,
    )
    return True
