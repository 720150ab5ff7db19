"""PESQ-WB probes behind the StreamingBWE design choices: every system on the same inputs, in one run.

    python -m tools.pesq_probe --model telephony-8k-16k \\
        --files ../shared/data/vctk-mini/wav48/{p258,p259,p273}/*.flac --out runs/pesq_probe.json

Beside the model and the sinc / spline baselines, under each ``--degradations`` input:

- ``cut@F``: the sinc baseline low-passed at F Hz (zero-phase FIR): what a band lost below the
  low-rate Nyquist costs (why ``recipes.streaming_bwe`` merges bands at 0.9 of it);
- ``mix@A``: ``sinc + A (model - sinc)``: PESQ-WB against the level of the band the model adds (why
  shipped models get a high-band trim);
- ``zeros@Z``: the model with its low path's sinc kernel at Z zero crossings, weights unchanged
  (StreamingBWE only; why the kernel defaults to the longest the band merge's lookahead allows);
- ``trim@D``: the model with the band it adds D dB from its current level (StreamingBWE only);
- ``upper@F:D``: the model with its band above F Hz at D dB from its trained level, the rest as it is
  (``StreamingBWE.set_upper_band``; where an 8 -> 48 kHz model's upper band may start without PESQ-WB,
  computed at 16 kHz, hearing it).

Prints a markdown table (PESQ-WB, SNR, LB-SNR, LSD) and writes the evaluation report as JSON with ``--out``.
Use held-out files only when the numbers inform a shipped model's settings (the trim is chosen on training
files by ``tools.ship_model``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROG = "python -m tools.pesq_probe"


def _numbers(kind, what=None, item=None):
    """An argparse type: comma-separated values, each ``item(text)`` (default ``kind(text)``)."""
    item = item or kind

    def parse(text):
        try:
            return [item(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {what or kind.__name__} values, got {text!r}"
            ) from None

    return parse


def _pair(text):
    hz, sep, db = text.partition(":")
    if not sep:
        raise ValueError(text)
    return float(hz), float(db)


def _zeros_or_auto(text):
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from None


def build_parser():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a shipped model's name or a .keras path")
    p.add_argument("--files", nargs="+", required=True, help="full-band sound files (the references)")
    p.add_argument(
        "--degradations",
        default="resample,butter:4",
        help="comma-separated input degradations (default: resample,butter:4)",
    )
    p.add_argument(
        "--cut",
        type=_numbers(float),
        default=[2800.0, 3400.0, 3800.0],
        metavar="HZ,...",
        help="cut@F systems: sinc low-passed at these frequencies (default: 2800,3400,3800)",
    )
    p.add_argument(
        "--mix",
        type=_numbers(float),
        default=[0.25, 0.5, 0.75],
        metavar="A,...",
        help="mix@A systems: sinc + A (model - sinc) (default: 0.25,0.5,0.75)",
    )
    p.add_argument(
        "--zeros",
        type=_numbers(int),
        default=[8],
        metavar="Z,...",
        help="zeros@Z systems: the low path's sinc kernel at Z zero crossings (default: 8)",
    )
    p.add_argument(
        "--trim",
        type=_numbers(float),
        default=[-6.0, 6.0],
        metavar="DB,...",
        help="trim@D systems: the added band D dB from its current level (default: -6,6)",
    )
    p.add_argument(
        "--upper",
        type=_numbers(float, "HZ:DB", _pair),
        default=[],
        metavar="HZ:DB,...",
        help="upper@HZ:DB systems: the band above HZ at DB dB from its trained level (default: none)",
    )
    p.add_argument(
        "--sinc-zeros",
        type=_zeros_or_auto,
        default=False,
        metavar="Z|auto",
        help="first rebuild the StreamingBWE with this low-path kernel (weights unchanged; 'auto': the "
        "current default), so the model row and every probe use it (default: as saved)",
    )
    p.add_argument(
        "--choose-trim-on",
        nargs="+",
        default=None,
        metavar="FILE",
        help="then set the model's high-band trim by keras_audiosr.pretrained.trim.choose_high_band_trim on "
        "these files (TRAINING files), by the rule tools.ship_model applies "
        "(evaluation.high_band_trim_rule); the model row and the probes use it",
    )
    p.add_argument(
        "--choose-among",
        type=_numbers(float),
        default=None,
        metavar="DB,...",
        help="with --choose-trim-on: the candidate trims (default: the ship rule's, 0 to -24 dB in 3 dB steps)",
    )
    p.add_argument("--max-seconds", type=float, default=None, help="score the first seconds of each file only")
    p.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    return p


def _lowpass(y, hz, rate):
    from scipy import signal

    taps = signal.firwin(513, hz, fs=rate, window=("kaiser", 10.0))
    return signal.filtfilt(taps, [1.0], y).astype("float32")


def probe_systems(model, *, cut=(), mix=(), zeros=(), trim=(), upper=()) -> dict:
    """``{name: fn(low) -> high}`` for the probes (see the module docstring)."""
    from keras_audiosr.baselines import sinc_upsample
    from keras_audiosr.inference import upsample_array
    from keras_audiosr.models.saving import rebuilt

    ratio, rate = int(model.ratio), int(model.hr_rate)
    systems = {}
    for hz in cut:
        systems[f"cut@{hz:g}"] = lambda x, hz=hz: _lowpass(sinc_upsample(x, ratio), hz, rate)
    for a in mix:

        def mixed(x, a=a):
            s = sinc_upsample(x, ratio)
            y = upsample_array(model, x)[: len(s)]
            return (s + a * (y - s)).astype("float32")

        systems[f"mix@{a:g}"] = mixed
    is_bwe = callable(getattr(model, "trim_high_band", None))
    if (zeros or trim or upper) and not is_bwe:
        raise SystemExit(
            f"{PROG}: --zeros, --trim and --upper need a StreamingBWE model, got {type(model).__name__} "
            f"(pass --zeros '' --trim '')"
        )
    for z in zeros:
        other = rebuilt(model, sinc_zeros=z)
        systems[f"zeros@{other.sinc_zeros}"] = lambda x, m=other: upsample_array(m, x)
    for db in trim:
        other = rebuilt(model)
        other.trim_high_band(db)
        systems[f"trim@{db:+g}"] = lambda x, m=other: upsample_array(m, x)
    for spec in upper:
        if len(spec) != 2:
            raise SystemExit(f"{PROG}: --upper takes HZ:DB pairs, got {':'.join(f'{v:g}' for v in spec)}")
        other = rebuilt(model)
        try:
            other.set_upper_band(*spec)
        except ValueError as err:
            raise SystemExit(f"{PROG}: --upper {spec[0]:g}:{spec[1]:g}: {err}") from None
        systems[f"upper@{spec[0]:g}:{spec[1]:+g}"] = lambda x, m=other: upsample_array(m, x)
    return systems


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.choose_among and not args.choose_trim_on:
        print(f"{PROG}: --choose-among needs --choose-trim-on", file=sys.stderr)
        return 2
    from keras_audiosr import pretrained
    from keras_audiosr.evaluation import evaluate_suite, format_suite_markdown
    from keras_audiosr.utils import write_json

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        print(f"{PROG}: no such file: {missing[0]}", file=sys.stderr)
        return 2
    from keras_audiosr.inference import load_model

    try:
        path, _ = pretrained.resolve(args.model)
    except pretrained.PretrainedError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    model = load_model(path)
    needs_bwe = args.sinc_zeros is not False or args.choose_trim_on
    if needs_bwe and not callable(getattr(model, "trim_high_band", None)):
        print(
            f"{PROG}: --sinc-zeros and --choose-trim-on need a StreamingBWE model, got {type(model).__name__}",
            file=sys.stderr,
        )
        return 2
    if args.sinc_zeros is not False:
        from keras_audiosr.models.saving import rebuilt

        model = rebuilt(model, sinc_zeros=args.sinc_zeros)
    if args.choose_trim_on:
        from keras_audiosr.pretrained.trim import choose_high_band_trim, high_band_trim_rule

        degradations, objective = high_band_trim_rule(model)
        among = {"candidates_db": args.choose_among} if args.choose_among else {}
        best, _ = choose_high_band_trim(
            model, args.choose_trim_on, degradations=degradations, objective=objective, **among
        )
        print(f"high-band trim chosen on {len(args.choose_trim_on)} files: {best:+g} dB")
    systems = probe_systems(model, cut=args.cut, mix=args.mix, zeros=args.zeros, trim=args.trim, upper=args.upper)
    report = evaluate_suite(
        model,
        args.files,
        degradations=args.degradations.split(","),
        with_pesq=True,
        systems=systems,
        max_seconds=args.max_seconds,
        progress=True,
    )
    metrics = [m for m in ("pesq", "snr", "snr_lb", "lsd") if m in report["metrics"]]
    print(format_suite_markdown(report, metrics=metrics))
    if args.out:
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
