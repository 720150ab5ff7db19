"""StreamingBWE: contract, band preservation, frame-by-frame == whole signal, compute and latency budgets."""

import keras
import numpy as np
import pytest
from scipy import signal

from keras_audiosr.layers import Interpolation1D
from keras_audiosr.models import AudioEDSR, StreamingBWE
from keras_audiosr.models.complexity import count_macs, macs_per_second
from tests.contracts import preset_kwargs, run_model_test

RNG = np.random.default_rng(0)


def tiny(ratio=2, hr_rate=16000, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    model = StreamingBWE.from_size("tiny", ratio=ratio, hr_rate=hr_rate, **kwargs)
    return model


def stream_keras(model, x, frame):
    sm = model.streaming_model(frame)
    states = {s["input"]: np.zeros(s["shape"], np.float32) for s in model.state_specs()}
    n = -(-(len(x) + model.lookahead) // frame)
    padded = np.zeros(n * frame, np.float32)
    padded[: len(x)] = x
    outs = []
    for k in range(n):
        res = sm({"frame": padded[k * frame : (k + 1) * frame][None, :, None], **states})
        outs.append(np.asarray(res["output"]).ravel())
        states = {s["input"]: np.asarray(res[s["output"]]) for s in model.state_specs()}
    d = model.lookahead * model.ratio
    return np.concatenate(outs)[d : d + len(x) * model.ratio]


def test_contract():
    x = (0.1 * RNG.standard_normal((2, 64, 1))).astype("float32")
    y = (0.1 * RNG.standard_normal((2, 128, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    model = run_model_test(StreamingBWE, preset_kwargs(StreamingBWE, "tiny"), x, y)
    cfg = model.get_config()
    assert cfg["fold"] == 2 and cfg["dilations"] == [1, 2] and cfg["transition"] == [0.7, 1.0]
    with pytest.raises(ValueError, match="unknown model size"):
        StreamingBWE.from_size("huge")
    with pytest.raises(ValueError, match="ratio"):
        StreamingBWE(ratio=1)


def test_mixed_precision_keeps_the_signal_path_in_float32():
    """Under mixed_float16 the core computes in float16; the input band goes through in float32, exactly."""
    from tests.contracts import _build_under

    reference = tiny()
    for layer in ("core_out",):  # a silent core: the output is the band-preserving interpolation alone
        conv = reference.get_layer(layer)
        conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    model = _build_under(StreamingBWE, preset_kwargs(StreamingBWE, "tiny"), "mixed_float16")
    model.set_weights(reference.get_weights())
    computes = {layer.name: layer.compute_dtype for layer in model.layers}
    assert computes["core_in"] == computes["core_d1_0"] == computes["core_out"] == "float16"
    for name in ("interpolate", "level", "gain", "apply_gain", "restore_level", "band_merge", "training_penalties"):
        assert computes[name] == "float32", name
    x = (0.3 * RNG.standard_normal((2, 400, 1))).astype("float32")
    y = model(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    # the float16 core's silence is exact, and the rest never left float32 (float16 would be ~1e-4 off)
    np.testing.assert_allclose(np.asarray(y), np.asarray(reference(x)), atol=1e-6)
    model.compile(keras.optimizers.Adam(1e-3), loss="mse")
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    history = model.fit(x, np.repeat(x, 2, axis=1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# ratio 3 with -m slow (time): the shipped 16 -> 48 kHz stream is checked against its fixtures in the default run
@pytest.mark.parametrize("ratio,hr_rate", [(2, 16000), pytest.param(3, 48000, marks=pytest.mark.slow)])
def test_streaming_equals_whole_signal(ratio, hr_rate):
    model = tiny(ratio, hr_rate)
    x = (0.2 * RNG.standard_normal(1001)).astype("float32")
    whole = np.asarray(model(x[None, :, None]))[0, :, 0]
    assert whole.shape == (1001 * ratio,)
    for frame in (model.frame_length(10.0), 2 * model.fold):
        np.testing.assert_allclose(stream_keras(model, x, frame), whole, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of fold"):
        model.streaming_model(model.fold + 1)


def _lowpass(x, ratio, edge=0.6, stop=0.68):
    numtaps, beta = signal.kaiserord(140.0, (stop - edge) / ratio)
    taps = signal.firwin(numtaps | 1, 0.5 * (edge + stop) / ratio, window=("kaiser", beta))
    return np.convolve(np.asarray(x, np.float64), taps, mode="valid")


def test_band_preserving_whatever_the_network_emits():
    """Below the band-merge transition the output is the fixed sinc interpolation of the input."""
    model = tiny()
    out_conv = model.get_layer("core_out")
    out_conv.kernel.assign(out_conv.kernel * 50.0)  # a loud, offset network output
    out_conv.bias.assign(out_conv.bias + 1.0)
    x = (0.1 * RNG.standard_normal(4000)).astype("float32")
    y = np.asarray(model(x[None, :, None]))[0, :, 0]
    low = np.asarray(Interpolation1D(2, "sinc")(x[None, :, None]))[0, :, 0]
    network = y - low
    trim = 400  # edges: zero history vs the reference's repeated samples
    err = _lowpass(y, 2)[trim:-trim] - _lowpass(low, 2)[trim:-trim]
    assert np.std(network) > 5 * np.std(low)  # the network really is loud
    assert np.max(np.abs(err)) < 1e-3 * np.max(np.abs(network)), np.max(np.abs(err))  # 60 dB band merge


def test_training_penalises_the_discarded_band():
    model = tiny()
    x = (0.1 * RNG.standard_normal((2, 400, 1))).astype("float32")
    model(x, training=True)
    assert len(model.losses) == 2 and all(float(v) > 0 for v in model.losses)
    model(x)
    assert not model.losses  # inference: no penalty
    quiet = tiny(band_penalty=0.0, shape_penalty=0.0)
    quiet(x, training=True)
    assert not quiet.losses
    # The penalty measures the part of the core output that the band merge removes: a core output
    # made of the pass band alone costs (almost) nothing.
    layer = model.get_layer("training_penalties")
    t = np.arange(4000)
    hf = np.sin(2 * np.pi * 0.45 * t).astype("float32").reshape(1, 2000, 1, 2)  # 7.2 kHz at 16 kHz
    lf = np.sin(2 * np.pi * 0.05 * t).astype("float32").reshape(1, 2000, 1, 2)  # 800 Hz
    unit = np.ones((1, 1000, 1, 4), "float32")
    costs = []
    for h in (hf, lf):
        layer([h, unit], training=True)
        band, shape = (float(v) for v in layer.losses)
        costs.append(band)
        assert shape < 1e-6  # a unit-power shape costs nothing
    assert costs[0] < 1e-3 * costs[1]
    layer([hf, 0.01 * unit], training=True)
    assert float(layer.losses[1]) == pytest.approx(0.01 * np.log10(1e-4 + 1e-4) ** 2, rel=1e-3)


def test_geometry_and_budgets():
    small = StreamingBWE.from_size("small")
    frame = small.frame_length(10.0)
    assert frame == 80 and small.lookahead == 13
    assert small.latency_ms(frame) == pytest.approx(1000 * (80 + 13) / 8000) and small.latency_ms(frame) <= 15.0
    assert macs_per_second(small) <= 0.2e9  # the budget at 8 -> 16 kHz
    wide = StreamingBWE.from_size("small", ratio=3, hr_rate=48000)
    assert wide.latency_ms(wide.frame_length(10.0)) <= 15.0
    names = [s["name"] for s in small.state_specs()]
    assert names[:2] == ["interpolate", "level"] and names[-1] == "band_merge"
    assert all(s["core"] == n.startswith("core") for s, n in zip(small.state_specs(), names))


def test_default_interpolation_uses_the_merge_lookahead_and_keeps_the_band_flat():
    """The default kernel is as long as the band merge's lookahead allows: no added latency, and the
    input band stays flat up to the transition (8 zeros were 1.8 dB down at 0.9 of the Nyquist)."""
    from keras_audiosr.layers import CausalInterpolation

    for transition in ((0.7, 1.0), (0.9, 1.0)):
        model = StreamingBWE.from_size("tiny", transition=transition)
        merge_lookahead = -(-model.get_layer("band_merge").delay // model.ratio)
        assert model.lookahead == merge_lookahead and model.sinc_zeros + 1 == merge_lookahead
        explicit = StreamingBWE.from_size("tiny", transition=transition, sinc_zeros=8)
        assert explicit.sinc_zeros == 8 and explicit.lookahead == merge_lookahead
    assert model.sinc_zeros >= 24
    assert StreamingBWE.from_config(model.get_config()).sinc_zeros == model.sinc_zeros
    n = 1 << 14
    impulse = np.zeros((1, n, 1, 1), np.float32)
    impulse[0, n // 2] = 1.0
    for zeros, worst_db in ((model.sinc_zeros, 0.05), (8, 1.0)):
        response = np.asarray(CausalInterpolation(2, "sinc", zeros)(impulse)).reshape(-1)
        gain = np.abs(np.fft.rfft(response)) / 2.0
        freqs = np.fft.rfftfreq(len(response), 1 / 16000)
        band = (freqs > 100) & (freqs < 0.9 * 4000)
        loss = -20 * np.log10(gain[band].min())
        assert (loss < worst_db) if zeros > 8 else (loss > worst_db)


def test_lookahead_is_what_the_model_reaches():
    from keras_audiosr.models.geometry import receptive_field, shift_period

    model = tiny()
    assert shift_period(model) == model.fold
    _, lookahead = receptive_field(model, trials=1)
    # The core also sees the rest of its fold block; frames are whole blocks, so it arrives within the frame.
    assert model.lookahead <= lookahead <= model.lookahead + model.fold - 1


def test_recipe_build_step():
    from types import SimpleNamespace

    from keras_audiosr.degrade import Degradation
    from keras_audiosr.models.streaming_bwe import build

    cfg = SimpleNamespace(ratio=3, hr_rate=48000, model_size="tiny")
    model = build(cfg, Degradation(3))
    assert (model.ratio, model.hr_rate, model.channels) == (3, 48000, 8)
    assert model.degradation == Degradation(3).to_dict()
    assert build(SimpleNamespace(ratio=2, hr_rate=16000, model_size="paper")).channels == 64  # no paper size: small


def test_mac_counter_over_keras_layers():
    inp = keras.Input((None, 3))
    h = keras.layers.Conv1D(4, 5, padding="same")(inp)
    h = keras.layers.Dense(2)(h)
    model = keras.Model(inp, keras.layers.Multiply()([h, h]))
    assert count_macs(model, np.zeros((1, 10, 3), "float32")) == 10 * 5 * 3 * 4 + 10 * 4 * 2 + 10 * 2
    edsr = AudioEDSR.from_size("tiny")
    assert macs_per_second(edsr) > 0
    # streaming form (one 10 ms frame, states included) and whole-signal form agree per second of audio
    model = tiny()
    whole = count_macs(model, np.zeros((1, 8000, 1), "float32"))
    assert macs_per_second(model) == pytest.approx(whole, rel=0.01)


def test_trim_high_band_scales_only_the_added_band_and_round_trips(tmp_path):
    keras.utils.set_random_seed(3)
    model = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    x = (0.1 * np.random.default_rng(3).standard_normal((1, 800, 1))).astype("float32")
    y0 = np.asarray(model(x))
    y1 = np.asarray(model.trim_high_band(-20 * np.log10(2))(x))  # the added band at half its level
    y2 = np.asarray(model.trim_high_band(-20 * np.log10(2))(x))  # at a quarter
    # y = low + a * high: the steps 1 -> 1/2 and 1/2 -> 1/4 differ by exactly a factor 2
    d1, d2 = (y0 - y1).ravel(), (y1 - y2).ravel()
    assert np.linalg.norm(d1) > 1e-4
    assert np.linalg.norm(d1 - 2 * d2) < 1e-4 * np.linalg.norm(d1)
    assert model.high_band_trim_db == pytest.approx(-40 * np.log10(2))
    weights = [w.copy() for w in model.get_weights()]
    # Far below the gain's clamp range too: the whole added band scales (a bias shift would stop at the floor).
    y3 = np.asarray(model.trim_high_band(-60.0)(x))
    d3 = (y2 - y3).ravel()
    np.testing.assert_allclose(
        d3, (y2 - np.asarray(model.trim_high_band(-40.0)(x))).ravel() / (1 - 1e-5) * (1 - 1e-3), atol=1e-6
    )
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # no weight changed
    model.trim_high_band(100.0)
    assert model.high_band_trim_db == pytest.approx(-40 * np.log10(2))
    path = tmp_path / "trimmed.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.high_band_trim_db == pytest.approx(model.high_band_trim_db)
    np.testing.assert_allclose(np.asarray(loaded(x)), y2, atol=1e-6)
    loaded.predict(x, verbose=0)
    traced = loaded.predict_function
    assert loaded.trim_high_band(0.0).predict_function is traced  # no change: the traced function stays
    assert loaded.trim_high_band(-1.0).predict_function is None  # a change drops it (traced with the old level)


def test_a_model_saved_with_a_weight_carried_trim_loads_without_applying_it_again():
    model = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    legacy = {k: v for k, v in model.get_config().items() if k != "weights_trim_db"}
    legacy["high_band_trim_db"] = -20.0  # older saves: the weights already carry this (a bias shift)
    loaded = StreamingBWE.from_config(legacy)
    assert loaded.high_band_trim_db == 0.0 and loaded.weights_trim_db == -20.0
    assert loaded.get_layer("gain").offset_db == 0.0
    again = StreamingBWE.from_config(loaded.trim_high_band(-3.0).get_config())
    assert (again.high_band_trim_db, again.weights_trim_db, again.get_layer("gain").offset_db) == (-3.0, -20.0, -3.0)


def test_an_upper_band_gets_its_own_level_exactly_and_streams(tmp_path):
    keras.utils.set_random_seed(5)
    model = StreamingBWE.from_size("tiny", ratio=6, hr_rate=48000, transition=(0.9, 1.0))
    x = (0.1 * np.random.default_rng(5).standard_normal((1, 1600, 1))).astype("float32")
    plain = np.asarray(model(x))[0, :, 0]
    np.testing.assert_array_equal(np.asarray(model.set_upper_band(8000, 0.0)(x))[0, :, 0], plain)  # 0 dB: the same
    quiet = np.asarray(model.set_upper_band(8000, -6.0)(x))[0, :, 0]
    freqs = np.fft.rfftfreq(len(plain), 1 / 48000)
    diff, whole = np.abs(np.fft.rfft(plain - quiet)), np.abs(np.fft.rfft(plain))
    below, above = freqs < 7600, freqs > 8500
    assert np.sum(diff[below] ** 2) < 1e-5 * np.sum(whole[below] ** 2)  # up to 8 kHz untouched
    # above it the added band (the output less the sinc band, which ends at 4 kHz) scales by 10^(-6/20)
    ratio = np.sqrt(np.sum(diff[above] ** 2) / np.sum(whole[above] ** 2))
    assert ratio == pytest.approx(1 - 10 ** (-6 / 20), rel=0.01)
    # a whole-band trim moves both levels; the upper band keeps its offset
    model.trim_high_band(-3.0)
    assert (model.high_band_trim_db, model.upper_band_trim_db) == (-3.0, -9.0)
    frame = model.frame_length(10.0)
    whole_signal = np.asarray(model(x))[0, :, 0]
    np.testing.assert_allclose(stream_keras(model, x[0, :, 0], frame), whole_signal, atol=1e-6)
    path = tmp_path / "upper.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert (loaded.upper_band_hz, loaded.upper_band_trim_db) == (8000.0, -9.0)
    np.testing.assert_allclose(np.asarray(loaded(x))[0, :, 0], whole_signal, atol=1e-6)
    np.testing.assert_allclose(np.asarray(loaded.set_upper_band(None)(x)), np.asarray(model.set_upper_band(8000)(x)))


def test_an_upper_band_outside_the_added_band_is_an_error():
    model = StreamingBWE.from_size("tiny", ratio=6, hr_rate=48000, transition=(0.9, 1.0))
    for hz in (3000, 4000, 24000):
        with pytest.raises(ValueError, match="does not fit between"):
            model.set_upper_band(hz, -6.0)
    with pytest.raises(ValueError, match="needs its start frequency"):
        model.set_upper_band(None, -6.0)
    assert model.upper_band_hz is None
    x = (0.1 * RNG.standard_normal((1, 800, 1))).astype("float32")
    before = np.asarray(model.set_upper_band(8000, -6.0)(x))
    with pytest.raises(ValueError, match="does not fit between"):
        model.set_upper_band(3000, -3.0)  # refused: the upper band stays as it was
    merge = model.get_layer("band_merge")
    assert (model.upper_band_hz, model.upper_band_trim_db, merge.upper_split, merge.upper_gain_db) == (8000, -6, 2, -6)
    np.testing.assert_array_equal(np.asarray(model(x)), before)
