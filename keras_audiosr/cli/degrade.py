"""``keras-audiosr degrade``: make a low-rate file from a high-rate one, as training does."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from keras_audiosr.audio import AudioError, write_audio
from keras_audiosr.cli.common import (
    PROG,
    Formatter,
    add_io_arguments,
    add_output_options,
    check_io,
    check_output_extension,
    positive_int,
    read_for_output,
)
from keras_audiosr.degrade import (
    FILTER_FAMILIES,
    Degradation,
    LowpassFilter,
    parse_spec,
    spec_grammar,
    trim_to_multiple,
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``degrade`` subcommand's parser, added to ``subparsers``."""
    p = subparsers.add_parser(
        "degrade",
        formatter_class=Formatter,
        help="make a low-rate file from a high-rate one, as training does",
        description="Make the low-rate input a model would get from IN, exactly as the training inputs are\n"
        "made (by default: low-pass with the anti-alias filter, keep every R-th sample), and write OUT\n"
        "at rate/R. The input is trimmed to a multiple of R\n"
        "samples first (as in training), so upsampling OUT by R gives back the trimmed length.\n"
        "Each channel is degraded separately. The whole file is read into memory. To change a rate\n"
        f"cleanly instead, use '{PROG} resample'.",
        epilog=textwrap.fill(f"degradations: {spec_grammar()}.", 100) + "\n"
        f"filters: FAMILY[:ORDER[:CUTOFF]] with FAMILY one of {', '.join(FILTER_FAMILIES)}; CUTOFF is a\n"
        f"fraction of the low-rate Nyquist frequency (defaults: cheby1 0.8, others 1.0); or 'aliased'\n"
        f"for no filter at all (needs --aliased-ok).\n"
        f"examples: {PROG} degrade speech_16k.wav speech_8k.wav --ratio 2 --filter cheby1:8\n"
        f"          {PROG} degrade speech_16k.wav phone_8k.wav --ratio 2 --filter telephone:mulaw",
    )
    add_io_arguments(p, "high-rate sound file")
    p.add_argument(
        "--ratio",
        "-r",
        type=positive_int,
        required=True,
        metavar="R",
        help="decimation ratio (integer >= 2 that divides IN's sample rate)",
    )
    p.add_argument(
        "--filter",
        "-f",
        default="cheby1:8",
        metavar="SPEC",
        help="the degradation: an anti-alias low-pass filter (cheby1:8 is scipy.signal.decimate's, used "
        "by Kuleshov et al.) or any other degradation spec (resample, telephone:mulaw, ...)",
    )
    p.add_argument(
        "--causal",
        action="store_true",
        help="filter causally (delayed, as a real-time system) instead of zero-phase forward-backward",
    )
    p.add_argument(
        "--aliased-ok",
        action="store_true",
        help="allow --filter aliased: decimate with no anti-alias filter, folding the band above the new "
        "Nyquist frequency back into the signal",
    )
    add_output_options(p, run)
    return p


def run(args) -> int:
    """Degrade IN into OUT (every check first); returns the exit status."""
    check_output_extension(Path(args.output))
    if args.ratio < 2:
        raise ValueError(f"--ratio must be an integer >= 2, got {args.ratio}")
    spec = parse_spec(args.filter)
    if isinstance(spec, LowpassFilter) and spec.aliased and not args.aliased_ok:
        raise ValueError(
            "--filter aliased decimates with no anti-alias filter, so the band above the new Nyquist "
            "frequency folds into the output; pass --aliased-ok if that is what you want"
        )
    deg = Degradation(args.ratio, spec, zero_phase=not args.causal)
    src, dst = check_io(args)
    data, rate, subtype = read_for_output(src, dst, args.subtype)
    if rate % args.ratio:
        raise AudioError(f"{src}: sample rate {rate} Hz is not divisible by ratio {args.ratio}")
    x = trim_to_multiple(data, args.ratio)
    try:
        low = deg(x, axis=0)
    except ValueError as e:
        raise AudioError(f"{src}: {e}") from e
    write_audio(dst, low, rate // args.ratio, subtype=subtype)
    print(
        f"wrote {dst}: {len(low) / (rate // args.ratio):.2f} s at {rate // args.ratio} Hz, {low.shape[1]} "
        f"channel(s); {deg.describe(rate)}"
    )
    return 0
