"""Keras metrics for training logs: per-example SNR and LSD with ``keras.ops``, the same definitions as
the NumPy functions of :mod:`keras_audiosr.metrics` (see there for the spectrogram's exact framing)."""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_audiosr.metrics import _check_stft, effective_stft_params

__all__ = ["LSDMetric", "SNRMetric"]


def _per_example_weights(sample_weight, batch_values):
    if sample_weight is None:
        return ops.ones_like(batch_values)
    w = ops.cast(sample_weight, batch_values.dtype)
    w = ops.reshape(w, (ops.shape(batch_values)[0], -1))
    return ops.mean(w, axis=1)


class _MeanOverExamples(keras.metrics.Metric):
    """Weighted mean over examples of a per-example value (subclasses implement ``_per_example``)."""

    def __init__(self, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype or "float32", **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        values = self._per_example(y_true, y_pred)
        w = _per_example_weights(sample_weight, values)
        self.total.assign_add(ops.sum(values * w))
        self.count.assign_add(ops.sum(w))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="keras_audiosr")
class SNRMetric(_MeanOverExamples):
    """Mean over examples of per-example SNR in dB, for ``y_true, y_pred`` of shape ``[batch, time, channels]``.

    Per example: ``10 * log10((sum(y_true**2) + epsilon) / (sum((y_true - y_pred)**2) + epsilon))``
    summed over time and channels -- :func:`~keras_audiosr.metrics.snr` of the flattened example, with
    ``epsilon`` keeping identical or silent examples finite. ``sample_weight`` (``[batch]`` or ``[batch, ...]``,
    averaged per example) weights the mean.
    """

    def __init__(self, name="snr", dtype=None, epsilon: float = 1e-12, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.epsilon = epsilon

    def _per_example(self, y_true, y_pred):
        b = ops.shape(y_true)[0]
        ref = ops.reshape(y_true, (b, -1))
        err = ops.reshape(y_true - y_pred, (b, -1))
        ratio = (ops.sum(ref * ref, axis=1) + self.epsilon) / (ops.sum(err * err, axis=1) + self.epsilon)
        return 10.0 * ops.log(ratio) / math.log(10.0)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="keras_audiosr")
class LSDMetric(_MeanOverExamples):
    """Mean over examples of per-example :func:`~keras_audiosr.metrics.lsd` (log10 power), computed with
    ``keras.ops.stft``.

    ``y_true, y_pred``: ``[batch, time, channels]``. Each example and channel is framed exactly as
    :func:`~keras_audiosr.metrics.power_spectrogram` (``n_fft // 2`` zeros each side, periodic Hann,
    ``1 + time // hop`` frames), the LSD is taken per channel and averaged over channels, then over
    examples. Patches shorter than ``n_fft`` use :func:`~keras_audiosr.metrics.effective_stft_params`
    (frame and hop shrunk to the patch), so the value equals
    ``lsd(pred, true, *effective_stft_params(time, n_fft, hop), eps)``. Computed in float32, so it
    agrees with the float64 :func:`~keras_audiosr.metrics.lsd` to about 1e-3 where spectra are well above eps.
    """

    def __init__(self, name="lsd", dtype=None, n_fft: int = 2048, hop: int = 512, eps: float = 1e-10, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        _check_stft(n_fft, hop)
        self.n_fft = int(n_fft)
        self.hop = int(hop)
        self.eps = eps

    def _log_power(self, x, n_fft, hop):
        pad = n_fft // 2
        x = ops.pad(x, [[0, 0], [pad, pad]])
        re, im = ops.stft(x, sequence_length=n_fft, sequence_stride=hop, fft_length=n_fft, window="hann", center=False)
        return ops.log(re * re + im * im + self.eps) / math.log(10.0)

    def _per_example(self, y_true, y_pred):
        if len(y_true.shape) == 2:
            y_true, y_pred = y_true[..., None], y_pred[..., None]
        n_fft, hop = effective_stft_params(y_true.shape[1], self.n_fft, self.hop)
        shape = ops.shape(y_true)
        b, t, c = shape[0], shape[1], shape[2]
        ref = ops.reshape(ops.transpose(y_true, (0, 2, 1)), (-1, t))
        est = ops.reshape(ops.transpose(y_pred, (0, 2, 1)), (-1, t))
        d = self._log_power(ref, n_fft, hop) - self._log_power(est, n_fft, hop)  # [b*c, frames, bins]
        per_frame = ops.sqrt(ops.mean(d * d, axis=-1))
        per_channel = ops.mean(per_frame, axis=-1)
        return ops.mean(ops.reshape(per_channel, (b, c)), axis=1)

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop": self.hop, "eps": self.eps}
