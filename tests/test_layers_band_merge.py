"""BandMerge keeps the input band exactly: the network's output cannot reach below the transition."""

import keras
import numpy as np
import pytest
from scipy import signal

from keras_audiosr.layers import BandMerge, Interpolation1D, band_split_taps
from tests.contracts import check_config_round_trip, check_save_load, check_tflite


def _analysis_lowpass(x, ratio, edge=0.8, stop=0.87):
    """A float64 linear-phase low-pass with 160 dB stopband from ``stop`` (fractions of the low-rate
    Nyquist), 'valid' part only, so no edge effect enters the comparison."""
    numtaps, beta = signal.kaiserord(160.0, (stop - edge) / ratio)
    taps = signal.firwin(numtaps | 1, 0.5 * (edge + stop) / ratio, window=("kaiser", beta))
    return np.convolve(np.asarray(x, np.float64).ravel(), taps, mode="valid")


@pytest.mark.parametrize("ratio", [2, 3])
def test_taps_meet_their_specification(ratio):
    taps = band_split_taps(ratio, (0.875, 1.0), 120.0)
    assert len(taps) % 2 == 1
    np.testing.assert_allclose(taps, taps[::-1])  # linear phase
    w, h = signal.freqz(taps, worN=8192)
    f = w / np.pi * ratio  # fraction of the low-rate Nyquist
    assert 20 * np.log10(np.max(np.abs(h[f <= 0.875])) + 1e-300) <= -119.0
    assert np.max(np.abs(np.abs(h[(f >= 1.0) & (f <= ratio)]) - 1.0)) < 1e-5


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="transition"):
        band_split_taps(2, (1.0, 0.8))
    with pytest.raises(ValueError, match="ratio"):
        band_split_taps(1)
    with pytest.raises(ValueError, match="rank"):
        BandMerge(2)([keras.Input((16,)), keras.Input((16,))])


@pytest.mark.parametrize("rank", [3, 4])
def test_output_band_equals_low_input_up_to_float_rounding(rank):
    """Whatever the network emits (here large white noise), the band below the transition is ``low``."""
    ratio, n = 2, 8192
    rng = np.random.default_rng(0)
    x_lr = rng.standard_normal((1, n // ratio, 1)).astype("float32") * 0.3
    low = np.asarray(Interpolation1D(ratio, "sinc")(x_lr))
    high = 10.0 * rng.standard_normal(low.shape).astype("float32")  # 30 dB louder than the signal
    if rank == 4:
        low, high = low[:, :, None, :], high[:, :, None, :]
    layer = BandMerge(ratio)
    out = np.asarray(layer([low, high]))
    assert out.shape == low.shape
    trim = layer.delay  # the zero-padded ends are not band-limited; compare where the FIR is whole
    err = np.max(
        np.abs(_analysis_lowpass(out.ravel()[trim:-trim], ratio) - _analysis_lowpass(low.ravel()[trim:-trim], ratio))
    )
    assert err / np.max(np.abs(low)) < 1e-5, err
    # Without the merge the same network output would swamp the band.
    naive = _analysis_lowpass((low + high).ravel()[trim:-trim], ratio) - _analysis_lowpass(
        low.ravel()[trim:-trim], ratio
    )
    assert np.max(np.abs(naive)) / np.max(np.abs(low)) > 1.0


def test_contract():
    layer = BandMerge(2, transition=(0.7, 1.0), attenuation_db=60.0)
    clone = check_config_round_trip(layer)
    assert clone.transition == (0.7, 1.0) and clone.delay == layer.delay > 0
    low, high = keras.Input((None, 1)), keras.Input((None, 1))
    model = keras.Model([low, high], layer([low, high]))
    rng = np.random.default_rng(1)
    x = [rng.standard_normal((2, 256, 1)).astype("float32") for _ in range(2)]
    check_save_load(model, x)


def test_tflite_builtins():
    low, high = keras.Input((256, 1)), keras.Input((256, 1))
    merged = BandMerge(2, transition=(0.7, 1.0), attenuation_db=60.0)([low, high])
    x = np.random.default_rng(2).standard_normal((1, 256, 1)).astype("float32")
    # A single-input wrapper: the TFLite contract helper feeds one tensor.
    inp = keras.Input(batch_shape=(1, 256, 1))
    model = keras.Model(inp, keras.Model([low, high], merged)([inp, 2.0 * inp]))
    check_tflite(model, x)


@pytest.mark.parametrize("rank", [3, 4])
def test_causal_form_is_the_same_merge_delayed_and_streams(rank):
    """causal=True: ``high`` arrives ``delay`` samples late (``low`` is the caller's to delay); fed
    frame by frame with its state it equals the whole-signal output."""
    ratio, n = 2, 600
    rng = np.random.default_rng(3)
    shape = (1, n, 1, 1) if rank == 4 else (1, n, 1)
    low, high = (rng.standard_normal(shape).astype("float32") for _ in range(2))
    same = BandMerge(ratio, (0.7, 1.0), 60.0)
    causal = BandMerge(ratio, (0.7, 1.0), 60.0, causal=True)
    d = causal.delay
    zeros = np.zeros_like(low)
    delayed = np.asarray(causal([zeros, high])).ravel()
    centred = np.asarray(same([zeros, high])).ravel()
    np.testing.assert_allclose(delayed[d:n], centred[: n - d], atol=1e-5)  # same FIR, delay samples late
    assert check_config_round_trip(causal).causal is True
    whole = np.asarray(causal([low, high]))
    state = np.zeros(causal.state_shape(1), np.float32)
    assert state.shape[1] == 2 * d
    outs, start = [], 0
    for c in (100, 1, 299, 200):
        out, state = causal([low[:, start : start + c], high[:, start : start + c], state])
        outs.append(np.asarray(out))
        start += c
    np.testing.assert_allclose(np.concatenate(outs, axis=1), whole, atol=1e-6)
    with pytest.raises(ValueError, match="causal"):
        same([low, high, state])
