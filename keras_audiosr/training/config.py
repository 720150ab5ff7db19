"""A recipe's settings (:class:`RecipeConfig`) and the command line built from them, in one place.

Each field of :class:`RecipeConfig` carries its flag's help text and checks in its metadata;
:func:`build_parser` turns the fields into ``--flags`` (defaults from the recipe's own
``RecipeConfig``), a recipe adds its own flags as ``{name: argparse keyword arguments}``, and
:func:`parse_config` parses and validates. A bad value exits with status 2 and one line naming the
problem, before anything is written.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from keras_audiosr.degrade import Degradation
from keras_audiosr.models.audio_unet import MODEL_SIZES

__all__ = ["RecipeConfig", "RecipeArgumentParser", "build_parser", "parse_config", "flag_name",
           "existing_dir", "existing_file", "positive_int", "positive_float", "non_negative_float", "name_list"]


# Argument types: each raises argparse.ArgumentTypeError with the reason, which argparse reports as
# "argument --flag: <reason>".
def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def existing_dir(text):
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: not a folder")
    return str(path)


def existing_file(text):
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: not a file")
    return str(path)


def name_list(text):
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def _flag(help, **argparse_kwargs):
    """Field metadata: the flag's help text and argparse keyword arguments (type, choices, action ...)."""
    return {"help": help, **argparse_kwargs}


@dataclass
class RecipeConfig:
    """Every recipe's core settings; each field is a command-line flag (``data_dir`` is ``--data-dir``)."""

    data_dir: str | None = field(default=None, metadata=_flag(
        "corpus root: VCTK 0.92 (wav48_silence_trimmed/, FLAC) or 0.80 (wav48/) or any folder of audio files "
        "(one sub-folder per speaker); unset = the embedded default corpus (generated, no download)", type=existing_dir))
    task: str = field(default="multi", metadata=_flag(
        "single (one speaker, its last utterances held out) or multi (speaker-disjoint split)", choices=("single", "multi")))
    test_speakers: list[str] | None = field(default=None, metadata=_flag(
        "held-out speakers, comma-separated (overrides the split rule)", type=name_list))
    ratio: int = field(default=2, metadata=_flag("integer up-sampling ratio r >= 2 (low rate = hr-rate / r)", type=positive_int))
    hr_rate: int = field(default=16000, metadata=_flag("high (target) sample rate in Hz; the corpus is resampled to it",
                                                       type=positive_int))
    filter: str = field(default="cheby1:8", metadata=_flag(
        "anti-alias filter before decimation, family:order[:cutoff] (butter, cheby1, bessel, ellip) or aliased"))
    model_size: str | None = field(default=None, metadata=_flag(
        "model size; default: paper when a GPU is visible, small on a CPU or on the embedded default corpus",
        choices=MODEL_SIZES))
    epochs: int | None = field(default=None, metadata=_flag("training epochs (default: the recipe's)", type=positive_int))
    steps_per_epoch: int | None = field(default=None, metadata=_flag(
        "batches per epoch (default: one pass over the training examples)", type=positive_int))
    batch_size: int = field(default=16, metadata=_flag("global batch size (split across replicas)", type=positive_int))
    learning_rate: float | None = field(default=3e-4, metadata=_flag(
        "optimizer learning rate", type=positive_float))
    loss: str = field(default="l2", metadata=_flag("sample loss", choices=("l1", "l2")))
    patch_size: int = field(default=8192, metadata=_flag(
        "training example length in high-rate samples (a multiple of the ratio)", type=positive_int))
    stride: int | None = field(default=None, metadata=_flag(
        "hop between training examples in high-rate samples, a multiple of the ratio (default patch-size/2)",
        type=positive_int))
    max_minutes: float | None = field(default=None, metadata=_flag(
        "stop training after this many minutes of training time, summed over resumed runs (checked every batch)",
        type=positive_float))
    out: str = field(default="runs/recipe", metadata=_flag(
        "output folder: config.json, model.keras, metrics.json, eval.json, train_log.csv, train_state.json, logs/, "
        "checkpoints/, backup/; run the same command again to resume"))
    seed: int = field(default=0, metadata=_flag("seed for the split, example order and weights", type=int))
    cache_dir: str | None = field(default=None, metadata=_flag(
        "where prepared training data is cached (default $KERAS_AUDIOSR_CACHE or ~/.cache/keras_audiosr)"))
    pesq: bool = field(default=True, metadata=_flag("skip PESQ in the evaluation", flag="--no-pesq", action="store_false"))
    extra: dict = field(default_factory=dict, metadata={"flag": None})

    def degradation(self):
        return Degradation(ratio=self.ratio, filter=self.filter, zero_phase=True)

    def to_dict(self):
        return dataclasses.asdict(self)


def flag_name(name):
    """``data_dir`` -> ``--data-dir``."""
    return "--" + name.replace("_", "-")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's paragraphs; adds ``(default: X)`` where a flag has a default to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0:
            return text
        return f"{text} (default: %(default)s)"


class RecipeArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (``PROG: error: ...``) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(defaults, description=None, flags=None, prog=None, help_overrides=None):
    """A parser with every :class:`RecipeConfig` field as a flag defaulting to ``defaults``, plus the recipe's ``flags``.

    ``flags`` maps names to argparse keyword arguments (``{"arch": dict(choices=..., default=..., help=...)}``
    gives ``--arch``); their values land in ``cfg.extra``. ``help_overrides`` replaces core flags' help text.
    """
    parser = RecipeArgumentParser(prog=prog, description=(description or "").replace("``", "").strip() or None,
                                  formatter_class=_HelpFormatter)
    for f in dataclasses.fields(RecipeConfig):
        meta = dict(f.metadata)
        option = meta.pop("flag", flag_name(f.name))
        if option is None:
            continue
        meta["help"] = (help_overrides or {}).get(f.name, meta["help"])
        parser.add_argument(option, dest=f.name, default=getattr(defaults, f.name), **meta)
    for name, kwargs in (flags or {}).items():
        kwargs = dict(kwargs)
        parser.add_argument(kwargs.pop("flag", flag_name(name)), dest=name, **kwargs)
    return parser


def _check(cfg, default_patch_size):
    """The cross-field rules; returns a message naming the flag, or None."""
    if cfg.ratio < 2:
        return f"--ratio must be an integer >= 2, got {cfg.ratio}"
    if cfg.hr_rate % cfg.ratio:
        return f"--hr-rate {cfg.hr_rate} is not divisible by --ratio {cfg.ratio}"
    try:
        cfg.degradation()
    except ValueError as err:
        return f"--filter {cfg.filter}: {err}"
    if cfg.patch_size == default_patch_size and cfg.patch_size % cfg.ratio:
        cfg.patch_size -= cfg.patch_size % cfg.ratio  # the default adapts to ratios such as 3 and 6
    if cfg.patch_size % cfg.ratio:
        return f"--patch-size {cfg.patch_size} is not a multiple of --ratio {cfg.ratio}"
    if cfg.stride is not None and cfg.stride % cfg.ratio:
        return f"--stride {cfg.stride} is not a multiple of --ratio {cfg.ratio}"
    out = Path(cfg.out).expanduser()
    if out.exists() and not out.is_dir():
        return f"--out {out}: exists and is not a folder"
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"--out {out}: {ancestor} is not writable"
    return None


def parse_config(defaults, argv=None, description=None, flags=None, check=None, prog=None, help_overrides=None):
    """Parses ``argv`` over the recipe's ``defaults`` and validates; flags not in RecipeConfig land in ``cfg.extra``.

    ``check(cfg)`` may return a message for a recipe's own rule. Any problem exits with status 2 and
    one line on stderr naming it.
    """
    parser = build_parser(defaults, description, flags, prog=prog, help_overrides=help_overrides)
    namespace = vars(parser.parse_args(sys.argv[1:] if argv is None else list(argv)))
    core = {f.name for f in dataclasses.fields(RecipeConfig)}
    extra = {k: v for k, v in namespace.items() if k not in core}
    cfg = dataclasses.replace(defaults, **{k: v for k, v in namespace.items() if k in core},
                              extra={**defaults.extra, **extra})
    problem = _check(cfg, defaults.patch_size) or (check(cfg) if check else None)
    if problem:
        parser.error(problem)
    return cfg
