"""The argument vocabulary every command line of the package shares: argparse types with one-line reasons.

Each type takes the flag's text and returns the value or raises ``argparse.ArgumentTypeError`` with
the reason, which argparse reports as ``argument --flag: <reason>`` (exit status 2) before any work.
The ``keras-audiosr`` subcommands, the recipes (:mod:`keras_audiosr.recipes.config`) and the export
tools use these, so one value is spelled, checked and reported the same way everywhere. Light: no
Keras, no TensorFlow.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from keras_audiosr import pretrained
from keras_audiosr.degrade import DEGRADATION_SETS, canonical_spec, get_degradation_set

__all__ = ["corpus_weights", "degradation_name", "existing_dir", "existing_dirs", "existing_file", "filter_spec",
           "init_source", "name_list", "non_negative_float", "non_negative_int", "positive_float", "positive_int"]


def _number(text, kind, what: str):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text) -> int:
    """An integer >= 1."""
    value = _number(text, int, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text) -> int:
    """An integer >= 0."""
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text) -> float:
    """A finite number > 0."""
    value = _number(text, float, "a positive number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_float(text) -> float:
    """A finite number >= 0."""
    value = _number(text, float, "a number >= 0")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def existing_dir(text) -> str:
    """A folder that exists (``~`` expanded)."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: not a folder")
    return str(path)


def existing_dirs(text) -> list[str]:
    """One folder or several, comma-separated (``--data-dir A,B``; the flag may also be repeated)."""
    parts = [x.strip() for x in text.split(",") if x.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected a folder, got {text!r}")
    return [existing_dir(x) for x in parts]


def existing_file(text) -> str:
    """A file that exists (``~`` expanded)."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: not a file")
    return str(path)


def name_list(text) -> list[str]:
    """Comma-separated names, at least one."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def corpus_weights(text) -> dict[str, float]:
    """``name=weight,...`` -> ``{name: weight}`` (weights >= 0)."""
    out = {}
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise argparse.ArgumentTypeError(f"expected name=weight pairs, comma-separated, got {item!r}")
        out[name.strip()] = non_negative_float(value.strip())
    if not out:
        raise argparse.ArgumentTypeError(f"expected name=weight pairs, comma-separated, got {text!r}")
    return out


def degradation_name(text) -> str:
    """A degradation set name or a single degradation spec, canonical; unknown names list the known ones."""
    try:
        get_degradation_set(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    key = text.strip().lower()
    return key if key in DEGRADATION_SETS else canonical_spec(key)


def filter_spec(text) -> str:
    """One degradation spec (``cheby1:8``, ``resample``, ``telephone:mulaw``), canonical."""
    try:
        return canonical_spec(text.strip().lower())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def init_source(text) -> str:
    """A ``.keras`` file, or the name of a model shipped with the package (kept as the name)."""
    try:
        path, shipped = pretrained.resolve(text)
    except pretrained.PretrainedError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text if shipped else str(path)
