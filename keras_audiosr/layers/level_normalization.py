"""LevelNormalization: divides a signal by its running level and hands the level on, in ops every runtime has."""

import math

import keras
import numpy as np
from keras import ops

from keras_audiosr.layers._stateful import causal_conv, split_inputs


def level_knots(floor):
    """Knots ``p_k = floor^2 (2^k - 1)`` of the mean-square axis, ``k = 0..K``, with ``floor 2^(K/2) >= 1``.

    Between knots the level ``sqrt(p + floor^2)`` grows by sqrt(2); the piecewise-linear gain and
    level are exact at the knots and within 5 % between them.
    """
    floor = float(floor)
    if not 0.0 < floor < 1.0:
        raise ValueError(f"LevelNormalization: floor must be in (0, 1) (a level in full-scale units), got {floor!r}")
    segments = int(math.ceil(2.0 * math.log2(1.0 / floor)))
    return floor**2 * (2.0 ** np.arange(segments + 1) - 1.0)


@keras.saving.register_keras_serializable(package="keras_audiosr")
class LevelNormalization(keras.layers.Layer):
    """``x -> [x * g, s]``: ``x`` scaled to unit level, and the level ``s`` to restore it with.

    The level is ``sqrt(p + floor^2)`` with ``p`` the mean square of the last ``window`` samples
    (the current one included, so ``|x * g| <= sqrt(window)``: an onset after silence cannot
    overflow a fixed int8 range). With ``clip``, the scaled signal is also limited to
    ``[-clip, clip]`` (only onsets reach it), so an int8 range over it keeps a fine step. ``g``
    approximates ``1 / level`` and ``s`` the level, each piecewise-linear in ``p`` with knots a factor
    sqrt(2) of level apart (:func:`level_knots`), from ``floor`` (gain ``1 / floor`` in silence) to
    full scale (constant above it).

    Written with the operators embedded runtimes accept, no division or square root: ``x * x``
    (MUL), the moving average (CONV_2D), clamped ramps ``relu6(a_k p + b_k)`` (CONV_2D with a fused
    RELU6; every ramp is scaled to ``[0, 6]`` so the sum stays well conditioned in float32), their
    weighted sums (two 1x1 CONV_2D) and ``x * g`` (MUL); the clip is
    ``relu6(x * g * 3 / clip + 3) * clip / 3 - clip`` (the ``3 / clip`` folded into ``g``: one ADD
    with a fused RELU6, one MUL, one ADD). Fixed, no weights; in an int8 export it stays
    float, in front of the integer core, so the core sees speech at a steady level whatever its loudness.

    Causal and stateful like :class:`CausalConv2D`: ``layer(x)`` offline, ``layer([x, state])`` ->
    ``[x * g, s, new_state]`` streaming, with ``state`` ``[B, window - 1, 1, 1]`` (past squares).

    Args:
        window: Moving-average length in samples.
        floor: Lowest level tracked (full scale 1.0); quieter input is amplified by at most ``1 / floor``.
        clip: Limit of the scaled signal (None: no limit beyond ``sqrt(window)``).
    """

    def __init__(self, window=160, floor=1e-3, clip=None, **kwargs):
        super().__init__(**kwargs)
        self.window = int(window)
        if self.window < 1:
            raise ValueError(f"LevelNormalization: window must be a positive number of samples, got {window!r}")
        self.floor = float(floor)
        self.clip = None if clip is None else float(clip)
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"LevelNormalization: clip must be positive, got {clip!r}")
        knots = level_knots(self.floor)
        width = np.diff(knots)
        level = np.sqrt(knots + self.floor**2)
        self._ramp_w = (6.0 / width).reshape(1, 1, 1, -1)
        self._ramp_b = -6.0 * knots[:-1] / width
        gain_scale = 1.0 if self.clip is None else 3.0 / self.clip
        self._gain_w = (gain_scale * np.diff(1.0 / level) / 6.0).reshape(1, 1, -1, 1)
        self._level_w = (np.diff(level) / 6.0).reshape(1, 1, -1, 1)
        self._gain0, self._level0 = gain_scale / level[0], level[0]

    @property
    def segments(self):
        return self._ramp_b.shape[0]

    @property
    def state_length(self):
        return self.window - 1

    def state_shape(self, batch=1):
        return (batch, self.state_length, 1, 1)

    def build(self, input_shape):
        x_shape = input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if len(x_shape) != 4 or x_shape[2] != 1 or x_shape[3] != 1:
            raise ValueError(f"LevelNormalization takes mono [B, T, 1, 1], got {tuple(x_shape)}")
        super().build(input_shape)

    def _const(self, value, dtype):
        return ops.convert_to_tensor(np.asarray(value, np.float32), dtype=dtype)

    def call(self, inputs):
        x, state = split_inputs(inputs, "LevelNormalization")
        dt = x.dtype
        average = self._const(np.full((self.window, 1, 1, 1), 1.0 / self.window), dt)
        out = causal_conv(x * x, average, 1, state)
        power, new_state = (out, None) if state is None else out
        ramps = ops.relu6(ops.conv(power, self._const(self._ramp_w, dt)) + self._const(self._ramp_b, dt))
        gain = ops.conv(ramps, self._const(self._gain_w, dt)) + self._const([self._gain0], dt)
        level = ops.conv(ramps, self._const(self._level_w, dt)) + self._const([self._level0], dt)
        normalized = x * gain
        if self.clip is not None:
            normalized = ops.relu6(normalized + 3.0) * (self.clip / 3.0) - self.clip
        return [normalized, level] if state is None else [normalized, level, new_state]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape[0], (list, tuple)):
            x_shape, state_shape = input_shape
            return [tuple(x_shape), tuple(x_shape), tuple(state_shape)]
        return [tuple(input_shape), tuple(input_shape)]

    def count_macs(self, input_shapes, output_shapes):
        """Per sample: the square, the moving average, the ramps, the two sums, the scaling (and the clip's)."""
        return int(input_shapes[0][1]) * (1 + self.window + 3 * self.segments + 1 + (self.clip is not None))

    def get_config(self):
        config = super().get_config()
        config.update({"window": self.window, "floor": self.floor, "clip": self.clip})
        return config
