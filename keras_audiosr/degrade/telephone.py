"""``telephone[:mulaw|:alaw]``: the telephone channel, and ITU-T G.711 companding.

The signal is resampled to the low rate as ``resample`` does, band-passed by a Butterworth order-4
band-pass with -3 dB points at 0.075 and 0.85 of the low-rate Nyquist (300-3400 Hz at an 8 kHz low
rate), applied causally as a channel does (``zero_phase`` does not apply), then optionally companded
by G.711 mu-law or A-law (8-bit codes, the segmented tables of the standard).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from keras_audiosr.degrade.filters import impulse_decay
from keras_audiosr.degrade.resample import RESAMPLE_HALF_LEN, resample_down, resampler_text
from keras_audiosr.degrade.spec import DegradationSpec, register_kind

__all__ = ["COMPANDING", "TELEPHONE_BAND", "TELEPHONE_ORDER", "Telephone", "g711"]

COMPANDING = ("mulaw", "alaw")
TELEPHONE_BAND = (0.075, 0.85)  # -3 dB points, fractions of the low-rate Nyquist: 300-3400 Hz at 8 kHz
TELEPHONE_ORDER = 4  # Butterworth band-pass prototype order (8 poles in all)


@functools.lru_cache(maxsize=16)
def _telephone_sos() -> np.ndarray:
    from scipy import signal  # imported on use: the command line starts without it

    sos = np.asarray(signal.butter(TELEPHONE_ORDER, TELEPHONE_BAND, btype="bandpass", output="sos"), np.float64)
    sos.setflags(write=False)
    return sos


@dataclass(frozen=True)
class Telephone(DegradationSpec):
    """The telephone channel, optionally companded by G.711 ``companding`` (``"mulaw"`` or ``"alaw"``)."""

    companding: str | None = None

    kind = "telephone"
    keeps_waveform = False

    def __post_init__(self):
        if self.companding not in (None,) + COMPANDING:
            raise ValueError(f"unknown G.711 law {self.companding!r}; valid: {', '.join(COMPANDING)}")

    def __str__(self) -> str:
        return self.kind if self.companding is None else f"{self.kind}:{self.companding}"

    def low_rate(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        from scipy import signal

        y = signal.sosfilt(_telephone_sos().copy(), resample_down(x, ratio, axis), axis=axis)
        return y.astype(np.float32) if self.companding is None else g711(y, self.companding)

    def context(self, ratio: int) -> int:
        return RESAMPLE_HALF_LEN * ratio + ratio + impulse_decay(_telephone_sos().copy()) * ratio

    def describe(self, ratio: int, hr_rate: int | None, zero_phase: bool) -> str:
        lo, hi = TELEPHONE_BAND
        band = (
            f"{lo * hr_rate / (2 * ratio):g}-{hi * hr_rate / (2 * ratio):g} Hz"
            if hr_rate
            else f"{lo:g}-{hi:g} x low-rate Nyquist"
        )
        law = {None: "no companding", "mulaw": "G.711 mu-law 8-bit companding", "alaw": "G.711 A-law 8-bit companding"}[
            self.companding
        ]
        return (
            f"telephone channel: {resampler_text(ratio, hr_rate)}, {band} Butterworth order-{TELEPHONE_ORDER} "
            f"band-pass (causal), {law}"
        )


def _parse(args: tuple[str, ...], text: str) -> Telephone:
    if len(args) > 1 or (args and args[0] not in COMPANDING):
        raise ValueError(f"degradation spec {text!r}: expected telephone, telephone:mulaw or telephone:alaw")
    return Telephone(args[0] if args else None)


register_kind("telephone", _parse, grammar=f"telephone[:{'|:'.join(COMPANDING)}]")


# ----------------------------------------------------------------------------- G.711


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
    mag = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84
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
    y = _mulaw_decode(_mulaw_encode(pcm)) if law == "mulaw" else _alaw_decode(_alaw_encode(pcm))
    return (y / 32768.0).astype(np.float32)
