"""What the ``keras-audiosr`` subcommands share: the help formatter, common flags and the checks made
before any work (outputs, inputs, model names)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keras_audiosr import pretrained
from keras_audiosr.args import non_negative_int, positive_int
from keras_audiosr.audio import AUDIO_EXTENSIONS, AudioError, check_output_format, output_subtype, read_audio
from keras_audiosr.utils import check_writable, quiet_tensorflow

__all__ = [
    "PROG",
    "SUBTYPE_HELP",
    "Formatter",
    "add_chunking",
    "add_common",
    "add_io_arguments",
    "add_output_options",
    "check_audio_output",
    "check_io",
    "check_not_input",
    "check_output_extension",
    "expand_audio_paths",
    "headline",
    "non_negative_int",
    "positive_int",
    "read_for_output",
    "require_file",
    "resolve_model",
    "start_tensorflow",
]

PROG = "keras-audiosr"


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' line breaks and appends each option's default where it has a real one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or "(default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def add_chunking(p: argparse.ArgumentParser) -> None:
    """``--chunk``, ``--overlap`` and ``--batch-size``: how a Keras model runs over a long file."""
    p.add_argument(
        "--chunk",
        type=positive_int,
        default=16384,
        metavar="N",
        help="low-rate samples per model call; bounds memory together with --batch-size",
    )
    p.add_argument(
        "--overlap",
        type=non_negative_int,
        default=1024,
        metavar="N",
        help="low-rate samples shared by neighbouring chunks and cross-faded; should exceed 8/3 of the "
        "model's receptive-field reach for seamless output (1024 covers the published AudioUNet)",
    )
    p.add_argument("--batch-size", type=positive_int, default=4, metavar="N", help="chunks per model call")


def add_common(p: argparse.ArgumentParser) -> None:
    """``--verbose``, accepted after the subcommand too."""
    # SUPPRESS: a subcommand's default must not overwrite a --verbose given before the subcommand.
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's start-up log lines (hidden by default)",
    )


SUBTYPE_HELP = (
    "output sample format, e.g. PCM_16, PCM_24, FLOAT (default: the input's where the output format "
    "allows it, else PCM_16); integer formats clip samples beyond full scale, with one warning"
)


def check_output_extension(path: Path) -> None:
    """An output's extension names a format the package writes."""
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(
            f"{path}: unsupported output extension {path.suffix!r}; use one of {', '.join(AUDIO_EXTENSIONS)}"
        )


def check_audio_output(path: Path, overwrite: bool) -> None:
    """An audio output path: known extension, absent unless ``overwrite``, in a writable place."""
    check_output_extension(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass --overwrite to replace it")
    check_writable(path)


def check_not_input(src: Path, dst: Path) -> None:
    """Refuse an output that is the input file itself, however spelled (``./IN``, a symlink, a hard link)."""
    if dst.exists() and os.path.samefile(src, dst):
        raise ValueError(f"{dst}: output would replace the input file {src}")


def add_io_arguments(p: argparse.ArgumentParser, input_help: str) -> None:
    """``IN`` and ``OUT`` of a command that makes one sound file from another (``degrade``, ``resample``)."""
    p.add_argument("input", metavar="IN", help=input_help)
    p.add_argument("output", metavar="OUT", help=f"output file ({', '.join(AUDIO_EXTENSIONS)})")


def add_output_options(p: argparse.ArgumentParser, run) -> None:
    """``--subtype``, ``--overwrite`` and ``--verbose`` of such a command, run by ``run`` without TensorFlow."""
    p.add_argument("--subtype", default=None, help=SUBTYPE_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    add_common(p)
    p.set_defaults(func=run, needs_tensorflow=False)


def check_io(args) -> tuple[Path, Path]:
    """``(IN, OUT)`` of such a command, checked before any work: IN a file, OUT not IN however spelled, OUT a
    known format in a writable place and absent unless ``--overwrite``."""
    src, dst = Path(args.input), Path(args.output)
    require_file(src)
    check_not_input(src, dst)
    check_audio_output(dst, args.overwrite)
    return src, dst


def read_for_output(src: Path, dst: Path, subtype: str | None):
    """``(data, rate, subtype)``: IN read whole (frames x channels) and the sample format OUT gets (``--subtype``,
    else IN's where OUT's format allows it), checked to be one OUT's format can hold."""
    import soundfile as sf

    data, rate = read_audio(src)
    subtype = output_subtype(dst, sf.info(str(src)).subtype, subtype)
    check_output_format(dst, subtype)
    return data, rate, subtype


def resolve_model(text):
    """``(path, ModelInfo or None)`` of a ``--model`` value (a file, or a shipped model's name), before
    TensorFlow starts; :class:`~keras_audiosr.pretrained.PretrainedError` naming it when it is neither."""
    return pretrained.resolve(text)


def require_file(path: Path) -> None:
    """An input that exists and is a file."""
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def expand_audio_paths(items) -> list[Path]:
    """Files as given, and every audio file under each folder (recursively, sorted, hidden files skipped).

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for a folder holding no audio.
    """
    out = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in AUDIO_EXTENSIONS
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            if not found:
                raise ValueError(f"{p}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def start_tensorflow(args) -> None:
    """Start TensorFlow with its start-up log lines hidden unless ``--verbose``."""
    quiet_tensorflow(verbose=bool(getattr(args, "verbose", False)), init_runtime=True)


def headline(metrics: dict) -> str:
    """One line of a card's headline metrics: ViSQOL (audio mode, 48 kHz), LSD, PESQ-WB and SNR of the model beside
    its int8 stream, sinc (and the cascade an 8 -> 48 kHz model is judged against) under the sinc-resampler input
    (``metrics[degradation][system][metric]``, the evaluation suite's means; those measured), else its flat numbers."""

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
            others = [s for s in ("model_int8", "int8", "sinc", "cascade") if isinstance(systems.get(s), dict)]
            parts = []
            for key, label, digits, unit in (
                ("visqol", "ViSQOL", 2, ""),
                ("lsd", "LSD", 2, ""),
                ("pesq", "PESQ-WB", 2, ""),
                ("snr", "SNR", 1, " dB"),
            ):
                if key in model:
                    extra = ", ".join(
                        f"{'int8' if 'int8' in s else s} {num(systems[s][key], digits)}"
                        for s in others
                        if key in systems[s]
                    )
                    parts.append(f"{label} {num(model[key], digits)}{unit}" + (f" ({extra})" if extra else ""))
            if parts:
                return f"{', '.join(parts)}; {deg} input"
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    return ", ".join(f"{k} {num(v, 2)}" for k, v in flat.items())
