"""The edge tools' file writers: every file they produce goes through :func:`write_bytes` (JSON reports through
:func:`keras_audiosr.utils.write_json`, with :func:`json_bytes`'s layout).

Each write goes to a temporary sibling and is renamed over the target, so a reader never sees a
half-written file; the file gets the permissions the umask gives a new file (the package's one
atomic writer, :mod:`keras_audiosr.utils`, does the writing).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

__all__ = ["json_bytes", "npy_bytes", "write_bytes", "write_npy", "write_text"]


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically with the package's one writer
    (:func:`keras_audiosr.utils.write_bytes_atomic`)."""
    from keras_audiosr.utils import write_bytes_atomic

    return write_bytes_atomic(path, data)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def json_bytes(document) -> bytes:
    """``document`` as JSON indented by one, keys sorted (the export's sidecars), UTF-8, ending in a newline;
    the package's one encoding (:func:`keras_audiosr.utils.json_text`: strict JSON, non-finite numbers null)."""
    from keras_audiosr.utils import json_text

    return json_text(document, indent=1, sort_keys=True).encode()


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in NumPy's ``.npy`` format."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def write_npy(path, array: np.ndarray) -> Path:
    """``array`` in NumPy's ``.npy`` format."""
    return write_bytes(path, npy_bytes(array))
