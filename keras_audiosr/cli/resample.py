"""``keras-audiosr resample``: change a sound file's sample rate."""

from __future__ import annotations

import argparse
from pathlib import Path

import soundfile as sf

from keras_audiosr.audio import (
    AUDIO_EXTENSIONS,
    RESAMPLE_QUALITIES,
    check_output_format,
    output_subtype,
    read_audio,
    resample,
    write_audio,
)
from keras_audiosr.cli.common import (
    PROG,
    SUBTYPE_HELP,
    Formatter,
    add_common,
    check_audio_output,
    check_not_input,
    positive_int,
    require_file,
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``resample`` subcommand's parser, added to ``subparsers``."""
    exts = ", ".join(AUDIO_EXTENSIONS)
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
    p.add_argument("input", metavar="IN", help="sound file")
    p.add_argument("output", metavar="OUT", help=f"output file ({exts})")
    p.add_argument("--rate", "-r", type=positive_int, required=True, metavar="HZ", help="output sample rate in Hz")
    p.add_argument(
        "--quality",
        choices=RESAMPLE_QUALITIES,
        default="high",
        help="'high': flat to 0.9 x Nyquist, >= 100 dB stop band; 'standard': scipy's resample_poly "
        "defaults (-0.7 dB at 0.9 x Nyquist, about 22 dB against aliasing just above it)",
    )
    p.add_argument("--subtype", default=None, help=SUBTYPE_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    add_common(p)
    p.set_defaults(func=run, needs_tensorflow=False)
    return p


def run(args) -> int:
    """Resample IN into OUT (every check first); returns the exit status."""
    src, dst = Path(args.input), Path(args.output)
    require_file(src)
    check_not_input(src, dst)
    check_audio_output(dst, args.overwrite)
    data, rate = read_audio(src)
    subtype = output_subtype(dst, sf.info(str(src)).subtype, args.subtype)
    check_output_format(dst, subtype)
    y = resample(data, rate, args.rate, axis=0, quality=args.quality)
    write_audio(dst, y, args.rate, subtype=subtype)
    print(
        f"wrote {dst}: {len(y) / args.rate:.2f} s at {args.rate} Hz, {y.shape[1]} channel(s); resampled from "
        f"{rate} Hz ({args.quality} quality)"
    )
    return 0
