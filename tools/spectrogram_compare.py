"""One picture of what each system adds: spectrograms of a recording, its low-rate input and every system's output.

``python -m tools.spectrogram_compare --file REF.flac --rate-in 8000 --degradation telephone:mulaw \\
    --model narrowband-8k-48k --model telephony-8k-16k+wideband-16k-48k --out fig.png``

Reads ``--file`` (resampled to the systems' output rate when it is above it), makes the ``--rate-in`` input with
``--degradation``, and draws one row each: the reference, the input, sinc, then each ``--model`` (a shipped name
runs its int8 stream; ``a+b`` runs shipped streams one after the other, a cascade; a ``.tflite`` stream or a
``.keras`` model). ``--seconds`` (default 4) from ``--start``. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from keras_audiosr.args import positive_float, positive_int  # noqa: E402

PROG = "python -m tools.spectrogram_compare"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--file", required=True, help="a full-band recording (the reference)")
    p.add_argument("--rate-in", type=positive_int, required=True, help="the systems' input rate in Hz")
    p.add_argument("--degradation", default="resample", help="how the input is made (default: resample)")
    p.add_argument(
        "--model", action="append", required=True, metavar="M", help="a shipped name, a+b (a cascade), .tflite, .keras"
    )
    p.add_argument("--start", type=float, default=0.0, help="where in the file to start, in seconds (default: 0)")
    p.add_argument("--seconds", type=positive_float, default=4.0, help="seconds drawn (default: 4)")
    p.add_argument("--out", required=True, help="the PNG to write")
    return p


def _system(spec: str):
    """``(label, hr_rate, fn(low) -> high)`` for one ``--model``."""
    from keras_audiosr import pretrained
    from keras_audiosr.inference import upsample_array
    from keras_audiosr.pretrained import load_system
    from keras_audiosr.pretrained.card import cascade_runner

    path = Path(spec)
    if "+" in spec and path.suffix.lower() not in (".tflite", ".keras"):
        names = spec.split("+")
        hr = pretrained.info(names[-1]).hr_rate
        return " -> ".join(names) + " (int8)", hr, cascade_runner(names)
    _, model = load_system(spec)
    label = spec if path.suffix.lower() in (".tflite", ".keras") else f"{spec} (int8)"
    return label, int(model.hr_rate), lambda low: upsample_array(model, low)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not Path(args.file).is_file():
        parser.error(f"--file {args.file}: no such file")
    import numpy as np

    from keras_audiosr.audio import read_audio, resample
    from keras_audiosr.baselines import sinc_upsample
    from keras_audiosr.degrade import Degradation
    from keras_audiosr.plots import plot_spectrograms

    try:
        systems = [_system(m) for m in args.model]
    except (OSError, ValueError, ImportError) as err:  # an unknown name or an unreadable model file
        parser.error(f"--model: {err}")
    rates = {hr for _, hr, _ in systems}
    if len(rates) != 1 or next(iter(rates)) % args.rate_in:
        parser.error(f"--model: the systems give {sorted(rates)} Hz; they must all give one multiple of --rate-in")
    hr = rates.pop()
    ratio = hr // args.rate_in
    ref, rate = read_audio(args.file, mix_down=True)
    if rate < hr:
        parser.error(f"--file {args.file}: {rate} Hz is below the systems' output rate {hr} Hz")
    ref = resample(ref, rate, hr) if rate != hr else ref
    start = max(0, int(args.start * hr))
    ref = ref[start : start + int(args.seconds * hr) // ratio * ratio].astype(np.float32)
    if len(ref) < 4 * ratio * 256:
        parser.error(f"--file {args.file}: under a quarter second of audio from --start {args.start}")
    low = Degradation(ratio, args.degradation)(ref).astype(np.float32)
    signals = {"reference": ref, f"input ({args.degradation})": low, "sinc": sinc_upsample(low, ratio)}
    plot_rates = {"reference": hr, f"input ({args.degradation})": args.rate_in, "sinc": hr}
    for label, _, fn in systems:
        signals[label], plot_rates[label] = fn(low), hr
    out = plot_spectrograms(signals, plot_rates, args.out, title=f"{Path(args.file).name}, {args.degradation} input")
    print(f"[spectrogram] {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
