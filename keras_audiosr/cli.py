"""The ``keras-audiosr`` command line: upsample, models, resample, degrade, evaluate, info.

Run ``keras-audiosr <command> --help`` for each command's options. Errors in the input (a missing
or unreadable file, a bad model, a wrong rate, an output that exists or cannot be written) print
``keras-audiosr: error: <file>: <problem>`` and exit with status 2, after checks that run before
any work; nothing is left half-written, also on Ctrl-C (status 130) or SIGTERM (status 143).

Start-up is fast: TensorFlow is imported only by the commands that run a Keras model (upsample,
evaluate, info; not ``upsample --tflite``, which runs LiteRT), with its start-up log lines hidden
unless ``--verbose``. Python warnings print as
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
        "upsample", formatter_class=_Formatter, help="upsample sound files with a shipped or trained model",
        description="Upsample sound files with a model and write them at the model's high rate.\n\n"
                    "  upsample IN OUT             one file to one file\n"
                    "  upsample IN... OUTDIR       several files and/or folders into a folder\n\n"
                    "With no --model, each input gets the shipped model for its sample rate (see\n"
                    f"'{PROG} models'; --to picks the output rate when several fit), so inputs at different\n"
                    "rates may use different models; an input whose rate no shipped model takes is an error\n"
                    "before any work. The chosen model is named on stderr. --model takes a shipped model's\n"
                    "name, a .keras file, or a stateful streaming .tflite exported by edge.convert.\n\n"
                    "A folder given as IN is searched recursively for sound files, and each one is written at its\n"
                    "path relative to that folder under OUTDIR (files given directly go to OUTDIR/NAME). OUT is a\n"
                    "folder when there are several inputs, an input is a folder, OUT is an existing folder, or OUT\n"
                    "ends with '/'. Existing outputs are refused unless --overwrite; inputs and outputs are all\n"
                    "checked before any work. One progress bar covers all files.\n\n"
                    "With --model, inputs should be at the model's low rate; a file at any other rate is first\n"
                    "resampled to it (high quality, with a notice). Any length is processed in overlapping,\n"
                    "cross-faded chunks (a .tflite: streamed frame by frame with its states), so memory stays\n"
                    "bounded; channels are upsampled one by one. Every output is written atomically.",
        epilog=f"examples:\n  {PROG} upsample speech_8k.wav speech_16k.wav\n"
               f"  {PROG} upsample speech_16k.wav speech_48k.wav --to 48000 --tflite\n"
               f"  {PROG} upsample recordings_8k/ extra.wav out_16k/ --model runs/unet/model.keras")
    p.add_argument("inputs", nargs="+", metavar="IN", help=f"sound file or folder to upsample ({exts})")
    p.add_argument("output", metavar="OUT",
                   help=f"output file (its extension picks the format: {exts}) or folder")
    p.add_argument("--model", "-m", default=None, metavar="M",
                   help=f"a shipped model's name ('{PROG} models'), a .keras model saved by keras_audiosr, or a "
                        "stateful streaming .tflite exported by edge.convert (default: the shipped model for each "
                        "input's sample rate)")
    p.add_argument("--to", type=_positive_int, default=None, metavar="HZ",
                   help="output rate, e.g. 16000 or 48000: picks among the shipped models for the input's rate "
                        "(default: the lowest they offer); with --model, checked against the model's")
    p.add_argument("--tflite", action="store_true",
                   help="run the shipped model's int8 streaming .tflite through LiteRT (needs ai-edge-litert) "
                        "instead of its Keras form")
    _add_chunking(p)
    p.add_argument("--subtype", default=None, help=_SUBTYPE_HELP)
    p.add_argument("--fade", choices=("cosine", "linear"), default="cosine", help="cross-fade shape between chunks")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist (default: refuse)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_common(p)
    p.set_defaults(func=_cmd_upsample, needs_tensorflow=True)

    p = sub.add_parser(
        "models", formatter_class=_Formatter, help="list the models shipped with the package",
        description="List the models shipped inside the package: name, rates (in -> out Hz), size on disk,\n"
                    "parameters, and the headline metrics of the model card (PESQ-WB and SNR of the model\n"
                    "beside the sinc baseline, under the sinc-resampler input degradation). Use a name with\n"
                    f"'{PROG} upsample --model NAME' or '{PROG} info --model NAME'; upsample without --model\n"
                    "picks one by the input's rate.",
        epilog=f"example: {PROG} models --json")
    p.add_argument("--json", action="store_true", help="print every card's facts as JSON")
    _add_common(p)
    p.set_defaults(func=_cmd_models, needs_tensorflow=False)

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
    p.add_argument("--model", "-m", required=True, metavar="M",
                   help=f"a shipped model's name ('{PROG} models') or a .keras model saved by keras_audiosr")
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

    p = sub.add_parser("info", formatter_class=_Formatter, help="show a model's rates, degradation and size",
                       description="Print what a saved or shipped model takes and returns: its ratio, low and high\n"
                                   "sample rates, the degradation its training inputs were made with, and its size\n"
                                   "(for a shipped model also its description, files and model card).")
    p.add_argument("--model", "-m", required=True, metavar="M",
                   help=f"a shipped model's name ('{PROG} models') or a .keras model saved by keras_audiosr")
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


def _check_not_input(src: Path, dst: Path) -> None:
    """Refuse an output that is the input file itself, however spelled (``./IN``, a symlink, a hard link)."""
    if dst.exists() and os.path.samefile(src, dst):
        raise ValueError(f"{dst}: output would replace the input file {src}")


def _resolve_model(text):
    """``(path, ModelInfo or None)`` of a ``--model`` value (a file, or a shipped model's name), before
    TensorFlow starts; :class:`~keras_audiosr.pretrained.PretrainedError` naming it when it is neither."""
    from keras_audiosr import pretrained

    return pretrained.resolve(text)


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


def _upsample_sources(args, pairs, infos) -> list[tuple[str, Path, object]]:
    """``(kind, path, card)`` per pair: ``kind`` is ``"keras"`` or ``"tflite"``; ``card`` the shipped model's
    :class:`~keras_audiosr.pretrained.ModelInfo` (None for a user's file). Every check, no loading."""
    from keras_audiosr import pretrained

    if args.model is not None:
        path, card = _resolve_model(args.model)
        if path.suffix.lower() == ".tflite":
            return [("tflite", path, None)] * len(pairs)
        if args.tflite:
            if card is None:
                raise ValueError(f"{path}: --tflite runs a shipped model's int8 streaming .tflite; for a model of "
                                 f"your own, export it ('python -m edge.convert --model {path} --mode int8 "
                                 f"--streaming --out DIR') and pass that .tflite as --model")
            path = pretrained.tflite_path(card.name, "int8")
        if card is not None and args.to is not None and card.hr_rate != args.to:
            raise ValueError(f"--to {args.to}: shipped model {card.name!r} upsamples {card.lr_rate} -> "
                             f"{card.hr_rate} Hz")
        return [("tflite" if args.tflite else "keras", path, card)] * len(pairs)
    chosen = {}
    for (src, _), info in zip(pairs, infos):
        rate = int(info.samplerate)
        if rate not in chosen:
            try:
                chosen[rate] = pretrained.info(pretrained.for_rate(rate, args.to))
            except pretrained.PretrainedError as e:
                raise pretrained.PretrainedError(f"{src}: {e}") from None
    out = []
    for info in infos:
        card = chosen[int(info.samplerate)]
        path = pretrained.tflite_path(card.name, "int8") if args.tflite else card.folder / card.keras_file
        out.append(("tflite" if args.tflite else "keras", path, card))
    return out


def _load_streamer(path: Path, verbose: bool = False):
    """A frame streamer over the ``.tflite`` at ``path`` (LiteRT, no TensorFlow), for
    :func:`keras_audiosr.inference.upsample_files`; the runtime's start-up line hidden unless ``verbose``."""
    from keras_audiosr.utils import quiet_native_stderr

    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        raise ImportError(f"{path}: running a .tflite needs the LiteRT runtime: pip install ai-edge-litert "
                          f"(or keras-audiosr[edge])") from None
    from keras_audiosr.streaming import StreamingUpsampler

    with quiet_native_stderr(verbose):
        return StreamingUpsampler.from_tflite(path)


def _cmd_upsample(args) -> int:
    from keras_audiosr.inference import check_pairs, upsample_files
    from keras_audiosr.utils import check_writable

    pairs, to_folder = _upsample_pairs(args.inputs, args.output)
    for _, dst in pairs:
        _check_output_extension(dst)
    infos = check_pairs(pairs, overwrite=args.overwrite)
    for dst in {dst.parent: dst for _, dst in pairs}.values():
        check_writable(dst)
    sources = _upsample_sources(args, pairs, infos)
    distinct = {}
    for kind, path, card in sources:
        distinct.setdefault((kind, path), card)
    for (kind, path), card in distinct.items():
        if card is not None:
            n = sum(1 for s in sources if s[:2] == (kind, path))
            which = pairs[0][0] if len(pairs) == 1 else f"{n} file(s) at {card.lr_rate} Hz"
            form = "int8 streaming .tflite, LiteRT" if kind == "tflite" else "Keras"
            print(f"model: {card.name} ({card.lr_rate} -> {card.hr_rate} Hz, {form}) for {which}", file=sys.stderr)
    loaded = {path: _load_streamer(path, bool(getattr(args, "verbose", False)))
              for kind, path in distinct if kind == "tflite"}
    if any(kind == "keras" for kind, _ in distinct):
        _start_tensorflow(args)
        from keras_audiosr.models.saving import load_model

        loaded.update({path: load_model(path) for kind, path in distinct if kind == "keras"})
    if args.to is not None:
        for path, m in loaded.items():
            hr = int(m.plan.lr_rate * m.plan.ratio) if hasattr(m, "plan") else int(m.hr_rate)
            if hr != args.to:
                raise ValueError(f"--to {args.to}: {path} upsamples to {hr} Hz")
    models = [loaded[path] for _, path, _ in sources]
    results = upsample_files(models, pairs, overwrite=args.overwrite, progress=not args.quiet, chunk=args.chunk,
                             overlap=args.overlap, batch_size=args.batch_size, subtype=args.subtype, fade=args.fade)
    if not to_folder:
        info = results[0]
        print(f"wrote {info['out']}: {info['seconds']:.2f} s at {info['out_rate']} Hz, {info['channels']} channel(s), "
              f"in {info['elapsed']:.1f} s")
    else:
        seconds = sum(r["seconds"] for r in results)
        elapsed = sum(r["elapsed"] for r in results)
        rates = "/".join(str(r) for r in sorted({r["out_rate"] for r in results}))
        print(f"wrote {len(results)} file(s) under {args.output}: {seconds:.2f} s of audio at {rates} Hz, "
              f"in {elapsed:.1f} s")
    return 0


def _headline(metrics: dict) -> str:
    """One line of a card's headline metrics: PESQ-WB and SNR of the model beside sinc under the sinc-resampler
    input (``metrics[degradation][system][metric]``, the evaluation suite's means), else its flat numbers."""
    def num(v, digits):
        return f"{v:.{digits}f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)

    if not metrics:
        return ""
    nested = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    if nested:
        deg = "resample" if "resample" in nested else next(iter(nested))
        systems = nested[deg]
        if all(isinstance(v, dict) for v in systems.values()):
            model = systems.get("model") or next(iter(systems.values()), {})
            others = [s for s in ("model_int8", "int8", "sinc") if isinstance(systems.get(s), dict)]
            parts = []
            for key, label, digits, unit in (("pesq", "PESQ-WB", 2, ""), ("snr", "SNR", 1, " dB")):
                if key in model:
                    extra = ", ".join(f"{'int8' if 'int8' in s else s} {num(systems[s][key], digits)}"
                                      for s in others if key in systems[s])
                    parts.append(f"{label} {num(model[key], digits)}{unit}" + (f" ({extra})" if extra else ""))
            if parts:
                return f"{', '.join(parts)}; {deg} input"
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    return ", ".join(f"{k} {num(v, 2)}" for k, v in flat.items())


def _cmd_models(args) -> int:
    import json

    from keras_audiosr import pretrained

    models = pretrained.list()
    if args.json:
        print(json.dumps([{"name": m.name, "lr_rate": m.lr_rate, "hr_rate": m.hr_rate, "ratio": m.ratio,
                           "description": m.description, "size_bytes": m.size_bytes,
                           "parameters": m.facts.get("parameters"), "folder": str(m.folder),
                           "keras": m.keras_file, "tflite": m.tflite, "metrics": m.metrics,
                           "facts": m.facts} for m in models], indent=2))
        return 0
    if not models:
        print(f"no models ship with this installation (looked in {pretrained.models_dir()}); train one with a "
              f"recipe and pass it as --model M.keras")
        return 0
    print(f"{len(models)} shipped model(s), in {pretrained.models_dir()}:")
    width = max(len(m.name) for m in models)
    for m in models:
        params = m.facts.get("parameters")
        cols = [f"{m.lr_rate} -> {m.hr_rate} Hz", f"{m.size_bytes / 1e6:.1f} MB"]
        if isinstance(params, (int, float)):
            cols.append(f"{int(params):,} parameters")
        print(f"  {m.name:<{width}}  " + ",  ".join(cols))
        for line in (m.description, _headline(m.metrics)):
            if line:
                print(f"  {'':<{width}}  {line}")
    return 0


def _cmd_resample(args) -> int:
    import soundfile as sf

    from keras_audiosr.audio import check_output_format, output_subtype, read_audio, resample, write_audio

    src, dst = Path(args.input), Path(args.output)
    _require_file(src)
    _check_not_input(src, dst)
    _check_audio_output(dst, args.overwrite)
    data, rate = read_audio(src)
    subtype = output_subtype(dst, sf.info(str(src)).subtype, args.subtype)
    check_output_format(dst, subtype)
    y = resample(data, rate, args.rate, axis=0, quality=args.quality)
    write_audio(dst, y, args.rate, subtype=subtype)
    print(f"wrote {dst}: {len(y) / args.rate:.2f} s at {args.rate} Hz, {y.shape[1]} channel(s); resampled from "
          f"{rate} Hz ({args.quality} quality)")
    return 0


def _cmd_degrade(args) -> int:
    import soundfile as sf

    from keras_audiosr.audio import AudioError, check_output_format, output_subtype, read_audio, write_audio
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
    _check_not_input(src, dst)
    _check_audio_output(dst, args.overwrite)
    data, rate = read_audio(src)
    if rate % args.ratio:
        raise AudioError(f"{src}: sample rate {rate} Hz is not divisible by ratio {args.ratio}")
    subtype = output_subtype(dst, sf.info(str(src)).subtype, args.subtype)
    check_output_format(dst, subtype)
    x = trim_to_multiple(data, args.ratio)
    try:
        low = deg(x, axis=0)
    except ValueError as e:
        raise AudioError(f"{src}: {e}") from e
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
    model_path, _ = _resolve_model(args.model)
    _start_tensorflow(args)
    from keras_audiosr.evaluation import evaluate_suite, format_suite, format_suite_markdown, resolve_degradations
    from keras_audiosr.inference import load_model
    from keras_audiosr.utils import write_json, write_text_atomic

    model = load_model(model_path)
    inputs = resolve_degradations(model, degradations, seed=args.seed)  # rate and ratio checks before the work
    if not args.quiet:
        print(f"evaluating {len(paths)} file(s) under {len(inputs)} input degradation(s): "
              f"{', '.join(i.label for i in inputs)}", flush=True)
    report = evaluate_suite(model, paths, degradations=degradations, baselines=names,
                            with_pesq=False if args.no_pesq else None, plot_dir=args.plot, progress=not args.quiet,
                            seed=args.seed, chunk=args.chunk, overlap=args.overlap)
    report["model_path"] = str(model_path)
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

    path, card = _resolve_model(args.model)
    _start_tensorflow(args)
    from keras_audiosr.models.saving import load_model

    model = load_model(path)
    cfg = model.audio_config() if hasattr(model, "audio_config") else {
        "ratio": model.ratio, "lr_rate": model.lr_rate, "hr_rate": model.hr_rate, "degradation": model.degradation}
    facts = {"model": str(path), "class": type(model).__name__, "parameters": int(model.count_params()),
             **cfg, "degradation_text": Degradation.from_dict(cfg["degradation"]).describe(cfg["hr_rate"])}
    if card is not None:
        facts["shipped"] = {"name": card.name, "description": card.description,
                            "tflite": {k: str(card.folder / v) for k, v in card.tflite.items()},
                            "card": str(card.folder / "MODEL_CARD.md"), "size_bytes": card.size_bytes,
                            "metrics": card.metrics}
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    lines = [("model", facts["model"]), ("class", facts["class"]), ("parameters", f"{facts['parameters']:,}"),
             ("input", f"{facts['lr_rate']} Hz"), ("output", f"{facts['hr_rate']} Hz (ratio {facts['ratio']})"),
             ("trained on inputs made by", facts["degradation_text"])]
    if card is not None:
        lines[:0] = [("shipped model", card.name + (f": {card.description}" if card.description else ""))]
        lines += [("streaming .tflite", ", ".join(f"{k} {v}" for k, v in facts["shipped"]["tflite"].items()) or "none"),
                  ("model card", facts["shipped"]["card"])]
        if _headline(card.metrics):
            lines.append(("headline metrics", _headline(card.metrics)))
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
            status = int(args.func(args) or 0)
            sys.stdout.flush()
            return status
        except BrokenPipeError:  # the reader went away (`keras-audiosr models | head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
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
