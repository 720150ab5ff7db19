"""Quiet logging for the edge tools: the converter's absl warnings, TensorFlow's import chatter.

What TensorFlow's converter and the LiteRT runtime write to file descriptor 2 from C++ is filtered by the
package's one filter, :func:`keras_audiosr.utils.filtered_stderr`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os

from keras_audiosr.utils import filtered_stderr

__all__ = ["import_tensorflow", "quiet_absl"]


@contextlib.contextmanager
def quiet_absl():
    """The converter's Python-side absl warnings (e.g. on the input type of int16x8 models) hidden; errors kept."""
    import logging

    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def import_tensorflow():
    """``import tensorflow`` and its device discovery with their start-up chatter (no CUDA driver, CPU features)
    filtered out; returns the module. ImportError in one line, naming the extra, where TensorFlow or Keras is not
    installed (a plain install is the LiteRT runtime alone)."""
    missing = [name for name in ("tensorflow", "keras") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"this needs {' and '.join(missing)} (not installed): pip install 'keras-audiosr[train]'")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs its CUDA probe now, inside the filter
    return tf
