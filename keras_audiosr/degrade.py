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
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FILTER_FAMILIES",
    "MULTI_FILTER_DEFAULTS",
    "UNSEEN_FILTER_DEFAULT",
    "Degradation",
    "LowpassFilter",
    "degrade",
    "lowpass",
    "sample_filters",
    "trim_to_multiple",
]

FILTER_FAMILIES = ("butter", "cheby1", "bessel", "ellip")
ALIASED = "aliased"
MULTI_FILTER_DEFAULTS = ("cheby1:6", "cheby1:8", "cheby1:10", "cheby1:12", "bessel:6", "bessel:12", "ellip:6", "ellip:12")
UNSEEN_FILTER_DEFAULT = "butter:6"

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


@dataclass(frozen=True)
class Degradation:
    """Anti-alias filter ``filter`` (spec string) then keep every ``ratio``-th sample.

    ``zero_phase=True`` filters forwards and backwards (``sosfiltfilt``: no delay, squared
    magnitude response); ``False`` filters causally (``sosfilt``: delayed, as a real-time system).
    The spec is stored in canonical form so the object serialises into configs and JSON.
    """

    ratio: int
    filter: str = "cheby1:8"
    zero_phase: bool = True

    def __post_init__(self):
        object.__setattr__(self, "ratio", _check_ratio(self.ratio))
        object.__setattr__(self, "filter", str(LowpassFilter.parse(self.filter)))
        object.__setattr__(self, "zero_phase", bool(self.zero_phase))

    @property
    def lowpass_filter(self) -> LowpassFilter:
        return LowpassFilter.parse(self.filter)

    def __call__(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        """Low-rate float32 signal: ``filtered[::ratio]`` along ``axis`` (``ceil(N / ratio)`` samples)."""
        y = _apply(x, self.lowpass_filter, self.ratio, self.zero_phase, axis)
        return _decimate_slice(y, self.ratio, axis)

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
        flt = self.lowpass_filter
        if flt.family == ALIASED:
            return f"no anti-alias filter (aliased), decimate by {self.ratio}"
        nyq = f"{hr_rate / (2 * self.ratio):g} Hz" if hr_rate else "low-rate Nyquist"
        phase = "zero-phase" if self.zero_phase else "causal"
        return f"{flt.family} order {flt.order} low-pass at {flt.effective_cutoff:g} x {nyq}, {phase}, decimate by {self.ratio}"


def lowpass(x, ratio, filter="cheby1:8", zero_phase=True, axis=0) -> np.ndarray:
    """The anti-alias filter of a ratio-``ratio`` degradation, applied at the original rate (float32)."""
    return _apply(x, LowpassFilter.parse(filter), _check_ratio(ratio), zero_phase, axis)


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


def sample_filters(n: int, specs=MULTI_FILTER_DEFAULTS, seed=None) -> list[str]:
    """``n`` filter specs drawn uniformly with replacement from ``specs`` (canonical strings);
    the same ``seed`` gives the same list."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(specs, str):
        specs = (specs,)
    canon = [str(LowpassFilter.parse(s)) for s in specs]
    if not canon:
        raise ValueError("specs must name at least one filter")
    rng = np.random.default_rng(seed)
    return [canon[i] for i in rng.integers(0, len(canon), size=int(n))]

