"""``keras-audiosr upsample``: upsample sound files with a shipped or trained model."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from keras_audiosr import pretrained
from keras_audiosr.audio import AUDIO_EXTENSIONS, check_output_format, output_subtype
from keras_audiosr.cli.common import (
    PROG,
    SUBTYPE_HELP,
    Formatter,
    add_chunking,
    add_common,
    check_output_extension,
    expand_audio_paths,
    positive_int,
    require_file,
    resolve_model,
    start_tensorflow,
)
from keras_audiosr.inference import check_pairs, upsample_files
from keras_audiosr.utils import check_writable, quiet_native_stderr


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``upsample`` subcommand's parser, added to ``subparsers``."""
    exts = ", ".join(AUDIO_EXTENSIONS)
    p = subparsers.add_parser(
        "upsample",
        formatter_class=Formatter,
        help="upsample sound files with a shipped or trained model",
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
        "ends with '/'. Existing outputs are refused unless --overwrite; into a folder, an output\n"
        "that is already complete (readable, not older than its input, the model's rate and length)\n"
        "is skipped, so rerunning a stopped run resumes it. Inputs and outputs are all checked before\n"
        "any work; --keep-going sets bad inputs aside instead, lists them at the end and exits 1.\n"
        "One progress bar covers all files.\n\n"
        "A shipped model runs as its int8 streaming .tflite through LiteRT by default (no TensorFlow\n"
        "needed); --keras runs its Keras form instead (needs TensorFlow: pip install\n"
        "'keras-audiosr[train]'). A .keras model of your own always runs through Keras.\n\n"
        "With --model, inputs should be at the model's low rate; a file at any other rate is first\n"
        "resampled to it (high quality, with a notice). Any length is processed in overlapping,\n"
        "cross-faded chunks (a .tflite: streamed frame by frame with its states), so memory stays\n"
        "bounded; channels are upsampled one by one. Every output is written atomically.",
        epilog=f"examples:\n  {PROG} upsample speech_8k.wav speech_16k.wav\n"
        f"  {PROG} upsample speech_16k.wav speech_48k.wav --to 48000 --keras\n"
        f"  {PROG} upsample recordings_8k/ extra.wav out_16k/ --model runs/unet/model.keras",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help=f"sound file or folder to upsample ({exts})")
    p.add_argument("output", metavar="OUT", help=f"output file (its extension picks the format: {exts}) or folder")
    p.add_argument(
        "--model",
        "-m",
        default=None,
        metavar="M",
        help=f"a shipped model's name ('{PROG} models'), a .keras model saved by keras_audiosr, or a "
        "stateful streaming .tflite exported by edge.convert (default: the shipped model for each "
        "input's sample rate)",
    )
    p.add_argument(
        "--to",
        type=positive_int,
        default=None,
        metavar="HZ",
        help="output rate, e.g. 16000 or 48000: picks among the shipped models for the input's rate "
        "(default: the lowest they offer); with --model, checked against the model's",
    )
    form = p.add_mutually_exclusive_group()
    form.add_argument(
        "--keras",
        action="store_true",
        help="run the shipped model's Keras form (needs TensorFlow: pip install 'keras-audiosr[train]') "
        "instead of its int8 streaming .tflite (default: the .tflite, through LiteRT)",
    )
    form.add_argument(
        "--tflite",
        action="store_true",
        help="run the shipped model's int8 streaming .tflite through LiteRT: the default, kept for older commands",
    )
    add_chunking(p)
    p.add_argument("--subtype", default=None, help=SUBTYPE_HELP)
    p.add_argument("--fade", choices=("cosine", "linear"), default="cosine", help="cross-fade shape between chunks")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs that exist (default: refuse; into a folder, outputs already complete are "
        "skipped, so a rerun resumes)",
    )
    p.add_argument(
        "--keep-going",
        "-k",
        action="store_true",
        help="go on past files that cannot be upsampled, list them at the end and exit with status 1 "
        "(default: stop at the first)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_common(p)
    p.set_defaults(func=run, needs_tensorflow=False)  # only --keras and .keras models load TensorFlow
    return p


def _upsample_pairs(inputs: list[str], output: str) -> tuple[list[tuple[Path, Path]], bool]:
    """``(in, out)`` pairs for ``upsample`` and whether OUT is a folder (see the command's description)."""

    out = Path(output)
    ins = [Path(i) for i in inputs]
    to_folder = (
        len(ins) > 1
        or any(i.is_dir() for i in ins)
        or out.is_dir()
        or output.endswith(("/", os.sep))
        or (out.suffix == "" and not out.exists())
    )
    if not to_folder:
        return [(ins[0], out)], False
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder; with several inputs or a folder, OUT is a folder")
    if out.suffix.lower() in AUDIO_EXTENSIONS and not out.is_dir():
        raise ValueError(
            f"{out}: looks like a sound file, but with several inputs or a folder OUT is a folder "
            f"(end it with '/' if you mean a folder of that name)"
        )
    pairs = []
    for item in ins:
        if item.is_dir():
            pairs += [(f, out / f.relative_to(item)) for f in expand_audio_paths([item])]
        else:
            require_file(item)
            pairs.append((item, out / item.name))
    return pairs, True


# Model classes with a stateful streaming form (streaming_model and state_specs), exported with --streaming; the
# others export as a fixed window. Read off the .keras file's config, so that the advice needs no TensorFlow.
_STATEFUL_CLASSES = ("StreamingBWE",)


def _export_advice(path: Path) -> str:
    """How to run the user's ``.keras`` model at ``path`` as a ``.tflite``: the export command that fits its class."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
        cls, name = config.get("class_name", ""), (config.get("config") or {}).get("name") or "MODEL"
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        cls, name = "", "MODEL"
    stateful = cls.split(">")[-1] in _STATEFUL_CLASSES
    stem = f"{name}_stream_int8" if stateful else f"{name}_int8"
    return (
        f"for a model of your own, export it first ('{PROG} export --model {path} --mode int8"
        f"{' --streaming' if stateful else ''} --out DIR') and pass DIR/{stem}.tflite as --model"
    )


def _upsample_sources(args, pairs, infos) -> list[tuple[str, Path, object]]:
    """``(kind, path, card)`` per pair: ``kind`` is ``"keras"`` or ``"tflite"``; ``card`` the shipped model's
    :class:`~keras_audiosr.pretrained.ModelInfo` (None for a user's file). Every check, no loading."""

    if args.model is not None:
        path, card = resolve_model(args.model)
        if path.suffix.lower() == ".tflite":
            return [("tflite", path, None)] * len(pairs)
        if card is None and args.tflite:
            raise ValueError(f"{path}: --tflite runs a shipped model's int8 streaming .tflite; {_export_advice(path)}")
        if card is not None and args.to is not None and card.hr_rate != args.to:
            raise ValueError(
                f"--to {args.to}: shipped model {card.name!r} upsamples {card.lr_rate} -> {card.hr_rate} Hz"
            )
        if card is not None and _streams(card, args):
            return [("tflite", pretrained.tflite_path(card.name, "int8"), card)] * len(pairs)
        return [("keras", path, card)] * len(pairs)
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
        if _streams(card, args):
            out.append(("tflite", pretrained.tflite_path(card.name, "int8"), card))
        else:
            out.append(("keras", card.folder / card.keras_file, card))
    return out


def _streams(card, args) -> bool:
    """Whether the shipped model ``card`` runs as its int8 stream: the default, unless ``--keras`` or it has none
    (an explicit ``--tflite`` then fails, naming what it has)."""
    return args.tflite or (not args.keras and "int8" in card.tflite)


def _require_keras(path: Path) -> None:
    """ImportError in one line when the Keras form cannot run here (a light install: no TensorFlow or Keras)."""
    import importlib.util

    missing = [name for name in ("tensorflow", "keras") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"{path}: the Keras model needs {' and '.join(missing)}: pip install 'keras-audiosr[train]' "
            f"(a shipped model also runs without it, as its int8 stream: drop --keras)"
        )


def _load_streamer(path: Path, verbose: bool = False):
    """A frame streamer over the ``.tflite`` at ``path`` (LiteRT, no TensorFlow), for
    :func:`keras_audiosr.inference.upsample_files`; the runtime's start-up line hidden unless ``verbose``."""
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{path}: running a .tflite needs the LiteRT runtime: pip install ai-edge-litert "
            f"(a plain pip install keras-audiosr brings it)"
        ) from None
    from keras_audiosr.streaming import StreamingUpsampler

    with quiet_native_stderr(verbose):
        return StreamingUpsampler.from_tflite(path)


def run(args) -> int:
    """Upsample every input with its model (every check first); returns the exit status."""
    pairs, to_folder = _upsample_pairs(args.inputs, args.output)
    for _, dst in pairs:
        check_output_extension(dst)
    resume = to_folder and not args.overwrite  # a rerun into a folder skips the outputs already complete
    infos = check_pairs(pairs, overwrite=args.overwrite, keep_going=args.keep_going, skip_complete=resume)
    failed = [(src, str(e)) for (src, _), e in zip(pairs, infos) if isinstance(e, Exception)]
    live = [(pair, info) for pair, info in zip(pairs, infos) if not isinstance(info, Exception)]
    if not live:
        return _report_failures(failed, len(failed))
    pairs, infos = [pair for pair, _ in live], [info for _, info in live]
    total = len(failed) + len(pairs)
    for (_, dst), info in zip(pairs, infos):  # every output's format and subtype, before a model is loaded
        check_output_format(dst, output_subtype(dst, info.subtype, args.subtype))
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
    loaded = {
        path: _load_streamer(path, bool(getattr(args, "verbose", False))) for kind, path in distinct if kind == "tflite"
    }
    if any(kind == "keras" for kind, _ in distinct):
        _require_keras(next(path for kind, path in distinct if kind == "keras"))
        start_tensorflow(args)
        from keras_audiosr.models.saving import load_model

        loaded.update({path: load_model(path) for kind, path in distinct if kind == "keras"})
    if args.to is not None:
        for path, m in loaded.items():
            hr = int(m.plan.lr_rate * m.plan.ratio) if hasattr(m, "plan") else int(m.hr_rate)
            if hr != args.to:
                raise ValueError(f"--to {args.to}: {path} upsamples to {hr} Hz")
    models = [loaded[path] for _, path, _ in sources]
    results = upsample_files(
        models,
        pairs,
        overwrite=args.overwrite,
        progress=not args.quiet,
        chunk=args.chunk,
        overlap=args.overlap,
        batch_size=args.batch_size,
        subtype=args.subtype,
        fade=args.fade,
        keep_going=args.keep_going,
        skip_complete=resume,
    )
    done = [r for r in results if r["status"] == "done"]
    skipped = [r for r in results if r["status"] == "skipped"]
    failed += [(Path(r["in"]), r["error"]) for r in results if r["status"] == "failed"]
    if not to_folder and done:
        info = done[0]
        print(
            f"wrote {info['out']}: {info['seconds']:.2f} s at {info['out_rate']} Hz, {info['channels']} channel(s), "
            f"in {info['elapsed']:.1f} s"
        )
    elif to_folder:
        seconds = sum(r["seconds"] for r in done)
        elapsed = sum(r["elapsed"] for r in done)
        rates = "/".join(str(r) for r in sorted({r["out_rate"] for r in done}))
        if skipped:
            print(f"skipped {len(skipped)} complete output(s) under {args.output} (--overwrite redoes them)")
        print(
            f"wrote {len(done)} file(s) under {args.output}"
            + (f": {seconds:.2f} s of audio at {rates} Hz, in {elapsed:.1f} s" if done else "")
        )
    return _report_failures(failed, total) if failed else 0


def _report_failures(failed: list, total: int) -> int:
    """The files a ``--keep-going`` run could not upsample, one line each after a count; exit status 1."""
    print(f"{PROG}: error: {len(failed)} of {total} file(s) failed:", file=sys.stderr)
    for src, why in failed:
        print(f"  {src}: {why.removeprefix(f'{src}: ')}", file=sys.stderr)
    return 1
