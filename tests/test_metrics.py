"""keras_audiosr.metrics: hand-computed SNR/LSD values, framing, high-band LSD, Keras parity, PESQ."""

import math
import sys

import keras
import numpy as np
import pytest
from scipy import signal

from keras_audiosr import metrics
from keras_audiosr.metrics import (
    METRIC_NAMES,
    effective_stft_params,
    evaluate_pair,
    lsd,
    lsd_hf,
    pesq_available,
    pesq_wb,
    power_spectrogram,
    snr,
    snr_lowband,
)
from keras_audiosr.training.metrics import LSDMetric, SNRMetric

needs_pesq = pytest.mark.skipif(not pesq_available(), reason="pesq not installed (pip install keras_audiosr[eval])")


def _noise(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --- SNR -------------------------------------------------------------------------------------------


def test_snr_hand_computed():
    assert snr([1, 1, 1, 0], [1, 1, 1, 1]) == pytest.approx(10 * math.log10(4 / 1))
    assert snr([1.0, 0.0], [2.0, 0.0]) == pytest.approx(10 * math.log10(4 / 1))
    assert snr([0.5, 0.5], [1.0, -1.0]) == pytest.approx(10 * math.log10(2 / 2.5))
    assert snr(np.ones((3, 2)), np.ones(6)) == math.inf  # flattened; identical
    assert snr([1.0], [0.0]) == -math.inf


def test_snr_errors():
    with pytest.raises(ValueError, match="estimate has 3 samples, reference 4"):
        snr([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="NaN"):
        snr([np.nan, 1], [1, 1])


# --- spectrogram framing -----------------------------------------------------------------------------


def test_power_spectrogram_framing():
    n_fft, hop, n = 64, 16, 200
    x = np.zeros(n)
    x[5 * hop] = 1.0
    spec = power_spectrogram(x, n_fft, hop)
    assert spec.shape == (1 + n // hop, n_fft // 2 + 1)
    # frame 5 is centred on the impulse, where the periodic Hann window is exactly 1: a flat spectrum
    np.testing.assert_allclose(spec[5], 1.0, atol=1e-12)
    # frame 4 sees it at offset n_fft/2 + hop: power w[48]**2 in every bin
    w48 = 0.5 - 0.5 * math.cos(2 * math.pi * 48 / 64)
    np.testing.assert_allclose(spec[4], w48**2, atol=1e-12)
    assert np.all(spec[:2] == 0) and np.all(spec[9:] == 0)  # frames that never reach the impulse


def test_power_spectrogram_matches_direct_dft():
    n_fft, hop = 32, 8
    x = _noise(100)
    spec = power_spectrogram(x, n_fft, hop)
    xp = np.concatenate([np.zeros(16), x, np.zeros(16)])
    t, k = 3, 5
    n = np.arange(n_fft)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
    direct = abs(np.sum(w * xp[t * hop + n] * np.exp(-2j * np.pi * k * n / n_fft))) ** 2
    assert spec[t, k] == pytest.approx(direct, rel=1e-12)


def test_power_spectrogram_long_signal_blocks():
    x = _noise(16 * 1100, seed=1)
    spec = power_spectrogram(x, 16, 16)  # more frames than one transform block
    assert spec.shape == (1 + len(x) // 16, 9)
    np.testing.assert_allclose(spec[-3], power_spectrogram(x[-80:], 16, 16)[-3], rtol=1e-10)


# --- LSD ---------------------------------------------------------------------------------------------


def test_lsd_identical_is_zero():
    x = _noise(4000)
    assert lsd(x, x) == 0.0
    assert lsd_hf(x, x, 2) == 0.0


def test_lsd_of_scaled_signal():
    ref = _noise(8000)
    assert lsd(10 * ref, ref) == pytest.approx(2.0, abs=1e-6)  # power x 100 -> log10 100
    assert lsd(ref, 10 * ref) == pytest.approx(2.0, abs=1e-6)
    assert lsd(math.sqrt(10) * ref, ref, n_fft=256, hop=64) == pytest.approx(1.0, abs=1e-6)
    assert lsd_hf(10 * ref, ref, 4) == pytest.approx(2.0, abs=1e-6)


def test_lsd_formula_on_crafted_spectrograms(monkeypatch):
    """One bin per frame off by a factor 100 in power: LSD = sqrt(2**2 / n_bins) exactly."""
    n_fft, ratio = 16, 2
    n_bins = n_fft // 2 + 1
    edge = n_fft // (2 * ratio)  # bin 4 = the low-rate Nyquist, not counted by lsd_hf

    def fake(x, n_fft_, hop_):
        spec = np.ones((3, n_bins))
        if x[0] == 1.0:  # the "estimate"
            spec[:, int(x[1])] = 100.0
        return spec

    monkeypatch.setattr(metrics, "power_spectrogram", fake)
    ref = np.zeros(10)
    for col in (edge, edge + 1):
        est = np.zeros(10)
        est[:2] = [1.0, col]
        assert lsd(est, ref, n_fft=n_fft, hop=4, eps=0.0) == pytest.approx(math.sqrt(4 / n_bins))
        hf = lsd_hf(est, ref, ratio, n_fft=n_fft, hop=4, eps=0.0)
        assert hf == (0.0 if col == edge else pytest.approx(math.sqrt(4 / (n_bins - edge - 1))))


def _band_noise(n, lo, hi, seed):
    """Noise with FFT content only between normalised frequencies lo and hi (fractions of Nyquist)."""
    spec = np.fft.rfft(_noise(n, seed))
    f = np.linspace(0, 1, len(spec))
    spec[(f < lo) | (f > hi)] = 0
    return np.fft.irfft(spec, n)


def test_lsd_hf_only_counts_high_bins():
    n, ratio = 65536, 2  # long enough that the two edge frames (where the cut-off ends leak) weigh little
    low = _band_noise(n, 0.0, 0.4, seed=2)
    high = _band_noise(n, 0.52, 1.0, seed=3)
    ref = low + high
    est = 2.0 * low + high  # altered only below the low-rate Nyquist (0.5)
    assert lsd(est, ref) > 0.2
    assert lsd_hf(est, ref, ratio) < 0.01
    est2 = low + 2.0 * high  # altered only above it
    assert lsd_hf(est2, ref, ratio) == pytest.approx(2 * math.log10(2), abs=0.02)


def test_lsd_multichannel_is_channel_mean():
    ref = _noise((3000, 2), seed=4)
    est = ref + 0.2 * _noise((3000, 2), seed=5)
    per = [lsd(est[:, c], ref[:, c]) for c in range(2)]
    assert lsd(est, ref) == pytest.approx(np.mean(per), rel=1e-12)
    assert per[0] != per[1]


def test_lsd_errors():
    with pytest.raises(ValueError, match="shape"):
        lsd(np.zeros(10), np.zeros(11))
    with pytest.raises(ValueError, match="n_fft must be an even integer"):
        lsd(np.zeros(10), np.zeros(10), n_fft=15)
    with pytest.raises(ValueError, match="ratio must be an integer >= 2"):
        lsd_hf(np.zeros(10), np.zeros(10), 1)


# --- evaluate_pair / PESQ ------------------------------------------------------------------------------


def test_evaluate_pair_without_pesq():
    ref = _noise(8000, seed=6)
    est = ref + 0.1 * _noise(8000, seed=7)
    out = evaluate_pair(est, ref, 2, 16000, with_pesq=False)
    assert set(out) == {"snr", "snr_lb", "lsd", "lsd_hf"} and set(out) <= set(METRIC_NAMES)
    assert out["snr"] == snr(est, ref) and out["lsd"] == lsd(est, ref) and out["lsd_hf"] == lsd_hf(est, ref, 2)
    assert out["snr_lb"] == snr_lowband(est, ref, 2)


# --- low-band SNR --------------------------------------------------------------------------------------


def _tone(n, k, amplitude=1.0, phase=0.3):
    """A sinusoid exactly on rfft bin ``k`` of ``n`` samples."""
    return amplitude * np.cos(2 * np.pi * k * np.arange(n) / n + phase)


def test_snr_lowband_known_answers():
    n, ratio = 16000, 2  # "1 s at 16 kHz": bin k is k Hz; the low-band edge is 0.875 * 4000 = 3500 Hz
    ref = _tone(n, 440) + 0.5 * _tone(n, 3000) + 0.3 * _tone(n, 6000)
    # Low band exact, high band wrong: full-band SNR finite, low-band SNR at float rounding.
    wrong_high = ref + 0.3 * _tone(n, 5000)
    assert snr(wrong_high, ref) < 15.0
    assert snr_lowband(wrong_high, ref, ratio) > 200.0
    # An error in the low band: only the low band of the reference counts as signal.
    err = 0.1 * _tone(n, 1000)
    expected = 10 * np.log10((1.0 + 0.25) / 0.01)
    assert snr_lowband(ref + err, ref, ratio) == pytest.approx(expected, abs=1e-9)
    assert snr(ref + err, ref) == pytest.approx(10 * np.log10((1.0 + 0.25 + 0.09) / 0.01), abs=1e-9)
    # The edge: 3500 Hz is in, 3501 Hz is out (bin k kept when k <= 0.875 * n / 4).
    assert snr_lowband(ref + 0.1 * _tone(n, 3501), ref, ratio) > 200.0
    assert snr_lowband(ref + 0.1 * _tone(n, 3500), ref, ratio) == pytest.approx(expected, abs=1e-9)
    assert snr_lowband(ref + 0.1 * _tone(n, 3800), ref, ratio, edge=1.0) == pytest.approx(expected, abs=1e-9)
    # Identical signals: inf; an empty low band with a low-band error: -inf (up to rounding); channels pool like snr.
    assert snr_lowband(ref, ref, ratio) == math.inf
    assert snr_lowband(_tone(n, 100), _tone(n, 6000), ratio) < -200.0
    assert snr_lowband(_tone(n, 100), np.zeros(n), ratio) == -math.inf
    stereo = np.stack([ref, ref], axis=1)
    assert snr_lowband(stereo + np.stack([err, 0 * err], axis=1), stereo, ratio) == pytest.approx(
        expected + 10 * np.log10(2)
    )


def test_snr_lowband_real_leakage_and_errors():
    rng = np.random.default_rng(0)
    n, ratio = 32000, 2
    ref = signal.lfilter([1.0], [1.0, -0.95], rng.standard_normal(n))  # speech-like tilt, not periodic
    hp = signal.firwin(501, 0.5 * (0.875 + 1.0) / ratio, window=("kaiser", 12.0), pass_zero=False)
    noise = np.convolve(rng.standard_normal(n), hp, mode="same")
    noise *= np.sqrt(0.1 * np.sum(ref**2) / np.sum(noise**2))  # 10 dB below the signal, all above the edge
    assert snr(ref + noise, ref) == pytest.approx(10.0, abs=0.01)
    assert snr_lowband(ref + noise, ref, ratio) > 60.0
    with pytest.raises(ValueError, match="ratio must be an integer >= 2"):
        snr_lowband(ref, ref, 1)
    with pytest.raises(ValueError, match="edge"):
        snr_lowband(ref, ref, 2, edge=0.0)
    with pytest.raises(ValueError, match="shape"):
        snr_lowband(ref[:10], ref[:11], 2)


def test_pesq_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "pesq", None)  # makes `import pesq` raise ImportError
    assert not pesq_available()
    with pytest.raises(ImportError, match=r"pip install keras_audiosr\[eval\]"):
        pesq_wb(np.zeros(16000), np.zeros(16000), 16000)
    with pytest.raises(ImportError, match=r"keras_audiosr\[eval\]"):
        evaluate_pair(np.ones(4000), np.ones(4000), 2, 16000, with_pesq=True)
    assert "pesq" not in evaluate_pair(np.ones(4000), np.ones(4000), 2, 16000)


@needs_pesq
def test_pesq_failure_is_none_not_crash():
    silence = np.zeros(32000)
    with pytest.warns(UserWarning, match="PESQ failed"):
        out = evaluate_pair(silence + 1e-9, silence, 2, 16000)
    assert out["pesq"] is None


@needs_pesq
def test_pesq_on_real_speech(shared_data):
    from keras_audiosr.audio import read_audio

    ref, rate = read_audio(shared_data / "vctk-mini" / "wav48" / "p225" / "p225_001.flac")
    assert rate == 48000
    ref = ref[: 3 * rate]
    clean = pesq_wb(ref, ref, rate)  # resampled to 16 kHz internally
    noisy = ref + 0.02 * _noise(ref.shape, seed=8).astype(np.float32)
    assert clean > 4.0
    assert pesq_wb(noisy, ref, rate) < clean - 1.0
    out = evaluate_pair(noisy, ref, 2, rate)
    assert out["pesq"] == pytest.approx(pesq_wb(noisy, ref, rate))


# --- Keras metrics ------------------------------------------------------------------------------------


def _batch(shape=(3, 4096, 1), noise=0.3):
    y_true = _noise(shape, seed=9).astype("float32")
    y_pred = (y_true + noise * _noise(shape, seed=10)).astype("float32")
    return y_true, y_pred


def test_snr_metric_matches_numpy():
    y_true, y_pred = _batch()
    m = SNRMetric()
    m.update_state(y_true, y_pred)
    want = np.mean([snr(y_pred[i], y_true[i]) for i in range(3)])
    assert float(m.result()) == pytest.approx(want, abs=1e-4)
    assert m.name == "snr"
    m.reset_state()
    assert float(m.result()) == 0.0


def test_snr_metric_accumulates_with_weights():
    y_true, y_pred = _batch()
    m = SNRMetric()
    m.update_state(y_true[:2], y_pred[:2], sample_weight=np.array([1.0, 3.0]))
    m.update_state(y_true[2:], y_pred[2:])
    vals = [snr(y_pred[i], y_true[i]) for i in range(3)]
    assert float(m.result()) == pytest.approx((vals[0] + 3 * vals[1] + vals[2]) / 5, abs=1e-4)


def test_lsd_metric_matches_numpy():
    y_true, y_pred = _batch()
    m = LSDMetric()
    m.update_state(y_true, y_pred)
    want = np.mean([lsd(y_pred[i], y_true[i]) for i in range(3)])
    assert float(m.result()) == pytest.approx(want, abs=1e-3)
    assert m.name == "lsd"


def test_lsd_metric_short_patch_and_channels():
    y_true, y_pred = _batch(shape=(2, 600, 2))
    n_fft, hop = effective_stft_params(600, 2048, 512)
    assert (n_fft, hop) == (600, 150)
    m = LSDMetric()
    m.update_state(y_true, y_pred)
    want = np.mean([lsd(y_pred[i], y_true[i], n_fft, hop) for i in range(2)])
    assert float(m.result()) == pytest.approx(want, abs=1e-3)
    assert effective_stft_params(601, 2048, 512) == (600, 150)
    assert effective_stft_params(None, 2048, 512) == (2048, 512)
    assert effective_stft_params(4096, 2048, 512) == (2048, 512)


def test_metric_config_round_trip():
    m = LSDMetric(n_fft=256, hop=64, eps=1e-8, name="lsd_small")
    m2 = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(m))
    assert isinstance(m2, LSDMetric) and (m2.n_fft, m2.hop, m2.eps, m2.name) == (256, 64, 1e-8, "lsd_small")
    s2 = SNRMetric.from_config(SNRMetric(epsilon=1e-9).get_config())
    assert s2.epsilon == 1e-9 and s2.name == "snr"


def test_metrics_in_compiled_model_with_unknown_length():
    """Inside evaluate() (graph mode, time axis None) the values still match the numpy functions."""
    inp = keras.Input(shape=(None, 1))
    out = keras.layers.Conv1D(1, 3, padding="same", use_bias=False)(inp)
    model = keras.Model(inp, out)
    model.compile(loss="mse", metrics=[SNRMetric(), LSDMetric(n_fft=64, hop=16)])
    x, y = _batch(shape=(4, 256, 1), noise=0.5)
    logs = model.evaluate(x, y, batch_size=2, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert logs["snr"] == pytest.approx(np.mean([snr(pred[i], y[i]) for i in range(4)]), abs=1e-3)
    assert logs["lsd"] == pytest.approx(np.mean([lsd(pred[i], y[i], 64, 16) for i in range(4)]), abs=1e-3)
