"""DecibelGain: ``g -> 10^(g * db_per_unit / 20)``, a wide-range gain from a small, evenly quantized value."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class DecibelGain(keras.layers.Layer):
    """Maps ``g`` (any shape) to the linear gain of ``g * db_per_unit`` decibels, clamped to ``[min_db, max_db]``.

    A network that emits a gain in decibels and a unit-scale shape (gain-shape coding, as speech
    codecs do) keeps a constant *relative* precision when that output is quantized to int8: a
    quantization step of ``g`` is a fixed fraction of a decibel whatever the level, where a linear
    int8 output loses quiet passages in its step.

    Written as a piecewise-linear interpolation with knots every ``step_db`` (relative error at most
    1 % at 2.5 dB) from the operators embedded runtimes accept: ``relu6`` ramps (a 1x1 CONV_2D with
    a fused RELU6, each ramp scaled to ``[0, 6]``) and their weighted sum (a 1x1 CONV_2D). Fixed, no
    weights; the input's last axis must be 1 (it is the channel the ramps expand).

    Args:
        db_per_unit: Decibels per unit of ``g``.
        min_db, max_db: Range of the gain (clamped outside).
        step_db: Knot spacing of the interpolation.
        offset_db: A fixed level added to every gain after the clamp (exact: it scales the output
            table), e.g. a trim of the band a model emits through this gain; :meth:`set_offset_db`
            changes it in place.
    """

    def __init__(self, db_per_unit=10.0, min_db=-40.0, max_db=10.0, step_db=2.5, offset_db=0.0, **kwargs):
        super().__init__(**kwargs)
        self.db_per_unit, self.min_db, self.max_db, self.step_db = (
            float(v) for v in (db_per_unit, min_db, max_db, step_db)
        )
        if not (self.db_per_unit > 0 and self.step_db > 0 and self.max_db > self.min_db):
            raise ValueError(
                f"DecibelGain: needs db_per_unit > 0, step_db > 0 and max_db > min_db, got "
                f"{db_per_unit}, {step_db}, [{min_db}, {max_db}]"
            )
        self.set_offset_db(offset_db)

    def set_offset_db(self, db):
        """Sets :attr:`offset_db` (in place; graphs traced before keep the old tables)."""
        if not np.isfinite(float(db)):
            raise ValueError(f"DecibelGain: offset_db must be finite, got {db}")
        self.offset_db = float(db)
        knots_db = np.linspace(self.min_db, self.max_db, int(round((self.max_db - self.min_db) / self.step_db)) + 1)
        knots = knots_db / self.db_per_unit
        width = np.diff(knots)
        gains = 10.0 ** ((knots_db + self.offset_db) / 20.0)
        self._ramp_w = (6.0 / width).reshape(1, 1, 1, -1).astype(np.float32)
        self._ramp_b = (-6.0 * knots[:-1] / width).astype(np.float32)
        self._sum_w = (np.diff(gains) / 6.0).reshape(1, 1, -1, 1).astype(np.float32)
        self._gain0 = np.float32(gains[0])
        return self

    @property
    def segments(self):
        return self._ramp_b.shape[0]

    def build(self, input_shape):
        if input_shape[-1] != 1 or len(input_shape) != 4:
            raise ValueError(f"DecibelGain takes [B, T, 1, 1], got {tuple(input_shape)}")
        super().build(input_shape)

    def call(self, g):
        dt = g.dtype
        ramps = ops.conv(g, ops.convert_to_tensor(self._ramp_w, dt)) + ops.convert_to_tensor(self._ramp_b, dt)
        ramps = ops.relu6(ramps)
        return ops.conv(ramps, ops.convert_to_tensor(self._sum_w, dt)) + ops.convert_to_tensor([self._gain0], dt)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def count_macs(self, input_shapes, output_shapes):
        """Per value: one multiply-accumulate per ramp and one per ramp in the sum."""
        return int(np.prod(input_shapes[0][1:])) * 2 * self.segments

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "db_per_unit": self.db_per_unit,
                "min_db": self.min_db,
                "max_db": self.max_db,
                "step_db": self.step_db,
                "offset_db": self.offset_db,
            }
        )
        return config
