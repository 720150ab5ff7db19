"""Runs a module as ``python -m`` would, SIGKILLing itself at a chosen point (for the resume tests).

Usage: ``python tests/kill_at.py POINT -m MODULE [ARGS...]`` with POINT one of

- ``backup:N``: inside the N-th write of a training backup (a ``save_weights`` call on a path in a
  ``backup`` folder): the file is written, cut to half its size, and the process killed, as a
  kill in the middle of writing leaves it;
- ``evaluation``: when the final evaluation starts;
- ``nospace:N``: the N-th write of ``checkpoints/last.weights.h5`` fails as on a full disk (ENOSPC,
  half a file written first); the process is not killed.

Nothing in the package knows about this: it patches Keras and keras_audiosr from outside.
"""

import os
import runpy
import signal
import sys
from pathlib import Path


def _die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_in_backup(n):
    import keras

    original = keras.Model.save_weights
    calls = []

    def save_weights(self, filepath, *args, **kwargs):
        original(self, filepath, *args, **kwargs)
        if "backup" in Path(filepath).parts:
            calls.append(filepath)
            if len(calls) == n:
                with open(filepath, "r+b") as f:
                    f.truncate(os.path.getsize(filepath) // 2)
                _die()

    keras.Model.save_weights = save_weights


def _kill_in_evaluation():
    import keras_audiosr.evaluation as evaluation
    import keras_audiosr.evaluation.suite as suite

    def evaluate_files(*args, **kwargs):
        _die()

    evaluation.evaluate_files = evaluate_files
    suite.evaluate_files = evaluate_files  # what evaluate_suite calls


def _no_space_in_checkpoint(n):
    import errno

    import keras

    original = keras.Model.save_weights
    calls = []

    def save_weights(self, filepath, *args, **kwargs):
        if "checkpoints" in Path(filepath).parts:
            calls.append(filepath)
            if len(calls) == n:
                original(self, filepath, *args, **kwargs)
                with open(filepath, "r+b") as f:
                    f.truncate(os.path.getsize(filepath) // 2)
                raise OSError(errno.ENOSPC, "No space left on device", str(filepath))
        return original(self, filepath, *args, **kwargs)

    keras.Model.save_weights = save_weights


def main():
    point, flag, module = sys.argv[1], sys.argv[2], sys.argv[3]
    if flag != "-m":
        raise SystemExit(f"usage: {sys.argv[0]} POINT -m MODULE [ARGS...]")
    name, _, count = point.partition(":")
    if name == "backup":
        _kill_in_backup(int(count or 1))
    elif name == "evaluation":
        _kill_in_evaluation()
    elif name == "nospace":
        _no_space_in_checkpoint(int(count or 1))
    else:
        raise SystemExit(f"unknown kill point {point!r}")
    sys.argv = [module, *sys.argv[4:]]
    # this checkout's packages, as `python -m` from its root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
