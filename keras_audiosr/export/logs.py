"""Quiet native logging: TensorFlow's converter and the LiteRT runtime write to file descriptor 2 from C++."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import tempfile

__all__ = ["import_tensorflow", "quiet_absl", "quiet_native_stderr"]

# Lines the converter and TensorFlow write straight to file descriptor 2 that say nothing to a user:
# absl INFO/WARNING records, absl's pre-initialisation banner, the quantizer's settings dump
# ("fully_quantize: 0, inference_type: 6, ..."), LiteRT's delegate notice, and the two E-level lines
# every CPU-only TensorFlow prints (no CUDA driver; an unknown NodeDef attribute from a newer graph
# writer). Everything else, errors included, is passed on.
_NOISE = re.compile(
    r"^(?:[IW]\d{4} |WARNING: All log messages before absl::InitializeLog|fully_quantize: |"
    r"INFO: Created TensorFlow Lite .*delegate|E\d{4} .*(?:cuInit|node_def_util\.cc))"
)


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


@contextlib.contextmanager
def quiet_native_stderr():
    """Capture what native code writes to fd 2 inside the block; afterwards re-emit every line but the noise.

    TensorFlow's C++ logging does not go through Python, so it cannot be filtered any other way.
    Errors stay visible: on an exception the captured text is re-emitted in full.
    """
    fd = 2  # native code writes to descriptor 2 whatever sys.stderr is
    try:
        sys.stderr.flush()
        saved = os.dup(fd)
    except (OSError, ValueError):  # no descriptor 2 (a detached process)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), fd)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            keep = (
                text.splitlines() if failed else [ln for ln in text.splitlines() if ln.strip() and not _NOISE.match(ln)]
            )
            if keep:
                sys.stderr.write("\n".join(keep) + "\n")
                sys.stderr.flush()


def import_tensorflow():
    """``import tensorflow`` and its device discovery with their start-up chatter (no CUDA driver, CPU features)
    filtered out; returns the module. ImportError in one line, naming the extra, where TensorFlow or Keras is not
    installed (a plain install is the LiteRT runtime alone)."""
    missing = [name for name in ("tensorflow", "keras") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"this needs {' and '.join(missing)} (not installed): pip install 'keras-audiosr[train]'")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_native_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs its CUDA probe now, inside the filter
    return tf
