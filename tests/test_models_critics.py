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
    counts = [build_without_weights(cls, preset_kwargs(cls, size)).count_params() for size in ("tiny", "small", "paper")]
    assert counts == sorted(counts) and counts[0] < 10_000
    with pytest.raises(ValueError, match="unknown model size"):
        cls.from_size("huge")
