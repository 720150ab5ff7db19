"""BandMerge: keeps the input's band exactly, by construction; the network only adds the band above it."""

import keras
import numpy as np
from keras import ops

from keras_audiosr.layers._stateful import causal_conv

DEFAULT_TRANSITION = (0.875, 1.0)
DEFAULT_ATTENUATION_DB = 120.0
#: Zero crossings per side of the sinc interpolation that band-preserving models feed BandMerge as ``low``
#: (:class:`~keras_audiosr.layers.Interpolation1D`, ``method="sinc"``, Kaiser beta 8): flat within 0.001 dB
#: up to 0.875 of the low-rate Nyquist (the default transition's stop edge; the default 8 zero crossings
#: are already 1.2 dB down there) and its images at least 80 dB down above 1.125 of it.
BAND_SINC_ZEROS = 24


def band_split_taps(ratio, transition=DEFAULT_TRANSITION, attenuation_db=DEFAULT_ATTENUATION_DB):
    """Linear-phase Kaiser high-pass FIR (odd length, float64) that :class:`BandMerge` applies to the network.

    ``transition = (stop, pass)`` are fractions of the LOW-rate Nyquist frequency ``hr_rate / (2 ratio)``:
    below ``stop`` the response is at most ``-attenuation_db`` dB, above ``pass`` it is within the
    Kaiser ripple of 1. The length follows Kaiser's formula (``scipy.signal.kaiserord``), so a
    narrower transition or a deeper stopband costs more taps (and more delay).
    """
    from scipy import signal

    ratio = int(ratio)
    if ratio < 2:
        raise ValueError(f"band_split_taps: ratio must be an integer >= 2, got {ratio}")
    stop, passband = (float(v) for v in transition)
    if not 0.0 < stop < passband <= ratio:
        raise ValueError(
            f"band_split_taps: transition must be (stop, pass) with 0 < stop < pass <= ratio "
            f"(fractions of the low-rate Nyquist), got {tuple(transition)}"
        )
    if not attenuation_db > 21.0:
        raise ValueError(f"band_split_taps: attenuation_db must exceed 21 dB, got {attenuation_db}")
    # Frequencies normalised to the HIGH-rate Nyquist (what scipy takes).
    width = (passband - stop) / ratio
    numtaps, beta = signal.kaiserord(float(attenuation_db), width)
    numtaps += 1 - numtaps % 2  # odd: a type-I linear-phase high-pass
    cutoff = 0.5 * (stop + passband) / ratio
    return signal.firwin(numtaps, cutoff, window=("kaiser", beta), pass_zero=False, scale=True)


def upper_split_taps(ratio, split, transition=DEFAULT_TRANSITION, attenuation_db=DEFAULT_ATTENUATION_DB):
    """The high-pass at ``split`` (a fraction of the low-rate Nyquist) with :func:`band_split_taps`' length and
    window: its transition is as wide and as deep as the band merge's, and because both are linear-phase FIRs
    of one length and one delay, the two parts ``band_split_taps - upper_split_taps`` and ``upper_split_taps`` add
    up to the merge exactly (each part's band is as exact as a Kaiser design, ripple and transition)."""
    from scipy import signal

    base = band_split_taps(ratio, transition, attenuation_db)
    split, passband = float(split), float(transition[1])
    width = (passband - float(transition[0])) / int(ratio)
    if not passband + 0.5 * width * ratio <= split <= int(ratio) - 0.5 * width * ratio:
        raise ValueError(
            f"upper_split_taps: split must lie above the band merge's pass edge {passband:g} and below the output "
            f"Nyquist {int(ratio)} (fractions of the low-rate Nyquist), with half a transition to spare; got {split:g}"
        )
    _, beta = signal.kaiserord(float(attenuation_db), width)
    return signal.firwin(len(base), split / int(ratio), window=("kaiser", beta), pass_zero=False, scale=True)


@keras.saving.register_keras_serializable(package="keras_audiosr")
class BandMerge(keras.layers.Layer):
    """``[low, high] -> low + highpass(high)``: the output's band below the transition IS ``low``.

    ``low`` is a fixed, band-limited interpolation of the model's input (e.g.
    :class:`Interpolation1D` with ``method="sinc"``) and ``high`` the network's high-rate output,
    both ``[B, T, C]`` (or ``[B, T, 1, C]`` for Conv2D-style graphs). The high-pass is a fixed
    linear-phase FIR (:func:`band_split_taps`) applied per channel with zero padding ("same"), so
    it adds no delay; below ``transition[0]`` of the low-rate Nyquist the network's contribution is
    attenuated by at least ``attenuation_db`` (120 dB by default: the level of float32 rounding),
    so the output equals ``low`` there whatever the network learns. Between the two edges both
    branches contribute; above ``transition[1]`` the network has the band to itself.

    Streaming use: the FIR is symmetric with ``delay = (taps - 1) // 2`` high-rate samples, the
    lookahead a causal implementation needs. With ``causal=True`` the FIR is applied causally
    (zero history in front, none after), so ``high`` reaches the output ``delay`` samples late and
    ``low`` must come already delayed by as much (e.g. :class:`CausalInterpolation` with a longer
    ``delay``); streamed, ``layer([low, high, state])`` returns ``[merged, new_state]``, with
    ``state`` the last ``taps - 1`` samples of ``high`` (``[B, taps - 1, 1, C]`` or ``[B, taps - 1, C]``;
    zeros at the start), and equals the offline output frame by frame.

    Upper band: with ``upper_split`` set, the part of the network's band above it is scaled by
    ``upper_gain_db`` relative to the part below (one FIR, ``taps + (g - 1) * upper_split_taps``: same
    length, delay, state and cost; at 0 dB exactly the plain merge). An 8 -> 48 kHz model uses it to set
    4-8 kHz (which PESQ-WB hears) and 8-24 kHz at separate levels.

    Args:
        ratio: The model's up-sampling ratio (the low-rate Nyquist is ``1 / ratio`` of the high-rate one).
        transition: ``(stop, pass)`` as fractions of the low-rate Nyquist; default (0.875, 1.0).
        attenuation_db: Stopband attenuation of the high-pass.
        causal: Causal FIR (streaming form) instead of the zero-delay "same" one.
        upper_split: Where the upper band starts, a fraction of the low-rate Nyquist (None: no upper band).
        upper_gain_db: Level of the upper band relative to the rest of the network's band, in dB.
    """

    def __init__(
        self,
        ratio,
        transition=DEFAULT_TRANSITION,
        attenuation_db=DEFAULT_ATTENUATION_DB,
        causal=False,
        upper_split=None,
        upper_gain_db=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.causal = bool(causal)
        self.ratio = int(ratio)
        self.transition = tuple(float(v) for v in transition)
        self.attenuation_db = float(attenuation_db)
        self.base_taps = band_split_taps(self.ratio, self.transition, self.attenuation_db)
        self.upper_split = None
        self.set_upper_band(upper_split, upper_gain_db)

    def set_upper_band(self, split, gain_db=0.0):
        """Sets the upper band (``split`` None: none) and its relative level (in place; graphs traced before
        keep the old kernel)."""
        gain_db = float(gain_db)
        if not np.isfinite(gain_db):
            raise ValueError(f"BandMerge: upper_gain_db must be finite, got {gain_db}")
        if split is None and gain_db:
            raise ValueError("BandMerge: an upper band level needs upper_split")
        taps = self.base_taps
        if (
            split is not None
        ):  # computed (and checked) before anything changes: a refused split leaves the layer as it was
            upper = upper_split_taps(self.ratio, float(split), self.transition, self.attenuation_db)
            taps = self.base_taps + (10.0 ** (gain_db / 20.0) - 1.0) * upper
        self.upper_split = None if split is None else float(split)
        self.upper_gain_db, self.taps = gain_db, taps

    @property
    def delay(self):
        """Half the FIR length in high-rate samples (the lookahead a streaming form needs)."""
        return (len(self.taps) - 1) // 2

    @property
    def state_length(self):
        """High-rate samples of ``high`` a causal merge keeps between calls: ``taps - 1``."""
        return len(self.taps) - 1

    def state_shape(self, batch=1):
        tail = (1, self._channels) if self._rank == 4 else (self._channels,)
        return (batch, self.state_length) + tail

    def build(self, input_shape):
        if len(input_shape) == 3 and self.causal:
            input_shape = input_shape[:2]
        if len(input_shape) != 2:
            raise ValueError(
                f"BandMerge takes [low, high] (or [low, high, state] when causal), got {len(input_shape)} tensors"
            )
        low_shape, high_shape = input_shape
        if len(low_shape) not in (3, 4) or len(low_shape) != len(high_shape):
            raise ValueError(
                f"BandMerge takes [low, high] of equal rank 3 ([B, T, C]) or 4 ([B, T, 1, C]), "
                f"got {tuple(low_shape)} and {tuple(high_shape)}"
            )
        channels = high_shape[-1]
        if channels is None or (low_shape[-1] is not None and low_shape[-1] != channels):
            raise ValueError(
                f"BandMerge needs the same known channel count in both inputs, got "
                f"{tuple(low_shape)} and {tuple(high_shape)}"
            )
        self._rank = len(high_shape)
        self._channels = int(channels)
        super().build(input_shape)

    def _kernel(self, dtype):
        k, c = len(self.taps), self._channels
        if self._rank == 4:  # depthwise [K, 1, C, 1]
            kernel = np.tile(self.taps.reshape(k, 1, 1, 1), (1, 1, c, 1))
        else:  # [K, C, C], diagonal
            kernel = np.zeros((k, c, c))
            for i in range(c):
                kernel[:, i, i] = self.taps
        return ops.convert_to_tensor(kernel.astype(np.float32), dtype=dtype)

    def call(self, inputs):
        if len(inputs) == 3:
            if not self.causal:
                raise ValueError(f"{self.name}: a state is only taken by the causal form (BandMerge(causal=True))")
            low, high, state = inputs
        else:
            (low, high), state = inputs, None
        kernel = self._kernel(high.dtype)
        if self.causal:
            out = causal_conv(high, kernel, 1, state, depthwise=self._rank == 4)
            filtered, new_state = (out, None) if state is None else out
        elif self._rank == 4:
            filtered = ops.depthwise_conv(high, kernel, strides=1, padding="same")
        else:
            filtered = ops.conv(high, kernel, strides=1, padding="same")
        merged = ops.cast(low, filtered.dtype) + filtered
        return merged if state is None else [merged, new_state]

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 3:
            return [tuple(input_shape[1]), tuple(input_shape[2])]
        return tuple(input_shape[1])

    def count_macs(self, input_shapes, output_shapes):
        """One multiply-accumulate per tap per high-rate sample and channel."""
        shape = input_shapes[1]
        return int(shape[1]) * len(self.taps) * int(shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "ratio": self.ratio,
                "transition": list(self.transition),
                "attenuation_db": self.attenuation_db,
                "causal": self.causal,
                "upper_split": self.upper_split,
                "upper_gain_db": self.upper_gain_db,
            }
        )
        return config
