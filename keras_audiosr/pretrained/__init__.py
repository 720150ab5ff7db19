"""Models shipped inside the package: list them, load them, find their LiteRT files. No downloads.

Each shipped model is a folder ``keras_audiosr/pretrained/<name>/`` holding ``card.json`` (rates,
files, size, headline metrics), ``MODEL_CARD.md`` (the human card), ``model.keras`` and its
streaming ``.tflite`` files with golden fixtures::

    from keras_audiosr import pretrained
    pretrained.list()                        # [ModelInfo(name="telephony-8k-16k", ...), ...]
    model = pretrained.load("telephony-8k-16k")
    path = pretrained.tflite_path("telephony-8k-16k", "int8")
    name = pretrained.for_rate(8000)         # the shipped model for 8 kHz input
    path, card = pretrained.resolve("telephony-8k-16k")   # a model argument: a file, or a shipped name
"""

from __future__ import annotations

import builtins
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ModelInfo",
    "PretrainedError",
    "ShipError",
    "card_path",
    "for_rate",
    "info",
    "list",
    "load",
    "load_system",
    "models_dir",
    "resolve",
    "tflite_path",
]

CARD = "card.json"


class PretrainedError(ValueError):
    """An unknown shipped-model name, an unsupported rate or mode, or a damaged model folder."""


class ShipError(PretrainedError):
    """A run folder, corpus or argument that cannot make a shipped model (:mod:`keras_audiosr.pretrained.ship`)."""


def models_dir() -> Path:
    """Folder of the shipped models (``$KERAS_AUDIOSR_PRETRAINED_DIR`` overrides it, for tests)."""
    env = os.environ.get("KERAS_AUDIOSR_PRETRAINED_DIR")
    return Path(env) if env else Path(__file__).resolve().parent


@dataclass(frozen=True)
class ModelInfo:
    """What ``card.json`` says about one shipped model."""

    name: str
    lr_rate: int
    hr_rate: int
    description: str
    folder: Path
    keras_file: str
    tflite: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)

    @property
    def ratio(self) -> int:
        return self.hr_rate // self.lr_rate

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


def _read(folder: Path) -> ModelInfo:
    try:
        card = json.loads((folder / CARD).read_text(encoding="utf-8"))
        return ModelInfo(
            name=card["name"],
            lr_rate=int(card["lr_rate"]),
            hr_rate=int(card["hr_rate"]),
            description=card.get("description", ""),
            folder=folder,
            keras_file=card["keras"],
            tflite=dict(card.get("tflite", {})),
            metrics=dict(card.get("metrics", {})),
            facts={
                k: v
                for k, v in card.items()
                if k not in {"name", "lr_rate", "hr_rate", "description", "keras", "tflite", "metrics"}
            },
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PretrainedError(f"{folder / CARD}: not a valid model card ({type(e).__name__}: {e})") from e


def list() -> builtins.list[ModelInfo]:  # noqa: A001  (the public name the package documents)
    """Every shipped model, sorted by name."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted((_read(d) for d in root.iterdir() if (d / CARD).is_file()), key=lambda m: m.name)


def info(name: str) -> ModelInfo:
    """The shipped model called ``name``; :class:`PretrainedError` listing the known names otherwise."""
    models = {m.name: m for m in list()}
    if name not in models:
        known = ", ".join(models) or "none (this installation ships no models)"
        raise PretrainedError(f"unknown shipped model {name!r}; known: {known}")
    return models[name]


def resolve(name_or_path) -> tuple[Path, ModelInfo | None]:
    """A model argument (``--model``, ``--init-from``): an existing file, else the name of a shipped model.

    Returns ``(path, None)`` for a file (any kind; the caller loads it) and ``(its .keras file, its
    ModelInfo)`` for a shipped name. A file of that name wins over a shipped model. Raises
    :class:`PretrainedError` naming the argument, saying whether such a path exists, and listing the
    shipped models when it is neither.
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path, None
    models = {m.name: m for m in list()}
    if str(name_or_path) in models:
        m = models[str(name_or_path)]
        return m.folder / m.keras_file, m
    shipped = ", ".join(models) or "none in this installation"
    what = "not a file" if path.exists() else "no such file"
    raise PretrainedError(f"{path}: {what} and not the name of a shipped model (shipped models: {shipped})")


def load_system(spec, keras_form: bool = False):
    """``(label, model)`` for a model argument of the tools: a streaming ``.tflite``
    (:class:`~keras_audiosr.inference.StreamModel`), a ``.keras`` file or a shipped model's name (its int8 stream,
    or its Keras model with ``keras_form``). An unknown name or an unreadable file raises (OSError, ValueError or
    ImportError) with a line that names it."""
    from keras_audiosr.inference import StreamModel, load_model

    path = Path(str(spec)).expanduser()
    if path.suffix.lower() == ".tflite":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        return path.stem, StreamModel.load(path)
    if path.suffix.lower() == ".keras":
        return f"{path.parent.name}-{path.stem}", load_model(path)
    if keras_form:
        return f"{spec}-keras", load(str(spec))
    return f"{spec}-int8", StreamModel.load(tflite_path(str(spec), "int8"))


def load(name: str):
    """The shipped model ``name`` as a Keras model (:func:`keras_audiosr.inference.load_model`)."""
    from keras_audiosr.inference import load_model

    return load_model(info(name).folder / info(name).keras_file)


def tflite_path(name: str, mode: str = "int8") -> Path:
    """Path of the shipped model's streaming ``.tflite`` in quantization ``mode`` (e.g. ``float``, ``int8``)."""
    m = info(name)
    if mode not in m.tflite:
        raise PretrainedError(
            f"shipped model {name!r} has no {mode!r} .tflite; it has: {', '.join(m.tflite) or 'none'}"
        )
    path = m.folder / m.tflite[mode]
    if not path.is_file():
        raise PretrainedError(f"{path}: listed in {m.folder / CARD} but missing")
    return path


def card_path(name: str) -> Path:
    """The markdown model card of ``name``."""
    return info(name).folder / "MODEL_CARD.md"


def for_rate(in_rate: int, to: int | None = None) -> str:
    """Name of the shipped model that takes ``in_rate`` Hz input (and gives ``to`` Hz, when given).

    When several match and ``to`` is not given, the one with the lowest output rate is chosen.
    Raises :class:`PretrainedError` listing the shipped models and their rates when none matches.
    """
    models = list()
    match = [m for m in models if m.lr_rate == int(in_rate) and (to is None or m.hr_rate == int(to))]
    if not match:
        have = "; ".join(f"{m.name}: {m.lr_rate} -> {m.hr_rate} Hz" for m in models) or "none"
        want = f"{in_rate} Hz input" + (f" to {to} Hz" if to else "")
        raise PretrainedError(
            f"no shipped model for {want}; shipped models: {have} "
            f"(resample the input with 'keras-audiosr resample' or pass --model)"
        )
    return min(match, key=lambda m: m.hr_rate).name
