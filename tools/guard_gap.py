"""How far a shipped model's PESQ-WB margin over sinc falls from its calibration files to its held-out speakers.

    python -m tools.guard_gap telephony-8k-16k narrowband-8k-48k [runs/ship/telephony-8k-16k/card.json]

A model's band level is chosen on training files (``keras_audiosr.pretrained.trim``); PESQ-WB is a guard that must
also hold on speakers the model never heard, where a model does a little worse. For each model (a shipped name or a
``card.json``) this prints, at the chosen level and over the conditions the level was chosen under, PESQ-WB minus
sinc's on the calibration files (the guard's margin added back) and on the held-out speakers (the card's int8 and
Keras rows): the gap is what ``trim.PESQ_MARGIN`` must cover. Reads the cards only; scores nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROG = "python -m tools.guard_gap"


def _card(arg: str) -> dict:
    path = Path(arg)
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable model card ({err})") from None
    from keras_audiosr import pretrained

    try:
        folder = pretrained.info(arg).folder
    except pretrained.PretrainedError as err:
        raise ValueError(str(err)) from None
    return json.loads((folder / "card.json").read_text())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+", help="shipped model names or card.json files")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = p.parse_args(argv)
    from keras_audiosr.pretrained.trim import PESQ_MARGIN, guard_gap

    out = {}
    try:
        cards = [(m, _card(m)) for m in args.models]  # every argument checked before any output
        for arg, card in cards:
            out[card.get("name", arg)] = {s: guard_gap(card, s) for s in ("int8", "model")}
    except ValueError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(
        "| model | level (dB) | conditions | calibration margin | held-out margin, int8 (Keras) | gap, int8 (Keras) |"
    )
    print("|---|---|---|---|---|---|")
    for name, g in out.items():
        i, k = g["int8"], g["model"]
        print(
            f"| {name} | {i['trim_db']:+.0f} | {', '.join(i['conditions'])} | {i['calibration_margin']:+.3f} | "
            f"{i['held_out_margin']:+.3f} ({k['held_out_margin']:+.3f}) | {i['gap']:.3f} ({k['gap']:.3f}) |"
        )
    print(f"\nThe ship rule's PESQ-WB margin (keras_audiosr.pretrained.trim.PESQ_MARGIN): {PESQ_MARGIN:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
