"""Fake int8 quantization ranges owned by the stateful layers (private helper).

A layer that belongs to an int8 core registers a range (two non-trainable scalars) per tensor the
converter must quantize. Its ``call`` takes ``quantize``:

* ``None`` -- float (the ranges are not used);
* ``"calibrate"`` -- float, and each range grows to cover the ``CALIBRATION_PERCENTILE`` and
  ``100 - CALIBRATION_PERCENTILE`` percentiles of every batch it sees (post-training calibration:
  robust to the rare outliers that would set a min/max range and waste the int8 step on them);
* ``"fake"`` -- ``keras.quantizers.fake_quant_with_min_max_vars`` with the stored range (the
  pattern the TFLite converter turns into int8 kernels); in training the range also follows an
  exponential moving average of each batch's min/max (quantization-aware training).

Kernels are fake-quantized per output channel, symmetric, narrow range, as TFLite's int8 kernels are.
"""

import keras
from keras import ops

QUANTIZE_MODES = (None, "calibrate", "fake")
EMA_MOMENTUM = 0.99
CALIBRATION_PERCENTILE = 99.99


def check_quantize(mode, what):
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"{what}: unknown quantize mode {mode!r}; choose one of {QUANTIZE_MODES}")
    return mode


def add_range(layer, name):
    """Two non-trainable scalars ``(name_min, name_max)``, both 0 until calibrated."""
    lo = layer.add_weight(shape=(), initializer="zeros", trainable=False, name=f"{name}_min")
    hi = layer.add_weight(shape=(), initializer="zeros", trainable=False, name=f"{name}_max")
    return lo, hi


def reset_range(rng):
    rng[0].assign(0.0)
    rng[1].assign(0.0)


def quantize_tensor(x, rng, mode, training=False):
    """Apply one range to ``x`` according to ``mode`` (see the module docstring)."""
    if mode is None:
        return x
    lo, hi = rng
    if mode == "calibrate":
        flat = ops.reshape(x, (-1,))
        q = CALIBRATION_PERCENTILE / 100.0
        lo.assign(ops.minimum(lo, ops.minimum(ops.quantile(flat, 1.0 - q), 0.0)))
        hi.assign(ops.maximum(hi, ops.maximum(ops.quantile(flat, q), 0.0)))
        return x
    batch_lo = ops.minimum(ops.min(x), 0.0)
    batch_hi = ops.maximum(ops.max(x), 0.0)
    if training:
        m = EMA_MOMENTUM
        lo.assign(m * lo + (1.0 - m) * batch_lo)
        hi.assign(m * hi + (1.0 - m) * batch_hi)
    lo_v = ops.minimum(ops.convert_to_tensor(lo), 0.0)
    hi_v = ops.maximum(ops.convert_to_tensor(hi), lo_v + 1e-6)
    return keras.quantizers.fake_quant_with_min_max_vars(x, lo_v, hi_v, num_bits=8)


def quantize_kernel(kernel, mode):
    """Per-output-channel symmetric int8 fake quantization of a conv kernel (last axis = output channels)."""
    if mode != "fake":
        return kernel
    axes = tuple(range(len(kernel.shape) - 1))
    reach = ops.maximum(ops.stop_gradient(ops.max(ops.abs(kernel), axis=axes)), 1e-8)
    return keras.quantizers.fake_quant_with_min_max_vars(
        kernel, -reach, reach, num_bits=8, narrow_range=True, axis=len(kernel.shape) - 1
    )
