"""Command-line plumbing shared by the edge tools: one-line errors (exit status 2) and path checks made
before any work, so a bad argument never leaves a half-done run or a file behind."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

__all__ = [
    "Parser",
    "UsageError",
    "existing_dir",
    "existing_file",
    "non_negative_int",
    "plain",
    "positive_float",
    "positive_int",
    "writable_dir",
    "writable_file",
]


def plain(text: str) -> str:
    """Docstring text for a terminal: ``code`` and :role:`target` markup become the bare words."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


class UsageError(ValueError):
    """A bad argument or path; the tools print it as one line and exit with status 2."""


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
        """Print ``message`` as this tool's one-line error and return exit status 2."""
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        return 2


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{v} must not be negative")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return v


def existing_file(path, what: str, suffixes: tuple[str, ...] = ()) -> Path:
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


def existing_dir(path, what: str) -> Path:
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
