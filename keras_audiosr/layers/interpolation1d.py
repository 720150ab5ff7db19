"""Interpolation1D: fixed (non-trainable) up-sampling inside a model, so saved models take raw low-rate samples."""

import math

import keras
import numpy as np
from keras import ops

INTERPOLATION_METHODS = ("linear", "cubic", "sinc")


def _kernel_function(method, ratio, sinc_zeros):
    """Continuous interpolation kernel h(n) over high-rate offsets n, with h(0)=1 and h(k*ratio)=0 for k != 0."""
    if method == "linear":
        return (lambda n: np.clip(1.0 - np.abs(n) / ratio, 0.0, None)), ratio
    if method == "cubic":
        a = -0.5  # Keys (1981) / Catmull-Rom: third-order accurate, the closest fixed kernel to a cubic spline

        def keys(n):
            s = np.abs(n) / ratio
            near = (a + 2) * s**3 - (a + 3) * s**2 + 1
            far = a * s**3 - 5 * a * s**2 + 8 * a * s - 4 * a
            return np.where(s <= 1, near, np.where(s < 2, far, 0.0))

        return keys, 2 * ratio
    if method == "sinc":
        support = sinc_zeros * ratio
        beta = 8.0

        def windowed_sinc(n):
            inside = np.abs(n) < support
            window = np.i0(beta * np.sqrt(np.clip(1.0 - (n / support) ** 2, 0.0, None))) / np.i0(beta)
            return np.where(inside, np.sinc(n / ratio) * window, 0.0)

        return windowed_sinc, support
    raise ValueError(f"unknown interpolation method {method!r}; choose one of {INTERPOLATION_METHODS}")


def polyphase_kernel(ratio, method="cubic", channels=1, sinc_zeros=8):
    """Kernel ``[K, C, ratio*C]`` and half-width ``W`` such that a valid convolution of the input
    padded by ``W`` on both sides, followed by ``SubPixel1D(ratio)``, interpolates by ``ratio``.

    Phase i of output step t is ``sum_j x[t + j] h(i - j*ratio)`` for ``j`` in ``-W..W``.
    """
    h, support = _kernel_function(method, ratio, sinc_zeros)
    half = int(math.ceil(support / ratio)) + 1
    offsets = np.arange(-half, half + 1)
    phases = np.stack([h(i - offsets * ratio) for i in range(ratio)], axis=-1)  # [K, ratio]
    kernel = np.zeros((len(offsets), channels, ratio * channels), dtype=np.float32)
    for c in range(channels):
        kernel[:, c, c::channels] = phases
    return kernel, half


@keras.saving.register_keras_serializable(package="keras_audiosr")
class Interpolation1D(keras.layers.Layer):
    """Up-samples ``[B, T, C] -> [B, ratio*T, C]`` with a fixed interpolation kernel.

    Low-rate sample k lands on high-rate index ``k*ratio`` (the decimation convention), and is
    kept exactly for every method. The polyphase form (one convolution with ``ratio*C`` output
    channels, then a reshape) costs 1/ratio of zero-insertion followed by filtering, and exports
    to TFLite builtins (PAD/CONCATENATION, CONV_2D, RESHAPE). Edges are extended by repeating the
    first and last samples, so the ends are not pulled towards zero.

    Args:
        ratio: Integer up-sampling factor.
        method: ``"linear"``, ``"cubic"`` (Keys/Catmull-Rom, a = -0.5; the stand-in for the
            papers' cubic-spline input) or ``"sinc"`` (Kaiser-windowed sinc, beta 8).
        sinc_zeros: Zero crossings of the sinc kernel on each side (``"sinc"`` only).
    """

    def __init__(self, ratio, method="cubic", sinc_zeros=8, **kwargs):
        super().__init__(**kwargs)
        if method not in INTERPOLATION_METHODS:
            raise ValueError(f"unknown interpolation method {method!r}; choose one of {INTERPOLATION_METHODS}")
        ratio = int(ratio)
        if ratio < 1:
            raise ValueError(f"Interpolation1D ratio must be a positive integer, got {ratio}")
        self.ratio = ratio
        self.method = method
        self.sinc_zeros = int(sinc_zeros)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"Interpolation1D needs a known channel count, got input shape {tuple(input_shape)}")
        self._kernel, self._half = polyphase_kernel(self.ratio, self.method, channels, self.sinc_zeros)
        super().build(input_shape)

    def call(self, inputs):
        if self.ratio == 1:
            return inputs
        w = self._half
        # Edge extension as one concatenation of copies (``ops.repeat`` lowers to TILE, which embedded
        # runtimes lack); known dims go into the reshape as numbers (a static RESHAPE).
        first, last = inputs[:, :1, :], inputs[:, -1:, :]
        padded = ops.concatenate([first] * w + [inputs] + [last] * w, axis=1)
        kernel = ops.convert_to_tensor(self._kernel, dtype=inputs.dtype)
        phases = ops.conv(padded, kernel, strides=1, padding="valid")
        batch = inputs.shape[0] if inputs.shape[0] is not None else ops.shape(inputs)[0]
        steps = -1 if inputs.shape[1] is None else inputs.shape[1] * self.ratio
        return ops.reshape(phases, (batch, steps, inputs.shape[-1]))

    def compute_output_shape(self, input_shape):
        batch, steps, channels = input_shape
        return (batch, None if steps is None else steps * self.ratio, channels)

    def get_config(self):
        config = super().get_config()
        config.update({"ratio": self.ratio, "method": self.method, "sinc_zeros": self.sinc_zeros})
        return config
