"""CausalInterpolation: the fixed polyphase interpolation of :class:`Interpolation1D`, causal and stateful."""

import keras
import numpy as np
from keras import ops

from keras_audiosr.layers._stateful import causal_conv, split_inputs, static_reshape
from keras_audiosr.layers.interpolation1d import INTERPOLATION_METHODS, polyphase_kernel


@keras.saving.register_keras_serializable(package="keras_audiosr")
class CausalInterpolation(keras.layers.Layer):
    """Up-samples ``[B, T, 1, 1] -> [B, ratio*T, 1, 1]`` with a fixed kernel, ``delay`` low-rate samples late.

    The interpolation kernel is :func:`polyphase_kernel`'s (the same as :class:`Interpolation1D`),
    reaching ``half`` low-rate samples to each side; a causal filter can only produce the
    interpolated value at low-rate step ``t - delay`` when input ``t`` arrives, so ``delay >= half``
    (default ``half``). Output hr sample ``m`` is the interpolation at hr position ``m - delay*ratio``.
    Before the first input the signal is taken as zero (offline: zero padding; streaming: a zero
    state), so frame-by-frame output equals offline output exactly.

    Streaming: ``layer([x, state])`` returns ``[y, new_state]`` with ``state`` ``[B, delay + half, 1, 1]``.
    The layer is fixed (no weights); in an int8 export it stays float, outside the integer core.

    Args:
        ratio: Integer up-sampling factor.
        method: ``"sinc"`` (Kaiser-windowed, beta 8), ``"cubic"`` or ``"linear"``.
        sinc_zeros: Zero crossings of the sinc kernel on each side.
        delay: Output delay in low-rate samples (at least the kernel's half-width); None -> the half-width.
    """

    def __init__(self, ratio, method="sinc", sinc_zeros=8, delay=None, **kwargs):
        super().__init__(**kwargs)
        if method not in INTERPOLATION_METHODS:
            raise ValueError(f"unknown interpolation method {method!r}; choose one of {INTERPOLATION_METHODS}")
        self.ratio = int(ratio)
        if self.ratio < 1:
            raise ValueError(f"CausalInterpolation ratio must be a positive integer, got {ratio}")
        self.method = method
        self.sinc_zeros = int(sinc_zeros)
        phases, self.half = polyphase_kernel(self.ratio, method, 1, self.sinc_zeros)
        self.delay = self.half if delay is None else int(delay)
        if self.delay < self.half:
            raise ValueError(
                f"CausalInterpolation delay {self.delay} is shorter than the kernel's half-width "
                f"{self.half} low-rate samples (the lookahead a causal interpolation needs)"
            )
        # Causal taps: tap j multiplies x[t - (K-1) + j]; rows 0..2*half are the centred kernel, the rest zero.
        taps = np.zeros((self.delay + self.half + 1, 1, 1, self.ratio), np.float32)
        taps[: phases.shape[0], 0] = phases
        self.taps = taps

    @property
    def state_length(self):
        return self.taps.shape[0] - 1

    def state_shape(self, batch=1):
        return (batch, self.state_length, 1, 1)

    def build(self, input_shape):
        x_shape = input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if len(x_shape) != 4 or x_shape[2] != 1 or x_shape[3] != 1:
            raise ValueError(f"CausalInterpolation takes mono [B, T, 1, 1], got {tuple(x_shape)}")
        super().build(input_shape)

    def call(self, inputs):
        x, state = split_inputs(inputs, "CausalInterpolation")
        kernel = ops.convert_to_tensor(self.taps, dtype=x.dtype)
        out = causal_conv(x, kernel, 1, state)
        phases, new_state = (out, None) if state is None else out
        steps = x.shape[1]
        y = static_reshape(phases, (x.shape[0], None if steps is None else steps * self.ratio, 1, 1))
        return y if state is None else [y, new_state]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape[0], (list, tuple)):
            x_shape, state_shape = input_shape
            return [self._out_shape(x_shape), tuple(state_shape)]
        return self._out_shape(input_shape)

    def _out_shape(self, shape):
        return (shape[0], None if shape[1] is None else shape[1] * self.ratio, 1, 1)

    def count_macs(self, input_shapes, output_shapes):
        """One multiply-accumulate per tap and phase per input sample (zero taps of the delay included)."""
        return int(input_shapes[0][1]) * self.taps.shape[0] * self.ratio

    def get_config(self):
        config = super().get_config()
        config.update({"ratio": self.ratio, "method": self.method, "sinc_zeros": self.sinc_zeros, "delay": self.delay})
        return config
