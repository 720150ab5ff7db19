"""``keras-audiosr export``: a trained ``.keras`` model -> a checked ``.tflite``
(:mod:`keras_audiosr.export.convert`)."""

from __future__ import annotations

import argparse

from keras_audiosr.cli.common import PROG, Formatter
from keras_audiosr.export import convert
from keras_audiosr.export.conversion import CONVERSION_GATES
from keras_audiosr.export.gates import describe_gates


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``export`` subcommand's parser, added to ``subparsers``."""
    p = subparsers.add_parser(
        "export",
        formatter_class=Formatter,
        help="export a trained model to a checked .tflite (needs keras-audiosr[train])",
        description="Export a trained .keras model to a .tflite with its metadata, a JSON sidecar (every gate's\n"
        "result) and golden fixtures, through an ordered list of gates that stops at the first\n"
        "failure. --streaming exports the stateful frame + state form of models that have one\n"
        "(StreamingBWE). From a clone, 'python -m edge.convert ...' is the same. Needs TensorFlow:\n"
        "pip install 'keras-audiosr[train]'.\n\nGates, in order:\n" + describe_gates(CONVERSION_GATES),
        epilog=f"examples:\n  {PROG} export --model runs/bwe/model.keras --mode int8 --streaming --out runs/bwe/edge\n"
        f"  {PROG} export --model runs/unet/model.keras --mode float --out runs/unet/edge",
    )
    convert.add_arguments(p)
    p.set_defaults(func=run, needs_tensorflow=True)
    return p


def run(args) -> int:
    return convert.run(args, f"{PROG} export")
