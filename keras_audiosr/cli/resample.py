"""``keras-audiosr resample``: change a sound file's sample rate."""

from __future__ import annotations

import argparse

from keras_audiosr.audio import RESAMPLE_QUALITIES, resample, write_audio
from keras_audiosr.cli.common import (
    PROG,
    Formatter,
    add_io_arguments,
    add_output_options,
    check_io,
    positive_int,
    read_for_output,
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``resample`` subcommand's parser, added to ``subparsers``."""
    p = subparsers.add_parser(
        "resample",
        formatter_class=Formatter,
        help="change a sound file's sample rate (any rate to any rate)",
        description="Resample IN to --rate Hz with a polyphase Kaiser-windowed sinc filter and write OUT.\n\n"
        "'high' quality keeps the band flat to 90 % of the lower Nyquist frequency and suppresses\n"
        "everything from that Nyquist frequency on by at least 100 dB, so nothing folds back (unlike\n"
        "'degrade', which makes training inputs with a training filter). Channels are kept. The whole\n"
        "file is read into memory. OUT is written atomically.",
        epilog=f"example: {PROG} resample speech_48k.wav speech_16k.wav --rate 16000",
    )
    add_io_arguments(p, "sound file")
    p.add_argument("--rate", "-r", type=positive_int, required=True, metavar="HZ", help="output sample rate in Hz")
    p.add_argument(
        "--quality",
        choices=RESAMPLE_QUALITIES,
        default="high",
        help="'high': flat to 0.9 x Nyquist, >= 100 dB stop band; 'standard': scipy's resample_poly "
        "defaults (-0.7 dB at 0.9 x Nyquist, about 22 dB against aliasing just above it)",
    )
    add_output_options(p, run)
    return p


def run(args) -> int:
    """Resample IN into OUT (every check first); returns the exit status."""
    src, dst = check_io(args)
    data, rate, subtype = read_for_output(src, dst, args.subtype)
    y = resample(data, rate, args.rate, axis=0, quality=args.quality)
    write_audio(dst, y, args.rate, subtype=subtype)
    print(
        f"wrote {dst}: {len(y) / args.rate:.2f} s at {args.rate} Hz, {y.shape[1]} channel(s); resampled from "
        f"{rate} Hz ({args.quality} quality)"
    )
    return 0
