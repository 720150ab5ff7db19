"""The degradation spec grammar, parsed once: ``kind[:arg[:arg...]]`` -> a :class:`DegradationSpec` object.

A spec string names one way a high-rate signal becomes a low-rate one (``cheby1:8``, ``butter:4:0.9``,
``aliased``, ``resample``, ``telephone:mulaw``). :func:`parse_spec` reads it once into an object that
knows its canonical spelling (``str()``), how to degrade a signal, how much context a crop needs and how
to describe itself; :class:`Degradation` pairs it with a ratio and a phase and is what the rest of the
package passes around (it serialises as ``{"ratio", "filter", "zero_phase"}``).

Kinds are a registry: the first ``:``-separated word of a spec selects a parser registered with
:func:`register_kind`. To add a kind (say ``codec:gsm``), write a :class:`DegradationSpec` subclass
with ``kind``, ``__str__``, :meth:`~DegradationSpec.low_rate`, :meth:`~DegradationSpec.context` and
:meth:`~DegradationSpec.describe` (and :meth:`~DegradationSpec.at_high_rate` if resampling the low-rate
signal back up is not right), then in its module::

    register_kind("codec", lambda args, text: Codec.from_args(args, text), grammar="codec:gsm|opus")

and import that module from ``keras_audiosr/degrade/__init__.py``. Every spec-taking API (``--filter``,
``--degradations``, degradation sets, model configs, evaluation inputs) then accepts the new kind.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Degradation",
    "DegradationSpec",
    "canonical_spec",
    "degrade",
    "lowpass",
    "parse_spec",
    "register_kind",
    "spec_grammar",
    "spec_kinds",
    "trim_to_multiple",
]


def check_ratio(ratio, minimum: int = 2) -> int:
    """``ratio`` as an int; ValueError unless it is an integer (not a bool) >= ``minimum``."""
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Integral) or ratio < minimum:
        raise ValueError(f"ratio must be an integer >= {minimum}, got {ratio!r}")
    return int(ratio)


def check_signal(x, axis: int) -> np.ndarray:
    """``x`` as an array with at least one dimension and a non-empty time ``axis``."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("signal must have at least one dimension")
    if x.shape[axis] == 0:
        raise ValueError("signal is empty (0 samples along the time axis)")
    return x


def cut(x: np.ndarray, axis: int, index: slice) -> np.ndarray:
    """``x[..., index, ...]`` along ``axis``, contiguous."""
    idx = [slice(None)] * x.ndim
    idx[axis] = index
    return np.ascontiguousarray(x[tuple(idx)])


class DegradationSpec:
    """One parsed degradation spec. Subclasses (frozen dataclasses) set ``kind`` (``"lowpass"``,
    ``"resample"``, ``"telephone"``, ...) and implement the methods below; ``str(spec)`` is the
    canonical spelling, which parses back to an equal object."""

    kind: str = ""
    #: Whether the input keeps the reference's waveform (phase), so SNR against it means something: False for
    #: the telephone channel's causal band-pass and for the codecs, which shift every system's input alike.
    keeps_waveform: bool = True

    def low_rate(self, x: np.ndarray, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        """The low-rate float32 signal: ``ceil(N / ratio)`` samples along ``axis``, ``lr[k]`` at ``x[k * ratio]``."""
        raise NotImplementedError

    def at_high_rate(self, x: np.ndarray, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        """The degraded signal kept at the high rate (float32, same length as ``x``). By default the
        low-rate signal brought back up by ``scipy.signal.resample_poly(y, ratio, 1)``."""
        from scipy import signal  # imported on use: the command line starts without it

        x = check_signal(x, axis)
        y = self.low_rate(x, ratio, zero_phase=zero_phase, axis=axis).astype(np.float64)
        y = signal.resample_poly(y, ratio, 1, axis=axis)
        return cut(y, axis, slice(0, x.shape[axis])).astype(np.float32)

    def context(self, ratio: int) -> int:
        """High-rate samples either side of a crop that make its degradation match the whole
        signal's to -80 dB (:attr:`Degradation.context` rounds it up to a multiple of ``ratio``)."""
        raise NotImplementedError

    def describe(self, ratio: int, hr_rate: int | None, zero_phase: bool) -> str:
        """Human text for reports and model cards."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Kind:
    name: str
    parse: Callable[[tuple[str, ...], str], DegradationSpec]
    grammar: str


_KINDS: dict[str, _Kind] = {}
_FILTER_HINT = "filters as family[:order[:cutoff]], e.g. 'cheby1:8' or 'ellip:12:0.9'"


def register_kind(name: str, parse: Callable[[tuple[str, ...], str], DegradationSpec], grammar: str | None = None):
    """Make specs whose first word is ``name`` parse with ``parse(args, text)``: ``args`` the
    lower-cased, stripped words after the name, ``text`` the spec as given (for error messages).
    ``parse`` returns a :class:`DegradationSpec` or raises ValueError naming ``text``. ``grammar`` is
    how error messages list the kind (default: ``name``). Registering a name twice is an error."""
    key = name.strip().lower()
    if not key or ":" in key:
        raise ValueError(f"degradation kind name must be one word without ':', got {name!r}")
    if key in _KINDS:
        raise ValueError(f"degradation kind {key!r} is already registered")
    _KINDS[key] = _Kind(key, parse, grammar or key)
    _parse_text.cache_clear()


def spec_kinds() -> tuple[str, ...]:
    """The registered first words of a spec, in registration order."""
    return tuple(_KINDS)


def spec_grammar() -> str:
    """Every registered kind, for error messages."""
    return f"{', '.join(k.grammar for k in _KINDS.values())} ({_FILTER_HINT})"


@functools.lru_cache(maxsize=1024)
def _parse_text(text: str) -> DegradationSpec:
    parts = tuple(p.strip() for p in text.strip().lower().split(":"))
    kind = _KINDS.get(parts[0])
    if kind is None:
        raise ValueError(
            f"degradation spec {text!r}: unknown family {parts[0]!r} (neither a filter family nor a "
            f"named degradation); valid: {spec_grammar()}"
        )
    return kind.parse(parts[1:], text)


def parse_spec(spec) -> DegradationSpec:
    """A spec string (or an already parsed spec) -> its :class:`DegradationSpec`; ValueError listing
    the valid kinds. Parses are cached: the same text gives the same object."""
    if isinstance(spec, DegradationSpec):
        return spec
    if not isinstance(spec, str):
        raise ValueError(
            f"degradation spec must be a string like 'cheby1:8', 'resample' or 'telephone:mulaw', got {spec!r}"
        )
    return _parse_text(spec)


def canonical_spec(spec) -> str:
    """The canonical spelling of any degradation spec (``" Cheby1:8 "`` -> ``"cheby1:8"``,
    ``"TELEPHONE:MuLaw"`` -> ``"telephone:mulaw"``); ValueError listing the valid names."""
    return str(parse_spec(spec))


@functools.lru_cache(maxsize=1024)
def _context(spec: str, ratio: int) -> int:
    n = int(parse_spec(spec).context(ratio))
    return -(-n // ratio) * ratio


@dataclass(frozen=True)
class Degradation:
    """How a high-rate signal becomes the model's low-rate input, named by one spec string.

    ``filter`` is any spec of the grammar (:func:`spec_grammar`): a low-pass ``family:order[:cutoff]``
    or ``aliased`` (anti-alias filter, then keep every ``ratio``-th sample), ``resample`` or
    ``telephone[:mulaw|:alaw]``. ``zero_phase=True`` runs a low-pass forwards and backwards
    (``sosfiltfilt``: no delay, squared magnitude response); ``False`` causally (``sosfilt``: delayed,
    as a real-time system); the other kinds ignore it. The spec is parsed once (:attr:`spec`) and
    stored in canonical form so the object serialises into configs and JSON.
    """

    ratio: int
    filter: str = "cheby1:8"
    zero_phase: bool = True

    def __post_init__(self):
        object.__setattr__(self, "ratio", check_ratio(self.ratio))
        parsed = parse_spec(self.filter)
        object.__setattr__(self, "filter", str(parsed))
        object.__setattr__(self, "zero_phase", bool(self.zero_phase))
        object.__setattr__(self, "_spec", parsed)

    @property
    def spec(self) -> DegradationSpec:
        """The parsed spec object."""
        return self._spec

    @property
    def kind(self) -> str:
        """The spec's kind: ``"lowpass"`` (a filter spec, including ``aliased``), ``"resample"``, ``"telephone"``..."""
        return self._spec.kind

    @property
    def lowpass_filter(self):
        """The :class:`~keras_audiosr.degrade.filters.LowpassFilter` of a filter spec; ValueError for other kinds."""
        if self._spec.kind != "lowpass":
            raise ValueError(f"degradation {self.filter!r} is not a low-pass filter spec")
        return self._spec

    def __call__(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        """Low-rate float32 signal (``ceil(N / ratio)`` samples along ``axis``, ``lr[k]`` at ``x[k * ratio]``)."""
        return self._spec.low_rate(x, self.ratio, zero_phase=self.zero_phase, axis=axis)

    def at_high_rate(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        """The degraded signal kept at the high rate (float32, same length as ``x``): a low-pass
        spec is applied without decimating (what the same-rate models take); other kinds are run
        at the low rate and brought back by ``resample_poly(y, ratio, 1)``."""
        return self._spec.at_high_rate(x, self.ratio, zero_phase=self.zero_phase, axis=axis)

    @property
    def context(self) -> int:
        """High-rate samples of signal either side of a crop needed so that degrading the extended
        crop and cutting it matches degrading the whole signal (to -80 dB); a multiple of ``ratio``."""
        return _context(self.filter, self.ratio)

    def to_dict(self) -> dict:
        return {"ratio": self.ratio, "filter": self.filter, "zero_phase": self.zero_phase}

    @classmethod
    def from_dict(cls, d: dict) -> Degradation:
        unknown = set(d) - {"ratio", "filter", "zero_phase"}
        if unknown:
            raise ValueError(f"unknown Degradation keys {sorted(unknown)}; valid: ratio, filter, zero_phase")
        return cls(**d)

    def describe(self, hr_rate: int | None = None) -> str:
        """Human text, e.g. ``"cheby1 order 8 low-pass at 0.8 x 4000 Hz, zero-phase, decimate by 2"``."""
        return self._spec.describe(self.ratio, hr_rate, self.zero_phase)


def lowpass(x, ratio, filter="cheby1:8", zero_phase=True, axis=0) -> np.ndarray:
    """The degradation kept at the original rate (float32): a low-pass spec's filter alone, or another
    kind's low-rate signal resampled back up (:meth:`Degradation.at_high_rate`)."""
    return Degradation(ratio, filter, zero_phase).at_high_rate(x, axis=axis)


def degrade(x, ratio, filter="cheby1:8", zero_phase=True, axis=0) -> np.ndarray:
    """Same as ``Degradation(ratio, filter, zero_phase)(x, axis)``."""
    return Degradation(ratio, filter, zero_phase)(x, axis=axis)


def trim_to_multiple(x, ratio, axis=0) -> np.ndarray:
    """Drop trailing samples along ``axis`` so its length is a multiple of ``ratio`` (a view)."""
    ratio = check_ratio(ratio, minimum=1)
    x = np.asarray(x)
    n = x.shape[axis] - x.shape[axis] % ratio
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(0, n)
    return x[tuple(idx)]
