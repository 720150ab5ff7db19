"""``python -m tools.ship_model``: a finished recipe run -> a shipped model folder ``keras_audiosr/pretrained/<name>/``.

The command line over :func:`keras_audiosr.pretrained.ship.ship` (see there for what the folder
holds and how it is made): the run's model, its stateful streaming ``.tflite`` files with golden
fixtures, ``card.json`` and ``MODEL_CARD.md`` (the card template filled in), the held-out table from
one evaluation of the run's test speakers. Bad arguments exit with status 2 and one line before any
work; a failed conversion gate exits 1.
"""

from __future__ import annotations

import shlex
import sys

from keras_audiosr.args import Parser, positive_float, positive_int
from keras_audiosr.pretrained import ShipError, models_dir
from keras_audiosr.pretrained.ship import DEFAULT_MODES, check_run

__all__ = ["build_parser", "main"]

PROG = "python -m tools.ship_model"


def build_parser() -> Parser:
    out = models_dir()
    p = Parser(prog=PROG, description=__doc__)
    p.add_argument(
        "--run", required=True, help="finished recipe run folder (config.json, metrics.json, model.keras); required"
    )
    p.add_argument(
        "--name",
        required=True,
        help="shipped model name, e.g. telephony-8k-16k (lower case letters, digits, '.', '_', '-'); required",
    )
    p.add_argument(
        "--data",
        nargs="+",
        default=None,
        metavar="DIR",
        help="corpus folders holding the run's held-out speakers (and training files for calibration) "
        "(default: the run's corpora as recorded in metrics.json / config.json)",
    )
    p.add_argument("--out", default=str(out), help=f"folder of shipped models (default: {out})")
    p.add_argument("--description", default=None, help="one-line description for card.json (default: generated)")
    p.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help="streaming .tflite modes, comma-separated, from: float, int8, int8-pcm16; float and int8 "
        f"are required (default: {','.join(DEFAULT_MODES)})",
    )
    p.add_argument("--frame-ms", type=positive_float, default=10.0, help="streaming frame in ms (default: 10)")
    p.add_argument(
        "--calibration-windows",
        type=positive_int,
        default=256,
        help="training windows for int8 calibration (default: 256, as edge.convert --streaming)",
    )
    p.add_argument(
        "--max-seconds",
        type=positive_float,
        default=None,
        help="score only the first seconds of each held-out file (default: whole files)",
    )
    p.add_argument(
        "--high-band-trim",
        default="auto",
        metavar="auto|none|DB",
        help="level of the band the network adds (StreamingBWE.trim_high_band): auto chooses it on "
        "training files only (keras_audiosr.pretrained.trim: best ViSQOL, audio mode at 48 kHz, "
        "with PESQ-WB >= sinc and SNR and low-band SNR within 1 dB of sinc; for 8 kHz in and more than "
        "16 kHz out, then a level of its own for the band above 8 kHz), none keeps the model's levels, a "
        "number in dB applies it to the whole band (default: auto)",
    )
    p.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB (default: computed when pesq is installed)")
    p.add_argument(
        "--no-perceptual",
        action="store_true",
        help="skip ViSQOL and DNSMOS P.808 in the held-out evaluation (default: computed when the eval "
        "extra is installed; they cost seconds per second of audio)",
    )
    p.add_argument(
        "--per-speaker",
        type=positive_int,
        default=2,
        help="held-out files scored per speaker (default: 2; every speaker counts, ViSQOL's cost is bounded)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: off)")
    return p


def _print_table(card: dict) -> None:
    for label, systems in card["metrics"].items():
        print(f"[{label}]")
        for s, m in systems.items():
            cells = (
                f"{k} {'-' if v is None else format(v, '.3f' if k.startswith(('lsd', 'visqol')) else '.2f')}"
                for k, v in m.items()
            )
            print(f"  {s:7s} " + "  ".join(cells))
    for system in ("int8", "model"):
        verdict = {True: "met", False: "NOT met", None: "not fully measured"}[card["targets"][system]["met"]]
        print(f"targets ({system}): {verdict}")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_run(args.run, args.name, args.out, data=args.data, modes=args.modes, high_band_trim=args.high_band_trim)
    except ShipError as e:
        return parser.fail(str(e))
    from keras_audiosr.export.gates import GateFailed  # TensorFlow starts here, after every check
    from keras_audiosr.export.logs import import_tensorflow
    from keras_audiosr.pretrained.ship import ship

    import_tensorflow()
    try:
        card = ship(
            args.run,
            args.name,
            args.out,
            data=args.data,
            description=args.description,
            modes=args.modes,
            frame_ms=args.frame_ms,
            calibration_windows=args.calibration_windows,
            max_seconds=args.max_seconds,
            high_band_trim=args.high_band_trim,
            with_pesq=False if args.no_pesq else None,
            perceptual=False if args.no_perceptual else None,
            per_speaker=args.per_speaker,
            progress=not args.no_progress,
            command=" ".join(
                [PROG] + [shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv) if a != "--no-progress"]
            ),
        )
    except GateFailed as e:
        print(f"{PROG}: error: conversion gate failed: {e}", file=sys.stderr)
        return 1
    except (ShipError, OSError, ValueError) as e:
        return parser.fail(str(e))
    _print_table(card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
