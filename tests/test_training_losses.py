"""Sample-loss registry and the multi-resolution STFT loss: known values, a NumPy reference,
finite gradients, mixed precision, model.compile (with save/load) and the adversarial trainer."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_audiosr.models import AudioUNet
from keras_audiosr.training import (
    SAMPLE_LOSSES,
    AdversarialTrainer,
    MultiResolutionSTFTLoss,
    OvershootSTFTLoss,
    WeightedSampleLoss,
    get_sample_loss,
    l1_loss,
    l2_loss,
)
from tests.datasets import make_dataset


def _noise(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _numpy_mag(x, n_fft, hop, win, eps=1e-7):
    """Centred, Hann-windowed STFT magnitudes of one signal with the loss's floor, in float64."""
    xp = np.pad(x.astype(np.float64), (n_fft // 2, n_fft // 2))
    n_frames = 1 + (len(xp) - n_fft) // hop
    window = np.zeros(n_fft)
    left = (n_fft - win) // 2
    window[left : left + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    frames = np.stack([xp[t * hop : t * hop + n_fft] * window for t in range(n_frames)])
    return np.sqrt(np.maximum(np.abs(np.fft.rfft(frames, axis=-1)) ** 2, eps))


def _numpy_terms(y_true, y_pred, n_fft, hop, win, eps=1e-7):
    """Spectral convergence and log-magnitude L1 of one resolution, per example, in float64."""
    sc, lm = [], []
    for a, b in zip(y_true[..., 0], y_pred[..., 0]):
        s, s_hat = _numpy_mag(a, n_fft, hop, win, eps), _numpy_mag(b, n_fft, hop, win, eps)
        sc.append(np.linalg.norm(s - s_hat) / np.linalg.norm(s))
        lm.append(np.mean(np.abs(np.log(s) - np.log(s_hat))))
    return np.array(sc), np.array(lm)


@pytest.mark.parametrize("resolution", [(64, 16, 64), (64, 16, 32), (128, 50, 100)])
def test_mrstft_matches_numpy_reference(resolution):
    y, p = _noise((3, 300, 1), 1), _noise((3, 300, 1), 2) * 0.5 + _noise((3, 300, 1), 1)
    loss = MultiResolutionSTFTLoss(resolutions=[resolution])
    sc, lm = (np.asarray(v) for v in loss.terms(y, p))
    sc_ref, lm_ref = _numpy_terms(y, p, *resolution)
    np.testing.assert_allclose(sc, sc_ref, rtol=1e-4)
    np.testing.assert_allclose(lm, lm_ref, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(loss(y, p)), sc_ref + lm_ref, rtol=1e-4)


def test_mrstft_known_values_per_example():
    y = _noise((3, 4096, 1), 3)
    a = 0.5
    p = np.stack([y[0], a * y[1], 2.0 * y[2]])
    loss = get_sample_loss("mrstft")
    assert isinstance(loss, MultiResolutionSTFTLoss) and loss.resolutions == (
        (512, 128, 512),
        (1024, 256, 1024),
        (2048, 512, 2048),
    )
    sc, lm = (np.asarray(v) for v in loss.terms(y, p))
    assert sc[0] == 0.0 and lm[0] == 0.0  # identical signals: exactly zero
    np.testing.assert_allclose(sc[1:], [1 - a, 1.0], rtol=1e-5)  # ||S - aS|| / ||S|| = |1 - a|
    np.testing.assert_allclose(lm[1:], [math.log(2.0), math.log(2.0)], rtol=1e-5)  # |ln a|
    np.testing.assert_allclose(np.asarray(loss(y, p)), [0.0, 0.5 + math.log(2), 1.0 + math.log(2)], rtol=1e-5)
    assert np.asarray(loss(y, p)).shape == (3,)


def test_mrstft_short_patches_shrink_each_resolution():
    """A 32-sample patch uses (32, 8, 32) for every default resolution (effective_stft_params)."""
    y, p = _noise((2, 32, 1), 4), _noise((2, 32, 1), 5)
    np.testing.assert_allclose(
        np.asarray(get_sample_loss("mrstft")(y, p)), np.asarray(MultiResolutionSTFTLoss([(32, 8, 32)])(y, p)), rtol=1e-6
    )
    stereo_y, stereo_p = _noise((2, 64, 2), 6), _noise((2, 64, 2), 7)
    per_channel = [
        np.asarray(get_sample_loss("mrstft")(stereo_y[..., c : c + 1], stereo_p[..., c : c + 1])) for c in (0, 1)
    ]
    np.testing.assert_allclose(
        np.asarray(get_sample_loss("mrstft")(stereo_y, stereo_p)), np.mean(per_channel, axis=0), rtol=1e-5
    )


@pytest.mark.parametrize("case", ["random", "identical", "silent"])
def test_gradients_are_finite(case):
    y = _noise((2, 512, 1), 8)
    p = {"random": _noise((2, 512, 1), 9), "identical": y.copy(), "silent": np.zeros_like(y)}[case]
    if case == "silent":
        y = np.zeros_like(y)
    p = tf.Variable(p)
    loss = get_sample_loss("l2+mrstft")
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(loss(y, p))
    grad = tape.gradient(value, p).numpy()
    assert np.isfinite(float(value)) and np.all(np.isfinite(grad))
    if case == "identical":
        assert float(value) == 0.0


def test_overshoot_counts_only_the_louder_bins():
    """``over`` is the mean log-magnitude excess: 0 for the reference and any quieter copy, ln 2 for twice as
    loud; against a NumPy reference it is the positive part of the log-magnitude difference; with mrstft
    it makes a louder estimate cost more than an equally quieter one."""
    y = _noise((2, 2048, 1), 20)
    over = get_sample_loss("over")
    assert isinstance(over, OvershootSTFTLoss) and over.__name__ == "over"
    np.testing.assert_allclose(np.asarray(over(y, y)), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(over(y, 0.5 * y)), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(over(y, 2.0 * y)), [math.log(2)] * 2, rtol=1e-4)
    p = _noise((2, 2048, 1), 21)
    one = OvershootSTFTLoss([(256, 64, 256)])
    expected = [
        np.mean(np.maximum(np.log(_numpy_mag(b, 256, 64, 256)) - np.log(_numpy_mag(a, 256, 64, 256)), 0.0))
        for a, b in zip(y[..., 0], p[..., 0])
    ]
    np.testing.assert_allclose(np.asarray(one(y, p)), expected, rtol=1e-4)
    both = get_sample_loss("mrstft+over")
    assert float(np.mean(both(y, 2.0 * y))) > float(np.mean(both(y, 0.5 * y))) + 0.5


def test_float32_under_mixed_precision():
    y, p = _noise((2, 1024, 1), 10), _noise((2, 1024, 1), 11)
    expected = np.asarray(get_sample_loss("mrstft")(y, p))
    half = get_sample_loss("mrstft")(tf.constant(y, tf.float16), tf.constant(p, tf.float16))
    assert half.dtype == tf.float32
    np.testing.assert_allclose(np.asarray(half), expected, rtol=1e-2)
    tiny = 1e-4 * y  # float16 spectra of quiet audio would underflow; the loss computes in float32
    np.testing.assert_allclose(
        np.asarray(get_sample_loss("mrstft")(tf.constant(tiny, tf.float16), tiny * 2)),
        [1.0 + math.log(2)] * 2,
        rtol=2e-2,
    )


def test_registry_sums_weights_and_errors():
    y, p = _noise((2, 256, 1), 12), _noise((2, 256, 1), 13)
    assert get_sample_loss("l1") is l1_loss and get_sample_loss("l2") is l2_loss
    assert set(SAMPLE_LOSSES) == {"l1", "l2", "mrstft", "over"}
    combined = get_sample_loss("l2+mrstft", weights={"mrstft": 0.5})
    assert isinstance(combined, WeightedSampleLoss) and combined.__name__ == "l2+mrstft"
    assert combined.weights == {"l2": 1.0, "mrstft": 0.5}
    np.testing.assert_allclose(
        np.asarray(combined(y, p)),
        np.asarray(l2_loss(y, p)) + 0.5 * np.asarray(SAMPLE_LOSSES["mrstft"](y, p)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        np.asarray(get_sample_loss(" l1 + l2 ")(y, p)), np.asarray(l1_loss(y, p)) + np.asarray(l2_loss(y, p)), rtol=1e-6
    )
    weighted_single = get_sample_loss("l1", weights={"l1": 3.0})
    np.testing.assert_allclose(np.asarray(weighted_single(y, p)), 3 * np.asarray(l1_loss(y, p)), rtol=1e-6)
    with pytest.raises(
        ValueError,
        match=r"unknown sample loss 'stft' in 'l2\+stft'; choose from \('l1', 'l2', 'mrstft', 'over'\)",
    ):
        get_sample_loss("l2+stft")
    with pytest.raises(ValueError, match="not terms of"):
        get_sample_loss("l2+mrstft", weights={"l1": 1.0})
    with pytest.raises(ValueError, match="twice"):
        get_sample_loss("l2+l2")
    # Serialisable: a registered object that comes back with the same weights.
    config = keras.saving.serialize_keras_object(combined)
    json.dumps(config)
    back = keras.saving.deserialize_keras_object(config)
    assert isinstance(back, WeightedSampleLoss) and back.weights == combined.weights
    back_mr = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(MultiResolutionSTFTLoss([(64, 16, 64)]))
    )
    assert back_mr.resolutions == ((64, 16, 64),)


def test_compile_fit_save_load(tmp_path):
    keras.utils.set_random_seed(0)
    model = AudioUNet.from_size("tiny", ratio=2)
    hr = 0.3 * _noise((4, 256, 1), 14)
    lr = hr[:, ::2]
    loss = get_sample_loss("l2+mrstft", weights={"mrstft": 0.1})
    model.compile(keras.optimizers.Adam(1e-3), loss=loss)
    history = model.fit(lr, hr, batch_size=4, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    expected = float(np.mean(np.asarray(loss(hr, model(lr)))))
    assert model.evaluate(lr, hr, verbose=0) == pytest.approx(expected, rel=1e-4)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.evaluate(lr, hr, verbose=0) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("sample_loss", ["l1+mrstft", "object"])
def test_inside_adversarial_trainer(sample_loss, tmp_path):
    if sample_loss == "object":
        sample_loss = get_sample_loss("l1+mrstft", weights={"l1": 2.0, "mrstft": 0.5})
    inputs = keras.Input((None, 1))
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 5, strides=2)(inputs))
    critic = keras.Model(inputs, keras.layers.Dense(1)(h), name="critic")
    trainer = AdversarialTrainer(
        AudioUNet.from_size("tiny", ratio=2), critic, loss="gan", n_critic=1, sample_loss=sample_loss
    )
    trainer.compile()
    hr = 0.3 * _noise((4, 128, 1), 15)
    history = trainer.fit(make_dataset(hr[:, ::2], hr, 4, shuffle=False), epochs=1, verbose=0)
    fn = get_sample_loss(sample_loss) if isinstance(sample_loss, str) else sample_loss
    assert np.isfinite(history.history["sample_loss"][0]) and history.history["sample_loss"][0] > 0
    config = trainer.get_config()
    json.dumps(config)
    clone = AdversarialTrainer.from_config(config)
    np.testing.assert_allclose(np.asarray(clone._sample_loss_fn(hr, 0.5 * hr)), np.asarray(fn(hr, 0.5 * hr)), rtol=1e-6)
