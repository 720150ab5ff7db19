"""The edge tools' file writers: every file they produce goes through :func:`write_bytes`.

Each write goes to a temporary sibling and is renamed over the target, so a reader never sees a
half-written file; the file gets the permissions the umask gives a new file (the package's one
atomic writer, :mod:`keras_audiosr.utils`, does the writing).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["json_bytes", "json_safe", "npy_bytes", "write_bytes", "write_json", "write_npy", "write_text"]


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically with the package's one writer
    (:func:`keras_audiosr.utils.write_bytes_atomic`)."""
    from keras_audiosr.utils import write_bytes_atomic

    return write_bytes_atomic(path, data)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def json_safe(v):
    """``v`` with NaN and infinities as None, numpy scalars as numbers, paths as strings."""
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def json_bytes(document) -> bytes:
    """``document`` as indented JSON (NaN and infinities become null), UTF-8, ending in a newline."""
    return (json.dumps(json_safe(document), indent=1, sort_keys=True, allow_nan=False, default=str) + "\n").encode()


def write_json(path, document) -> Path:
    """``document`` as indented JSON (NaN and infinities become null)."""
    return write_bytes(path, json_bytes(document))


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in NumPy's ``.npy`` format."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def write_npy(path, array: np.ndarray) -> Path:
    """``array`` in NumPy's ``.npy`` format."""
    return write_bytes(path, npy_bytes(array))
