"""keras_audiosr.degrade: the resampler, the telephone channel (band-pass, G.711) and degradation sets."""

import json
import warnings
from collections import Counter

import numpy as np
import pytest
from scipy import signal

from keras_audiosr.degrade import (
    COMPANDING,
    DEGRADATION_SETS,
    FILTER_FAMILIES,
    MULTI_FILTER_DEFAULTS,
    NAMED_KINDS,
    Degradation,
    DegradationSet,
    SetMember,
    canonical_spec,
    g711,
    get_degradation_set,
    lowpass,
)

HR = 16000


def _tone(freq, n=16000, rate=HR, amp=0.5):
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)


def _amplitude_db(y, freq, rate):
    m = len(y)
    s = slice(m // 4, 3 * m // 4)
    t = np.arange(m)[s] / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef = np.linalg.lstsq(basis, y[s].astype(np.float64), rcond=None)[0]
    return 20 * np.log10(np.hypot(*coef) + 1e-300)


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    "spec,canon",
    [
        ("resample", "resample"),
        (" Resample ", "resample"),
        ("telephone", "telephone"),
        ("TELEPHONE:MuLaw", "telephone:mulaw"),
        ("telephone:alaw", "telephone:alaw"),
        ("Cheby1:8", "cheby1:8"),
        ("butter:4", "butter:4"),
    ],
)
def test_spec_grammar_round_trip(spec, canon):
    assert canonical_spec(spec) == canon
    d = Degradation(2, spec)
    assert d.filter == canon
    assert Degradation.from_dict(json.loads(json.dumps(d.to_dict()))) == d


@pytest.mark.parametrize(
    "spec,match",
    [
        ("kaiser:8", "unknown family 'kaiser'.*butter, cheby1, bessel, ellip, aliased, resample, telephone"),
        ("resample:4", "'resample' takes no arguments"),
        ("telephone:ulaw", "expected telephone, telephone:mulaw or telephone:alaw"),
        ("telephone:mulaw:8", "expected telephone"),
    ],
)
def test_spec_errors_list_valid_names(spec, match):
    with pytest.raises(ValueError, match=match):
        Degradation(2, spec)


def test_kind_and_lowpass_filter_property():
    assert Degradation(2, "resample").kind == "resample"
    assert Degradation(2, "telephone:alaw").kind == "telephone"
    assert Degradation(2, "butter:4").kind == "lowpass"
    assert Degradation(2, "butter:4").lowpass_filter.order == 4
    with pytest.raises(ValueError, match="not a low-pass filter spec"):
        _ = Degradation(2, "resample").lowpass_filter


def test_describe_named_kinds():
    assert "resample_poly" in Degradation(2, "resample").describe(16000)
    assert "8000 Hz" in Degradation(2, "resample").describe(16000)
    text = Degradation(2, "telephone:mulaw").describe(16000)
    assert "300-3400 Hz" in text and "mu-law" in text and "causal" in text
    assert "A-law" in Degradation(4, "telephone:alaw").describe(32000)
    assert "no companding" in Degradation(2, "telephone").describe()


# ----------------------------------------------------------------------------- resampler


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_resample_equals_resample_poly(ratio):
    x = np.random.default_rng(ratio).standard_normal(4001) * 0.1
    y = Degradation(ratio, "resample")(x)
    ref = signal.resample_poly(x, 1, ratio)
    assert y.dtype == np.float32 and y.shape == ref.shape == (-(-4001 // ratio),)
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_resample_is_aligned_and_band_limited():
    x = _tone(1000.0)
    y = Degradation(2, "resample")(x)
    np.testing.assert_allclose(y[200:-200], x[::2][200:-200], atol=2e-3)  # lr[k] sits at hr[2k]
    assert _amplitude_db(Degradation(2, "resample")(_tone(5000.0)), 3000.0, 8000) < -40  # no alias


# ----------------------------------------------------------------------------- telephone channel


def test_telephone_band_pass_frequency_response():
    d = Degradation(2, "telephone")
    gains = {f: _amplitude_db(d(_tone(f, n=32000)), f, 8000) - 20 * np.log10(0.5) for f in (100, 300, 1000, 3400, 3800)}
    assert abs(gains[1000]) < 0.2
    assert abs(gains[300] + 3.0) < 0.5 and abs(gains[3400] + 3.0) < 0.5
    assert gains[100] < -30 and gains[3800] < -20


def test_telephone_band_scales_with_the_low_rate():
    """Defined as fractions of the low-rate Nyquist: at 48 kHz / 6 the band is 300-3400 Hz too."""
    d = Degradation(6, "telephone")
    x = _tone(1000.0, n=96000, rate=48000) + _tone(100.0, n=96000, rate=48000)
    y = d(x)
    assert abs(_amplitude_db(y, 1000.0, 8000) - 20 * np.log10(0.5)) < 0.3
    assert _amplitude_db(y, 100.0, 8000) < 20 * np.log10(0.5) - 30


def test_telephone_is_causal():
    x = np.zeros(4000)
    x[2000] = 1.0
    y = Degradation(2, "telephone")(x)
    assert np.max(np.abs(y[:990])) < 1e-6  # nothing before the impulse (the resampler's 10 taps aside)
    assert np.argmax(np.abs(y)) > 1000  # the band-pass delays the peak


def test_g711_levels_and_known_codes():
    mu = g711(np.linspace(-1.2, 1.2, 100001), "mulaw")
    al = g711(np.linspace(-1.2, 1.2, 100001), "alaw")
    assert len(np.unique(mu)) == 255  # 256 codes, +0 and -0 decode to the same level
    assert len(np.unique(al)) == 256
    assert mu.max() * 32768 == 32124 and al.max() * 32768 == 32256
    assert g711(np.zeros(1), "mulaw")[0] == 0 and g711(np.zeros(1), "alaw")[0] * 32768 == 8
    x = np.random.default_rng(0).standard_normal(20000) * 0.05
    for law in COMPANDING:
        y = g711(x, law)
        err = 10 * np.log10(np.mean(x**2) / np.mean((x - y) ** 2))
        assert 30 < err < 45  # 8-bit companding: about 38 dB SNR on speech-level signals
    with pytest.raises(ValueError, match="valid: mulaw, alaw"):
        g711(x, "ulaw")


def test_g711_is_bit_identical_to_the_reference_codec():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    from keras_audiosr.degrade.telephone import _alaw_decode, _alaw_encode, _mulaw_decode, _mulaw_encode

    pcm = np.arange(-32768, 32768, dtype=np.int32)
    raw = pcm.astype("<i2").tobytes()
    np.testing.assert_array_equal(_mulaw_encode(pcm), np.frombuffer(audioop.lin2ulaw(raw, 2), np.uint8))
    np.testing.assert_array_equal(_alaw_encode(pcm), np.frombuffer(audioop.lin2alaw(raw, 2), np.uint8))
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(_mulaw_decode(codes), np.frombuffer(audioop.ulaw2lin(codes.tobytes(), 2), "<i2"))
    np.testing.assert_array_equal(_alaw_decode(codes), np.frombuffer(audioop.alaw2lin(codes.tobytes(), 2), "<i2"))


@pytest.mark.parametrize("law", COMPANDING)
def test_telephone_companded_output_takes_g711_levels(law):
    x = np.random.default_rng(1).standard_normal(16000) * 0.1
    y = Degradation(2, f"telephone:{law}")(x)
    levels = set(g711(np.linspace(-1, 1, 200001), law).tolist())
    assert set(np.unique(y).tolist()) <= levels
    plain = Degradation(2, "telephone")(x)
    assert 25 < 10 * np.log10(np.mean(plain**2) / np.mean((plain - y) ** 2)) < 45


def test_at_high_rate_for_every_kind():
    x = np.random.default_rng(2).standard_normal(3001) * 0.1
    for spec in ("cheby1:8", "resample", "telephone:mulaw"):
        y = Degradation(2, spec).at_high_rate(x)
        assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(
        lowpass(x, 2, "resample"), signal.resample_poly(signal.resample_poly(x, 1, 2), 2, 1)[:3001], atol=1e-6
    )


@pytest.mark.parametrize(
    "spec", ["cheby1:12:0.8", "ellip:12", "bessel:6", "butter:2:0.9", "resample", "telephone", "telephone:mulaw"]
)
@pytest.mark.parametrize("ratio", [2, 4])
def test_context_makes_a_crop_match_the_whole_signal(spec, ratio):
    x = np.random.default_rng(3).standard_normal(40000) * 0.1
    d = Degradation(ratio, spec)
    m, s, p = d.context, 16000, 4096
    whole = d(x)[s // ratio : (s + p) // ratio]
    crop = d(x[s - m : s + p + m])[m // ratio : (m + p) // ratio]
    if spec.endswith("mulaw"):  # companding rounds: allow a few one-step differences
        assert np.mean(whole != crop) < 0.01
    else:
        assert np.sum((whole - crop) ** 2) < 1e-6 * np.sum(whole**2)  # below -60 dB
    assert m % ratio == 0


# ----------------------------------------------------------------------------- degradation sets


def test_known_sets_and_errors():
    assert set(DEGRADATION_SETS) >= {"speech-robust", "multi-filter", "telephone-any"}
    for name in DEGRADATION_SETS:
        assert name.split(":")[0] not in FILTER_FAMILIES + NAMED_KINDS + ("aliased",)
        assert get_degradation_set(name).name == name
    with pytest.raises(ValueError, match="unknown degradation set 'robust'.*speech-robust, multi-filter"):
        get_degradation_set("robust")
    single = get_degradation_set("cheby1:8")
    assert single.specs == ("cheby1:8",) and single.gain_db is None
    d = single.draw(np.random.default_rng(0), 2)
    assert d.degradation == Degradation(2, "cheby1:8") and d.gain == 1.0
    assert get_degradation_set(" Telephone:MuLaw ").specs == ("telephone:mulaw",)
    assert get_degradation_set("multi-filter").specs == MULTI_FILTER_DEFAULTS


def test_speech_robust_draws_what_it_says():
    s = get_degradation_set("speech-robust")
    rng = np.random.default_rng(123)
    n = 20000
    draws = [s.draw(rng, 2) for _ in range(n)]
    base = Counter(
        ":".join(d.degradation.filter.split(":")[:2]) if d.degradation.kind == "lowpass" else d.degradation.filter
        for d in draws
    )
    probs = {k.replace(":U(0.8-1)", ""): p for k, p in s.probabilities().items()}
    assert set(base) == set(probs)
    for spec, p in probs.items():
        assert abs(base[spec] / n - p) < 4 * np.sqrt(p * (1 - p) / n), spec
    assert "butter:4" not in base and "butter:6" not in base  # the unseen evaluation filters
    cutoffs = [float(d.degradation.filter.split(":")[2]) for d in draws if d.degradation.kind == "lowpass"]
    assert min(cutoffs) == 0.8 and max(cutoffs) == 1.0 and len(set(cutoffs)) == 21
    gains_db = 20 * np.log10([d.gain for d in draws])
    assert -18.0 <= gains_db.min() < -17.5 and -0.5 < gains_db.max() <= 0.0
    assert abs(np.mean(gains_db) + 9.0) < 0.3
    assert {d.degradation.zero_phase for d in draws} == {True}
    assert sum(probs.values()) == pytest.approx(1.0)


def test_draws_are_deterministic_per_generator():
    s = get_degradation_set("speech-robust")
    a = [s.draw(np.random.default_rng([7, i]), 2) for i in range(50)]
    b = [s.draw(np.random.default_rng([7, i]), 2) for i in range(50)]
    assert a == b and len({d.degradation.filter for d in a}) > 5


def test_custom_set_validation_and_markdown():
    with pytest.raises(ValueError, match="weight must be positive"):
        SetMember("cheby1:8", 0)
    with pytest.raises(ValueError, match="cutoff range needs a filter spec"):
        SetMember("resample", 1.0, (0.8, 1.0))
    with pytest.raises(ValueError, match="no members"):
        DegradationSet("empty", ())
    s = DegradationSet("mine", (SetMember("resample", 3), SetMember("cheby1:8", 1)))
    assert s.probabilities() == {"resample": 0.75, "cheby1:8": 0.25}
    assert "| `resample` | 75.0% |" in s.markdown()
    assert json.loads(json.dumps(s.to_dict()))["members"][0] == {"spec": "resample", "weight": 3.0, "cutoff": None}
    assert get_degradation_set("speech-robust").max_context(2) >= Degradation(2, "ellip:12:0.8").context


# ----------------------------------------------------------------------------- the registry of kinds


def test_a_registered_kind_parses_once_and_degrades_everywhere():
    from dataclasses import dataclass

    from keras_audiosr.degrade import DegradationSpec, parse_spec, register_kind, spec_grammar, spec_kinds
    from keras_audiosr.degrade import spec as spec_module

    @dataclass(frozen=True)
    class Halve(DegradationSpec):  # keep every ratio-th sample, at half the level
        level: float = 0.5
        kind = "halve"

        def __str__(self):
            return "halve"

        def low_rate(self, x, ratio, *, zero_phase, axis):
            return (self.level * np.asarray(x)[::ratio]).astype(np.float32)

        def context(self, ratio):
            return 0

        def describe(self, ratio, hr_rate, zero_phase):
            return f"half level, decimate by {ratio}"

    def parse(args, text):
        if args:
            raise ValueError(f"degradation spec {text!r}: 'halve' takes no arguments")
        return Halve()

    register_kind("halve", parse, grammar="halve")
    try:
        assert "halve" in spec_kinds() and spec_grammar().split(" (")[0].endswith("halve")
        assert parse_spec("halve") is parse_spec("halve") == parse_spec(" HALVE ")  # parsed once, cached
        d = Degradation(2, "Halve")
        assert d.filter == "halve" and d.kind == "halve" and d.describe() == "half level, decimate by 2"
        np.testing.assert_allclose(d(np.ones(8)), np.full(4, 0.5))
        assert d.at_high_rate(np.ones(64)).shape == (64,)  # the default: the low rate resampled back up
        assert get_degradation_set("halve").specs == ("halve",)
        with pytest.raises(ValueError, match="'halve' takes no arguments"):
            Degradation(2, "halve:3")
        with pytest.raises(ValueError, match="already registered"):
            register_kind("halve", parse)
    finally:
        spec_module._KINDS.pop("halve", None)
        spec_module._parse_text.cache_clear()
    with pytest.raises(ValueError, match="unknown family 'halve'"):
        Degradation(2, "halve")
