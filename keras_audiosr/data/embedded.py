"""The packaged real-speech corpus: the recipes' default training data when no ``--data-dir`` is given.

``keras_audiosr/data/embedded/speech16k``: 48 FLAC files at 16 kHz (332 s) of 11 speakers, LJ Speech
(public domain) and VCTK (CC BY 4.0 / ODC-By 1.0), with ``manifest.csv`` and ``ATTRIBUTION.md``;
built by ``tools/make_embedded_corpus.py``. Speaker ``p273`` is its held-out speaker (the
multi-speaker split the recipes use on it), so the quickstart scores a voice it never trained on.
It is a demonstration corpus: enough to train a small model in minutes, far too small for a model
that generalises.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EMBEDDED_CORPUS_NAME", "EMBEDDED_RATE", "EMBEDDED_TEST_SPEAKERS", "embedded_corpus_dir"]

EMBEDDED_CORPUS_NAME = "speech16k"
EMBEDDED_RATE = 16000
EMBEDDED_TEST_SPEAKERS = ("p273",)


def embedded_corpus_dir() -> Path:
    """Folder of the packaged real-speech corpus (one sub-folder per speaker); FileNotFoundError when
    the installation lacks it (a wheel built without its package data)."""
    root = Path(__file__).resolve().parent / "embedded" / EMBEDDED_CORPUS_NAME
    if not (root / "manifest.csv").is_file():
        raise FileNotFoundError(
            f"the packaged speech corpus is missing from this installation ({root}); "
            f"reinstall keras_audiosr or pass --data-dir"
        )
    return root
