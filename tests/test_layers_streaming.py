"""Stateful causal layers: causality, frame-by-frame == whole signal, contracts, int8 simulation modes."""

import keras
import numpy as np
import pytest

from keras_audiosr.layers import CausalConv2D, CausalInterpolation, DecibelGain, Interpolation1D, LevelNormalization
from keras_audiosr.layers.level_normalization import level_knots
from tests.contracts import check_config_round_trip, check_save_load, check_tflite

RNG = np.random.default_rng(0)


def stream(layer, x, chunks, n_out=1):
    """Run ``layer([x_chunk, state])`` chunk by chunk from a zero state; concatenated outputs."""
    state = np.zeros(layer.state_shape(x.shape[0]), np.float32)
    outs, start = [], 0
    for c in chunks:
        *ys, state = layer([x[:, start : start + c], state])
        outs.append([np.asarray(y) for y in ys[:n_out]])
        start += c
    return [np.concatenate([o[i] for o in outs], axis=1) for i in range(n_out)]


def wrap(layer, shape):
    inp = keras.Input(shape=shape)
    out = layer(inp)
    return keras.Model(inp, out)


# ---- CausalConv2D ---------------------------------------------------------------------------------
def test_causal_conv_is_causal_and_streams_exactly():
    layer = CausalConv2D(5, 3, dilation_rate=4, activation="leaky_relu", bias_initializer="random_normal")
    x = RNG.standard_normal((2, 60, 1, 3)).astype("float32")
    y = np.asarray(layer(x))
    assert y.shape == (2, 60, 1, 5) and layer.state_length == 8
    x2 = x.copy()
    x2[:, 40:] += 1.0
    y2 = np.asarray(layer(x2))
    np.testing.assert_array_equal(y[:, :40], y2[:, :40])  # the past does not see the future
    assert not np.allclose(y[:, 40:], y2[:, 40:])
    for chunks in ([60], [1] * 60, [7, 3, 20, 30]):
        np.testing.assert_allclose(stream(layer, x, chunks)[0], y, atol=1e-6)


def test_causal_conv_contract(tmp_path):
    layer = CausalConv2D(4, 3, dilation_rate=2, activation="leaky_relu", negative_slope=0.1)
    clone = check_config_round_trip(layer)
    assert (clone.filters, clone.kernel_size, clone.dilation_rate, clone.activation) == (4, 3, 2, "leaky_relu")
    model = wrap(layer, (None, 1, 2))
    x = RNG.standard_normal((2, 32, 1, 2)).astype("float32")
    check_save_load(model, x)
    check_tflite(wrap(CausalConv2D(4, 3, dilation_rate=2), (32, 1, 2)), x[:1], atol=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    before = layer.get_weights()[0].copy()
    model.fit(x, RNG.standard_normal((2, 32, 1, 4)).astype("float32"), epochs=1, verbose=0)
    assert not np.allclose(before, layer.get_weights()[0])
    with pytest.raises(ValueError, match="activation"):
        CausalConv2D(4, 3, activation="tanh")
    with pytest.raises(ValueError, match=r"\[B, T, 1, C\]"):
        CausalConv2D(4, 3)(np.zeros((1, 8, 2), "float32"))


def test_causal_conv_quantize_modes():
    layer = CausalConv2D(4, 3, activation="leaky_relu", bias_initializer="random_normal")
    x = RNG.standard_normal((2, 50, 1, 2)).astype("float32")
    y = np.asarray(layer(x))
    assert [float(v) for v in layer.input_range] == [0.0, 0.0]
    np.testing.assert_array_equal(np.asarray(layer(x, quantize="calibrate")), y)  # calibration does not change outputs
    lo, hi = (float(v) for v in layer.input_range)  # the 0.01st and 99.99th percentiles, not min/max
    assert lo == pytest.approx(np.percentile(x, 0.01), rel=1e-4)
    assert hi == pytest.approx(np.percentile(x, 99.99), rel=1e-4)
    assert x.min() < lo < 0 < hi < x.max()
    fake = np.asarray(layer(x, quantize="fake"))
    step = (hi - lo) / 255
    assert 0 < np.max(np.abs(fake - y)) < 20 * step  # int8 simulation: close to float, not equal
    with pytest.raises(ValueError, match="quantize mode"):
        layer(x, quantize="int4")
    layer.reset_quantization_ranges()
    assert [float(v) for v in layer.output_range] == [0.0, 0.0]


# ---- CausalInterpolation --------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [2, 3])
def test_causal_interpolation_is_delayed_sinc(ratio):
    layer = CausalInterpolation(ratio, "sinc", delay=12)
    assert layer.half == 9 and layer.state_length == 12 + 9
    x = RNG.standard_normal((1, 200, 1)).astype("float32")
    y = np.asarray(layer(x[..., None]))[0, :, 0, 0]
    ref = np.asarray(Interpolation1D(ratio, "sinc")(x))[0, :, 0]
    d, h = layer.delay * ratio, layer.half * ratio
    # interior (away from the different edge handling): y[m] = ref[m - delay * ratio]
    np.testing.assert_allclose(y[d + h :], ref[h : len(ref) - d], atol=1e-5)
    got = stream(layer, x[..., None], [13, 1, 50, 136])[0]
    np.testing.assert_allclose(got, np.asarray(layer(x[..., None])), atol=1e-6)
    assert layer.count_macs([(1, 200, 1, 1)], [(1, 200 * ratio, 1, 1)]) == 200 * ratio * (12 + 9 + 1)


def test_causal_interpolation_contract():
    layer = CausalInterpolation(2, "sinc", sinc_zeros=4, delay=6)
    assert check_config_round_trip(layer).delay == 6
    check_save_load(wrap(layer, (None, 1, 1)), RNG.standard_normal((2, 40, 1, 1)).astype("float32"))
    with pytest.raises(ValueError, match="half-width"):
        CausalInterpolation(2, "sinc", delay=3)
    with pytest.raises(ValueError, match="mono"):
        CausalInterpolation(2)(np.zeros((1, 8, 1, 2), "float32"))


# ---- LevelNormalization ---------------------------------------------------------------------------
def test_level_normalization_scales_to_unit_level():
    layer = LevelNormalization(window=160, floor=1e-3)
    t = np.arange(4000) / 8000
    for db in (-50, -30, -6):
        amp = 10 ** (db / 20) * np.sqrt(2)
        x = (amp * np.sin(2 * np.pi * 440 * t)).astype("float32")[None, :, None, None]
        normalized, level = (np.asarray(v)[0, 400:, 0, 0] for v in layer(x))
        rms = np.sqrt(np.mean(normalized**2))
        assert rms == pytest.approx(1.0, rel=0.1), (db, rms)  # within the piecewise-linear accuracy
        true_level = np.sqrt(10 ** (db / 10) + 1e-6)
        assert np.median(level) == pytest.approx(true_level, rel=0.05)
    silence = np.zeros((1, 500, 1, 1), "float32")
    normalized, level = (np.asarray(v) for v in layer(silence))
    assert np.all(normalized == 0) and np.allclose(level, 1e-3, rtol=1e-4)


def test_level_normalization_bounds_onsets_and_streams():
    layer = LevelNormalization(window=64, floor=1e-3)
    x = np.zeros((1, 400, 1, 1), "float32")
    x[0, 200:, 0, 0] = 0.9 * np.sign(np.sin(np.arange(200)))  # a full-scale onset after silence
    normalized, _ = layer(x)
    assert np.max(np.abs(np.asarray(normalized))) <= np.sqrt(64) * 1.05
    offline = [np.asarray(v) for v in layer(x)]
    got = stream(layer, x, [100, 3, 97, 200], n_out=2)
    for a, b in zip(got, offline):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(level_knots(1e-3)) == 21


def test_level_normalization_clip():
    x = np.zeros((1, 600, 1, 1), "float32")
    x[0, 300:, 0, 0] = 0.5 * np.sin(np.arange(300) * 0.3)  # onset: the unclipped peak reaches ~8
    free, _ = (np.asarray(v)[0, :, 0, 0] for v in LevelNormalization(64, 1e-3)(x))
    clipped, _ = (np.asarray(v)[0, :, 0, 0] for v in LevelNormalization(64, 1e-3, clip=4.0)(x))
    assert np.max(np.abs(free)) > 5 and np.max(np.abs(clipped)) <= 4.0 + 1e-5
    inside = np.abs(free) < 3.9
    np.testing.assert_allclose(clipped[inside], free[inside], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="clip"):
        LevelNormalization(clip=0.0)


def test_level_normalization_contract():
    layer = LevelNormalization(window=32, floor=1e-2, clip=3.0)
    clone = check_config_round_trip(layer)
    assert (clone.window, clone.clip) == (32, 3.0)
    inp = keras.Input((None, 1, 1))
    model = keras.Model(inp, layer(inp))
    check_save_load(model, 0.1 * RNG.standard_normal((2, 50, 1, 1)).astype("float32"))
    with pytest.raises(ValueError, match="floor"):
        LevelNormalization(floor=2.0)


# ---- DecibelGain ----------------------------------------------------------------------------------
def test_decibel_gain():
    layer = DecibelGain(db_per_unit=10.0, min_db=-40.0, max_db=10.0, step_db=2.5)
    g = np.linspace(-6, 3, 901).astype("float32").reshape(1, -1, 1, 1)
    gain = np.asarray(layer(g)).ravel()
    true = 10 ** (np.clip(g.ravel() * 10.0, -40.0, 10.0) / 20.0)
    np.testing.assert_allclose(gain, true, rtol=0.011)  # piecewise linear in 2.5 dB steps, clamped outside
    assert check_config_round_trip(layer).max_db == 10.0
    assert layer.count_macs([(1, 901, 1, 1)], [(1, 901, 1, 1)]) == 901 * 2 * 20
    check_tflite(wrap(DecibelGain(), (50, 1, 1)), g[:, :50], atol=1e-5)
    with pytest.raises(ValueError, match="max_db"):
        DecibelGain(min_db=0.0, max_db=-1.0)
    # offset_db scales every gain exactly, clamped ones included; set in place, kept by the config
    shifted = DecibelGain(db_per_unit=10.0, min_db=-40.0, max_db=10.0, step_db=2.5, offset_db=-50.0)
    np.testing.assert_allclose(np.asarray(shifted(g)).ravel(), gain * 10 ** (-50 / 20), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(shifted.set_offset_db(0.0)(g)).ravel(), gain, rtol=1e-6)
    assert check_config_round_trip(DecibelGain(offset_db=-7.5)).offset_db == -7.5
    with pytest.raises(ValueError, match="offset_db"):
        DecibelGain(offset_db=float("nan"))
