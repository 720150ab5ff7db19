"""ViSQOL (audio mode at 48 kHz, speech mode at 16 kHz) and DNSMOS P.808: orderings and rate handling on real speech."""

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from keras_audiosr import metrics
from keras_audiosr.audio import resample
from keras_audiosr.data import embedded_corpus_dir

needs_visqol = pytest.mark.skipif(not metrics.visqol_available(), reason="visqol-python not installed (eval extra)")
needs_dnsmos = pytest.mark.skipif(not metrics.dnsmos_available(), reason="speechmos/onnxruntime/librosa missing")


@pytest.fixture(scope="module")
def speech16k():
    """3 s of a real 16 kHz recording (the embedded corpus), the reference of every check here."""
    path = min((embedded_corpus_dir() / "p273").glob("*.flac"))
    x, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return x[: 3 * rate]


def _lowpass(x, cutoff, rate):
    return signal.sosfiltfilt(signal.butter(8, cutoff, fs=rate, output="sos"), x).astype(np.float32)


def _noise_like(x, seed=0):
    return (np.random.default_rng(seed).standard_normal(x.shape) * np.std(x)).astype(np.float32)


@needs_visqol
@pytest.mark.parametrize("mode", ["audio", "speech"])
def test_visqol_orders_self_lowpassed_noise(speech16k, mode):
    ref = speech16k
    same = metrics.visqol(ref, ref, 16000, mode)
    low = metrics.visqol(_lowpass(ref, 3400, 16000), ref, 16000, mode)
    noise = metrics.visqol(_noise_like(ref), ref, 16000, mode)
    assert same > low > noise, (same, low, noise)
    assert same > 4.5


@needs_visqol
def test_visqol_audio_mode_scores_at_48k(speech16k):
    """A 16 kHz pair is scored as its 48 kHz resampling: the same number as passing that resampling in."""
    ref, est = speech16k, _lowpass(speech16k, 6000, 16000)
    at16 = metrics.visqol(est, ref, 16000, "audio")
    at48 = metrics.visqol(
        resample(est, 16000, 48000, quality="high"), resample(ref, 16000, 48000, quality="high"), 48000, "audio"
    )
    assert at16 == pytest.approx(at48, abs=1e-9)
    # speech mode is at 16 kHz: a 48 kHz pair goes down to 16 kHz first
    sp16 = metrics.visqol(est, ref, 16000, "speech")
    sp48 = metrics.visqol(
        resample(est, 16000, 48000, quality="high"), resample(ref, 16000, 48000, quality="high"), 48000, "speech"
    )
    assert abs(sp16 - sp48) < 0.1


def test_visqol_rejects_bad_input(speech16k):
    with pytest.raises(ValueError, match="unknown mode"):
        metrics.visqol(speech16k, speech16k, 16000, "music")
    if metrics.visqol_available():
        with pytest.raises(ValueError, match="differ in length"):
            metrics.visqol(speech16k[:-1], speech16k, 16000)


@needs_dnsmos
def test_dnsmos_p808_orders_clean_above_noisy_and_resamples(speech16k):
    clean = metrics.dnsmos_p808(speech16k, 16000)
    noisy = metrics.dnsmos_p808(np.clip(speech16k + 0.5 * _noise_like(speech16k), -1, 1), 16000)
    assert 1.0 <= noisy < clean <= 5.0, (clean, noisy)
    at48 = metrics.dnsmos_p808(resample(speech16k, 16000, 48000, quality="high"), 48000)
    assert abs(at48 - clean) < 0.05


class _HoldModel:
    """Zero-order hold 8 -> 16 kHz: a stand-in model for the suite (no Keras)."""

    ratio, hr_rate, lr_rate, name, layers, input_shape = 2, 16000, 8000, "hold", [], (None, None, 1)
    degradation = {"ratio": 2, "filter": "resample", "zero_phase": True}

    def __call__(self, x, training=False):
        return np.repeat(np.asarray(x), 2, axis=1)


@needs_visqol
@needs_dnsmos
def test_suite_reports_perceptual_columns_when_asked(tmp_path, speech16k):
    from keras_audiosr.evaluation import evaluate_suite, format_suite

    path = tmp_path / "ref.wav"
    sf.write(path, speech16k[:16000], 16000)
    plain = evaluate_suite(_HoldModel(), [path], degradations=["resample"], progress=False, with_pesq=False)
    assert "visqol" not in plain["degradations"]["resample"]["mean"]["model"]
    rep = evaluate_suite(
        _HoldModel(), [path], degradations=["resample"], progress=False, with_pesq=False, perceptual=True
    )
    mean = rep["degradations"]["resample"]["mean"]
    assert rep["perceptual"] and {"visqol", "visqol_speech", "dnsmos"} <= set(mean["sinc"])
    assert mean["sinc"]["visqol"] > 1.0 and mean["spline"]["dnsmos"] > 1.0
    assert "ViSQOL" in format_suite(rep)
