"""``keras-audiosr info``: show a model's rates, degradation and size."""

from __future__ import annotations

import argparse
import json

from keras_audiosr.cli.common import (
    PROG,
    Formatter,
    add_common,
    headline,
    resolve_model,
    start_tensorflow,
)
from keras_audiosr.degrade import Degradation


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``info`` subcommand's parser, added to ``subparsers``."""
    p = subparsers.add_parser(
        "info",
        formatter_class=Formatter,
        help="show a model's rates, degradation and size",
        description="Print what a saved or shipped model takes and returns: its ratio, low and high\n"
        "sample rates, the degradation its training inputs were made with, and its size\n"
        "(for a shipped model also its description, files and model card).",
    )
    p.add_argument(
        "tflite",
        nargs="?",
        metavar="MODEL.tflite",
        help="a .tflite: print the description embedded in it (TFLITE_METADATA: rates, frame, latency, "
        "audio format, state tensors and their wiring, level contract, licence), without TensorFlow",
    )
    p.add_argument(
        "--model",
        "-m",
        default=None,
        metavar="M",
        help=f"a shipped model's name ('{PROG} models') or a .keras model saved by keras_audiosr "
        f"(default: none; give --model or MODEL.tflite)",
    )
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    add_common(p)
    p.set_defaults(func=run, needs_tensorflow=True)
    return p


def trained_on(cfg: dict) -> str:
    """What made the model's training inputs: its ``training_degradations`` set (one member drawn per example)
    or spec, else its single recorded ``degradation`` (which, for a set, is only the set's representative)."""
    from keras_audiosr.degrade import DEGRADATION_SETS, canonical_spec, get_degradation_set

    single = Degradation.from_dict(cfg["degradation"])
    name = cfg.get("training_degradations")
    if isinstance(name, str) and name.strip().lower() in DEGRADATION_SETS:
        dset = get_degradation_set(name)
        members = dset.description or ", ".join(dset.probabilities())
        return f"the set '{dset.name}', one drawn per example: {members}"
    if isinstance(name, str) and name.strip() and canonical_spec(name) != single.filter:
        return Degradation(single.ratio, name, single.zero_phase).describe(cfg["hr_rate"])
    return single.describe(cfg["hr_rate"])


def run(args) -> int:
    """Print a model's facts (a .tflite's embedded description without TensorFlow); returns the exit status."""
    if args.tflite is not None or str(args.model or "").lower().endswith(".tflite"):
        return _tflite_info(args.tflite or args.model, args.json)
    if args.model is None:
        raise ValueError("give a model: --model NAME|MODEL.keras, or a MODEL.tflite")
    path, card = resolve_model(args.model)
    start_tensorflow(args)
    from keras_audiosr.models.saving import load_model

    model = load_model(path)
    cfg = (
        model.audio_config()
        if hasattr(model, "audio_config")
        else {
            "ratio": model.ratio,
            "lr_rate": model.lr_rate,
            "hr_rate": model.hr_rate,
            "degradation": model.degradation,
        }
    )
    facts = {
        "model": str(path),
        "class": type(model).__name__,
        "parameters": int(model.count_params()),
        **cfg,
        "degradation_text": trained_on(cfg),
    }
    if card is not None:
        facts["shipped"] = {
            "name": card.name,
            "description": card.description,
            "tflite": {k: str(card.folder / v) for k, v in card.tflite.items()},
            "card": str(card.folder / "MODEL_CARD.md"),
            "size_bytes": card.size_bytes,
            "metrics": card.metrics,
        }
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    lines = [
        ("model", facts["model"]),
        ("class", facts["class"]),
        ("parameters", f"{facts['parameters']:,}"),
        ("input", f"{facts['lr_rate']} Hz"),
        ("output", f"{facts['hr_rate']} Hz (ratio {facts['ratio']})"),
        ("trained on inputs made by", facts["degradation_text"]),
    ]
    if card is not None:
        lines[:0] = [("shipped model", card.name + (f": {card.description}" if card.description else ""))]
        lines += [
            ("streaming .tflite", ", ".join(f"{k} {v}" for k, v in facts["shipped"]["tflite"].items()) or "none"),
            ("model card", facts["shipped"]["card"]),
        ]
        if headline(card.metrics):
            lines.append(("headline metrics", headline(card.metrics)))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k + ':':<{width + 1}}  {v}")
    return 0


def _tflite_info(path, as_json: bool) -> int:
    """The description a .tflite carries (:mod:`keras_audiosr.streaming.metadata`); no TensorFlow is started."""
    from keras_audiosr.streaming import metadata as md

    data, label = md.load_flatbuffer(path)
    if as_json:
        standard = md.read_model_metadata(data, label)
        if standard is not None:
            standard["subgraphs"] = [{**sg, "custom": sorted(sg["custom"])} for sg in standard["subgraphs"]]
        print(
            json.dumps({"model": label, "description": md.read_metadata(data), "tflite_metadata": standard}, indent=2)
        )
        return 0
    print(md.describe_text(path))
    return 0
