"""The inputs of an evaluation: which degradations make a model's low-rate inputs, named and resolved.

A degradation is named as in :mod:`keras_audiosr.degrade` (``cheby1:8``, ``resample``,
``telephone:mulaw``, ...), by a set name (``speech-robust``: one member drawn per file), or ``own``:
the model's training degradation -- the single spec it carries (``model.degradation``) or, for a model
trained on a set (``model.training_degradations``), that set drawn per file. A file's draw depends on
the seed and the file's name only (:func:`draw_for_file`), so it is reproducible and the same in
pooled and per-corpus means. A set's random gain is a training augmentation and is not applied: files
are scored at their own level.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_audiosr.degrade import DEGRADATION_SETS, Degradation, DegradationSet, get_degradation_set

__all__ = [
    "OWN",
    "SuiteInput",
    "check_degradation_names",
    "default_degradations",
    "draw_for_file",
    "quality_degradations",
    "resolve_degradations",
    "signal_degradation",
    "training_degradations",
]

#: The name of the model's own training degradation in a suite.
OWN = "own"


def training_degradations(model) -> str | None:
    """The name of the degradation set ``model`` was trained on (``model.training_degradations``, also
    read from its config), or ``None`` for a model that carries one degradation only."""
    name = getattr(model, "training_degradations", None)
    if name is None and hasattr(model, "get_config"):
        try:
            name = (model.get_config() or {}).get("training_degradations")
        except (NotImplementedError, TypeError, AttributeError):
            name = None
    return name or None


def draw_for_file(dset: DegradationSet, path, ratio: int, seed: int = 0) -> Degradation:
    """The member of ``dset`` a file gets in an evaluation: drawn by ``dset.draw`` from a generator
    seeded with ``seed`` and the CRC-32 of the file's name (not its folder), so the draw is the same
    whatever other files are evaluated with it. The set's gain is not applied (see the module docstring)."""
    key = zlib.crc32(Path(path).name.encode("utf-8"))
    return dset.draw(np.random.default_rng([int(seed), key]), ratio).degradation


def model_degradation(model) -> Degradation:
    return Degradation.from_dict(model.degradation)


@dataclass(frozen=True)
class SuiteInput:
    """One input degradation of an evaluation: ``label`` (what reports call it), ``spec`` (a canonical
    degradation spec, or a set name when ``dset`` is given), the band ``ratio``, and either one
    ``degradation`` for every file or a ``dset`` drawn per file (:func:`draw_for_file` with ``seed``)."""

    label: str
    spec: str
    ratio: int
    degradation: Degradation | None = None
    dset: DegradationSet | None = None
    seed: int = 0

    def __post_init__(self):
        if (self.degradation is None) == (self.dset is None):
            raise ValueError(f"{self.label}: give either one degradation or a set to draw from")

    @classmethod
    def single(cls, label: str, degradation: Degradation) -> SuiteInput:
        return cls(label, degradation.filter, degradation.ratio, degradation)

    @property
    def drawn(self) -> bool:
        """Whether each file draws its degradation from a set."""
        return self.dset is not None

    def for_file(self, path) -> Degradation:
        """The degradation of one file."""
        if self.dset is None:
            return self.degradation
        return draw_for_file(self.dset, path, self.ratio, self.seed)

    def text(self, hr_rate: int | None = None) -> str:
        """Human text: the degradation's :meth:`~keras_audiosr.degrade.Degradation.describe`, or the set's."""
        if self.dset is None:
            return self.degradation.describe(hr_rate)
        what = self.dset.description or ", ".join(self.dset.specs)
        gain = "; its random gain is not applied" if self.dset.gain_db is not None else ""
        return f"one degradation per file drawn from the set {self.dset.name!r} (seed {self.seed}{gain}): {what}"

    def to_dict(self) -> dict:
        """A report's ``degradation``: ``Degradation.to_dict()``, or ``{"ratio", "set", "seed"}`` with the set's
        dict."""
        if self.dset is None:
            return self.degradation.to_dict()
        return {"ratio": self.ratio, "set": self.dset.to_dict(), "seed": self.seed}


def _is_single(dset: DegradationSet) -> bool:
    return len(dset.members) == 1 and dset.members[0].cutoff is None


def _own_input(model, seed: int = 0, label: str = OWN) -> SuiteInput:
    """The model's own training degradation: its set drawn per file, or the single spec it carries."""
    deg = model_degradation(model)
    name = training_degradations(model)
    if name is not None:
        try:
            dset = get_degradation_set(name)
        except ValueError as e:
            warnings.warn(
                f"model {getattr(model, 'name', '?')!r}: training degradations {name!r} are unknown here "
                f"({e}); evaluating its recorded degradation {deg.filter} instead",
                stacklevel=3,
            )
        else:
            if not _is_single(dset):
                return SuiteInput(label, dset.name, deg.ratio, dset=dset, seed=int(seed))
            deg = Degradation(deg.ratio, dset.members[0].spec, deg.zero_phase)
    return SuiteInput.single(label, deg)


def check_degradation_names(names) -> list[str]:
    """``names`` (a comma-separated string or a sequence) checked without a model: each is ``own``, a
    set name (:data:`~keras_audiosr.degrade.DEGRADATION_SETS`) or a degradation spec. Returns them
    (specs in canonical spelling); ValueError naming the first unknown one, the known names and the
    spec grammar."""
    if isinstance(names, str):
        names = [n for n in (p.strip() for p in names.split(",")) if n]
    out = []
    for name in names:
        key = str(name).strip().lower()
        if key == OWN:
            out.append(OWN)
            continue
        try:
            dset = get_degradation_set(key)
        except ValueError as e:
            raise ValueError(
                f"degradation {name!r} is not {OWN!r} (the model's training degradation), a set or a spec: {e}"
            ) from None
        out.append(key if key in DEGRADATION_SETS else dset.members[0].spec)
    if not out:
        raise ValueError("no degradation named; e.g. own,resample,butter:4,telephone:mulaw")
    return out


def default_degradations(model) -> list[str]:
    """The names a suite evaluates ``model`` under by default: ``own``, ``resample``, ``butter:4`` and,
    when the model's input rate (the low rate of its band) is 8 kHz, ``telephone:mulaw``."""
    deg = model_degradation(model)
    names = [OWN, "resample", "butter:4"]
    if int(model.hr_rate) // deg.ratio == 8000:
        names.append("telephone:mulaw")
    return names


def quality_degradations(model) -> list[str]:
    """The input conditions a shipped model is judged under: the model's own, the sinc resampler, Butterworth 4
    (unseen), the papers' Chebyshev 8 and, for an 8 kHz input, the telephone channel with G.711 and each real
    narrow-band codec whose ffmpeg encoder is installed (:mod:`keras_audiosr.degrade.codecs`)."""
    from keras_audiosr.degrade.codecs import CODECS, codec_available

    names = [OWN, "resample", "butter:4", "cheby1:8"]
    if int(model.hr_rate) // model_degradation(model).ratio == 8000:
        names.append("telephone:mulaw")
        names += [f"codec:{c}" for c in CODECS if codec_available(c)]
    return names


def _input_key(inp: SuiteInput):
    if inp.drawn:
        return ("set", inp.spec, inp.seed)
    d = inp.degradation
    return ("one", d.filter, d.zero_phase if d.kind == "lowpass" else None)


def resolve_degradations(model, degradations=None, *, seed: int = 0) -> list[SuiteInput]:
    """The :class:`SuiteInput` list of a suite for ``model``.

    ``degradations``: ``None`` (:func:`default_degradations`; a default that repeats the model's own
    degradation is left out), names (a sequence or comma-separated string, each its own label), or a
    mapping ``{label: name}`` (e.g. ``{"seen": "cheby1:8", "unseen": "butter:6"}``). Names are as in
    :func:`check_degradation_names`. Low-pass specs take the phase (``zero_phase``) of the model's own
    degradation; every input has the band ratio of the model's own. ValueError for an unknown name or
    a repeated label.
    """
    own = model_degradation(model)
    if int(model.ratio) != 1 and own.ratio != int(model.ratio):
        raise ValueError(f"model {model.name!r}: degradation ratio {own.ratio} != model ratio {model.ratio}")
    defaults = degradations is None
    if defaults:
        items = [(n, n) for n in default_degradations(model)]
    elif isinstance(degradations, Mapping):
        items = list(degradations.items())
    else:
        items = [(n, n) for n in check_degradation_names(degradations)]
    out, seen_labels = [], set()
    for label, name in items:
        label = str(label).strip()
        if label in seen_labels:
            raise ValueError(f"degradation label {label!r} appears twice")
        seen_labels.add(label)
        (key,) = check_degradation_names([name])
        if key == OWN:
            inp = _own_input(model, seed, label)
        elif key in DEGRADATION_SETS:
            inp = SuiteInput(label, key, own.ratio, dset=DEGRADATION_SETS[key], seed=int(seed))
        else:
            inp = SuiteInput.single(label, Degradation(own.ratio, key, own.zero_phase))
        out.append(inp)
    if defaults:
        keys = [_input_key(i) for i in out]
        out = [i for k, i in enumerate(out) if i.label == OWN or keys[k] not in keys[:k]]
    return out


def signal_degradation(model, filter=None, degradation=None) -> Degradation:
    """The degradation that makes one input: ``degradation`` (a Degradation or a spec at the model's
    band ratio), else the model's recorded one with ``filter`` as its spec when given."""
    own = model_degradation(model)
    if filter is not None and degradation is not None:
        raise ValueError("give filter or degradation, not both")
    if degradation is None and filter is not None:
        degradation = filter
    if degradation is None:
        deg = own
    elif isinstance(degradation, Degradation):
        deg = degradation
    else:
        deg = Degradation(own.ratio, degradation, own.zero_phase)
    if deg.ratio != model.ratio and model.ratio != 1:
        raise ValueError(f"model {model.name!r}: degradation ratio {deg.ratio} != model ratio {model.ratio}")
    return deg


def as_input(model, degradation, filter, seed) -> SuiteInput:
    """What :func:`evaluate_files` takes as ``degradation`` (with ``filter``), as a :class:`SuiteInput`."""
    if isinstance(degradation, SuiteInput) and filter is None:
        return degradation
    if isinstance(degradation, DegradationSet) and filter is None:
        return SuiteInput(
            degradation.name, degradation.name, model_degradation(model).ratio, dset=degradation, seed=int(seed)
        )
    if filter is None and (degradation is None or isinstance(degradation, str)):
        return resolve_degradations(model, [OWN if degradation is None else degradation], seed=seed)[0]
    deg = signal_degradation(model, filter, degradation)
    return SuiteInput.single(deg.filter, deg)
