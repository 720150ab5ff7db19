"""The ``keras-audiosr`` command line: upsample, degrade, evaluate, info.

Run ``keras-audiosr <command> --help`` for each command's options. Errors in the input (a missing
or unreadable file, a bad model, a wrong rate) print ``keras-audiosr: error: <file>: <problem>``
and exit with status 2; nothing is left half-written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["build_parser", "expand_audio_paths", "main"]

PROG = "keras-audiosr"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' line breaks and appends each option's default where it has a real one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or "(default" in text or action.default in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)"


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def _add_chunking(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chunk", type=_positive_int, default=16384, metavar="N",
                   help="low-rate samples per model call; bounds memory together with --batch-size")
    p.add_argument("--overlap", type=_non_negative_int, default=1024, metavar="N",
                   help="low-rate samples shared by neighbouring chunks and cross-faded; should exceed 8/3 of the "
                        "model's receptive-field reach for seamless output (1024 covers the published AudioUNet)")
    p.add_argument("--batch-size", type=_positive_int, default=4, metavar="N", help="chunks per model call")


def build_parser() -> argparse.ArgumentParser:
    from keras_audiosr import __version__
    from keras_audiosr.audio import AUDIO_EXTENSIONS
    from keras_audiosr.baselines import BASELINES
    from keras_audiosr.degrade import FILTER_FAMILIES

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description="Neural audio super-resolution (bandwidth extension) with Keras models saved by keras_audiosr.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of each command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "upsample", formatter_class=_Formatter, help="upsample a low-rate sound file with a trained model",
        description="Upsample IN with a trained model and write OUT at the model's high rate.\n\n"
                    "IN should be at the model's low rate; a file at any other rate is first resampled to it\n"
                    "(with a notice). Any length is processed in overlapping, cross-faded chunks, so memory\n"
                    "stays bounded; channels are upsampled one by one. OUT is written atomically.",
        epilog=f"example: {PROG} upsample speech_8k.wav speech_16k.wav --model runs/unet/model.keras")
    p.add_argument("input", metavar="IN", help="sound file to upsample (WAV, FLAC, OGG, AIFF)")
    p.add_argument("output", metavar="OUT",
                   help=f"output file; its extension picks the format ({', '.join(AUDIO_EXTENSIONS)})")
    p.add_argument("--model", "-m", required=True, metavar="M.keras", help="trained model saved by keras_audiosr")
    _add_chunking(p)
    p.add_argument("--subtype", default=None,
                   help="output sample format, e.g. PCM_16, PCM_24, FLOAT (default: the input's, where the output "
                        "format allows it, else PCM_16); integer formats clip at +-1")
    p.add_argument("--fade", choices=("cosine", "linear"), default="cosine", help="cross-fade shape between chunks")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_upsample)

    p = sub.add_parser(
        "degrade", formatter_class=_Formatter, help="make a low-rate file from a high-rate one, as training does",
        description="Low-pass IN with the anti-alias filter and keep every R-th sample, exactly as the\n"
                    "training inputs are made, and write OUT at rate/R. The input is trimmed to a multiple of R\n"
                    "samples first (as in training), so upsampling OUT by R gives back the trimmed length.\n"
                    "Each channel is degraded separately. The whole file is read into memory.",
        epilog=f"filters: FAMILY[:ORDER[:CUTOFF]] with FAMILY one of {', '.join(FILTER_FAMILIES)}; CUTOFF is a\n"
               f"fraction of the low-rate Nyquist frequency (defaults: cheby1 0.8, others 1.0); or 'aliased'\n"
               f"for no filter at all (needs --aliased-ok).\n"
               f"example: {PROG} degrade speech_16k.wav speech_8k.wav --ratio 2 --filter cheby1:8")
    p.add_argument("input", metavar="IN", help="high-rate sound file")
    p.add_argument("output", metavar="OUT", help=f"output file ({', '.join(AUDIO_EXTENSIONS)})")
    p.add_argument("--ratio", "-r", type=_positive_int, required=True, metavar="R",
                   help="decimation ratio (integer >= 2 that divides IN's sample rate)")
    p.add_argument("--filter", "-f", default="cheby1:8", metavar="FAMILY:ORDER",
                   help="anti-alias low-pass filter (cheby1:8 is scipy.signal.decimate's, used by Kuleshov et al.)")
    p.add_argument("--causal", action="store_true",
                   help="filter causally (delayed, as a real-time system) instead of zero-phase forward-backward")
    p.add_argument("--aliased-ok", action="store_true",
                   help="allow --filter aliased: decimate with no anti-alias filter, folding the band above the new "
                        "Nyquist frequency back into the signal")
    p.add_argument("--subtype", default=None,
                   help="output sample format, e.g. PCM_16, FLOAT (default: the input's where possible, else PCM_16)")
    p.set_defaults(func=_cmd_degrade)

    p = sub.add_parser(
        "evaluate", formatter_class=_Formatter, help="score a model and baselines against high-rate references",
        description="Treat each file as the high-rate reference: mix it to mono, resample it down to the model's\n"
                    "high rate when above it, degrade it as the model was trained, upsample it with the model and\n"
                    "the baselines, and report SNR (dB), LSD and LSD-HF (log10 power) and PESQ-WB (when the\n"
                    "pesq package is installed) per file and on average, as a table and optionally as JSON.\n"
                    "A file below the model's high rate is an error.",
        epilog=f"example: {PROG} evaluate --model model.keras --data vctk/wav48/p360 --json eval.json --plot plots/")
    p.add_argument("--model", "-m", required=True, metavar="M.keras", help="trained model saved by keras_audiosr")
    p.add_argument("--data", "-d", required=True, nargs="+", metavar="DIR_OR_FILE",
                   help=f"sound files, or folders searched recursively for {', '.join(AUDIO_EXTENSIONS)} files "
                        f"(sorted)")
    p.add_argument("--json", metavar="OUT.json", default=None,
                   help='write the report {"files": [...], "mean": {"model": {...}, ...}, ...} here (atomically)')
    p.add_argument("--plot", metavar="DIR", default=None,
                   help="write a spectrogram PNG per file (reference, low-rate input, baselines, model) into DIR")
    p.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB (it is the slowest metric)")
    p.add_argument("--baselines", default="spline", metavar="NAMES",
                   help=f"comma-separated baselines to compare with ({', '.join(BASELINES)}); 'none' for none")
    _add_chunking(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("info", formatter_class=_Formatter, help="show a saved model's rates, degradation and size",
                       description="Print what a saved model takes and returns: its ratio, low and high sample\n"
                                   "rates, the degradation its training inputs were made with, and its size.")
    p.add_argument("--model", "-m", required=True, metavar="M.keras", help="model saved by keras_audiosr")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=_cmd_info)
    return parser


def _check_output_extension(path: Path) -> None:
    from keras_audiosr.audio import AUDIO_EXTENSIONS, AudioError

    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(f"{path}: unsupported output extension {path.suffix!r}; use one of "
                         f"{', '.join(AUDIO_EXTENSIONS)}")


def _require_file(path: Path) -> None:
    from keras_audiosr.audio import AudioError

    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def _cmd_upsample(args) -> int:
    from keras_audiosr.inference import load_model, upsample_file

    src, dst = Path(args.input), Path(args.output)
    _require_file(src)
    _check_output_extension(dst)
    model = load_model(args.model)
    info = upsample_file(model, src, dst, chunk=args.chunk, overlap=args.overlap, batch_size=args.batch_size,
                         progress=not args.quiet, subtype=args.subtype, fade=args.fade)
    print(f"wrote {info['out']}: {info['seconds']:.2f} s at {info['out_rate']} Hz, {info['channels']} channel(s), "
          f"in {info['elapsed']:.1f} s")
    return 0


def _cmd_degrade(args) -> int:
    import soundfile as sf

    from keras_audiosr.audio import AudioError, read_audio, write_audio
    from keras_audiosr.degrade import Degradation, LowpassFilter, trim_to_multiple

    src, dst = Path(args.input), Path(args.output)
    _check_output_extension(dst)
    if args.ratio < 2:
        raise ValueError(f"--ratio must be an integer >= 2, got {args.ratio}")
    flt = LowpassFilter.parse(args.filter)
    if flt.family == "aliased" and not args.aliased_ok:
        raise ValueError("--filter aliased decimates with no anti-alias filter, so the band above the new Nyquist "
                         "frequency folds into the output; pass --aliased-ok if that is what you want")
    deg = Degradation(args.ratio, str(flt), zero_phase=not args.causal)
    data, rate = read_audio(src)
    if rate % args.ratio:
        raise AudioError(f"{src}: sample rate {rate} Hz is not divisible by ratio {args.ratio}")
    x = trim_to_multiple(data, args.ratio)
    try:
        low = deg(x, axis=0)
    except ValueError as e:
        raise AudioError(f"{src}: {e}") from e
    subtype = args.subtype
    if subtype is None:
        in_subtype = sf.info(str(src)).subtype
        fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aif": "AIFF", ".aiff": "AIFF"}[dst.suffix.lower()]
        subtype = in_subtype if sf.check_format(fmt, in_subtype) else None
    write_audio(dst, low, rate // args.ratio, subtype=subtype)
    print(f"wrote {dst}: {len(low) / (rate // args.ratio):.2f} s at {rate // args.ratio} Hz, {low.shape[1]} "
          f"channel(s); {deg.describe(rate)}")
    return 0


def expand_audio_paths(items) -> list[Path]:
    """Files as given, and every audio file under each folder (recursively, sorted, hidden files skipped).

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for a folder holding no audio.
    """
    from keras_audiosr.audio import AUDIO_EXTENSIONS

    out = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ValueError(f"{p}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def _cmd_evaluate(args) -> int:
    from keras_audiosr.baselines import get_baseline
    from keras_audiosr.evaluation import evaluate_files, format_table
    from keras_audiosr.inference import load_model
    from keras_audiosr.utils import write_json

    names = [] if args.baselines.strip().lower() in ("", "none") else [
        n.strip() for n in args.baselines.split(",") if n.strip()]
    for n in names:
        get_baseline(n)
    paths = expand_audio_paths(args.data)
    model = load_model(args.model)
    report = evaluate_files(model, paths, baselines=names, with_pesq=False if args.no_pesq else None,
                            plot_dir=args.plot, progress=not args.quiet, chunk=args.chunk, overlap=args.overlap)
    report["model_path"] = str(args.model)
    print(format_table(report))
    if args.json:
        write_json(args.json, report)
        print(f"wrote {args.json}")
    if args.plot:
        print(f"wrote {len(report['files'])} spectrogram(s) to {args.plot}")
    return 0


def _cmd_info(args) -> int:
    import json

    from keras_audiosr.degrade import Degradation
    from keras_audiosr.inference import load_model

    model = load_model(args.model)
    cfg = model.audio_config() if hasattr(model, "audio_config") else {
        "ratio": model.ratio, "lr_rate": model.lr_rate, "hr_rate": model.hr_rate, "degradation": model.degradation}
    facts = {"model": str(args.model), "class": type(model).__name__, "parameters": int(model.count_params()),
             **cfg, "degradation_text": Degradation.from_dict(cfg["degradation"]).describe(cfg["hr_rate"])}
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        width = max(len(k) for k in facts)
        for k, v in facts.items():
            print(f"{k:<{width}}  {v:,}" if k == "parameters" else f"{k:<{width}}  {v}")
    return 0


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from keras_audiosr.audio import AudioError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors: argparse has printed what it needs to
        return int(e.code) if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        return int(args.func(args) or 0)
    except (AudioError, FileNotFoundError, ValueError, ImportError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {e.filename + ': ' if getattr(e, 'filename', None) else ''}{e.strerror or e}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
