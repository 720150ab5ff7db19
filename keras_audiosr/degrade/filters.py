"""Anti-alias low-pass filters, the papers' way of making low-rate inputs: filter, then keep every r-th sample.

A filter is named by a spec ``family:order[:cutoff]`` (or ``aliased`` for no filter), e.g. ``cheby1:8``
-- the Chebyshev type I filter of ``scipy.signal.decimate``, which Kuleshov et al. (2017) used.
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

from keras_audiosr.degrade.spec import DegradationSpec, check_ratio, check_signal, cut, register_kind

__all__ = [
    "ALIASED",
    "FILTER_FAMILIES",
    "LowpassFilter",
    "MULTI_FILTER_DEFAULTS",
    "SEEN_FILTER_DEFAULT",
    "UNSEEN_FILTER_DEFAULT",
    "impulse_decay",
]

FILTER_FAMILIES = ("butter", "cheby1", "bessel", "ellip")
ALIASED = "aliased"
MULTI_FILTER_DEFAULTS = (
    "cheby1:6",
    "cheby1:8",
    "cheby1:10",
    "cheby1:12",
    "bessel:6",
    "bessel:12",
    "ellip:6",
    "ellip:12",
)
UNSEEN_FILTER_DEFAULT = "butter:6"
# The seen filter evaluations report by default: the scipy.signal.decimate filter of Kuleshov et al.
SEEN_FILTER_DEFAULT = "cheby1:8"

CHEBY1_RIPPLE_DB = 0.05  # as scipy.signal.decimate
ELLIP_RIPPLE_DB = 0.05
ELLIP_STOPBAND_DB = 80.0
DEFAULT_CUTOFF = {"cheby1": 0.8, "butter": 1.0, "bessel": 1.0, "ellip": 1.0}
DEFAULT_ORDER = 8


def _valid_names() -> str:
    return ", ".join(FILTER_FAMILIES + (ALIASED,))


@dataclass(frozen=True)
class LowpassFilter(DegradationSpec):
    """An anti-alias low-pass filter: ``family`` (one of :data:`FILTER_FAMILIES` or ``"aliased"``),
    ``order`` and ``cutoff`` (fraction of the low-rate Nyquist; ``None`` -> family default)."""

    family: str
    order: int = DEFAULT_ORDER
    cutoff: float | None = None

    kind = "lowpass"

    def __post_init__(self):
        if self.family not in FILTER_FAMILIES + (ALIASED,):
            raise ValueError(f"unknown filter family {self.family!r}; valid: {_valid_names()}")
        if isinstance(self.order, bool) or not isinstance(self.order, numbers.Integral) or self.order < 1:
            raise ValueError(f"filter order must be an integer >= 1, got {self.order!r}")
        if self.cutoff is not None:
            c = float(self.cutoff)
            if not (0.0 < c <= 1.0):
                raise ValueError(
                    f"filter cutoff must be in (0, 1] (fraction of the low-rate Nyquist), got {self.cutoff!r}"
                )
            object.__setattr__(self, "cutoff", c)
        object.__setattr__(self, "order", int(self.order))

    @classmethod
    def from_args(cls, family: str, args: tuple[str, ...], text: str) -> LowpassFilter:
        """The filter of spec ``text``, already split into ``family`` and the words after it."""
        if family == ALIASED:
            if args:
                raise ValueError(f"filter spec {text!r}: 'aliased' takes no order or cutoff")
            return cls(ALIASED)
        if len(args) > 2:
            raise ValueError(
                f"filter spec {text!r}: expected family[:order[:cutoff]], e.g. 'cheby1:8' or 'ellip:12:0.9'"
            )
        try:
            order = int(args[0]) if args else DEFAULT_ORDER
            cutoff = float(args[1]) if len(args) > 1 else None
        except ValueError:
            raise ValueError(
                f"filter spec {text!r}: order must be an integer and cutoff a number, "
                f"e.g. 'ellip:12:0.9'; families: {_valid_names()}"
            ) from None
        try:
            return cls(family, order, cutoff)
        except ValueError as e:
            raise ValueError(f"filter spec {text!r}: {e}") from None

    @classmethod
    def parse(cls, spec: str) -> LowpassFilter:
        """Read ``"family[:order[:cutoff]]"`` (e.g. ``"cheby1:8"``, ``"ellip:12:0.9"``) or ``"aliased"``."""
        if isinstance(spec, LowpassFilter):
            return spec
        if not isinstance(spec, str):
            raise ValueError(f"filter spec must be a string like 'cheby1:8', got {spec!r}")
        parts = tuple(p.strip() for p in spec.strip().lower().split(":"))
        if parts[0] not in FILTER_FAMILIES + (ALIASED,):
            raise ValueError(f"filter spec {spec!r}: unknown family {parts[0]!r}; valid: {_valid_names()}")
        return cls.from_args(parts[0], parts[1:], spec)

    def __str__(self) -> str:
        if self.family == ALIASED:
            return ALIASED
        if self.cutoff is None:
            return f"{self.family}:{self.order}"
        return f"{self.family}:{self.order}:{self.cutoff!r}"

    @property
    def aliased(self) -> bool:
        """True for ``aliased`` (decimation with no filter)."""
        return self.family == ALIASED

    def with_cutoff(self, cutoff: float) -> LowpassFilter:
        """The same family and order at another cutoff."""
        return LowpassFilter(self.family, self.order, cutoff)

    @property
    def effective_cutoff(self) -> float | None:
        """Cutoff actually used (family default filled in); ``None`` for aliased."""
        if self.family == ALIASED:
            return None
        return self.cutoff if self.cutoff is not None else DEFAULT_CUTOFF[self.family]

    def sos(self, ratio: int) -> np.ndarray | None:
        """Second-order sections for the high-rate signal of a ratio-``ratio`` decimation (a copy of
        the cached design); ``None`` for aliased. The edge is ``effective_cutoff / ratio`` of the high-rate Nyquist."""
        ratio = check_ratio(ratio)
        if self.family == ALIASED:
            return None
        return _design_sos(self.family, self.order, self.effective_cutoff, ratio).copy()

    def filtered(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        """``x`` low-passed for a ratio-``ratio`` decimation, kept at the high rate (float32)."""
        x = check_signal(x, axis)
        sos = self.sos(ratio)
        if sos is None:
            return x.astype(np.float32, copy=True)
        from scipy import signal  # imported on use: the command line starts without it

        x = x.astype(np.float64, copy=False)
        if not zero_phase:
            return signal.sosfilt(sos, x, axis=axis).astype(np.float32)
        # scipy.signal.sosfiltfilt's default odd-extension length.
        padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
        n = x.shape[axis]
        if n <= padlen:
            raise ValueError(
                f"signal of {n} samples is too short for zero-phase {self} filtering "
                f"(needs more than {padlen}); use a longer signal or zero_phase=False"
            )
        return signal.sosfiltfilt(sos, x, axis=axis).astype(np.float32)

    def low_rate(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        return cut(self.filtered(x, ratio, zero_phase=zero_phase, axis=axis), axis, slice(None, None, ratio))

    def at_high_rate(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        return self.filtered(x, ratio, zero_phase=zero_phase, axis=axis)

    def context(self, ratio: int) -> int:
        return 0 if self.family == ALIASED else impulse_decay(self.sos(ratio))

    def describe(self, ratio: int, hr_rate: int | None, zero_phase: bool) -> str:
        if self.family == ALIASED:
            return f"no anti-alias filter (aliased), decimate by {ratio}"
        nyq = f"{hr_rate / (2 * ratio):g} Hz" if hr_rate else "low-rate Nyquist"
        phase = "zero-phase" if zero_phase else "causal"
        return (
            f"{self.family} order {self.order} low-pass at {self.effective_cutoff:g} x {nyq}, {phase}, "
            f"decimate by {ratio}"
        )


@functools.lru_cache(maxsize=256)
def _design_sos(family: str, order: int, cutoff: float, ratio: int) -> np.ndarray:
    from scipy import signal

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


def impulse_decay(sos: np.ndarray, n: int = 1 << 15) -> int:
    """Samples after which the impulse response of ``sos`` holds less than 1e-8 of its energy (-80 dB)."""
    from scipy import signal

    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.sosfilt(sos, imp)
    tail = np.cumsum((h * h)[::-1])[::-1] / max(float(np.sum(h * h)), 1e-300)
    return int(np.argmax(tail < 1e-8)) or n


for _family in FILTER_FAMILIES + (ALIASED,):
    register_kind(_family, functools.partial(LowpassFilter.from_args, _family))
