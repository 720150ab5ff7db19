"""Band preservation on every generator: the output's band below the transition IS the sinc
interpolation of the input (the input itself for same-rate models), whatever the weights; and
``band_preserving=False`` / files saved before the option are the old graph, unchanged."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from scipy import signal

from keras_audiosr.layers import BAND_SINC_ZEROS, BandMerge, Interpolation1D
from keras_audiosr.layers.interpolation1d import _kernel_function
from keras_audiosr.models import AudioEDSR, AudioUNet, BWEResNet, BWEUNet, MUGANGenerator
from tests.contracts import check_config_round_trip, check_save_load, check_tflite

FIXTURES = Path(__file__).parent / "fixtures" / "pre_band_preserving"

# (class, ratio keyword, ratio): generators that up-sample and same-rate extenders.
CASES = [
    (AudioUNet, "ratio", 2),
    (AudioUNet, "ratio", 3),
    (AudioEDSR, "ratio", 2),
    (AudioEDSR, "ratio", 4),
    (MUGANGenerator, "ratio", 2),
    (BWEResNet, "bandwidth_ratio", 2),
    (BWEUNet, "bandwidth_ratio", 3),
]
IDS = [f"{c.__name__}-{r}" for c, _, r in CASES]


def _analysis_lowpass(x, ratio, edge=0.8, stop=0.87):
    """Float64 linear-phase low-pass, 160 dB stopband from ``stop`` (fractions of the low-rate Nyquist), 'valid'
    part."""
    numtaps, beta = signal.kaiserord(160.0, (stop - edge) / ratio)
    taps = signal.firwin(numtaps | 1, 0.5 * (edge + stop) / ratio, window=("kaiser", beta))
    return np.convolve(np.asarray(x, np.float64).ravel(), taps, mode="valid")


def _randomise(model, seed):
    """Every weight random and non-zero (the zero-initialised last layers included), output of order one."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        shape = tuple(v.shape)
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        value = rng.standard_normal(shape) / np.sqrt(fan_in)
        if v.path.endswith(("moving_variance", "gamma")):
            value = 1.0 + 0.5 * np.abs(value)
        v.assign(value.astype("float32"))


def _build(cls, key, ratio, **kwargs):
    return cls.from_size("tiny", **{key: ratio}, hr_rate=48000, **kwargs)


def _low_branch(cls, x, ratio):
    if cls in (BWEResNet, BWEUNet):
        return x
    return np.asarray(Interpolation1D(ratio, "sinc", sinc_zeros=BAND_SINC_ZEROS)(x))


@pytest.mark.parametrize("cls,key,ratio", CASES, ids=IDS)
def test_band_below_transition_is_the_sinc_interpolation_whatever_the_weights(cls, key, ratio):
    model = _build(cls, key, ratio)
    assert model.band_preserving and model.get_config()["band_preserving"] is True
    _randomise(model, 1)
    same_rate = cls in (BWEResNet, BWEUNet)
    n = 4096 if same_rate else 4096 // ratio
    x = (0.3 * np.random.default_rng(2).standard_normal((1, n, 1))).astype("float32")
    out = np.asarray(model(x))
    low = _low_branch(cls, x, ratio)
    assert out.shape == low.shape
    trim = model.get_layer("band_merge").delay  # the zero-padded ends of the merge's FIR are not band-limited
    lp_out = _analysis_lowpass(out.ravel()[trim:-trim], ratio)
    lp_low = _analysis_lowpass(low.ravel()[trim:-trim], ratio)
    scale = max(np.max(np.abs(low)), np.max(np.abs(out - low)))
    assert np.max(np.abs(lp_out - lp_low)) / scale < 1e-5
    # The network does contribute: above the transition the output is not the interpolation.
    assert np.max(np.abs(out - low)) > 0.05 * np.max(np.abs(low))
    # ... and without the merge the same weights would rewrite the low band.
    plain = _build(cls, key, ratio, band_preserving=False, **({} if cls is AudioEDSR else {"interpolation": "sinc"}))
    if plain.count_params() == model.count_params():
        plain.set_weights(model.get_weights())
        lp_plain = _analysis_lowpass(np.asarray(plain(x)).ravel()[trim:-trim], ratio)
        assert np.max(np.abs(lp_plain - _analysis_lowpass(low.ravel()[trim:-trim], ratio))) / scale > 1e-2


@pytest.mark.parametrize("cls,key,ratio", CASES, ids=IDS)
def test_untrained_model_is_the_sinc_interpolation(cls, key, ratio):
    """The network's last layer starts at zero, so a new model is exactly the linear-phase resampler."""
    model = _build(cls, key, ratio)
    x = np.random.default_rng(3).standard_normal((2, 45, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), _low_branch(cls, x, ratio), atol=1e-6)


@pytest.mark.parametrize("ratio", [2, 3, 4, 8])
def test_band_sinc_is_flat_to_the_transition(ratio):
    h, support = _kernel_function("sinc", ratio, BAND_SINC_ZEROS)
    w, response = signal.freqz(h(np.arange(-support, support + 1)), worN=16384)
    f = w / np.pi * ratio  # fractions of the low-rate Nyquist
    gain_db = 20 * np.log10(np.abs(response) / ratio + 1e-300)
    assert np.max(np.abs(gain_db[f <= 0.875])) < 0.01
    assert np.max(gain_db[(f >= 1.125) & (f <= ratio)]) < -75.0


def test_audio_unet_network_input_and_interpolation_choice():
    model = AudioUNet.from_size("tiny")
    interps = [layer for layer in model.layers if isinstance(layer, Interpolation1D)]
    assert [(i.name, i.method, i.sinc_zeros) for i in interps] == [("interpolate", "sinc", BAND_SINC_ZEROS)]
    assert model.interpolation == "sinc" and any(isinstance(layer, BandMerge) for layer in model.layers)
    cubic = AudioUNet.from_size("tiny", interpolation="cubic")  # the network sees cubic, the kept band is sinc
    assert sorted((i.name, i.method) for i in cubic.layers if isinstance(i, Interpolation1D)) == [
        ("band_interpolate", "sinc"),
        ("interpolate", "cubic"),
    ]
    x = np.random.default_rng(4).standard_normal((1, 64, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(cubic(x)), _low_branch(AudioUNet, x, 2), atol=1e-6)
    paper_graph = AudioUNet.from_size("tiny", band_preserving=False)
    assert paper_graph.interpolation == "cubic" and not any(
        isinstance(layer, BandMerge) for layer in paper_graph.layers
    )
    assert paper_graph.count_params() == model.count_params()
    with pytest.raises(ValueError, match="band_preserving=False"):
        AudioUNet.from_size("tiny", ratio=1)


@pytest.mark.parametrize("cls,key,ratio", [CASES[0], CASES[2], CASES[4], CASES[5], CASES[6]], ids=lambda v: str(v))
def test_contract_save_load_and_tflite(cls, key, ratio):
    model = _build(cls, key, ratio)
    _randomise(model, 5)
    clone = check_config_round_trip(model)
    assert clone.band_preserving and clone.audio_config()["band_preserving"] is True
    n = 96 if cls in (BWEResNet, BWEUNet) else 48
    x = np.random.default_rng(6).standard_normal((1, n, 1)).astype("float32")
    loaded = check_save_load(model, x)
    assert loaded.band_preserving
    check_tflite(model, x, atol=1e-4)


# ---------------------------------------------------------------- the old graph
OLD = {
    "audio_unet": AudioUNet,
    "audio_edsr": AudioEDSR,
    "mugan_generator": MUGANGenerator,
    "bwe_resnet": BWEResNet,
    "bwe_unet": BWEUNet,
}


def _old_build(name):
    cls = OLD[name]
    key = "bandwidth_ratio" if cls in (BWEResNet, BWEUNet) else "ratio"
    return lambda **kw: cls.from_size("tiny", **{key: 2}, hr_rate=16000, **kw)


@pytest.mark.parametrize("name", sorted(OLD))
def test_files_saved_before_the_option_load_as_they_were(name):
    summary = json.loads((FIXTURES / "summary.json").read_text())[name]
    stored = np.load(FIXTURES / f"{name}.npz")
    model = keras.models.load_model(FIXTURES / f"{name}.keras")
    assert isinstance(model, OLD[name]) and model.band_preserving is False
    assert model.get_config()["band_preserving"] is False
    assert [[layer.name, type(layer).__name__] for layer in model.layers] == summary["layers"]
    np.testing.assert_allclose(np.asarray(model(stored["x"])), stored["y"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(OLD))
def test_band_preserving_false_builds_the_old_graph_and_initialisation(name):
    summary = json.loads((FIXTURES / "summary.json").read_text())[name]
    stored = np.load(FIXTURES / f"{name}.npz")
    keras.utils.set_random_seed(0)
    model = _old_build(name)(band_preserving=False)
    assert model.count_params() == summary["params"]
    assert [[layer.name, type(layer).__name__] for layer in model.layers] == summary["layers"]
    seeded = [stored[f"seeded_{i}"] for i in range(len(model.get_weights()))]
    for a, b in zip(model.get_weights(), seeded):
        np.testing.assert_array_equal(a, b)
    old = keras.models.load_model(FIXTURES / f"{name}.keras")
    model.set_weights(old.get_weights())
    # the same graph and weights: equal up to float32 rounding (the order of a sum may differ by a thread or a build)
    np.testing.assert_allclose(np.asarray(model(stored["x"])), stored["y"], rtol=1e-6, atol=1e-6)
    # The band-preserving form of the same network has the same weights, plus the fixed merge.
    assert _old_build(name)().count_params() == summary["params"]


@pytest.mark.parametrize("cls,key,ratio", [CASES[0], CASES[2], CASES[6]], ids=lambda v: str(v))
def test_kept_band_is_float32_exact_under_mixed_precision(cls, key, ratio):
    """The network runs in float16, the kept path (pad, sinc, merge, crop) in float32."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _build(cls, key, ratio)
        _randomise(model, 7)
        assert model.get_layer("band_merge").compute_dtype == "float32"
        assert any(layer.compute_dtype == "float16" for layer in model.layers if layer.weights)
        same_rate = cls in (BWEResNet, BWEUNet)
        x = (0.3 * np.random.default_rng(8).standard_normal((1, 4096 if same_rate else 4096 // ratio, 1))).astype(
            "float32"
        )
        out = np.asarray(model(x))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.dtype == np.float32
    low = _low_branch(cls, x, ratio)
    trim = model.get_layer("band_merge").delay
    err = np.max(
        np.abs(_analysis_lowpass(out.ravel()[trim:-trim], ratio) - _analysis_lowpass(low.ravel()[trim:-trim], ratio))
    )
    assert err / np.max(np.abs(low)) < 1e-5  # float16 would give about 1e-3
    assert np.max(np.abs(out - low)) > 0.05 * np.max(np.abs(low))
