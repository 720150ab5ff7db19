"""``keras-audiosr models``: list the models shipped with the package."""

from __future__ import annotations

import argparse
import json

from keras_audiosr import pretrained
from keras_audiosr.cli.common import (
    PROG,
    Formatter,
    add_common,
    headline,
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``models`` subcommand's parser, added to ``subparsers``."""
    p = subparsers.add_parser(
        "models",
        formatter_class=Formatter,
        help="list the models shipped with the package",
        description="List the models shipped inside the package: name, rates (in -> out Hz), size on disk,\n"
        "parameters, and the headline metrics of the model card (ViSQOL, LSD, PESQ-WB and SNR of the\n"
        "model beside its int8 stream and the sinc baseline, under the sinc-resampler input). Use a name with\n"
        f"'{PROG} upsample --model NAME' or '{PROG} info --model NAME'; upsample without --model\n"
        "picks one by the input's rate.",
        epilog=f"example: {PROG} models --json",
    )
    p.add_argument("--json", action="store_true", help="print every card's facts as JSON")
    add_common(p)
    p.set_defaults(func=run, needs_tensorflow=False)
    return p


def run(args) -> int:
    """List the shipped models (text or JSON); returns the exit status."""
    models = pretrained.list()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": m.name,
                        "lr_rate": m.lr_rate,
                        "hr_rate": m.hr_rate,
                        "ratio": m.ratio,
                        "description": m.description,
                        "size_bytes": m.size_bytes,
                        "parameters": m.facts.get("parameters"),
                        "folder": str(m.folder),
                        "keras": m.keras_file,
                        "tflite": m.tflite,
                        "metrics": m.metrics,
                        "facts": m.facts,
                    }
                    for m in models
                ],
                indent=2,
            )
        )
        return 0
    if not models:
        print(
            f"no models ship with this installation (looked in {pretrained.models_dir()}); train one with a "
            f"recipe and pass it as --model M.keras"
        )
        return 0
    print(f"{len(models)} shipped model(s), in {pretrained.models_dir()}:")
    width = max(len(m.name) for m in models)
    for m in models:
        params = m.facts.get("parameters")
        cols = [f"{m.lr_rate} -> {m.hr_rate} Hz", f"{m.size_bytes / 1e6:.1f} MB"]
        if isinstance(params, (int, float)):
            cols.append(f"{int(params):,} parameters")
        print(f"  {m.name:<{width}}  " + ",  ".join(cols))
        for line in (m.description, headline(m.metrics)):
            if line:
                print(f"  {'':<{width}}  {line}")
    return 0
