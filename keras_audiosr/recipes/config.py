"""A recipe's settings (:class:`RecipeConfig`, :class:`DataSpec`) and the command line built from them, in one place.

Each field of :class:`RecipeConfig` carries its flag's help text and checks in its metadata;
:func:`build_parser` turns the fields into ``--flags`` (defaults from the recipe's own
``RecipeConfig``), a recipe adds its own flags as ``{name: argparse keyword arguments}``, and
:func:`parse_config` parses and validates. A bad value exits with status 2 and one line naming the
problem, before anything is written. Light: no Keras, no TensorFlow (a recipe's ``--help`` and its
argument errors come before either is imported).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from keras_audiosr import pretrained
from keras_audiosr.args import (
    corpus_weights,
    degradation_name,
    existing_dir,
    existing_dirs,
    existing_file,
    filter_spec,
    init_source,
    name_list,
    non_negative_float,
    positive_float,
    positive_int,
)
from keras_audiosr.degrade import DEGRADATION_SETS, Degradation, check_low_rate, get_degradation_set, parse_spec
from keras_audiosr.metrics import perceptual_available

__all__ = [
    "DataSpec",
    "RecipeConfig",
    "RecipeArgumentParser",
    "build_parser",
    "parse_config",
    "flag_name",
    "LOSSES",
    "MODEL_SIZES",
    "existing_dir",
    "existing_dirs",
    "existing_file",
    "positive_int",
    "positive_float",
    "non_negative_float",
    "name_list",
    "corpus_weights",
    "degradation_name",
    "init_source",
    "resolve_init_from",
]

# The sizes --model-size names: the presets of keras_audiosr.models.AudioUNet (the recipes' tests check that
# they agree); a recipe whose model has fewer sizes says so in its own check.
MODEL_SIZES = ("tiny", "small", "paper")

# The sample losses a recipe's --loss takes (keras_audiosr.training.losses.get_sample_loss names).
LOSSES = ("l1", "l2", "mrstft", "l1+mrstft", "l2+mrstft", "l2+mrstft+over")


def resolve_init_from(value):
    """The ``.keras`` path of an ``--init-from`` value (a path, or a shipped model's name)."""
    if value is None:
        return None
    return pretrained.resolve(value)[0]


def _flag(help, **argparse_kwargs):
    """Field metadata: the flag's help text and argparse keyword arguments (type, choices, action ...)."""
    return {"help": help, **argparse_kwargs}


@dataclass(frozen=True)
class DataSpec:
    """What a recipe trains on.

    Attributes:
        corpus: ``"speech"`` (VCTK layouts, LibriTTS-style or any folder of speakers, split by
            speaker) or ``"music"`` (a folder with a split file, or a deterministic hash split;
            stereo files train channel by channel).
        same_rate: Inputs low-passed at the high rate (bandwidth extension) instead of decimated.
    """

    corpus: str = "speech"
    same_rate: bool = False

    def __post_init__(self):
        if self.corpus not in ("speech", "music"):
            raise ValueError(f"unknown corpus kind {self.corpus!r}; choose 'speech' or 'music'")


@dataclass
class RecipeConfig:
    """Every recipe's core settings; each field is a command-line flag (``data_dir`` is ``--data-dir``)."""

    data_dir: list[str] | None = field(
        default=None,
        metadata=_flag(
            "corpus folder(s): VCTK 0.92 (wav48_silence_trimmed/, FLAC) or 0.80 (wav48/), LibriTTS-style "
            "speaker/chapter/*.wav, or any folder of audio files (one sub-folder per speaker); repeat the flag or "
            "separate folders with commas to train on several corpora at once; unset = the embedded default corpus "
            "(packaged real speech at 16 kHz for the speech recipes, generated piano-like music for the music recipes)",
            type=existing_dirs,
            action="extend",
            metavar="DIR",
        ),
    )
    corpus_weights: dict | None = field(
        default=None,
        metadata=_flag(
            "sampling weight per corpus, name=weight,... (a corpus is named after its folder; unnamed corpora "
            "weigh 1); default: by duration, every second of audio equally likely",
            type=corpus_weights,
            metavar="NAME=W,...",
        ),
    )
    task: str = field(
        default="multi",
        metadata=_flag(
            "single (one speaker, its last utterances held out) or multi (speaker-disjoint split)",
            choices=("single", "multi"),
        ),
    )
    test_speakers: list[str] | None = field(
        default=None, metadata=_flag("held-out speakers, comma-separated (overrides the split rule)", type=name_list)
    )
    ratio: int = field(
        default=2, metadata=_flag("integer up-sampling ratio r >= 2 (low rate = hr-rate / r)", type=positive_int)
    )
    hr_rate: int = field(
        default=16000,
        metadata=_flag("high (target) sample rate in Hz; the corpus is resampled to it", type=positive_int),
    )
    degradations: str = field(
        default="cheby1:8",
        metadata=_flag(
            "how training inputs are made, drawn per example: a set (" + ", ".join(DEGRADATION_SETS) + ") or one "
            "degradation spec (family:order[:cutoff] with family butter, cheby1, bessel, ellip; aliased; resample; "
            "telephone[:mulaw|:alaw])",
            type=degradation_name,
            metavar="NAME",
        ),
    )
    filter: str | None = field(
        default=None,
        metadata=_flag(
            "the same as --degradations SPEC with one filter spec (kept for older commands)",
            type=filter_spec,
            metavar="SPEC",
        ),
    )
    band_preserving: bool = field(
        default=True,
        metadata=_flag(
            "band-preserving output: the input band passes exactly (a fixed sinc interpolation), the network adds only "
            "the band above it; --no-band-preserving gives the papers' graphs",
            action=argparse.BooleanOptionalAction,
        ),
    )
    model_size: str | None = field(
        default=None,
        metadata=_flag(
            "model size; default: paper when a GPU is visible, small on a CPU or on the embedded default corpus",
            choices=MODEL_SIZES,
        ),
    )
    init_from: str | None = field(
        default=None,
        metadata=_flag(
            "start from this model's weights (fine-tuning): a .keras file or the name of a shipped model "
            "(keras-audiosr models); it must have the architecture being trained",
            type=init_source,
            metavar="NAME_OR_PATH",
        ),
    )
    init_matching: bool = field(
        default=False,
        metadata=_flag(
            "with --init-from: copy only the layers whose names and weight shapes agree (a model for another "
            "ratio, rate or fold), the rest start fresh",
            action="store_true",
        ),
    )
    epochs: int | None = field(
        default=None, metadata=_flag("training epochs (default: the recipe's)", type=positive_int)
    )
    steps_per_epoch: int | None = field(
        default=None,
        metadata=_flag(
            "batches per epoch; unset: the training audio once over, at --stride, in batches", type=positive_int
        ),
    )
    batch_size: int = field(default=16, metadata=_flag("global batch size (split across replicas)", type=positive_int))
    learning_rate: float | None = field(default=3e-4, metadata=_flag("optimizer learning rate", type=positive_float))
    loss: str = field(
        default="l2",
        metadata=_flag("sample loss: l1, l2, the multi-resolution STFT loss, or a weighted sum", choices=LOSSES),
    )
    sample_loss_weight: float = field(
        default=1.0, metadata=_flag("weight of the l1 or l2 term of --loss", type=non_negative_float)
    )
    mrstft_weight: float = field(
        default=1.0,
        metadata=_flag(
            "weight of the mrstft term of --loss (spectral convergence + log magnitude, 3 resolutions)",
            type=non_negative_float,
        ),
    )
    over_weight: float = field(
        default=1.0,
        metadata=_flag(
            "weight of the over term of --loss (the log-magnitude excess of the output over the reference: an "
            "added band louder than the original costs more than a quieter one)",
            type=non_negative_float,
        ),
    )
    patch_size: int = field(
        default=8192,
        metadata=_flag("training example length in high-rate samples (a multiple of the ratio)", type=positive_int),
    )
    stride: int | None = field(
        default=None,
        metadata=_flag(
            "sets the default epoch length: one epoch is the training audio over this hop, in high-rate samples, a "
            "multiple of the ratio (default patch-size/2); examples are crops at random offsets",
            type=positive_int,
        ),
    )
    max_minutes: float | None = field(
        default=None,
        metadata=_flag(
            "stop training after this many minutes of training time, summed over resumed runs (checked every batch)",
            type=positive_float,
        ),
    )
    out: str = field(
        default="runs/recipe",
        metadata=_flag(
            "output folder: config.json, model.keras, metrics.json, eval.json, train_log.csv, train_state.json, logs/, "
            "checkpoints/, backup/; run the same command again to resume"
        ),
    )
    seed: int = field(default=0, metadata=_flag("seed for the split, example stream and weights", type=int))
    cache_dir: str | None = field(
        default=None,
        metadata=_flag(
            "where the prepared training signals are stored (default $KERAS_AUDIOSR_CACHE or ~/.cache/keras_audiosr)"
        ),
    )
    data_processes: int | None = field(
        default=None,
        metadata=_flag(
            "worker processes that make training batches (default: tf.data threads with TensorFlow; with another "
            "Keras backend, up to 4 processes, one per CPU)",
            type=int,
        ),
    )
    pesq: bool = field(
        default=True, metadata=_flag("skip PESQ in the evaluation", flag="--no-pesq", action="store_false")
    )
    perceptual: bool = field(
        default=False,
        metadata=_flag(
            "add ViSQOL (audio mode at 48 kHz, speech mode) and DNSMOS P.808 to the held-out evaluation (the eval "
            "extra; seconds per second of audio, so off by default)",
            action="store_true",
        ),
    )
    extra: dict = field(default_factory=dict, metadata={"flag": None})

    @property
    def degradation_set(self):
        """The :class:`~keras_audiosr.degrade.DegradationSet` of ``--degradations``."""
        return get_degradation_set(self.degradations)

    def degradation(self) -> Degradation:
        """The single degradation that stands for ``--degradations`` (the spec itself, or the set's
        representative: ``cheby1:8`` for ``speech-robust`` and ``multi-filter``)."""
        return self.degradation_set.representative_degradation(self.ratio)

    def sample_loss_weights(self) -> dict:
        """``{term: weight}`` for the terms of ``--loss`` (``get_sample_loss(cfg.loss, weights=...)``)."""
        weight = {
            "l1": self.sample_loss_weight,
            "l2": self.sample_loss_weight,
            "mrstft": self.mrstft_weight,
            "over": self.over_weight,
        }
        return {t: weight[t] for t in self.loss.split("+")}

    def to_dict(self):
        return dataclasses.asdict(self)


def flag_name(name):
    """``data_dir`` -> ``--data-dir``."""
    return "--" + name.replace("_", "-")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's paragraphs; adds ``(default: X)`` where a flag has a default to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if isinstance(action, argparse.BooleanOptionalAction) and "default" not in text:
            return f"{text} (default: {action.option_strings[0 if action.default else 1]})"
        if (
            "default" in text
            or action.default is None
            or action.default is False
            or action.nargs == 0
            or action.default == argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)"


class RecipeArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (``PROG: error: ...``) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(defaults, description=None, flags=None, prog=None, help_overrides=None):
    """A parser with every :class:`RecipeConfig` field as a flag defaulting to ``defaults``, plus the recipe's
    ``flags``.

    ``flags`` maps names to argparse keyword arguments (``{"arch": dict(choices=..., default=..., help=...)}``
    gives ``--arch``); their values land in ``cfg.extra``. ``help_overrides`` replaces core flags' help text.
    """
    parser = RecipeArgumentParser(
        prog=prog, description=(description or "").replace("``", "").strip() or None, formatter_class=_HelpFormatter
    )
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


def _check(cfg, defaults):
    """The cross-field rules; returns a message naming the flag, or None."""
    default_patch_size = defaults.patch_size
    if cfg.ratio < 2:
        return f"--ratio must be an integer >= 2, got {cfg.ratio}"
    if cfg.hr_rate % cfg.ratio:
        return f"--hr-rate {cfg.hr_rate} is not divisible by --ratio {cfg.ratio}"
    if cfg.filter is not None:
        if cfg.degradations != defaults.degradations and cfg.degradations != cfg.filter:
            return f"--filter {cfg.filter} and --degradations {cfg.degradations} disagree; give one of them"
        cfg.degradations = cfg.filter
    try:
        cfg.degradation()
        for spec in cfg.degradation_set.specs:
            check_low_rate(parse_spec(spec), cfg.hr_rate, cfg.ratio)
    except ValueError as err:
        return f"--degradations {cfg.degradations}: {err}"
    if cfg.perceptual:
        if not perceptual_available():
            return "--perceptual needs ViSQOL and DNSMOS: pip install 'keras-audiosr[eval]'"
    if all(w == 0 for w in cfg.sample_loss_weights().values()):
        return f"--loss {cfg.loss}: every term has weight 0 (--sample-loss-weight, --mrstft-weight, --over-weight)"
    if cfg.data_processes is not None and cfg.data_processes < 0:
        return f"--data-processes must be >= 0, got {cfg.data_processes}"
    if cfg.corpus_weights is not None and not cfg.data_dir:
        return "--corpus-weights needs --data-dir (the embedded corpus is one corpus)"
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
    cfg = dataclasses.replace(
        defaults, **{k: v for k, v in namespace.items() if k in core}, extra={**defaults.extra, **extra}
    )
    problem = _check(cfg, defaults) or (check(cfg) if check else None)
    if problem:
        parser.error(problem)
    return cfg
