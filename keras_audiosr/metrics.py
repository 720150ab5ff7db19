"""Evaluation metrics: SNR, low-band SNR, log-spectral distance (full band and high band), wide-band PESQ,
ViSQOL (audio mode at 48 kHz, speech mode at 16 kHz) and DNSMOS P.808.

NumPy functions (:func:`snr`, :func:`snr_lowband`, :func:`lsd`, :func:`lsd_hf`, :func:`pesq_wb`, :func:`evaluate_pair`)
score whole signals in float64; :class:`~keras_audiosr.training.metrics.SNRMetric` and
:class:`~keras_audiosr.training.metrics.LSDMetric` compute the same definitions per example with
``keras.ops`` for training logs. This module imports no Keras.

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

import numpy as np

__all__ = [
    "LOWBAND_EDGE",
    "METRIC_NAMES",
    "effective_stft_params",
    "evaluate_pair",
    "lsd",
    "lsd_hf",
    "lowband_mask",
    "pesq_available",
    "dnsmos_available",
    "dnsmos_p808",
    "PERCEPTUAL_METRICS",
    "perceptual_available",
    "perceptual_names",
    "perceptual_scores",
    "pesq_wb",
    "visqol",
    "visqol_available",
    "power_spectrogram",
    "snr",
    "snr_lowband",
]

METRIC_NAMES = ("snr", "snr_lb", "lsd", "lsd_hf", "pesq", "visqol", "visqol_speech", "dnsmos")
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
    signal = float(np.sum(ref**2))
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
        out[s : s + _FRAME_BLOCK] = np.abs(np.fft.rfft(frames[s : s + _FRAME_BLOCK] * win, axis=-1)) ** 2
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
        per_channel.append(np.mean(np.sqrt(np.mean(d**2, axis=1))))
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


VISQOL_RATES = {"audio": 48000, "speech": 16000}
DNSMOS_RATE = 16000
_VISQOL_APIS: dict = {}
_DNSMOS_SESSION = None


def visqol_available() -> bool:
    """True when the optional ``visqol-python`` package (bundled models, no downloads) imports."""
    try:
        import visqol  # noqa: F401
    except ImportError:
        return False
    return True


def dnsmos_available() -> bool:
    """True when the optional DNSMOS P.808 stack (``speechmos``'s ONNX model, onnxruntime, librosa) imports."""
    try:
        import librosa  # noqa: F401
        import onnxruntime  # noqa: F401
        import speechmos  # noqa: F401
    except ImportError:
        return False
    return True


def _mono(x, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{what}: signals must be non-empty [time] or [time, channels], got shape {x.shape}")
    return x


def visqol(estimate, reference, rate, mode: str = "audio") -> float:
    """ViSQOL v3 MOS-LQO (about 1 to 5, higher is better) via ``visqol-python`` (bundled models).

    ``mode="audio"``: both signals are resampled to 48 kHz first (:func:`keras_audiosr.audio.resample`,
    ``quality="high"``: no imaging above the input's Nyquist frequency) and scored with the audio-mode SVR
    model, as AP-BWE's ``cal_visqol_48k.py`` reports 8 -> 16 kHz and 16 -> 48 kHz results. ``mode="speech"``:
    both at 16 kHz, the speech-mode mapping. ``[time, channels]`` input is averaged to mono. Unlike PESQ-WB,
    ViSQOL's audio mode hears the band above 8 kHz, and an invented band that matches the reference raises it.
    """
    if mode not in VISQOL_RATES:
        raise ValueError(f"visqol: unknown mode {mode!r}; valid: {', '.join(VISQOL_RATES)}")
    try:
        from visqol import VisqolApi
    except ImportError as e:
        raise ImportError("ViSQOL needs the optional 'visqol-python' package: pip install 'keras-audiosr[eval]'") from e
    from keras_audiosr.audio import resample

    est, ref = _mono(estimate, "visqol"), _mono(reference, "visqol")
    if est.shape != ref.shape:
        raise ValueError(f"visqol: estimate {est.shape} and reference {ref.shape} differ in length")
    target = VISQOL_RATES[mode]
    if int(rate) != target:
        est = resample(est, int(rate), target, quality="high")
        ref = resample(ref, int(rate), target, quality="high")
    api = _VISQOL_APIS.get(mode)
    if api is None:
        api = VisqolApi()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            api.create(mode=mode)  # speech mode: the deep-lattice mapper (ViSQOL's C++ default) via LiteRT
        _VISQOL_APIS[mode] = api
    return float(api.measure_from_arrays(ref.astype(np.float64), est.astype(np.float64), target).moslqo)


def dnsmos_p808(x, rate) -> float:
    """DNSMOS P.808 (no reference; about 1 to 5) from ``speechmos``'s bundled ONNX model, at 16 kHz.

    The signal (resampled to 16 kHz, mono, clipped to [-1, 1]) is scored in 9.01 s windows hopped by
    1 s, shorter signals repeated to one window, as DNSMOS does; the mean over windows. It only looks at
    0-8 kHz and rewards any energy there (a spline's imaging scores above sinc): report it, never choose a
    model or an operating point on it.
    """
    global _DNSMOS_SESSION
    try:
        import librosa
        import onnxruntime as ort
        import speechmos
    except ImportError as e:
        raise ImportError(
            "DNSMOS needs the optional 'speechmos', 'onnxruntime' and 'librosa' packages: "
            "pip install 'keras-audiosr[eval]'"
        ) from e
    from pathlib import Path

    from keras_audiosr.audio import resample

    audio = _mono(x, "dnsmos_p808")
    if int(rate) != DNSMOS_RATE:
        audio = resample(audio, int(rate), DNSMOS_RATE, quality="high")
    audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    if _DNSMOS_SESSION is None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        model = Path(speechmos.__file__).parent / "dnsmos_models" / "model_v8.onnx"
        _DNSMOS_SESSION = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    window = int(9.01 * DNSMOS_RATE)
    while audio.size < window:
        audio = np.concatenate([audio, audio])
    scores = []
    for hop in range(int(np.floor(audio.size / DNSMOS_RATE) - 9.01) + 1):
        seg = audio[hop * DNSMOS_RATE : hop * DNSMOS_RATE + window]
        if seg.size < window:
            continue
        mel = librosa.feature.melspectrogram(y=seg[:-160], sr=DNSMOS_RATE, n_fft=321, hop_length=160, n_mels=120)
        mel = (librosa.power_to_db(mel, ref=np.max) + 40) / 40
        scores.append(float(_DNSMOS_SESSION.run(None, {"input_1": mel.T[None].astype(np.float32)})[0][0][0]))
    return float(np.mean(scores))


def perceptual_available() -> bool:
    """True when ViSQOL and DNSMOS P.808 can both be computed (the ``eval`` extra is installed)."""
    return visqol_available() and dnsmos_available()


PERCEPTUAL_METRICS = ("visqol", "visqol_speech", "dnsmos")


def perceptual_names(perceptual) -> tuple[str, ...]:
    """The perceptual metrics a ``perceptual`` argument asks for: ``True`` all of :data:`PERCEPTUAL_METRICS`,
    ``False``/``None`` none, or a collection of their names (ValueError for an unknown one)."""
    if perceptual is True:
        return PERCEPTUAL_METRICS
    if not perceptual:
        return ()
    names = (perceptual,) if isinstance(perceptual, str) else tuple(perceptual)
    unknown = [n for n in names if n not in PERCEPTUAL_METRICS]
    if unknown:
        raise ValueError(f"unknown perceptual metric {unknown[0]!r}; valid: {', '.join(PERCEPTUAL_METRICS)}")
    return tuple(dict.fromkeys(names))


def perceptual_scores(estimate, reference, rate, which=PERCEPTUAL_METRICS) -> dict:
    """``{"visqol", "visqol_speech", "dnsmos"}`` (or the ``which`` of them): ViSQOL audio mode at 48 kHz (the
    primary), speech mode at 16 kHz, and DNSMOS P.808 of the estimate alone. A failure on the signal itself (too
    short, silent) gives ``None`` with a warning; a missing package raises ImportError naming the extra."""
    out = {}
    fns = {
        "visqol": lambda: visqol(estimate, reference, rate, "audio"),
        "visqol_speech": lambda: visqol(estimate, reference, rate, "speech"),
        "dnsmos": lambda: dnsmos_p808(estimate, rate),
    }
    for key in perceptual_names(which):
        fn = fns[key]
        try:
            out[key] = fn()
        except ImportError:
            raise
        except Exception as e:  # noqa: BLE001 -- the packages' own errors on unusable signals
            warnings.warn(f"{key} failed ({type(e).__name__}: {e}); reporting None", stacklevel=3)
            out[key] = None
    return out


def evaluate_pair(estimate, reference, ratio, rate, with_pesq: bool | None = None, perceptual=False) -> dict:
    """``{"snr", "snr_lb", "lsd", "lsd_hf"[, "pesq"]}`` for one estimate/reference pair at ``rate`` Hz
    (``snr_lb``: :func:`snr_lowband` at the default edge).

    ``with_pesq=None`` adds PESQ when the ``pesq`` package is installed; ``True`` requires it. A PESQ
    failure on the signal itself (silence: "no utterances detected", too short) gives ``None``
    with a warning instead of an exception. ``perceptual=True`` (or some of their names) adds
    :func:`perceptual_scores` (``visqol``, ``visqol_speech``, ``dnsmos``; seconds per second of audio, so opt-in).
    """
    out = {
        "snr": snr(estimate, reference),
        "snr_lb": snr_lowband(estimate, reference, ratio),
        "lsd": lsd(estimate, reference),
        "lsd_hf": lsd_hf(estimate, reference, ratio),
    }
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
    if perceptual:
        out.update(perceptual_scores(estimate, reference, rate, perceptual))
    return out


def effective_stft_params(time: int | None, n_fft: int, hop: int) -> tuple[int, int]:
    """``(n_fft, hop)`` that :class:`~keras_audiosr.training.metrics.LSDMetric` uses on patches of ``time`` samples.

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
