"""Stopping and resuming a recipe run safely: the settings check that resuming needs, SIGTERM as Ctrl-C, and
the one-line exits (usage error, stop, full disk) that say what happened and that the same command resumes.

Used by :func:`keras_audiosr.training.runner.run`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import sys
import threading
from pathlib import Path

from keras_audiosr.training.callbacks import BackupError, TrainState

# Settings that may change between the processes of one run (the rest must match to resume).
_MAY_CHANGE = {"out", "epochs", "max_minutes", "pesq", "perceptual", "cache_dir", "data_processes", "filter"}


def _fail(prog, message):
    """Exits with status 2 and one line naming the problem (the recipe's usage errors)."""
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _recorded_config(recipe, cfg):
    """The config.json of an earlier process training into ``--out`` (None for a fresh folder).

    A run that has started training resumes only with the same settings (bar those in ``_MAY_CHANGE``;
    a recipe flag the recorded run predates counts as the same when it is at its default); a mismatch
    exits 2 naming the first differing flag.
    """
    out = Path(cfg.out).expanduser()
    path = out / "config.json"
    if not (out / "train_state.json").is_file() or not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        _fail(recipe.prog, f"--out {out}: unreadable {path.name} ({err}); use another --out")
    if recorded.get("recipe") != recipe.name:
        _fail(
            recipe.prog,
            f"--out {out} holds a run of {recorded.get('recipe')!r}, not {recipe.name!r}; use another --out",
        )
    if isinstance(recorded.get("data_dir"), str):  # recorded before --data-dir took several folders
        recorded["data_dir"] = [recorded["data_dir"]]
    now = cfg.to_dict()
    if isinstance(recorded.get("extra"), dict):  # a recipe flag added since the run started: its default matches
        defaults = {name: kwargs.get("default") for name, kwargs in recipe.flags.items()}
        now["extra"] = {
            k: v
            for k, v in now["extra"].items()
            if k in recorded["extra"] or k not in defaults or _jsonish(v) != _jsonish(defaults[k])
        }
    for key, value in now.items():
        if key in _MAY_CHANGE or (key == "model_size" and value is None):
            continue
        if key in recorded and _jsonish(recorded[key]) != _jsonish(value):
            _fail(
                recipe.prog,
                f"--out {out} holds a run trained with {key}={recorded[key]!r}, not {value!r}; "
                f"use the same settings to resume it, or another --out",
            )
    return recorded


def _jsonish(value):
    return json.loads(json.dumps(value))


class Terminated(KeyboardInterrupt):
    """SIGTERM during a run, raised in the main thread so that every writer's cleanup runs, as for Ctrl-C."""


@contextlib.contextmanager
def _stop_on_sigterm():
    """SIGTERM raises :class:`Terminated` during the block (main thread only; elsewhere nothing changes)."""

    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _no_space(err):
    return getattr(err, "errno", None) == errno.ENOSPC or "No space left on device" in str(err)


def _error_text(err):
    """``FILE: reason`` for an OSError that carries both, else its message."""
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror}"
    return str(err)


def _stopped(recipe, cfg, what, status):
    """Exits with ``status`` and one line: what stopped the run and that the same command resumes it."""
    out = Path(cfg.out).expanduser()
    try:
        state = TrainState.read(out)
        saved = (
            "training is finished; it goes on with the evaluation"
            if state.trained
            else f"{state.epochs} epoch(s) are saved in {out}"
            if state.epochs
            else "no epoch was finished yet"
        )
    except BackupError:
        saved = f"see {out}"
    print(f"{recipe.prog}: {what}; run the same command again to resume ({saved})", file=sys.stderr, flush=True)
    raise SystemExit(status)
