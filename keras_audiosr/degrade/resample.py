"""``resample``: the polyphase Kaiser-windowed sinc resampler real low-rate files are made with.

``scipy.signal.resample_poly(x, 1, ratio)`` (Kaiser beta 5, 10 zero crossings a side), as sox,
torchaudio and resample_poly make them. Linear phase, delay-compensated: ``lr[k]`` sits at ``hr[k * ratio]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_audiosr.degrade.spec import DegradationSpec, check_signal, register_kind

__all__ = ["RESAMPLE_HALF_LEN", "Resample", "resample_down"]

RESAMPLE_HALF_LEN = 10  # scipy.signal.resample_poly: 10 * ratio taps either side of the centre


def resample_down(x, ratio: int, axis: int) -> np.ndarray:
    """``x`` at ``1 / ratio`` of its rate by ``resample_poly`` (float64)."""
    from scipy import signal  # imported on use: the command line starts without it

    return signal.resample_poly(np.asarray(check_signal(x, axis), np.float64), 1, ratio, axis=axis)


def resampler_text(ratio: int, hr_rate: int | None) -> str:
    lr = f"{hr_rate / ratio:g} Hz" if hr_rate else f"the low rate (1/{ratio})"
    return (
        f"polyphase Kaiser-windowed sinc resampler (scipy.signal.resample_poly, beta 5, "
        f"{RESAMPLE_HALF_LEN} zero crossings a side) to {lr}"
    )


@dataclass(frozen=True)
class Resample(DegradationSpec):
    """The ``resample`` spec (no arguments)."""

    kind = "resample"

    def __str__(self) -> str:
        return "resample"

    def low_rate(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        return resample_down(x, ratio, axis).astype(np.float32)

    def context(self, ratio: int) -> int:
        return RESAMPLE_HALF_LEN * ratio + ratio

    def describe(self, ratio: int, hr_rate: int | None, zero_phase: bool) -> str:
        return resampler_text(ratio, hr_rate)


def _parse(args: tuple[str, ...], text: str) -> Resample:
    if args:
        raise ValueError(f"degradation spec {text!r}: 'resample' takes no arguments")
    return Resample()


register_kind("resample", _parse)
