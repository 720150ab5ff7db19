"""keras_audiosr.baselines: alignment, reconstruction quality, lengths, channels."""

import numpy as np
import pytest
from scipy import interpolate

from keras_audiosr.baselines import BASELINES, get_baseline, sinc_upsample, spline_upsample
from keras_audiosr.degrade import degrade

HR = 16000


def _snr_db(est, ref):
    return 10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2))


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_spline_alignment_exact(ratio):
    x = np.random.default_rng(0).standard_normal(101).astype(np.float32)
    y = spline_upsample(x, ratio)
    assert y.shape == (101 * ratio,) and y.dtype == np.float32
    np.testing.assert_allclose(y[::ratio], x, atol=1e-6)


def test_spline_matches_kuleshov_splrep():
    """Same curve as the reference code: splrep(i_lr, x) evaluated with splev on every index."""
    r = 4
    x = np.random.default_rng(1).standard_normal(200)
    i_lr = np.arange(0, len(x) * r, r)
    ref = interpolate.splev(np.arange(len(x) * r), interpolate.splrep(i_lr, x))
    np.testing.assert_allclose(spline_upsample(x, r), ref, atol=1e-5)


@pytest.mark.parametrize("ratio", [2, 4])
def test_sinc_alignment_approximate(ratio):
    t = np.arange(400)
    x = np.sin(2 * np.pi * 0.03 * t) + 0.5 * np.cos(2 * np.pi * 0.11 * t)
    y = sinc_upsample(x, ratio)
    assert y.shape == (400 * ratio,) and y.dtype == np.float32
    np.testing.assert_allclose(y[::ratio][50:-50], x[50:-50], atol=5e-3)


@pytest.mark.parametrize("name", ["spline", "sinc"])
@pytest.mark.parametrize("ratio", [2, 4])
def test_low_frequency_sinusoid_reconstructed(name, ratio):
    n = 8000
    t = np.arange(n) / HR
    hr = 0.5 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 700 * t + 1.0)
    lr = hr[::ratio]
    est = get_baseline(name)(lr, ratio)
    core = slice(400, n - 400)
    snr = _snr_db(est[core], hr[core])
    assert snr > (40.0 if name == "sinc" else 30.0)


def test_sinc_beats_spline_near_low_rate_nyquist():
    """Close to the low-rate Nyquist a cubic spline is visibly worse than the windowed sinc."""
    r, n = 2, 8000
    t = np.arange(n) / HR
    hr = np.sin(2 * np.pi * 2500 * t)
    lr = degrade(hr, r)
    core = slice(400, n - 400)
    assert _snr_db(sinc_upsample(lr, r)[core], hr[core]) > _snr_db(spline_upsample(lr, r)[core], hr[core]) + 6


@pytest.mark.parametrize("name", ["spline", "sinc"])
def test_multichannel_and_axis(name):
    fn = BASELINES[name]
    x = np.random.default_rng(2).standard_normal((150, 3))
    y = fn(x, 3)
    assert y.shape == (450, 3)
    for c in range(3):
        np.testing.assert_allclose(y[:, c], fn(x[:, c], 3), atol=1e-6)
    np.testing.assert_allclose(fn(x.T, 3, axis=1), y.T, atol=1e-6)


def test_spline_short_inputs():
    assert spline_upsample(np.array([0.5]), 2).tolist() == [0.5, 0.5]
    y = spline_upsample(np.array([0.0, 1.0]), 2)
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0, 1.5])  # linear through two points, extrapolated
    with pytest.raises(ValueError, match="empty"):
        spline_upsample(np.zeros(0), 2)


def test_get_baseline_and_errors():
    assert get_baseline("spline") is spline_upsample and get_baseline("sinc") is sinc_upsample
    with pytest.raises(ValueError, match="unknown baseline 'linear'; valid: spline, sinc"):
        get_baseline("linear")
    with pytest.raises(ValueError, match="ratio"):
        sinc_upsample(np.zeros(10), 1)
