"""keras_audiosr.degrade: frequency response, aliasing, lengths, phase, spec parsing, sampling."""

import json
import math

import numpy as np
import pytest
from scipy import signal

from keras_audiosr.degrade import (
    FILTER_FAMILIES,
    MULTI_FILTER_DEFAULTS,
    SEEN_FILTER_DEFAULT,
    UNSEEN_FILTER_DEFAULT,
    Degradation,
    DegradationSet,
    LowpassFilter,
    SetMember,
    degrade,
    evaluation_filters,
    get_degradation_set,
    lowpass,
    trim_to_multiple,
)

HR = 16000


def _tone(freq, n=8000, rate=HR):
    return np.sin(2 * np.pi * freq * np.arange(n) / rate)


def _amplitude_db(y, freq, rate):
    """Least-squares amplitude (dB re 1) of a ``freq`` sinusoid in the middle half of ``y``."""
    m = len(y)
    s = slice(m // 4, 3 * m // 4)
    t = np.arange(m)[s] / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef = np.linalg.lstsq(basis, y[s].astype(np.float64), rcond=None)[0]
    return 20 * np.log10(np.hypot(*coef) + 1e-300)


@pytest.mark.parametrize("spec", ["cheby1:8", "cheby1:12", "butter:8", "ellip:6", "ellip:12", "bessel:6"])
@pytest.mark.parametrize("ratio", [2, 4])
def test_passband_tone_passes(spec, ratio):
    f = 0.25 * HR / (2 * ratio)
    y = degrade(_tone(f), ratio, spec)
    assert abs(_amplitude_db(y, f, HR / ratio)) < 0.5


# Causal (single-pass) filtering gets half the attenuation in dB, which a Butterworth-8 or an
# order-6 elliptic filter whose edge sits at the Nyquist does not reach at 1.5x the edge.
@pytest.mark.parametrize(
    "spec,zero_phase",
    [
        ("cheby1:8", True),
        ("butter:8", True),
        ("ellip:6", True),
        ("ellip:12", True),
        ("cheby1:8", False),
        ("ellip:12", False),
    ],
)
@pytest.mark.parametrize("ratio", [2, 4])
def test_tone_above_low_nyquist_is_attenuated_after_decimation(spec, ratio, zero_phase):
    lr_nyq = HR / (2 * ratio)
    f = 1.5 * lr_nyq
    y = degrade(_tone(f), ratio, spec, zero_phase=zero_phase)
    alias = HR / ratio - f  # where the tone would fold to in the low-rate signal
    assert _amplitude_db(y, alias, HR / ratio) < -40.0


def test_aliased_mode_really_aliases():
    f = 0.75 * HR / 2  # 6 kHz, above the 4 kHz low-rate Nyquist for r = 2
    y = degrade(_tone(f), 2, "aliased")
    assert _amplitude_db(y, HR / 2 - f, HR / 2) > -0.1  # full-amplitude image at 2 kHz
    np.testing.assert_array_equal(y, _tone(f)[::2].astype(np.float32))
    # the filtered version removes it
    assert _amplitude_db(degrade(_tone(f), 2), HR / 2 - f, HR / 2) < -60


@pytest.mark.parametrize("n", [1000, 1001, 1002, 1003])
@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_output_length_and_dtype(n, ratio):
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    for spec in ("cheby1:8", "aliased"):
        y = degrade(x, ratio, spec)
        assert y.shape == (math.ceil(n / ratio),) and y.dtype == np.float32


def test_multichannel_and_axis():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 2))
    y = degrade(x, 3, "butter:6")
    assert y.shape == (1000, 2)
    np.testing.assert_allclose(y[:, 1], degrade(x[:, 1], 3, "butter:6"), atol=1e-6)
    z = degrade(x.T, 3, "butter:6", axis=1)
    np.testing.assert_allclose(z, y.T, atol=1e-6)


def _xcorr_peak_lag(y, x, max_lag=200):
    lags = np.arange(-max_lag, max_lag + 1)
    core = slice(max_lag, len(x) - max_lag)
    vals = [np.dot(y[core], np.roll(x, lag)[core]) for lag in lags]
    return int(lags[int(np.argmax(vals))])


def test_zero_phase_has_no_delay_and_causal_has():
    x = np.random.default_rng(2).standard_normal(8000)
    zp = lowpass(x, 4, "cheby1:8", zero_phase=True)
    causal = lowpass(x, 4, "cheby1:8", zero_phase=False)
    assert zp.shape == x.shape and zp.dtype == np.float32
    assert _xcorr_peak_lag(zp, x) == 0
    assert _xcorr_peak_lag(causal, x) > 0


def test_lowpass_matches_scipy_decimate_filter():
    """cheby1:8 is scipy.signal.decimate's IIR filter (order 8, 0.05 dB, edge 0.8/q)."""
    x = np.random.default_rng(3).standard_normal(4000)
    ref = signal.decimate(x, 2, ftype="iir", zero_phase=True)
    sos = signal.cheby1(8, 0.05, 0.8 / 2, output="sos")
    ours = signal.sosfiltfilt(sos, x)[::2]
    np.testing.assert_allclose(ref, ours, atol=1e-8)
    np.testing.assert_allclose(degrade(x, 2), ref, atol=1e-5)


def test_sos_is_cached_and_stable():
    flt = LowpassFilter.parse("ellip:12")
    a, b = flt.sos(8), flt.sos(8)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (6, 6)
    a[0, 0] = 123.0  # callers get copies; the cache is unaffected
    assert flt.sos(8)[0, 0] != 123.0
    for spec in ("cheby1:12", "ellip:12"):
        sos = LowpassFilter.parse(spec).sos(8)
        assert np.all(np.abs(signal.sos2zpk(sos)[1]) < 1.0)  # all poles inside the unit circle
    assert LowpassFilter.parse("aliased").sos(2) is None


def test_default_cutoffs():
    assert LowpassFilter.parse("cheby1:8").effective_cutoff == 0.8
    for fam in ("butter", "bessel", "ellip"):
        assert LowpassFilter.parse(f"{fam}:6").effective_cutoff == 1.0
    # butter -3 dB point lands on the low-rate Nyquist
    w, h = signal.sosfreqz(LowpassFilter.parse("butter:6").sos(4), worN=[np.pi / 4])
    assert 20 * np.log10(abs(h[0])) == pytest.approx(-3.01, abs=0.01)


@pytest.mark.parametrize(
    "spec", ["cheby1:8", "butter:6", "ellip:12:0.9", "bessel:12", "aliased", "cheby1:6:0.123456789"]
)
def test_parse_str_round_trip(spec):
    flt = LowpassFilter.parse(spec)
    assert str(flt) == spec
    assert LowpassFilter.parse(str(flt)) == flt


def test_parse_values_and_normalisation():
    assert LowpassFilter.parse("ellip:12:0.9") == LowpassFilter("ellip", 12, 0.9)
    assert LowpassFilter.parse(" Cheby1:10 ") == LowpassFilter("cheby1", 10)
    assert str(LowpassFilter.parse("butter")) == "butter:8"


@pytest.mark.parametrize(
    "spec,match",
    [
        ("gauss:4", "unknown family 'gauss'.*butter, cheby1, bessel, ellip, aliased"),
        ("cheby1:x", "order must be an integer"),
        ("cheby1:0", "order must be an integer >= 1"),
        ("ellip:6:1.5", r"cutoff must be in \(0, 1\]"),
        ("ellip:6:0", r"cutoff must be in \(0, 1\]"),
        ("aliased:4", "takes no order"),
        ("butter:4:0.5:1", "expected family"),
    ],
)
def test_parse_errors(spec, match):
    with pytest.raises(ValueError, match=match) as info:
        LowpassFilter.parse(spec)
    assert repr(spec) in str(info.value)


def test_unknown_family_in_degrade():
    with pytest.raises(ValueError, match="valid: butter, cheby1, bessel, ellip, aliased"):
        degrade(np.zeros(100), 2, "kaiser:8")
    assert FILTER_FAMILIES == ("butter", "cheby1", "bessel", "ellip")


@pytest.mark.parametrize("ratio", [1, 0, -2, 2.5, 2.0, True, "2"])
def test_bad_ratio(ratio):
    with pytest.raises(ValueError, match="ratio must be an integer >= 2"):
        degrade(np.zeros(100), ratio)
    with pytest.raises(ValueError, match="ratio must be an integer >= 2"):
        Degradation(ratio)


def test_short_signal_error_names_length():
    with pytest.raises(ValueError, match="signal of 20 samples is too short.*cheby1:8"):
        degrade(np.zeros(20), 2)
    assert degrade(np.zeros(20), 2, zero_phase=False).shape == (10,)
    assert degrade(np.zeros(5), 2, "aliased").shape == (3,)


def test_degradation_serialises_and_equals_function():
    d = Degradation(3, "Ellip:6:0.9", zero_phase=False)
    assert d.filter == "ellip:6:0.9"
    assert Degradation.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    x = np.random.default_rng(4).standard_normal(999)
    np.testing.assert_array_equal(d(x), degrade(x, 3, "ellip:6:0.9", zero_phase=False))
    with pytest.raises(ValueError, match="unknown Degradation keys"):
        Degradation.from_dict({"ratio": 2, "rate": 16000})


def test_describe():
    d = Degradation(2)
    assert d.describe(16000) == "cheby1 order 8 low-pass at 0.8 x 4000 Hz, zero-phase, decimate by 2"
    assert "low-rate Nyquist" in d.describe()
    assert "causal" in Degradation(4, "butter:6", zero_phase=False).describe(48000)
    assert "aliased" in Degradation(2, "aliased").describe(16000)


def test_trim_to_multiple():
    x = np.arange(10)
    assert trim_to_multiple(x, 4).tolist() == list(range(8))
    assert trim_to_multiple(x, 5).shape == (10,)
    assert trim_to_multiple(np.zeros((2, 7)), 3, axis=1).shape == (2, 6)
    with pytest.raises(ValueError):
        trim_to_multiple(x, 0)


def test_seen_and_unseen_evaluation_filters():
    ev = evaluation_filters()
    assert ev == {"seen": SEEN_FILTER_DEFAULT, "unseen": UNSEEN_FILTER_DEFAULT}
    assert ev["seen"] in MULTI_FILTER_DEFAULTS and UNSEEN_FILTER_DEFAULT not in MULTI_FILTER_DEFAULTS
    assert evaluation_filters("Cheby1:8") == ev and evaluation_filters("speech-robust") == ev
    assert evaluation_filters(["bessel:6", "ellip:12"])["seen"] == "bessel:6"
    assert evaluation_filters(["resample", "butter:8"])["seen"] == "butter:8"
    with pytest.raises(ValueError, match="not among the training degradations"):
        evaluation_filters(seen="butter:3")
    with pytest.raises(ValueError, match="is one of the training degradations"):
        evaluation_filters(unseen="ellip:6")
    with pytest.raises(ValueError, match="no low-pass filter"):
        evaluation_filters("telephone-any")


def test_degradation_set_representative():
    assert get_degradation_set("speech-robust").representative_spec == "cheby1:8"
    assert get_degradation_set("multi-filter").representative_spec == "cheby1:8"
    assert get_degradation_set("telephone-any").representative_spec == "telephone"
    assert get_degradation_set("ellip:6").representative_spec == "ellip:6"
    assert get_degradation_set("speech-robust").representative_degradation(3) == Degradation(3, "cheby1:8")
    unnamed = DegradationSet("x", (SetMember("butter:2", 1.0), SetMember("resample", 2.0), SetMember("bessel:6", 2.0)))
    assert unnamed.representative_spec == "resample" and unnamed.to_dict()["representative"] == "resample"
    with pytest.raises(ValueError, match="representative 'cheby1:8' is not a member"):
        DegradationSet("y", (SetMember("resample", 1.0),), representative="cheby1:8")
