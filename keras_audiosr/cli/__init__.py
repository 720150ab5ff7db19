"""The ``keras-audiosr`` command line: one module per subcommand, registered in :data:`COMMANDS`.

Run ``keras-audiosr <command> --help`` for each command's options. Errors in the input (a missing
or unreadable file, a bad model, a wrong rate, an output that exists or cannot be written) print
``keras-audiosr: error: <file>: <problem>`` and exit with status 2, after checks that run before
any work; nothing is left half-written, also on Ctrl-C (status 130) or SIGTERM (status 143).
Python warnings print as one line, ``keras-audiosr: warning: <message>``.

A subcommand is a module here with ``add_parser(subparsers)`` (adds its parser and sets
``func=run``) and ``run(args) -> int`` (the exit status); add it to :data:`COMMANDS` to make it a
command. Subcommand modules import only the light core at their top (no Keras, no TensorFlow):
the commands that run a Keras model import it inside ``run``, after their argument checks.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings

from keras_audiosr import __version__, utils
from keras_audiosr.audio import AudioError
from keras_audiosr.cli import degrade, evaluate, export, info, models, resample, train, upsample
from keras_audiosr.cli.common import PROG, Formatter, expand_audio_paths

__all__ = ["COMMANDS", "build_parser", "expand_audio_paths", "main"]

#: The subcommands, in the order ``--help`` lists them.
COMMANDS = (upsample, models, resample, degrade, evaluate, info, train, export)


def build_parser() -> argparse.ArgumentParser:
    """The ``keras-audiosr`` parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=Formatter,
        description="Neural audio super-resolution (bandwidth extension) with Keras models saved by keras_audiosr.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of each command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}", help="print the version and exit"
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show TensorFlow's start-up log lines (hidden by default)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


Terminated = utils.Terminated  # SIGTERM, raised in the main thread so that every writer's cleanup runs, as for Ctrl-C


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr if file is None else file)


@contextlib.contextmanager
def _command_context():
    """For the duration of a command: one-line warnings, and SIGTERM raising :class:`Terminated`."""

    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
        raise Terminated()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_sigterm) if main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            yield
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _error_text(e: BaseException) -> str:
    """``FILE: reason`` for an ``OSError`` that carries both, else the exception's own message."""
    if isinstance(e, OSError) and e.filename and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e)


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors: argparse has printed what it needs to
        return int(e.code) if isinstance(e.code, int) else (0 if e.code is None else 2)
    # TensorFlow's and LiteRT's start-up lines (no CUDA driver, oneDNN, XNNPACK) hidden whenever they come
    with utils.filtered_stderr(bool(getattr(args, "verbose", False))), _command_context():
        try:
            status = int(args.func(args) or 0)
            sys.stdout.flush()
            return status
        except BrokenPipeError:  # the reader went away (`keras-audiosr models | head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except (AudioError, ValueError, ImportError, OSError) as e:
            print(f"{PROG}: error: {_error_text(e)}", file=sys.stderr)
            return 2
        except Terminated:
            print(f"{PROG}: terminated", file=sys.stderr)
            return 143
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
