"""Low-resolution inputs the way the papers make them: anti-alias low-pass, then keep every r-th sample.

A filter is named by a spec string ``family:order[:cutoff]`` (or ``aliased`` for no filter), e.g.
``cheby1:8`` -- the Chebyshev type I filter of ``scipy.signal.decimate``, which Kuleshov et al.
(2017) used -- or the Sulun & Davies (2020) set of Chebyshev/Bessel/elliptic filters of several orders
used to train models that do not overfit one filter (:data:`MULTI_FILTER_DEFAULTS`), with an unseen
Butterworth held out for testing (:data:`UNSEEN_FILTER_DEFAULT`).

``cutoff`` is the band edge as a fraction of the *low-rate* Nyquist frequency ``hr_rate / (2 r)``:

* ``cheby1``: passband edge, 0.05 dB ripple; default 0.8 (as ``scipy.signal.decimate``).
* ``ellip``: passband edge, 0.05 dB passband ripple, 80 dB stopband attenuation; default 1.0.
* ``butter``: -3 dB point; default 1.0.
* ``bessel``: -3 dB point (``norm="mag"``); default 1.0.

Filters are designed and applied as second-order sections (never transfer-function ``b, a``
coefficients, which are numerically unstable for high-order Chebyshev/elliptic designs) and cached per
(spec, ratio). Filtering runs in float64 and returns float32.

Besides filters, the same spec grammar names the two other ways low-rate audio is made:

* ``resample``: the polyphase Kaiser-windowed sinc resampler of ``scipy.signal.resample_poly(x, 1,
  ratio)`` (Kaiser beta 5, 10 zero crossings a side), which is how sox, torchaudio and resample_poly
  make real low-rate files. Linear phase, delay-compensated: ``lr[k]`` sits at ``hr[k * ratio]``.
* ``telephone`` / ``telephone:mulaw`` / ``telephone:alaw``: the telephone channel. The signal is
  resampled to the low rate as ``resample`` does, band-passed by a Butterworth order-4 band-pass
  with -3 dB points at 0.075 and 0.85 of the low-rate Nyquist (300-3400 Hz at an 8 kHz low rate),
  applied causally as a channel does (``zero_phase`` does not apply), then optionally companded by
  ITU-T G.711 mu-law or A-law (8-bit codes, the segmented tables of the standard).

So one string names any input degradation, e.g. ``Degradation(2, "telephone:mulaw")``. Named
*sets* of degradations that training draws from per example (``speech-robust``, ``multi-filter``,
``telephone-any``, or any single spec as a set of one) are in :func:`get_degradation_set`.
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "COMPANDING",
    "DEGRADATION_SETS",
    "DegradationDraw",
    "DegradationSet",
    "FILTER_FAMILIES",
    "NAMED_KINDS",
    "SetMember",
    "TELEPHONE_BAND",
    "canonical_spec",
    "g711",
    "get_degradation_set",
    "MULTI_FILTER_DEFAULTS",
    "UNSEEN_FILTER_DEFAULT",
    "Degradation",
    "LowpassFilter",
    "degrade",
    "lowpass",
    "SEEN_FILTER_DEFAULT",
    "evaluation_filters",
    "trim_to_multiple",
]

FILTER_FAMILIES = ("butter", "cheby1", "bessel", "ellip")
ALIASED = "aliased"
MULTI_FILTER_DEFAULTS = ("cheby1:6", "cheby1:8", "cheby1:10", "cheby1:12", "bessel:6", "bessel:12", "ellip:6", "ellip:12")
UNSEEN_FILTER_DEFAULT = "butter:6"
# The seen filter evaluations report by default: the scipy.signal.decimate filter of Kuleshov et al.
SEEN_FILTER_DEFAULT = "cheby1:8"

CHEBY1_RIPPLE_DB = 0.05  # as scipy.signal.decimate
ELLIP_RIPPLE_DB = 0.05
ELLIP_STOPBAND_DB = 80.0
_DEFAULT_CUTOFF = {"cheby1": 0.8, "butter": 1.0, "bessel": 1.0, "ellip": 1.0}
_DEFAULT_ORDER = 8


def _valid_names() -> str:
    return ", ".join(FILTER_FAMILIES + (ALIASED,))


def _check_ratio(ratio, minimum: int = 2) -> int:
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Integral) or ratio < minimum:
        raise ValueError(f"ratio must be an integer >= {minimum}, got {ratio!r}")
    return int(ratio)


@dataclass(frozen=True)
class LowpassFilter:
    """An anti-alias low-pass filter: ``family`` (one of :data:`FILTER_FAMILIES` or ``"aliased"``),
    ``order`` and ``cutoff`` (fraction of the low-rate Nyquist; ``None`` -> family default)."""

    family: str
    order: int = _DEFAULT_ORDER
    cutoff: float | None = None

    def __post_init__(self):
        if self.family not in FILTER_FAMILIES + (ALIASED,):
            raise ValueError(f"unknown filter family {self.family!r}; valid: {_valid_names()}")
        if isinstance(self.order, bool) or not isinstance(self.order, numbers.Integral) or self.order < 1:
            raise ValueError(f"filter order must be an integer >= 1, got {self.order!r}")
        if self.cutoff is not None:
            c = float(self.cutoff)
            if not (0.0 < c <= 1.0):
                raise ValueError(f"filter cutoff must be in (0, 1] (fraction of the low-rate Nyquist), got {self.cutoff!r}")
            object.__setattr__(self, "cutoff", c)
        object.__setattr__(self, "order", int(self.order))

    @classmethod
    def parse(cls, spec: str) -> "LowpassFilter":
        """Read ``"family[:order[:cutoff]]"`` (e.g. ``"cheby1:8"``, ``"ellip:12:0.9"``) or ``"aliased"``."""
        if isinstance(spec, LowpassFilter):
            return spec
        if not isinstance(spec, str):
            raise ValueError(f"filter spec must be a string like 'cheby1:8', got {spec!r}")
        parts = [p.strip() for p in spec.strip().lower().split(":")]
        family = parts[0]
        if family not in FILTER_FAMILIES + (ALIASED,):
            raise ValueError(f"filter spec {spec!r}: unknown family {family!r}; valid: {_valid_names()}")
        if family == ALIASED:
            if len(parts) > 1:
                raise ValueError(f"filter spec {spec!r}: 'aliased' takes no order or cutoff")
            return cls(ALIASED)
        if len(parts) > 3:
            raise ValueError(f"filter spec {spec!r}: expected family[:order[:cutoff]], e.g. 'cheby1:8' or 'ellip:12:0.9'")
        try:
            order = int(parts[1]) if len(parts) > 1 else _DEFAULT_ORDER
            cutoff = float(parts[2]) if len(parts) > 2 else None
        except ValueError:
            raise ValueError(f"filter spec {spec!r}: order must be an integer and cutoff a number, "
                             f"e.g. 'ellip:12:0.9'; families: {_valid_names()}") from None
        try:
            return cls(family, order, cutoff)
        except ValueError as e:
            raise ValueError(f"filter spec {spec!r}: {e}") from None

    def __str__(self) -> str:
        if self.family == ALIASED:
            return ALIASED
        if self.cutoff is None:
            return f"{self.family}:{self.order}"
        return f"{self.family}:{self.order}:{self.cutoff!r}"

    @property
    def effective_cutoff(self) -> float | None:
        """Cutoff actually used (family default filled in); ``None`` for aliased."""
        if self.family == ALIASED:
            return None
        return self.cutoff if self.cutoff is not None else _DEFAULT_CUTOFF[self.family]

    def sos(self, ratio: int) -> np.ndarray | None:
        """Second-order sections for the high-rate signal of a ratio-``ratio`` decimation (a copy of
        the cached design); ``None`` for aliased. The edge is ``effective_cutoff / ratio`` of the high-rate Nyquist."""
        ratio = _check_ratio(ratio)
        if self.family == ALIASED:
            return None
        return _design_sos(self.family, self.order, self.effective_cutoff, ratio).copy()


@functools.lru_cache(maxsize=256)
def _design_sos(family: str, order: int, cutoff: float, ratio: int) -> np.ndarray:
    from scipy import signal  # imported on use: the command line starts without it

    wn = cutoff / ratio
    if family == "cheby1":
        sos = signal.cheby1(order, CHEBY1_RIPPLE_DB, wn, btype="low", output="sos")
    elif family == "ellip":
        sos = signal.ellip(order, ELLIP_RIPPLE_DB, ELLIP_STOPBAND_DB, wn, btype="low", output="sos")
    elif family == "butter":
        sos = signal.butter(order, wn, btype="low", output="sos")
    elif family == "bessel":
        sos = signal.bessel(order, wn, btype="low", norm="mag", output="sos")
    else:  # unreachable: LowpassFilter validates the family
        raise ValueError(f"unknown filter family {family!r}; valid: {_valid_names()}")
    sos = np.asarray(sos, dtype=np.float64)
    sos.setflags(write=False)  # shared by every caller of the cache
    return sos


def _apply(x: np.ndarray, flt: LowpassFilter, ratio: int, zero_phase: bool, axis: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("signal must have at least one dimension")
    n = x.shape[axis]
    if n == 0:
        raise ValueError("signal is empty (0 samples along the time axis)")
    sos = flt.sos(ratio)
    if sos is None:
        return x.astype(np.float32, copy=True)
    from scipy import signal
    x = x.astype(np.float64, copy=False)
    if not zero_phase:
        return signal.sosfilt(sos, x, axis=axis).astype(np.float32)
    # scipy.signal.sosfiltfilt's default odd-extension length.
    padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if n <= padlen:
        raise ValueError(f"signal of {n} samples is too short for zero-phase {flt} filtering "
                         f"(needs more than {padlen}); use a longer signal or zero_phase=False")
    return signal.sosfiltfilt(sos, x, axis=axis).astype(np.float32)


def _decimate_slice(x: np.ndarray, ratio: int, axis: int) -> np.ndarray:
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(None, None, ratio)
    return np.ascontiguousarray(x[tuple(idx)])


# ----------------------------------------------------------------------------- named kinds: resampler, telephone

NAMED_KINDS = ("resample", "telephone")
COMPANDING = ("mulaw", "alaw")
TELEPHONE_BAND = (0.075, 0.85)  # -3 dB points, fractions of the low-rate Nyquist: 300-3400 Hz at 8 kHz
TELEPHONE_ORDER = 4  # Butterworth band-pass prototype order (8 poles in all)
_RESAMPLE_HALF_LEN = 10  # scipy.signal.resample_poly: 10 * ratio taps either side of the centre


def _spec_grammar() -> str:
    return (f"{', '.join(FILTER_FAMILIES + (ALIASED,))}, resample, telephone[:{'|:'.join(COMPANDING)}] "
            f"(filters as family[:order[:cutoff]], e.g. 'cheby1:8' or 'ellip:12:0.9')")


@dataclass(frozen=True)
class _Named:
    """A degradation that is not a plain low-pass: ``resample`` or ``telephone[:law]``."""

    kind: str
    companding: str | None = None

    def __str__(self) -> str:
        return self.kind if self.companding is None else f"{self.kind}:{self.companding}"


def _parse(spec):
    """A spec string -> :class:`LowpassFilter` or :class:`_Named`; ValueError listing the valid names."""
    if isinstance(spec, (LowpassFilter, _Named)):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"degradation spec must be a string like 'cheby1:8', 'resample' or 'telephone:mulaw', "
                         f"got {spec!r}")
    parts = [p.strip() for p in spec.strip().lower().split(":")]
    kind = parts[0]
    if kind == "resample":
        if len(parts) > 1:
            raise ValueError(f"degradation spec {spec!r}: 'resample' takes no arguments")
        return _Named("resample")
    if kind == "telephone":
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in COMPANDING):
            raise ValueError(f"degradation spec {spec!r}: expected telephone, telephone:mulaw or telephone:alaw")
        return _Named("telephone", parts[1] if len(parts) == 2 else None)
    if kind not in FILTER_FAMILIES + (ALIASED,):
        raise ValueError(f"degradation spec {spec!r}: unknown family {kind!r} (neither a filter family nor a named "
                         f"degradation); valid: {_spec_grammar()}")
    return LowpassFilter.parse(spec)


def canonical_spec(spec) -> str:
    """The canonical spelling of any degradation spec (``" Cheby1:8 "`` -> ``"cheby1:8"``,
    ``"TELEPHONE:MuLaw"`` -> ``"telephone:mulaw"``); ValueError listing the valid names."""
    return str(_parse(spec))


@functools.lru_cache(maxsize=16)
def _telephone_sos() -> np.ndarray:
    from scipy import signal
    sos = np.asarray(signal.butter(TELEPHONE_ORDER, TELEPHONE_BAND, btype="bandpass", output="sos"), np.float64)
    sos.setflags(write=False)
    return sos


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int32)


_MULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _mulaw_encode(pcm: np.ndarray) -> np.ndarray:
    """G.711 mu-law codes of 16-bit linear samples (the Sun/CCITT reference ``linear2ulaw``: 14-bit
    magnitude, bias 33, clip 8159; bit-identical to Python's ``audioop.lin2ulaw``)."""
    v = pcm >> 2
    negative = v < 0
    mask = np.where(negative, 0x7F, 0xFF)
    v = np.minimum(np.where(negative, -v, v), 8159) + 33
    seg = np.searchsorted(_MULAW_SEG_END, v)
    uval = (np.minimum(seg, 7) << 4) | ((v >> (np.minimum(seg, 7) + 1)) & 0x0F)
    uval = np.where(seg >= 8, 0x7F, uval)
    return (uval ^ mask) & 0xFF


def _mulaw_decode(code: np.ndarray) -> np.ndarray:
    u = ~np.asarray(code, np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mag = (((u & 0x0F) << 3) + 0x84 << exponent) - 0x84
    return np.where(u & 0x80, -mag, mag)


_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _alaw_encode(pcm: np.ndarray) -> np.ndarray:
    """G.711 A-law codes of 16-bit linear samples (the reference ``linear2alaw``: 13-bit magnitude,
    even bits inverted with 0x55; bit-identical to ``audioop.lin2alaw``)."""
    v = pcm >> 3
    positive = v >= 0
    mask = np.where(positive, 0xD5, 0x55)
    v = np.where(positive, v, -v - 1)
    seg = np.searchsorted(_ALAW_SEG_END, v)  # first segment whose end >= v
    shift = np.where(seg < 2, 1, seg)
    aval = (np.minimum(seg, 7) << 4) | ((v >> shift) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, aval)
    return (aval ^ mask) & 0xFF


def _alaw_decode(code: np.ndarray) -> np.ndarray:
    a = np.asarray(code, np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t)


def g711(x, law: str) -> np.ndarray:
    """``x`` (float, [-1, 1]) through a G.711 codec: quantised to 16 bits, encoded to 8-bit ``law``
    (``"mulaw"`` or ``"alaw"``) codes and decoded again (float32, one of 256 levels; clipped at full scale)."""
    if law not in COMPANDING:
        raise ValueError(f"unknown G.711 law {law!r}; valid: {', '.join(COMPANDING)}")
    pcm = _to_int16(x)
    if law == "mulaw":
        y = _mulaw_decode(_mulaw_encode(pcm))
    else:
        y = _alaw_decode(_alaw_encode(pcm))
    return (y / 32768.0).astype(np.float32)


def _check_signal(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("signal must have at least one dimension")
    if x.shape[axis] == 0:
        raise ValueError("signal is empty (0 samples along the time axis)")
    return x


def _resample_down(x: np.ndarray, ratio: int, axis: int) -> np.ndarray:
    from scipy import signal
    return signal.resample_poly(np.asarray(x, np.float64), 1, ratio, axis=axis)


def _named_low_rate(x: np.ndarray, spec: _Named, ratio: int, axis: int) -> np.ndarray:
    from scipy import signal
    x = _check_signal(x, axis)
    y = _resample_down(x, ratio, axis)
    if spec.kind == "telephone":
        y = signal.sosfilt(_telephone_sos().copy(), y, axis=axis)
        if spec.companding is not None:
            return g711(y, spec.companding)
    return y.astype(np.float32)


@functools.lru_cache(maxsize=1024)
def _context(spec: str, ratio: int) -> int:
    """High-rate samples of context either side of a crop that make its degradation match the whole
    signal's to -80 dB (impulse-response energy beyond it below 1e-8); a multiple of ``ratio``."""
    from scipy import signal
    parsed = _parse(spec)

    def decay(sos, n=1 << 15):
        from scipy import signal
        imp = np.zeros(n)
        imp[0] = 1.0
        h = signal.sosfilt(sos, imp)
        tail = np.cumsum((h * h)[::-1])[::-1] / max(float(np.sum(h * h)), 1e-300)
        return int(np.argmax(tail < 1e-8)) or n

    if isinstance(parsed, _Named):
        n = _RESAMPLE_HALF_LEN * ratio + ratio
        if parsed.kind == "telephone":
            n += decay(_telephone_sos().copy()) * ratio
    elif parsed.family == ALIASED:
        n = 0
    else:
        n = decay(parsed.sos(ratio))
    return -(-n // ratio) * ratio


@dataclass(frozen=True)
class Degradation:
    """How a high-rate signal becomes the model's low-rate input, named by one spec string.

    ``filter`` is a low-pass spec (``family:order[:cutoff]`` or ``aliased``: anti-alias filter, then
    keep every ``ratio``-th sample) or a named kind (``resample``, ``telephone[:mulaw|:alaw]``; see
    the module docstring). ``zero_phase=True`` runs a low-pass forwards and backwards
    (``sosfiltfilt``: no delay, squared magnitude response); ``False`` causally (``sosfilt``: delayed,
    as a real-time system); it does not apply to the named kinds. The spec is stored in canonical
    form so the object serialises into configs and JSON.
    """

    ratio: int
    filter: str = "cheby1:8"
    zero_phase: bool = True

    def __post_init__(self):
        object.__setattr__(self, "ratio", _check_ratio(self.ratio))
        object.__setattr__(self, "filter", canonical_spec(self.filter))
        object.__setattr__(self, "zero_phase", bool(self.zero_phase))

    @property
    def kind(self) -> str:
        """``"lowpass"`` (a filter spec, including ``aliased``), ``"resample"`` or ``"telephone"``."""
        parsed = _parse(self.filter)
        return parsed.kind if isinstance(parsed, _Named) else "lowpass"

    @property
    def lowpass_filter(self) -> LowpassFilter:
        """The :class:`LowpassFilter` of a filter spec; ValueError for the named kinds."""
        parsed = _parse(self.filter)
        if isinstance(parsed, _Named):
            raise ValueError(f"degradation {self.filter!r} is not a low-pass filter spec")
        return parsed

    def __call__(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        """Low-rate float32 signal (``ceil(N / ratio)`` samples along ``axis``, ``lr[k]`` at ``x[k * ratio]``)."""
        parsed = _parse(self.filter)
        if isinstance(parsed, _Named):
            return _named_low_rate(x, parsed, self.ratio, axis)
        y = _apply(x, parsed, self.ratio, self.zero_phase, axis)
        return _decimate_slice(y, self.ratio, axis)

    def at_high_rate(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        """The degraded signal kept at the high rate (float32, same length as ``x``): a low-pass
        spec is applied without decimating (what the same-rate models take); a named kind is run
        at the low rate and brought back by ``resample_poly(y, ratio, 1)``."""
        from scipy import signal
        parsed = _parse(self.filter)
        if not isinstance(parsed, _Named):
            return _apply(x, parsed, self.ratio, self.zero_phase, axis)
        x = _check_signal(x, axis)
        y = signal.resample_poly(_named_low_rate(x, parsed, self.ratio, axis).astype(np.float64), self.ratio, 1,
                                 axis=axis)
        idx = [slice(None)] * y.ndim
        idx[axis] = slice(0, x.shape[axis])
        return np.ascontiguousarray(y[tuple(idx)], dtype=np.float32)

    @property
    def context(self) -> int:
        """High-rate samples of signal either side of a crop needed so that degrading the extended
        crop and cutting it matches degrading the whole signal (to -80 dB); a multiple of ``ratio``."""
        return _context(self.filter, self.ratio)

    def to_dict(self) -> dict:
        return {"ratio": self.ratio, "filter": self.filter, "zero_phase": self.zero_phase}

    @classmethod
    def from_dict(cls, d: dict) -> "Degradation":
        unknown = set(d) - {"ratio", "filter", "zero_phase"}
        if unknown:
            raise ValueError(f"unknown Degradation keys {sorted(unknown)}; valid: ratio, filter, zero_phase")
        return cls(**d)

    def describe(self, hr_rate: int | None = None) -> str:
        """Human text, e.g. ``"cheby1 order 8 low-pass at 0.8 x 4000 Hz, zero-phase, decimate by 2"``."""
        parsed = _parse(self.filter)
        lr = f"{hr_rate / self.ratio:g} Hz" if hr_rate else f"the low rate (1/{self.ratio})"
        if isinstance(parsed, _Named):
            text = (f"polyphase Kaiser-windowed sinc resampler (scipy.signal.resample_poly, beta 5, "
                    f"{_RESAMPLE_HALF_LEN} zero crossings a side) to {lr}")
            if parsed.kind == "resample":
                return text
            lo, hi = TELEPHONE_BAND
            band = (f"{lo * hr_rate / (2 * self.ratio):g}-{hi * hr_rate / (2 * self.ratio):g} Hz" if hr_rate
                    else f"{lo:g}-{hi:g} x low-rate Nyquist")
            law = {None: "no companding", "mulaw": "G.711 mu-law 8-bit companding",
                   "alaw": "G.711 A-law 8-bit companding"}[parsed.companding]
            return f"telephone channel: {text}, {band} Butterworth order-{TELEPHONE_ORDER} band-pass (causal), {law}"
        if parsed.family == ALIASED:
            return f"no anti-alias filter (aliased), decimate by {self.ratio}"
        nyq = f"{hr_rate / (2 * self.ratio):g} Hz" if hr_rate else "low-rate Nyquist"
        phase = "zero-phase" if self.zero_phase else "causal"
        return (f"{parsed.family} order {parsed.order} low-pass at {parsed.effective_cutoff:g} x {nyq}, {phase}, "
                f"decimate by {self.ratio}")


def lowpass(x, ratio, filter="cheby1:8", zero_phase=True, axis=0) -> np.ndarray:
    """The degradation kept at the original rate (float32): a low-pass spec's filter alone, or a
    named kind's low-rate signal resampled back up (:meth:`Degradation.at_high_rate`)."""
    return Degradation(ratio, filter, zero_phase).at_high_rate(x, axis=axis)


def degrade(x, ratio, filter="cheby1:8", zero_phase=True, axis=0) -> np.ndarray:
    """Same as ``Degradation(ratio, filter, zero_phase)(x, axis)``."""
    return Degradation(ratio, filter, zero_phase)(x, axis=axis)


def trim_to_multiple(x, ratio, axis=0) -> np.ndarray:
    """Drop trailing samples along ``axis`` so its length is a multiple of ``ratio`` (a view)."""
    ratio = _check_ratio(ratio, minimum=1)
    x = np.asarray(x)
    n = x.shape[axis] - x.shape[axis] % ratio
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(0, n)
    return x[tuple(idx)]


# ----------------------------------------------------------------------------- degradation sets

@dataclass(frozen=True)
class SetMember:
    """One member of a :class:`DegradationSet`: a spec, its probability weight and, for low-pass
    specs, an optional random cutoff range ``(lo, hi)`` (fractions of the low-rate Nyquist, drawn
    uniformly on a grid of 0.01 so that filter designs are cached)."""

    spec: str
    weight: float
    cutoff: tuple[float, float] | None = None

    def __post_init__(self):
        object.__setattr__(self, "spec", canonical_spec(self.spec))
        if not float(self.weight) > 0:
            raise ValueError(f"set member {self.spec}: weight must be positive, got {self.weight!r}")
        object.__setattr__(self, "weight", float(self.weight))
        if self.cutoff is not None:
            parsed = _parse(self.spec)
            if isinstance(parsed, _Named) or parsed.family == ALIASED or parsed.cutoff is not None:
                raise ValueError(f"set member {self.spec}: a cutoff range needs a filter spec without its own cutoff")
            lo, hi = (float(c) for c in self.cutoff)
            if not 0.0 < lo <= hi <= 1.0:
                raise ValueError(f"set member {self.spec}: cutoff range must satisfy 0 < lo <= hi <= 1, got {self.cutoff}")
            object.__setattr__(self, "cutoff", (lo, hi))

    def label(self) -> str:
        if self.cutoff is None:
            return self.spec
        return f"{self.spec}:U({self.cutoff[0]:g}-{self.cutoff[1]:g})"


@dataclass(frozen=True)
class DegradationDraw:
    """What one training example gets: its degradation and the linear gain applied to its high-rate crop."""

    degradation: Degradation
    gain: float = 1.0


@dataclass(frozen=True)
class DegradationSet:
    """A named set of degradations that training draws from, one per example.

    :meth:`draw` takes a ``numpy.random.Generator`` and makes, in this order, one ``rng.random()``
    call to pick a member by weight, one ``rng.random()`` for the cutoff (members with a range
    only) and one for the gain (sets with ``gain_db`` only), so a draw depends on the generator
    alone. ``gain_db=(lo, hi)`` draws the gain uniformly in dB. Low-pass members are zero-phase
    when ``zero_phase`` (the named kinds never are).

    ``representative`` is the one spec that stands for the set where a single degradation is
    needed (a model's ``degradation`` config, a default evaluation input); it must be a member's
    spec and defaults to the first member of the highest weight (see :attr:`representative_spec`).
    """

    name: str
    members: tuple[SetMember, ...]
    gain_db: tuple[float, float] | None = None
    zero_phase: bool = True
    description: str = ""
    representative: str | None = None

    def __post_init__(self):
        members = tuple(m if isinstance(m, SetMember) else SetMember(*m) for m in self.members)
        if not members:
            raise ValueError(f"degradation set {self.name!r} has no members")
        object.__setattr__(self, "members", members)
        if self.gain_db is not None:
            lo, hi = (float(g) for g in self.gain_db)
            if lo > hi:
                raise ValueError(f"degradation set {self.name!r}: gain_db range {self.gain_db} is reversed")
            object.__setattr__(self, "gain_db", (lo, hi))
        total = sum(m.weight for m in members)
        object.__setattr__(self, "_cum", tuple(np.cumsum([m.weight / total for m in members])))
        if self.representative is not None:
            spec = canonical_spec(self.representative)
            if spec not in self.specs:
                raise ValueError(f"degradation set {self.name!r}: representative {spec!r} is not a member "
                                 f"({', '.join(self.specs)})")
            object.__setattr__(self, "representative", spec)

    @property
    def representative_spec(self) -> str:
        """The spec that stands for the set: :attr:`representative`, else the first member of the
        highest weight (a single-spec set: that spec)."""
        if self.representative is not None:
            return self.representative
        top = max(m.weight for m in self.members)
        return next(m.spec for m in self.members if m.weight == top)

    def representative_degradation(self, ratio: int) -> "Degradation":
        """:attr:`representative_spec` as a :class:`Degradation` at ``ratio`` (the set's phase)."""
        return Degradation(ratio, self.representative_spec, self.zero_phase)

    @property
    def specs(self) -> tuple[str, ...]:
        """The members' canonical specs, in order."""
        return tuple(m.spec for m in self.members)

    def probabilities(self) -> dict[str, float]:
        """``{member label: probability}``; labels are specs, with ``:U(lo-hi)`` for a cutoff range."""
        total = sum(m.weight for m in self.members)
        return {m.label(): m.weight / total for m in self.members}

    def draw(self, rng: np.random.Generator, ratio: int) -> DegradationDraw:
        """One example's degradation (for ``ratio``) and gain, drawn from ``rng``."""
        k = min(int(np.searchsorted(self._cum, rng.random(), side="right")), len(self.members) - 1)
        m = self.members[k]
        spec = m.spec
        if m.cutoff is not None:
            lo, hi = m.cutoff
            steps = int(round((hi - lo) / 0.01))
            c = lo + 0.01 * min(int(rng.random() * (steps + 1)), steps)
            spec = f"{spec}:{round(c, 2)!r}"
        gain = 1.0
        if self.gain_db is not None:
            lo, hi = self.gain_db
            gain = float(10.0 ** ((lo + (hi - lo) * rng.random()) / 20.0))
        return DegradationDraw(Degradation(ratio, spec, self.zero_phase), gain)

    def max_context(self, ratio: int) -> int:
        """The largest :attr:`Degradation.context` of any member (cutoff ranges at their ends)."""
        out = 0
        for m in self.members:
            cutoffs = [None] if m.cutoff is None else list(m.cutoff)
            for c in cutoffs:
                spec = m.spec if c is None else f"{m.spec}:{c!r}"
                out = max(out, Degradation(ratio, spec).context)
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "members": [{"spec": m.spec, "weight": m.weight,
                                                "cutoff": None if m.cutoff is None else list(m.cutoff)}
                                               for m in self.members],
                "gain_db": None if self.gain_db is None else list(self.gain_db), "zero_phase": self.zero_phase,
                "representative": self.representative_spec}

    def markdown(self) -> str:
        """A markdown table of the members and their probabilities (for READMEs and model cards)."""
        gain = "none" if self.gain_db is None else f"uniform {self.gain_db[0]:g} to {self.gain_db[1]:g} dB"
        rows = [f"| `{m}` | {p:.1%} |" for m, p in self.probabilities().items()]
        return "\n".join([f"`{self.name}` (gain: {gain})", "", "| member | probability |", "|---|---|", *rows])


_SPEECH_CUTOFF = (0.8, 1.0)
_SPEECH_ROBUST = DegradationSet(
    "speech-robust",
    tuple(SetMember(s, 0.05, _SPEECH_CUTOFF) for s in MULTI_FILTER_DEFAULTS + ("butter:8",))
    + (SetMember("butter:2", 0.10, _SPEECH_CUTOFF),
       SetMember("resample", 0.20),
       SetMember("telephone", 0.25 / 3), SetMember("telephone:mulaw", 0.25 / 3), SetMember("telephone:alaw", 0.25 / 3)),
    gain_db=(-18.0, 0.0),
    description="anti-alias IIR filters (45 %), a soft Butterworth-2 (10 %), the sinc resampler (20 %) and the "
                "telephone channel with and without G.711 (25 %), random gain -18..0 dB; Butterworth 4 and 6 "
                "are left out as the unseen filters of the evaluations",
    representative=SEEN_FILTER_DEFAULT)
_MULTI_FILTER = DegradationSet(
    "multi-filter", tuple(SetMember(s, 1.0) for s in MULTI_FILTER_DEFAULTS),
    description="Sulun & Davies (2020): Chebyshev-I, Bessel and elliptic filters of orders 6-12 at their "
                "default cutoffs, equally likely, no gain",
    representative=SEEN_FILTER_DEFAULT)
_TELEPHONE_ANY = DegradationSet(
    "telephone-any", (SetMember("telephone", 1.0), SetMember("telephone:mulaw", 1.0), SetMember("telephone:alaw", 1.0)),
    gain_db=(-18.0, 0.0),
    description="the telephone channel plain, with G.711 mu-law and with A-law, equally likely, random gain -18..0 dB",
    representative="telephone")

DEGRADATION_SETS: dict[str, DegradationSet] = {s.name: s for s in (_SPEECH_ROBUST, _MULTI_FILTER, _TELEPHONE_ANY)}
"""Named degradation sets. Members and probabilities (``--degradations NAME``):

``speech-robust`` (gain uniform -18..0 dB; cutoffs drawn uniformly from 0.80, 0.81, .. 1.00 of the
low-rate Nyquist, zero-phase):

=====================================================================  ===========
member                                                                 probability
=====================================================================  ===========
``cheby1:6|8|10|12``, ``bessel:6|12``, ``ellip:6|12``, ``butter:8``,    5 % each
each with a random cutoff 0.8-1.0                                      (45 %)
``butter:2`` with a random cutoff 0.8-1.0 (the soft low-order IIR)     10 %
``resample`` (polyphase Kaiser sinc, as real low-rate files are made)  20 %
``telephone``, ``telephone:mulaw``, ``telephone:alaw``                 8.33 % each
=====================================================================  ===========

Butterworth order 4 (``butter:4``, the soft IIR the evaluations report as unseen) and order 6
(:data:`UNSEEN_FILTER_DEFAULT`, the music recipes' unseen filter) are deliberately not members.

``multi-filter``: :data:`MULTI_FILTER_DEFAULTS` (Sulun & Davies 2020), 12.5 % each, default
cutoffs, no gain.

``telephone-any``: ``telephone``, ``telephone:mulaw``, ``telephone:alaw``, 1/3 each, gain -18..0 dB.
(Not named ``telephone``, which is the single plain channel.)

Representatives (:attr:`DegradationSet.representative_spec`, the single degradation a model trained
on the set records as its ``degradation``): ``cheby1:8`` (:data:`SEEN_FILTER_DEFAULT`, the papers'
filter) for ``speech-robust`` and ``multi-filter``, plain ``telephone`` for ``telephone-any``.

Any single spec is a set of one with no gain: ``get_degradation_set("cheby1:8")`` is the papers' setup.
"""

def get_degradation_set(name) -> DegradationSet:
    """The named set (:data:`DEGRADATION_SETS`), or a set of one for a single degradation spec
    (``"cheby1:8"``, ``"resample"``, ``"telephone:mulaw"``: no gain). A :class:`DegradationSet` is
    returned as is. ValueError listing the known set names and the spec grammar otherwise."""
    if isinstance(name, DegradationSet):
        return name
    if not isinstance(name, str):
        raise ValueError(f"degradation set must be a name or spec string, got {name!r}")
    key = name.strip().lower()
    if key in DEGRADATION_SETS:
        return DEGRADATION_SETS[key]
    try:
        spec = canonical_spec(key)
    except ValueError:
        raise ValueError(f"unknown degradation set {name!r}; known sets: {', '.join(DEGRADATION_SETS)}; or a single "
                         f"degradation: {_spec_grammar()}") from None
    return DegradationSet(spec, (SetMember(spec, 1.0),), description=f"the single degradation {spec}")


def evaluation_filters(training="multi-filter", seen: str | None = None,
                       unseen: str = UNSEEN_FILTER_DEFAULT) -> dict[str, str]:
    """``{"seen": spec, "unseen": spec}``: the low-pass filters an evaluation reports side by side
    (Sulun & Davies' seen/unseen-filter comparison).

    ``training`` is what the model trained on: a set name or spec (:func:`get_degradation_set`), a
    :class:`DegradationSet` or a sequence of specs. ``seen`` defaults to :data:`SEEN_FILTER_DEFAULT`
    when it is a training member, else the first low-pass member. ValueError if ``seen`` is not a
    training member, ``unseen`` is one, or the training set has no low-pass filter.
    """
    if isinstance(training, (str, DegradationSet)):
        specs = get_degradation_set(training).specs
    else:
        specs = tuple(canonical_spec(s) for s in training)
    filters = [s for s in specs if not isinstance(_parse(s), _Named) and s != ALIASED]
    if seen is None:
        if not filters:
            raise ValueError(f"no low-pass filter among the training degradations ({', '.join(specs)}) to report "
                             f"as the seen filter")
        seen = SEEN_FILTER_DEFAULT if SEEN_FILTER_DEFAULT in filters else filters[0]
    seen, unseen = canonical_spec(seen), canonical_spec(unseen)
    if seen not in specs:
        raise ValueError(f"seen filter {seen} is not among the training degradations ({', '.join(specs)})")
    if unseen in specs:
        raise ValueError(f"unseen filter {unseen} is one of the training degradations ({', '.join(specs)})")
    return {"seen": seen, "unseen": unseen}
