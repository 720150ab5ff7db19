"""``keras-audiosr evaluate``: score a model and the sinc and spline baselines under several input degradations."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_audiosr.audio import AUDIO_EXTENSIONS
from keras_audiosr.baselines import BASELINES, get_baseline
from keras_audiosr.cli.common import (
    PROG,
    Formatter,
    add_chunking,
    add_common,
    expand_audio_paths,
    non_negative_int,
    resolve_model,
    start_tensorflow,
)
from keras_audiosr.degrade import DEGRADATION_SETS
from keras_audiosr.evaluation import (
    check_degradation_names,
    evaluate_suite,
    format_suite,
    format_suite_markdown,
    resolve_degradations,
)
from keras_audiosr.metrics import perceptual_available
from keras_audiosr.utils import check_writable, write_json, write_text_atomic


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``evaluate`` subcommand's parser, added to ``subparsers``."""
    exts = ", ".join(AUDIO_EXTENSIONS)
    p = subparsers.add_parser(
        "evaluate",
        formatter_class=Formatter,
        help="score a model and the sinc and spline baselines under several input degradations",
        description="Treat each file as the high-rate reference: mix it to mono, resample it down to the model's\n"
        "high rate when above it, and for each input degradation make the low-rate input from it,\n"
        "upsample that input with the model and with each baseline, and report SNR and low-band SNR\n"
        "(dB), LSD and LSD-HF (log10 power), PESQ-WB, ViSQOL (audio mode at 48 kHz, speech mode)\n"
        "and DNSMOS P.808 (when the eval extra is installed) on average per degradation, as a table\n"
        "and optionally as JSON and markdown. Files are evaluated one at a time. Means leave out\n"
        "non-finite values (e.g. the SNR of a silent file) and say how many.\n\n"
        "Degradations (--degradations, comma-separated; default: own,resample,butter:4 and, for a\n"
        "model whose input is 8 kHz, telephone:mulaw):\n"
        "  own                  the model's training degradation (a set it was trained on is drawn\n"
        "                       per file with --seed; the report names each file's draw)\n"
        "  resample             scipy.signal.resample_poly's Kaiser-windowed sinc (how real files are\n"
        "                       made)\n"
        "  family:order[:cut]   an IIR low-pass: butter, cheby1, bessel, ellip (e.g. butter:4), or\n"
        "                       aliased\n"
        "  telephone[:mulaw|:alaw]  300-3400 Hz band-pass at 8 kHz, optionally G.711\n"
        "  codec:gsm|g726|opus|speex  a real narrow-band codec (8 kHz input; needs ffmpeg)\n"
        "  noise:SNR_DB[:pink|white]  background noise at a set SNR\n"
        f"  {', '.join(DEGRADATION_SETS)}  a named set, one member drawn per file\n\n"
        "A file below the model's high rate is an error. Degradation names, --json, --markdown and\n"
        "--plot are checked before any work.",
        epilog=f"example: {PROG} evaluate --model model.keras --data vctk/wav48/p360 --degradations own,resample "
        f"--json eval.json --markdown eval.md",
    )
    p.add_argument(
        "--model",
        "-m",
        required=True,
        metavar="M",
        help=f"a shipped model's name ('{PROG} models'), a .keras model saved by keras_audiosr, or a "
        f".tflite exported by '{PROG} export' (run by LiteRT, frame by frame)",
    )
    p.add_argument(
        "--data",
        "-d",
        required=True,
        nargs="+",
        metavar="DIR_OR_FILE",
        help=f"sound files, or folders searched recursively for {exts} files (sorted)",
    )
    p.add_argument(
        "--degradations",
        default=None,
        metavar="NAMES",
        help="comma-separated input degradations (see above; default: the model's default list)",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="seed of the per-file draws from a degradation set",
    )
    p.add_argument(
        "--json",
        metavar="OUT.json",
        default=None,
        help="also write the whole report (per degradation: per-file and mean metrics, excluded counts, "
        "draws) to this JSON file, atomically (default: table only)",
    )
    p.add_argument(
        "--markdown",
        metavar="OUT.md",
        default=None,
        help="also write the summary table (degradation x system x metric means) as markdown (default: none)",
    )
    p.add_argument("--per-file", action="store_true", help="also print each degradation's per-file table")
    p.add_argument(
        "--plot",
        metavar="DIR",
        default=None,
        help="write a spectrogram PNG per degradation and file (reference, low-rate input, baselines, "
        "model) into DIR/<degradation>/ (default: no pictures)",
    )
    p.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB")
    p.add_argument(
        "--no-perceptual",
        action="store_true",
        help="skip ViSQOL and DNSMOS P.808 (the slowest metrics: seconds per second of audio; default: "
        "computed when the eval extra is installed)",
    )
    p.add_argument(
        "--baselines",
        default="sinc,spline",
        metavar="NAMES",
        help=f"comma-separated baselines to compare with ({', '.join(BASELINES)}); 'none' for none",
    )
    add_chunking(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_common(p)
    p.set_defaults(func=run, needs_tensorflow=True)
    return p


def run(args) -> int:
    """Score the model and the baselines under each input degradation (every check first); returns the exit status."""
    degradations = None
    if args.degradations is not None:
        try:
            degradations = check_degradation_names(args.degradations)
        except ValueError as e:
            raise ValueError(f"--degradations: {e}") from None
    names = (
        []
        if args.baselines.strip().lower() in ("", "none")
        else [n.strip() for n in args.baselines.split(",") if n.strip()]
    )
    for n in names:
        get_baseline(n)
    paths = expand_audio_paths(args.data)
    for out in (args.json, args.markdown):
        if out:
            check_writable(out)
    if args.plot:
        check_writable(Path(args.plot) / "spectrogram.png")
    model_path, _ = resolve_model(args.model)
    if model_path.suffix.lower() == ".tflite":  # an exported stream, run by LiteRT: no TensorFlow
        from keras_audiosr.inference import StreamModel

        model = StreamModel.load(model_path, bool(getattr(args, "verbose", False)))
    else:
        start_tensorflow(args)
        from keras_audiosr.inference import load_model  # the Keras layer: after the checks

        model = load_model(model_path)
    inputs = resolve_degradations(model, degradations, seed=args.seed)  # rate and ratio checks before the work
    if not args.quiet:
        print(
            f"evaluating {len(paths)} file(s) under {len(inputs)} input degradation(s): "
            f"{', '.join(i.label for i in inputs)}",
            flush=True,
        )
    report = evaluate_suite(
        model,
        paths,
        degradations=degradations,
        baselines=names,
        with_pesq=False if args.no_pesq else None,
        plot_dir=args.plot,
        progress=not args.quiet,
        seed=args.seed,
        chunk=args.chunk,
        overlap=args.overlap,
        perceptual=False if args.no_perceptual else perceptual_available(),
    )
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
