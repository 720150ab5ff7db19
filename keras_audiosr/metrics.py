"""Evaluation metrics: SNR, low-band SNR, log-spectral distance (full band and high band), wide-band PESQ.

NumPy functions (:func:`snr`, :func:`snr_lowband`, :func:`lsd`, :func:`lsd_hf`, :func:`pesq_wb`, :func:`evaluate_pair`)
score whole signals in float64; :class:`SNRMetric` and :class:`LSDMetric` compute the same
definitions per example with ``keras.ops`` for training logs.

Spectrogram used by every LSD here (:func:`power_spectrogram`), for a 1-D signal ``x`` of ``N``
samples, an even ``n_fft`` and a ``hop``:

* ``x`` is zero-padded with ``n_fft // 2`` zeros on each side (frames centred on ``t * hop``; the
  same frames as ``librosa.stft(center=True, pad_mode="constant")``), giving
  ``T = 1 + N // hop`` frames;
* frame ``t`` is ``xp[t*hop : t*hop + n_fft]`` times the periodic Hann window
  ``w[n] = 0.5 - 0.5 cos(2 pi n / n_fft)``;
* ``X[t, k] = |sum_n w[n] xp[t*hop + n] exp(-2 pi i k n / n_fft)|^2`` for ``k = 0 .. n_fft/2``
  (unnormalised power, no scaling by the window sum).
"""
from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops

__all__ = [
    "LOWBAND_EDGE",
    "METRIC_NAMES",
    "LSDMetric",
    "SNRMetric",
    "effective_stft_params",
    "evaluate_pair",
    "lsd",
    "lsd_hf",
    "lowband_mask",
    "pesq_available",
    "pesq_wb",
    "power_spectrogram",
    "snr",
    "snr_lowband",
]

METRIC_NAMES = ("snr", "snr_lb", "lsd", "lsd_hf", "pesq")
#: Band edge of :func:`snr_lowband`, a fraction of the low-rate Nyquist frequency: the stop edge of the
#: transition of :class:`~keras_audiosr.layers.BandMerge`, below which a band-preserving model keeps its input.
LOWBAND_EDGE = 0.875
PESQ_RATE = 16000
_FRAME_BLOCK = 1024  # frames transformed at once, bounding memory on long files


def _pair(estimate, reference, what: str) -> tuple[np.ndarray, np.ndarray]:
    est = np.asarray(estimate, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if est.shape != ref.shape:
        raise ValueError(f"{what}: estimate shape {est.shape} != reference shape {ref.shape}")
    if est.size == 0:
        raise ValueError(f"{what}: empty signals")
    if not (np.all(np.isfinite(est)) and np.all(np.isfinite(ref))):
        raise ValueError(f"{what}: signals contain NaN or Inf")
    return est, ref


def snr(estimate, reference) -> float:
    """Signal-to-noise ratio in dB: ``10 * log10(sum(ref**2) / sum((ref - est)**2))``.

    Both arrays are flattened (so a multichannel signal gives one SNR over all its samples) and
    must have the same number of samples (``ValueError`` otherwise). Identical signals give ``inf``; a silent
    reference with a non-silent estimate gives ``-inf``.
    """
    est = np.asarray(estimate, dtype=np.float64).ravel()
    ref = np.asarray(reference, dtype=np.float64).ravel()
    if est.size != ref.size:
        raise ValueError(f"snr: estimate has {est.size} samples, reference {ref.size}")
    est, ref = _pair(est, ref, "snr")
    noise = float(np.sum((ref - est) ** 2))
    signal = float(np.sum(ref ** 2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def _check_ratio(ratio, what: str) -> int:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 2:
        raise ValueError(f"{what}: ratio must be an integer >= 2, got {ratio!r}")
    return int(ratio)


def lowband_mask(n: int, ratio: int, edge: float = LOWBAND_EDGE) -> np.ndarray:
    """Boolean mask over the ``n // 2 + 1`` bins of ``np.fft.rfft`` of ``n`` samples: ``k <= edge * n / (2 * ratio)``,
    i.e. bin frequency ``k * rate / n`` at most ``edge`` times the low-rate Nyquist ``rate / (2 * ratio)``."""
    return np.arange(n // 2 + 1) <= edge * n / (2.0 * ratio)


def snr_lowband(estimate, reference, ratio, edge: float = LOWBAND_EDGE) -> float:
    """Low-band SNR in dB: :func:`snr` of estimate and reference both low-passed at ``edge`` of the low-rate Nyquist.

    The low-pass is an ideal (brick-wall, zero-phase) FFT mask over the whole signal, per channel:
    with ``N`` samples, ``X = rfft(x)`` (no window, no padding) and ``K`` the bins
    ``k <= edge * N / (2 * ratio)`` (:func:`lowband_mask`; frequency ``k * rate / N`` at most
    ``edge * rate / (2 * ratio)``, i.e. 3500 Hz for 8 -> 16 kHz with the default ``edge = 0.875``),
    ``LP(x) = irfft(X * 1[k in K], N)`` and::

        LB-SNR = 10 * log10( sum LP(ref)**2 / sum LP(ref - est)**2 )

    summed over time and channels (``[time]`` or ``[time, channels]``). Below the default edge a
    band-preserving model's output is its input's sinc interpolation, so this separates "kept the
    band it was given" from "invented the band above". An error confined to the band above the
    edge gives ``inf`` when it is periodic in ``N`` samples; otherwise only what leaks through the
    signal's ends counts (an error 10 dB below a 2 s speech signal, all above the edge, scores
    about 75 dB). ``inf`` / ``-inf`` as for :func:`snr`.
    """
    ratio = _check_ratio(ratio, "snr_lowband")
    edge = float(edge)
    if not 0.0 < edge <= ratio:
        raise ValueError(f"snr_lowband: edge must be in (0, ratio] (a fraction of the low-rate Nyquist), got {edge}")
    est, ref = _pair(estimate, reference, "snr_lowband")
    est, ref = _channels(est), _channels(ref)
    mask = lowband_mask(ref.shape[0], ratio, edge)[:, None]
    n = ref.shape[0]
    low_ref = np.fft.irfft(np.fft.rfft(ref, axis=0) * mask, n, axis=0)
    low_err = np.fft.irfft(np.fft.rfft(ref - est, axis=0) * mask, n, axis=0)
    return snr(low_ref - low_err, low_ref)


def _check_stft(n_fft: int, hop: int) -> None:
    if not (isinstance(n_fft, (int, np.integer)) and n_fft >= 2 and n_fft % 2 == 0):
        raise ValueError(f"n_fft must be an even integer >= 2, got {n_fft!r}")
    if not (isinstance(hop, (int, np.integer)) and hop >= 1):
        raise ValueError(f"hop must be an integer >= 1, got {hop!r}")


def _hann(n_fft: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)


def power_spectrogram(x, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """``X[t, k]`` (shape ``[1 + N // hop, n_fft // 2 + 1]``) of a 1-D signal, as in the module docstring."""
    _check_stft(n_fft, hop)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"power_spectrogram takes a 1-D signal, got shape {x.shape}")
    xp = np.pad(x, (n_fft // 2, n_fft // 2))
    n_frames = 1 + (len(xp) - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames]
    win = _hann(n_fft)
    out = np.empty((n_frames, n_fft // 2 + 1))
    for s in range(0, n_frames, _FRAME_BLOCK):
        out[s:s + _FRAME_BLOCK] = np.abs(np.fft.rfft(frames[s:s + _FRAME_BLOCK] * win, axis=-1)) ** 2
    return out


def _channels(x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        return x[:, None]
    if x.ndim == 2:
        return x
    raise ValueError(f"signals must be [time] or [time, channels], got shape {x.shape}")


def _lsd(est, ref, n_fft, hop, eps, k_min: int, what: str) -> float:
    est, ref = _pair(est, ref, what)
    _check_stft(n_fft, hop)
    est, ref = _channels(est), _channels(ref)
    per_channel = []
    for c in range(ref.shape[1]):
        x_ref = power_spectrogram(ref[:, c], n_fft, hop)[:, k_min:]
        x_est = power_spectrogram(est[:, c], n_fft, hop)[:, k_min:]
        d = np.log10(x_ref + eps) - np.log10(x_est + eps)
        per_channel.append(np.mean(np.sqrt(np.mean(d ** 2, axis=1))))
    return float(np.mean(per_channel))


def lsd(estimate, reference, n_fft: int = 2048, hop: int = 512, eps: float = 1e-10) -> float:
    """Log-spectral distance (King et al.; Kuleshov et al.), in log10-power units.

    With ``X`` the power spectrogram of :func:`power_spectrogram` (centred zero-padded frames,
    periodic Hann window, ``T = 1 + N // hop`` frames, bins ``k = 0 .. n_fft/2``)::

        LSD = (1/T) sum_t sqrt( (1/(n_fft/2 + 1)) sum_k (log10(X_ref[t,k] + eps) - log10(X_est[t,k] + eps))**2 )

    So scaling a signal by 10 (power x 100) gives LSD = 2 when ``eps`` is negligible. Kuleshov et
    al.'s code uses the natural log; their numbers are ``LSD_ln = ln(10) * LSD_log10`` (about 2.303x).
    ``[time, channels]`` input: the LSD of each channel, averaged over channels. Shapes must match.
    """
    return _lsd(estimate, reference, n_fft, hop, eps, 0, "lsd")


def lsd_hf(estimate, reference, ratio, n_fft: int = 2048, hop: int = 512, eps: float = 1e-10) -> float:
    """High-band LSD: :func:`lsd` with the mean over bins restricted to ``k > n_fft / (2 * ratio)``.

    Those are the bins strictly above the low-rate Nyquist of a ratio-``ratio`` degradation, i.e.
    ``k = floor(n_fft / (2 ratio)) + 1 .. n_fft/2`` -- the band a super-resolution model must invent.
    """
    _check_ratio(ratio, "lsd_hf")
    _check_stft(n_fft, hop)
    k_min = n_fft // (2 * int(ratio)) + 1
    if k_min > n_fft // 2:
        raise ValueError(f"lsd_hf: no bins above n_fft/(2*ratio) = {n_fft / (2 * ratio):g} with n_fft={n_fft}")
    return _lsd(estimate, reference, n_fft, hop, eps, k_min, "lsd_hf")


def pesq_available() -> bool:
    """Whether the optional ``pesq`` package (``pip install keras_audiosr[eval]``) imports."""
    try:
        import pesq  # noqa: F401
    except ImportError:
        return False
    return True


def pesq_wb(estimate, reference, rate) -> float:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO, about 1.0 to 4.64) via the ``pesq`` package.

    PESQ-WB is defined at 16 kHz: signals at another ``rate`` are resampled with
    :func:`keras_audiosr.audio.resample`. ``[time, channels]`` input is averaged to mono. Raises
    ``ImportError`` when ``pesq`` is missing and the package's own errors (e.g. no utterances
    detected in silence) otherwise.
    """
    try:
        from pesq import pesq as _pesq
    except ImportError as e:
        raise ImportError("PESQ needs the optional 'pesq' package: pip install keras_audiosr[eval]") from e
    from keras_audiosr.audio import resample

    est, ref = _pair(estimate, reference, "pesq_wb")
    if est.ndim == 2:
        est, ref = est.mean(axis=1), ref.mean(axis=1)
    elif est.ndim != 1:
        raise ValueError(f"pesq_wb: signals must be [time] or [time, channels], got shape {est.shape}")
    if int(rate) != PESQ_RATE:
        est, ref = resample(est, int(rate), PESQ_RATE), resample(ref, int(rate), PESQ_RATE)
    return float(_pesq(PESQ_RATE, ref.astype(np.float32), est.astype(np.float32), "wb"))


def evaluate_pair(estimate, reference, ratio, rate, with_pesq: bool | None = None) -> dict:
    """``{"snr", "snr_lb", "lsd", "lsd_hf"[, "pesq"]}`` for one estimate/reference pair at ``rate`` Hz
    (``snr_lb``: :func:`snr_lowband` at the default edge).

    ``with_pesq=None`` adds PESQ when the ``pesq`` package is installed; ``True`` requires it. A PESQ
    failure on the signal itself (silence: "no utterances detected", too short) gives ``None``
    with a warning instead of an exception.
    """
    out = {"snr": snr(estimate, reference), "snr_lb": snr_lowband(estimate, reference, ratio),
           "lsd": lsd(estimate, reference), "lsd_hf": lsd_hf(estimate, reference, ratio)}
    if with_pesq is None:
        with_pesq = pesq_available()
    if with_pesq:
        if not pesq_available():
            raise ImportError("PESQ needs the optional 'pesq' package: pip install keras_audiosr[eval]")
        try:
            out["pesq"] = pesq_wb(estimate, reference, rate)
        except Exception as e:  # the pesq package's PesqError family and bad-length errors
            warnings.warn(f"PESQ failed ({type(e).__name__}: {e}); reporting None", stacklevel=2)
            out["pesq"] = None
    return out


def effective_stft_params(time: int | None, n_fft: int, hop: int) -> tuple[int, int]:
    """``(n_fft, hop)`` that :class:`LSDMetric` uses on patches of ``time`` samples.

    When the (static) patch length is shorter than ``n_fft``, the frame shrinks to the patch:
    ``n_fft' = max(2, time - time % 2)`` (the largest even number <= time) and the hop shrinks by
    the same factor, ``hop' = max(1, hop * n_fft' // n_fft)``, keeping the overlap. Otherwise, or when
    the length is unknown, ``(n_fft, hop)`` are used unchanged.
    """
    _check_stft(n_fft, hop)
    if time is None or time >= n_fft:
        return n_fft, hop
    n_eff = max(2, int(time) - int(time) % 2)
    return n_eff, max(1, hop * n_eff // n_fft)


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
    summed over time and channels -- :func:`snr` of the flattened example, with ``epsilon`` keeping
    identical or silent examples finite. ``sample_weight`` (``[batch]`` or ``[batch, ...]``,
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
    """Mean over examples of per-example :func:`lsd` (log10 power), computed with ``keras.ops.stft``.

    ``y_true, y_pred``: ``[batch, time, channels]``. Each example and channel is framed exactly as
    :func:`power_spectrogram` (``n_fft // 2`` zeros each side, periodic Hann, ``1 + time // hop``
    frames), the LSD is taken per channel and averaged over channels, then over examples. Patches
    shorter than ``n_fft`` use :func:`effective_stft_params` (frame and hop shrunk to the patch), so
    the value equals ``lsd(pred, true, *effective_stft_params(time, n_fft, hop), eps)``. Computed in
    float32, so it agrees with the float64 :func:`lsd` to about 1e-3 where spectra are well above eps.
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
