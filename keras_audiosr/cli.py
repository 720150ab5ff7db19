"""The ``keras-audiosr`` command line: upsample, resample, degrade, evaluate, info.

Run ``keras-audiosr <command> --help`` for each command's options. Errors in the input (a missing
or unreadable file, a bad model, a wrong rate, an output that exists or cannot be written) print
``keras-audiosr: error: <file>: <problem>`` and exit with status 2, after checks that run before
any work; nothing is left half-written, also on Ctrl-C (status 130) or SIGTERM (status 143).

Start-up is fast: TensorFlow is imported only by the commands that run a model (upsample,
evaluate, info), with its start-up log lines hidden unless ``--verbose``. Python warnings print as
one line, ``keras-audiosr: warning: <message>``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
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


def _add_common(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's default must not overwrite a --verbose given before the subcommand.
    p.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS,
                   help="show TensorFlow's start-up log lines (hidden by default)")


_SUBTYPE_HELP = ("output sample format, e.g. PCM_16, PCM_24, FLOAT (default: the input's where the output format "
                 "allows it, else PCM_16); integer formats clip samples beyond full scale, with one warning")


def build_parser() -> argparse.ArgumentParser:
    from keras_audiosr import __version__
    from keras_audiosr.audio import AUDIO_EXTENSIONS, RESAMPLE_QUALITIES
    from keras_audiosr.baselines import BASELINES
    from keras_audiosr.degrade import DEGRADATION_SETS, FILTER_FAMILIES

    exts = ", ".join(AUDIO_EXTENSIONS)
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description="Neural audio super-resolution (bandwidth extension) with Keras models saved by keras_audiosr.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of each command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show TensorFlow's start-up log lines (hidden by default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "upsample", formatter_class=_Formatter, help="upsample sound files with a trained model",
        description="Upsample sound files with a trained model and write them at the model's high rate.\n\n"
                    "  upsample IN OUT             one file to one file\n"
                    "  upsample IN... OUTDIR       several files and/or folders into a folder\n\n"
                    "A folder given as IN is searched recursively for sound files, and each one is written at its\n"
                    "path relative to that folder under OUTDIR (files given directly go to OUTDIR/NAME). OUT is a\n"
                    "folder when there are several inputs, an input is a folder, OUT is an existing folder, or OUT\n"
                    "ends with '/'. Existing outputs are refused unless --overwrite; inputs and outputs are all\n"
                    "checked before any work. One progress bar covers all files.\n\n"
                    "Inputs should be at the model's low rate; a file at any other rate is first resampled to it\n"
                    "(high quality, with a notice). Any length is processed in overlapping, cross-faded chunks, so\n"
                    "memory stays bounded; channels are upsampled one by one. Every output is written atomically.",
        epilog=f"examples:\n  {PROG} upsample speech_8k.wav speech_16k.wav --model runs/unet/model.keras\n"
               f"  {PROG} upsample recordings_8k/ extra.wav out_16k/ --model runs/unet/model.keras")
    p.add_argument("inputs", nargs="+", metavar="IN", help=f"sound file or folder to upsample ({exts})")
    p.add_argument("output", metavar="OUT",
                   help=f"output file (its extension picks the format: {exts}) or folder")
    p.add_argument("--model", "-m", required=True, metavar="M.keras", help="trained model saved by keras_audiosr")
    _add_chunking(p)
    p.add_argument("--subtype", default=None, help=_SUBTYPE_HELP)
    p.add_argument("--fade", choices=("cosine", "linear"), default="cosine", help="cross-fade shape between chunks")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist (default: refuse)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_common(p)
    p.set_defaults(func=_cmd_upsample, needs_tensorflow=True)

    p = sub.add_parser(
        "resample", formatter_class=_Formatter, help="change a sound file's sample rate (any rate to any rate)",
        description="Resample IN to --rate Hz with a polyphase Kaiser-windowed sinc filter and write OUT.\n\n"
                    "'high' quality keeps the band flat to 90 % of the lower Nyquist frequency and suppresses\n"
                    "everything from that Nyquist frequency on by at least 100 dB, so nothing folds back (unlike\n"
                    "'degrade', which makes training inputs with a training filter). Channels are kept. The whole\n"
                    "file is read into memory. OUT is written atomically.",
        epilog=f"example: {PROG} resample speech_48k.wav speech_16k.wav --rate 16000")
    p.add_argument("input", metavar="IN", help="sound file")
    p.add_argument("output", metavar="OUT", help=f"output file ({exts})")
    p.add_argument("--rate", "-r", type=_positive_int, required=True, metavar="HZ", help="output sample rate in Hz")
    p.add_argument("--quality", choices=RESAMPLE_QUALITIES, default="high",
                   help="'high': flat to 0.9 x Nyquist, >= 100 dB stop band; 'standard': scipy's resample_poly "
                        "defaults (-0.7 dB at 0.9 x Nyquist, about 22 dB against aliasing just above it)")
    p.add_argument("--subtype", default=None, help=_SUBTYPE_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    _add_common(p)
    p.set_defaults(func=_cmd_resample, needs_tensorflow=False)

    p = sub.add_parser(
        "degrade", formatter_class=_Formatter, help="make a low-rate file from a high-rate one, as training does",
        description="Low-pass IN with the anti-alias filter and keep every R-th sample, exactly as the\n"
                    "training inputs are made, and write OUT at rate/R. The input is trimmed to a multiple of R\n"
                    "samples first (as in training), so upsampling OUT by R gives back the trimmed length.\n"
                    "Each channel is degraded separately. The whole file is read into memory. To change a rate\n"
                    f"cleanly instead, use '{PROG} resample'.",
        epilog=f"filters: FAMILY[:ORDER[:CUTOFF]] with FAMILY one of {', '.join(FILTER_FAMILIES)}; CUTOFF is a\n"
               f"fraction of the low-rate Nyquist frequency (defaults: cheby1 0.8, others 1.0); or 'aliased'\n"
               f"for no filter at all (needs --aliased-ok).\n"
               f"example: {PROG} degrade speech_16k.wav speech_8k.wav --ratio 2 --filter cheby1:8")
    p.add_argument("input", metavar="IN", help="high-rate sound file")
    p.add_argument("output", metavar="OUT", help=f"output file ({exts})")
    p.add_argument("--ratio", "-r", type=_positive_int, required=True, metavar="R",
                   help="decimation ratio (integer >= 2 that divides IN's sample rate)")
    p.add_argument("--filter", "-f", default="cheby1:8", metavar="FAMILY:ORDER",
                   help="anti-alias low-pass filter (cheby1:8 is scipy.signal.decimate's, used by Kuleshov et al.)")
    p.add_argument("--causal", action="store_true",
                   help="filter causally (delayed, as a real-time system) instead of zero-phase forward-backward")
    p.add_argument("--aliased-ok", action="store_true",
                   help="allow --filter aliased: decimate with no anti-alias filter, folding the band above the new "
                        "Nyquist frequency back into the signal")
    p.add_argument("--subtype", default=None, help=_SUBTYPE_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    _add_common(p)
    p.set_defaults(func=_cmd_degrade, needs_tensorflow=False)

    p = sub.add_parser(
        "evaluate", formatter_class=_Formatter,
        help="score a model and the sinc and spline baselines under several input degradations",
        description="Treat each file as the high-rate reference: mix it to mono, resample it down to the model's\n"
                    "high rate when above it, and for each input degradation make the low-rate input from it,\n"
                    "upsample that input with the model and with each baseline, and report SNR and low-band SNR\n"
                    "(dB), LSD and LSD-HF (log10 power) and PESQ-WB (when the pesq package is installed) on\n"
                    "average per degradation, as a table and optionally as JSON and markdown. Files are\n"
                    "evaluated one at a time. Means leave out non-finite values (e.g. the SNR of a silent file)\n"
                    "and say how many.\n\n"
                    "Degradations (--degradations, comma-separated; default: own,resample,butter:4 and, for a\n"
                    "model whose input is 8 kHz, telephone:mulaw):\n"
                    "  own                  the model's training degradation (a set it was trained on is drawn\n"
                    "                       per file with --seed; the report names each file's draw)\n"
                    "  resample             scipy.signal.resample_poly's Kaiser-windowed sinc (how real files are made)\n"
                    "  family:order[:cut]   an IIR low-pass: butter, cheby1, bessel, ellip (e.g. butter:4), or aliased\n"
                    "  telephone[:mulaw|:alaw]  300-3400 Hz band-pass at 8 kHz, optionally G.711\n"
                    f"  {', '.join(DEGRADATION_SETS)}  a named set, one member drawn per file\n\n"
                    "A file below the model's high rate is an error. Degradation names, --json, --markdown and\n"
                    "--plot are checked before any work.",
        epilog=f"example: {PROG} evaluate --model model.keras --data vctk/wav48/p360 --degradations own,resample "
               f"--json eval.json --markdown eval.md")
    p.add_argument("--model", "-m", required=True, metavar="M.keras", help="trained model saved by keras_audiosr")
    p.add_argument("--data", "-d", required=True, nargs="+", metavar="DIR_OR_FILE",
                   help=f"sound files, or folders searched recursively for {exts} files (sorted)")
    p.add_argument("--degradations", default=None, metavar="NAMES",
                   help="comma-separated input degradations (see above; default: the model's default list)")
    p.add_argument("--seed", type=_non_negative_int, default=0, metavar="N",
                   help="seed of the per-file draws from a degradation set")
    p.add_argument("--json", metavar="OUT.json", default=None,
                   help="also write the whole report (per degradation: per-file and mean metrics, excluded counts, "
                        "draws) to this JSON file, atomically (default: table only)")
    p.add_argument("--markdown", metavar="OUT.md", default=None,
                   help="also write the summary table (degradation x system x metric means) as markdown (default: none)")
    p.add_argument("--per-file", action="store_true", help="also print each degradation's per-file table")
    p.add_argument("--plot", metavar="DIR", default=None,
                   help="write a spectrogram PNG per degradation and file (reference, low-rate input, baselines, "
                        "model) into DIR/<degradation>/ (default: no pictures)")
    p.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB (it is the slowest metric)")
    p.add_argument("--baselines", default="sinc,spline", metavar="NAMES",
                   help=f"comma-separated baselines to compare with ({', '.join(BASELINES)}); 'none' for none")
    _add_chunking(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_common(p)
    p.set_defaults(func=_cmd_evaluate, needs_tensorflow=True)

    p = sub.add_parser("info", formatter_class=_Formatter, help="show a saved model's rates, degradation and size",
                       description="Print what a saved model takes and returns: its ratio, low and high sample\n"
                                   "rates, the degradation its training inputs were made with, and its size.")
    p.add_argument("--model", "-m", required=True, metavar="M.keras", help="model saved by keras_audiosr")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    _add_common(p)
    p.set_defaults(func=_cmd_info, needs_tensorflow=True)
    return parser


def _check_output_extension(path: Path) -> None:
    from keras_audiosr.audio import AUDIO_EXTENSIONS, AudioError

    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(f"{path}: unsupported output extension {path.suffix!r}; use one of "
                         f"{', '.join(AUDIO_EXTENSIONS)}")


def _check_audio_output(path: Path, overwrite: bool) -> None:
    """An audio output path: known extension, absent unless ``overwrite``, in a writable place."""
    from keras_audiosr.utils import check_writable

    _check_output_extension(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass --overwrite to replace it")
    check_writable(path)


def _require_model(path) -> None:
    """Fail fast, before TensorFlow starts, on a model path that does not exist."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: model file not found")


def _require_file(path: Path) -> None:
    from keras_audiosr.audio import AudioError

    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def _upsample_pairs(inputs: list[str], output: str) -> tuple[list[tuple[Path, Path]], bool]:
    """``(in, out)`` pairs for ``upsample`` and whether OUT is a folder (see the command's description)."""
    from keras_audiosr.audio import AUDIO_EXTENSIONS

    out = Path(output)
    ins = [Path(i) for i in inputs]
    to_folder = (len(ins) > 1 or any(i.is_dir() for i in ins) or out.is_dir() or output.endswith(("/", os.sep))
                 or (out.suffix == "" and not out.exists()))
    if not to_folder:
        return [(ins[0], out)], False
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder; with several inputs or a folder, OUT is a folder")
    if out.suffix.lower() in AUDIO_EXTENSIONS and not out.is_dir():
        raise ValueError(f"{out}: looks like a sound file, but with several inputs or a folder OUT is a folder "
                         f"(end it with '/' if you mean a folder of that name)")
    pairs = []
    for item in ins:
        if item.is_dir():
            pairs += [(f, out / f.relative_to(item)) for f in expand_audio_paths([item])]
        else:
            _require_file(item)
            pairs.append((item, out / item.name))
    return pairs, True


def _cmd_upsample(args) -> int:
    from keras_audiosr.inference import check_pairs, upsample_files
    from keras_audiosr.utils import check_writable

    pairs, to_folder = _upsample_pairs(args.inputs, args.output)
    for _, dst in pairs:
        _check_output_extension(dst)
    check_pairs(pairs, overwrite=args.overwrite)
    for dst in {dst.parent: dst for _, dst in pairs}.values():
        check_writable(dst)
    _require_model(args.model)
    _start_tensorflow(args)
    from keras_audiosr.models.saving import load_model

    model = load_model(args.model)
    results = upsample_files(model, pairs, overwrite=args.overwrite, progress=not args.quiet, chunk=args.chunk,
                             overlap=args.overlap, batch_size=args.batch_size, subtype=args.subtype, fade=args.fade)
    if not to_folder:
        info = results[0]
        print(f"wrote {info['out']}: {info['seconds']:.2f} s at {info['out_rate']} Hz, {info['channels']} channel(s), "
              f"in {info['elapsed']:.1f} s")
    else:
        seconds = sum(r["seconds"] for r in results)
        elapsed = sum(r["elapsed"] for r in results)
        print(f"wrote {len(results)} file(s) under {args.output}: {seconds:.2f} s of audio at {model.hr_rate} Hz, "
              f"in {elapsed:.1f} s")
    return 0


def _cmd_resample(args) -> int:
    import soundfile as sf

    from keras_audiosr.audio import output_subtype, read_audio, resample, write_audio

    src, dst = Path(args.input), Path(args.output)
    _require_file(src)
    _check_audio_output(dst, args.overwrite)
    data, rate = read_audio(src)
    y = resample(data, rate, args.rate, axis=0, quality=args.quality)
    write_audio(dst, y, args.rate, subtype=output_subtype(dst, sf.info(str(src)).subtype, args.subtype))
    print(f"wrote {dst}: {len(y) / args.rate:.2f} s at {args.rate} Hz, {y.shape[1]} channel(s); resampled from "
          f"{rate} Hz ({args.quality} quality)")
    return 0


def _cmd_degrade(args) -> int:
    import soundfile as sf

    from keras_audiosr.audio import AudioError, output_subtype, read_audio, write_audio
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
    _require_file(src)
    _check_audio_output(dst, args.overwrite)
    data, rate = read_audio(src)
    if rate % args.ratio:
        raise AudioError(f"{src}: sample rate {rate} Hz is not divisible by ratio {args.ratio}")
    x = trim_to_multiple(data, args.ratio)
    try:
        low = deg(x, axis=0)
    except ValueError as e:
        raise AudioError(f"{src}: {e}") from e
    write_audio(dst, low, rate // args.ratio, subtype=output_subtype(dst, sf.info(str(src)).subtype, args.subtype))
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
    from keras_audiosr.evaluation import check_degradation_names
    from keras_audiosr.utils import check_writable

    degradations = None
    if args.degradations is not None:
        try:
            degradations = check_degradation_names(args.degradations)
        except ValueError as e:
            raise ValueError(f"--degradations: {e}") from None
    names = [] if args.baselines.strip().lower() in ("", "none") else [
        n.strip() for n in args.baselines.split(",") if n.strip()]
    for n in names:
        get_baseline(n)
    paths = expand_audio_paths(args.data)
    for out in (args.json, args.markdown):
        if out:
            check_writable(out)
    if args.plot:
        check_writable(Path(args.plot) / "spectrogram.png")
    _require_model(args.model)
    _start_tensorflow(args)
    from keras_audiosr.evaluation import evaluate_suite, format_suite, format_suite_markdown, resolve_degradations
    from keras_audiosr.inference import load_model
    from keras_audiosr.utils import write_json, write_text_atomic

    model = load_model(args.model)
    inputs = resolve_degradations(model, degradations, seed=args.seed)  # rate and ratio checks before the work
    if not args.quiet:
        print(f"evaluating {len(paths)} file(s) under {len(inputs)} input degradation(s): "
              f"{', '.join(i.label for i in inputs)}", flush=True)
    report = evaluate_suite(model, paths, degradations=degradations, baselines=names,
                            with_pesq=False if args.no_pesq else None, plot_dir=args.plot, progress=not args.quiet,
                            seed=args.seed, chunk=args.chunk, overlap=args.overlap)
    report["model_path"] = str(args.model)
    print(format_suite(report, per_file=args.per_file))
    if args.json:
        write_json(args.json, report)
        print(f"wrote {args.json}")
    if args.markdown:
        write_text_atomic(args.markdown, format_suite_markdown(report) + "\n")
        print(f"wrote {args.markdown}")
    if args.plot:
        n = sum(len(r["files"]) for r in report["degradations"].values())
        print(f"wrote {n} spectrogram(s) to {args.plot}")
    return 0


def _cmd_info(args) -> int:
    import json

    from keras_audiosr.degrade import Degradation

    _require_model(args.model)
    _start_tensorflow(args)
    from keras_audiosr.models.saving import load_model

    model = load_model(args.model)
    cfg = model.audio_config() if hasattr(model, "audio_config") else {
        "ratio": model.ratio, "lr_rate": model.lr_rate, "hr_rate": model.hr_rate, "degradation": model.degradation}
    facts = {"model": str(args.model), "class": type(model).__name__, "parameters": int(model.count_params()),
             **cfg, "degradation_text": Degradation.from_dict(cfg["degradation"]).describe(cfg["hr_rate"])}
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    lines = [("model", facts["model"]), ("class", facts["class"]), ("parameters", f"{facts['parameters']:,}"),
             ("input", f"{facts['lr_rate']} Hz"), ("output", f"{facts['hr_rate']} Hz (ratio {facts['ratio']})"),
             ("trained on inputs made by", facts["degradation_text"])]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k + ':':<{width + 1}}  {v}")
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every writer's cleanup runs, as for Ctrl-C."""


def _start_tensorflow(args) -> None:
    from keras_audiosr.utils import quiet_tensorflow

    quiet_tensorflow(verbose=bool(getattr(args, "verbose", False)), init_runtime=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr if file is None else file)


@contextlib.contextmanager
def _command_context():
    """For the duration of a command: one-line warnings, and SIGTERM raising :class:`Terminated`."""
    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
        raise Terminated()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_sigterm) if main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            yield
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _error_text(e: BaseException) -> str:
    """``FILE: reason`` for an ``OSError`` that carries both, else the exception's own message."""
    if isinstance(e, OSError) and e.filename and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e)


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from keras_audiosr.audio import AudioError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors: argparse has printed what it needs to
        return int(e.code) if isinstance(e.code, int) else (0 if e.code is None else 2)
    with _command_context():
        try:
            return int(args.func(args) or 0)
        except (AudioError, ValueError, ImportError, OSError) as e:
            print(f"{PROG}: error: {_error_text(e)}", file=sys.stderr)
            return 2
        except Terminated:
            print(f"{PROG}: terminated", file=sys.stderr)
            return 143
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
