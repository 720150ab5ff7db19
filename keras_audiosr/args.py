"""The argument vocabulary every command line of the package shares: argparse types with one-line reasons.

Each type takes the flag's text and returns the value or raises ``argparse.ArgumentTypeError`` with
the reason, which argparse reports as ``argument --flag: <reason>`` (exit status 2) before any work.
The path checks (:func:`require_file`, :func:`require_dir`, :func:`writable_dir`, :func:`writable_file`)
run after parsing and raise :class:`UsageError` naming the flag; :class:`Parser` prints either as one
line, ``prog: error: ...``, exit status 2.
The ``keras-audiosr`` subcommands, the recipes (:mod:`keras_audiosr.recipes.config`) and the export
tools use these, so one value is spelled, checked and reported the same way everywhere. Light: no
Keras, no TensorFlow.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path

from keras_audiosr import pretrained
from keras_audiosr.degrade import DEGRADATION_SETS, canonical_spec, get_degradation_set

__all__ = [
    "Parser",
    "UsageError",
    "corpus_weights",
    "degradation_name",
    "existing_dir",
    "existing_dirs",
    "existing_file",
    "filter_spec",
    "init_source",
    "invoked_as",
    "name_list",
    "non_negative_float",
    "non_negative_int",
    "plain",
    "positive_float",
    "positive_int",
    "require_dir",
    "require_file",
    "writable_dir",
    "writable_file",
]


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


# ----------------------------------------------------------------------------- parser and path checks


def plain(text: str) -> str:
    """Docstring text for a terminal: ``code`` and :role:`target` markup become the bare words."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


class UsageError(ValueError):
    """A bad argument or path; the command lines print it as one line and exit with status 2."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr (``prog: error: ...``), exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        if kwargs.get("description"):
            kwargs["description"] = plain(kwargs["description"])
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def fail(self, message) -> int:
        """Print ``message`` as this command's one-line error and return exit status 2."""
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        return 2


def invoked_as(modules: tuple[str, ...], default: str) -> str:
    """A command's name in its ``usage:`` and error lines, as the user ran it: ``python -m M`` where ``python -m``
    ran ``M``, one of the command's entry ``modules`` (e.g. the ``edge/`` shim or the package's own module);
    else (a call from Python, or another entry point) ``default``."""
    name = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None)
    return f"python -m {name}" if name in modules else default


def require_file(path, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` if it is a readable file (with one of ``suffixes``, when given); else :class:`UsageError`."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"{what} {p}: no such file")
    if p.is_dir():
        raise UsageError(f"{what} {p}: is a folder, not a file")
    if suffixes and p.suffix.lower() not in suffixes:
        raise UsageError(f"{what} {p}: expected a {' or '.join(suffixes)} file")
    if not os.access(p, os.R_OK):
        raise UsageError(f"{what} {p}: not readable (permission denied)")
    return p


def require_dir(path, what: str) -> Path:
    """``path`` if it is an existing folder; else :class:`UsageError`."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"{what} {p}: no such folder")
    if not p.is_dir():
        raise UsageError(f"{what} {p}: not a folder")
    return p


def _nearest_existing(p: Path) -> Path:
    p = p.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def writable_dir(path, what: str) -> Path:
    """``path`` if it is a folder that exists and is writable, or can be created; else :class:`UsageError`."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise UsageError(f"{what} {p}: exists and is not a folder")
    base = _nearest_existing(p)
    if not base.is_dir():
        raise UsageError(f"{what} {p}: cannot be created ({base} is not a folder)")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {p}: {base} is not writable (permission denied)")
    return p


def writable_file(path, what: str) -> Path:
    """``path`` if a file can be written there (its folder exists or can be created); else :class:`UsageError`."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise UsageError(f"{what} {p}: is a folder, not a file")
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{what} {p}: not writable (permission denied)")
    writable_dir(p.parent, f"{what} {p}: folder")
    return p
