import tempfile

import keras
import numpy as np
import pytest

from keras_audiosr.layers import PhaseShuffle
from keras_audiosr.models import AudioUNetGANCritic, WaveGANCritic
from tests.contracts import build_without_weights, preset_kwargs, run_model_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls", [WaveGANCritic, AudioUNetGANCritic])
def test_critic_contract(cls):
    run_model_test(cls, preset_kwargs(cls, "tiny"), _data((4, 200, 1)), _data((4, 1), 1))


@pytest.mark.parametrize("cls", [WaveGANCritic, AudioUNetGANCritic])
@pytest.mark.parametrize("length", [1, 7, 64, 1000])
def test_critic_takes_any_length(cls, length):
    model = cls.from_size("tiny", channels=2)
    x = _data((3, length, 2))
    assert tuple(model(x).shape) == (3, 1)
    assert tuple(model(x, training=True).shape) == (3, 1)


def test_wavegan_critic_structure():
    model = build_without_weights(WaveGANCritic, preset_kwargs(WaveGANCritic, "paper"))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    assert [c.filters for c in convs] == [64, 128, 256, 512, 1024]
    assert all(c.kernel_size == (25,) and c.strides == (4,) for c in convs)
    shuffles = [layer for layer in model.layers if isinstance(layer, PhaseShuffle)]
    assert len(shuffles) == 4 and all(s.n == 2 for s in shuffles)
    assert all(layer.negative_slope == 0.2 for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU))


def test_wavegan_critic_shuffles_only_in_training():
    model = WaveGANCritic.from_size("tiny", seed=3)
    x = _data((8, 300, 1), 2)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(model(x)))
    assert not np.allclose(np.asarray(model(x, training=True)), np.asarray(model(x)))
    assert WaveGANCritic.from_size("tiny", phase_shuffle=0).get_config()["phase_shuffle"] == 0


def test_audio_unet_gan_critic_has_no_batch_norm():
    model = AudioUNetGANCritic.from_size("paper")
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    x = _data((2, 256, 1), 4)
    np.testing.assert_allclose(np.asarray(model(x[:1])), np.asarray(model(x))[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [WaveGANCritic, AudioUNetGANCritic])
def test_critic_sizes(cls):
    counts = [
        build_without_weights(cls, preset_kwargs(cls, size)).count_params() for size in ("tiny", "small", "paper")
    ]
    assert counts == sorted(counts) and counts[0] < 10_000
    with pytest.raises(ValueError, match="unknown model size"):
        cls.from_size("huge")


# ---------------------------------------------------------------- multi-critics (HiFi-GAN MPD, UnivNet MRD)
from keras_audiosr.layers import STFTMagnitude, stft_magnitude  # noqa: E402
from keras_audiosr.models import CriticEnsemble, MultiPeriodCritic, MultiResolutionCritic, split_critic_outputs  # noqa: E402
from tests.contracts import check_config_round_trip, run_layer_test  # noqa: E402

MULTI = [MultiPeriodCritic, MultiResolutionCritic]


@pytest.mark.parametrize("cls", MULTI)
@pytest.mark.parametrize("length", [1, 37, 300])
def test_multi_critic_outputs_one_score_per_sub_critic_and_features(cls, length):
    model = cls.from_size("tiny")
    out = model(_data((2, length, 1)))
    scores, features = split_critic_outputs(out)
    subs = model.periods if cls is MultiPeriodCritic else model.resolutions
    assert len(scores) == len(subs) and all(s.shape[0] == 2 and s.shape[-1] == 1 for s in scores)
    layers_per_sub = len(features) // len(subs)
    assert len(features) == layers_per_sub * len(subs) and layers_per_sub >= 3
    assert all(f.shape[0] == 2 for f in features)
    assert model.returns_features and not WaveGANCritic.returns_features


@pytest.mark.parametrize("cls", MULTI)
def test_multi_critic_contract(cls):
    model = cls.from_size("tiny")
    clone = check_config_round_trip(model)
    assert clone.count_params() == model.count_params()
    x = _data((2, 200, 1), 3)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/critic.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
    a, b = model(x), loaded(x)
    for key in ("scores", "features"):
        for u, v in zip(a[key], b[key]):
            np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=1e-6)


def test_multi_period_critic_structure_and_folding():
    paper = MultiPeriodCritic.from_size("paper")
    assert paper.periods == (2, 3, 5, 7, 11)
    assert abs(paper.count_params() - 41.1e6) < 0.1e6  # HiFi-GAN's MPD without weight norm
    convs = [layer for layer in paper.layers if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith("p2_")]
    assert [c.filters for c in convs] == [32, 128, 512, 1024, 1024, 1]
    assert all(c.kernel_size[1] == 1 for c in convs)  # (k, 1): columns never mix
    # Column j of period p sees samples j, j+p, j+2p, ...: changing one sample moves one column only.
    model = MultiPeriodCritic.from_size("tiny", periods=(3,))
    x = _data((1, 60, 1), 4)
    y = x.copy()
    y[0, 31, 0] += 1.0  # 31 = 10*3 + 1: column 1
    first = model.get_layer("p3_act0")
    sub = keras.Model(model.input, first.output)
    changed = np.abs(np.asarray(sub(y)) - np.asarray(sub(x))).sum(axis=(0, 1, 3)) > 0
    assert changed.tolist() == [False, True, False]


def test_multi_resolution_critic_structure():
    paper = MultiResolutionCritic.from_size("paper")
    assert paper.resolutions == ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240)) and paper.filters == 32
    stfts = [layer for layer in paper.layers if isinstance(layer, STFTMagnitude)]
    assert [(s.n_fft, s.hop, s.win) for s in stfts] == list(paper.resolutions)
    strided = [layer for layer in paper.layers if isinstance(layer, keras.layers.Conv2D) and layer.strides == (2, 1)]
    assert len(strided) == 9  # UnivNet: time strides only
    small = MultiResolutionCritic.from_size("small")
    assert small.freq_stride == 2 and small.get_config()["freq_stride"] == 2
    assert {layer.strides for layer in small.layers if isinstance(layer, keras.layers.Conv2D)} == {(1, 1), (2, 2)}
    with pytest.raises(ValueError, match="freq_stride"):
        MultiResolutionCritic.from_size("tiny", freq_stride=0)


def test_stft_magnitude_layer_matches_numpy():
    x = _data((2, 200, 2), 5)
    layer = STFTMagnitude(64, 16, 48)
    out = np.asarray(layer(x))
    assert out.shape == (2, 1 + 200 // 16, 33, 2) == layer.compute_output_shape((2, 200, 2))
    window = np.zeros(64)
    window[8:56] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(48) / 48)
    xp = np.pad(x[1, :, 1].astype(np.float64), 32)
    frame = xp[5 * 16 : 5 * 16 + 64] * window
    np.testing.assert_allclose(out[1, 5, :, 1], np.abs(np.fft.rfft(frame)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(stft_magnitude(x[:, :, 1], 64, 16, 48)), out[..., 1], rtol=1e-6)
    assert layer.compute_dtype == "float32"
    run_layer_test(
        STFTMagnitude,
        {"n_fft": 32, "hop": 8},
        (2, 64, 1),
        (2, 9, 17, 1),
        tflite=False,
        trainable=False,
        dtype_policies=(),
    )  # float32 under every policy (checked above)
    with pytest.raises(ValueError, match="n_fft"):
        STFTMagnitude(33, 8)


def test_critic_ensemble_concatenates_and_saves(tmp_path):
    seed = AudioUNetGANCritic.from_size("tiny")
    mpd, mrd = MultiPeriodCritic.from_size("tiny"), MultiResolutionCritic.from_size("tiny")
    ensemble = CriticEnsemble([seed, mpd, mrd])
    x = _data((2, 128, 1), 6)
    scores, features = split_critic_outputs(ensemble(x))
    assert len(scores) == 1 + 2 + 2
    np.testing.assert_allclose(np.asarray(scores[0]), np.asarray(seed(x)), atol=1e-6)
    assert len(features) == len(mpd(x)["features"]) + len(mrd(x)["features"]) and ensemble.returns_features
    clone = CriticEnsemble.from_config(ensemble.get_config())
    assert [c.name for c in clone.critics] == [c.name for c in ensemble.critics]
    with pytest.raises(ValueError, match="distinct"):
        CriticEnsemble([MultiPeriodCritic.from_size("tiny"), MultiPeriodCritic.from_size("tiny")])
    with pytest.raises(ValueError, match="scores"):
        split_critic_outputs({"features": []})


@pytest.mark.parametrize("cls", MULTI)
def test_multi_critic_sizes(cls):
    counts = [cls.from_size(size).count_params() for size in ("tiny", "small", "paper")]
    assert counts == sorted(counts) and counts[0] < 10_000
    with pytest.raises(ValueError, match="unknown model size"):
        cls.from_size("huge")
