"""TensorFlow's start-up under gmnn: the eager Keras import is skipped, Keras still works."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import sys
import gmnn
import tensorflow as tf
print("keras loaded with tensorflow:", "keras" in sys.modules)
import keras
print("keras later:", keras.layers.Dense.__name__, tf.keras.layers.Dense.__name__)
"""


def _run(env_extra: dict) -> str:
    env = {**os.environ, **env_extra}
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True
    )
    return out.stdout


def test_keras_is_not_imported_with_tensorflow_but_works_later():
    out = _run({})
    assert "keras loaded with tensorflow: False" in out
    assert "keras later: Dense Dense" in out


def test_switched_off_by_environment():
    assert "keras loaded with tensorflow: True" in _run({"GMNN_TF_KERAS": "1"})
