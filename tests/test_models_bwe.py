import keras
import numpy as np
import pytest

from keras_audiosr.models import BWEResNet, BWEUNet, fold_channels, unfold_channels
from tests.contracts import build_without_weights, preset_kwargs, run_model_test

MODELS = [BWEResNet, BWEUNet]


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls", MODELS)
def test_contract(cls):
    run_model_test(
        cls, preset_kwargs(cls, "tiny", bandwidth_ratio=4, hr_rate=44100), _data((2, 64, 1)), _data((2, 64, 1), 1)
    )


@pytest.mark.parametrize("cls", MODELS)
def test_same_rate_any_length_and_identity_at_start(cls):
    model = cls.from_size("tiny")
    for length in (1, 37, 100):
        x = _data((2, length, 1), length)
        y = np.asarray(model(x))
        assert y.shape == x.shape
        np.testing.assert_allclose(y, x, atol=1e-6)  # zero-initialised last conv + input connection


@pytest.mark.parametrize("cls", MODELS)
def test_rates_bandwidth_ratio_and_degradation(cls):
    model = cls.from_size("tiny", bandwidth_ratio=4, hr_rate=44100)
    assert (model.ratio, model.lr_rate, model.hr_rate, model.bandwidth_ratio) == (1, 44100, 44100, 4)
    assert model.cutoff_hz == pytest.approx(5512.5)
    assert model.degradation == {"ratio": 4, "filter": "cheby1:6", "zero_phase": True}
    config = model.get_config()
    assert config["bandwidth_ratio"] == 4 and config["ratio"] == 1
    assert model.audio_config()["cutoff_hz"] == pytest.approx(5512.5)
    with pytest.raises(ValueError, match="ratio must be 1"):
        cls.from_size("tiny", ratio=2)
    with pytest.raises(ValueError, match="differs from bandwidth_ratio"):
        cls.from_size("tiny", bandwidth_ratio=2, degradation={"ratio": 3, "filter": "butter:6", "zero_phase": True})
    with pytest.raises(ValueError, match="bandwidth_ratio"):
        cls.from_size("tiny", bandwidth_ratio=1)


@pytest.mark.parametrize("cls", MODELS)
def test_regularisation_variants(cls):
    plain = cls.from_size("tiny")
    dropout = cls.from_size("tiny", dropout=0.5)
    bn = cls.from_size("tiny", batch_norm=True)
    assert not any(isinstance(layer, (keras.layers.Dropout, keras.layers.BatchNormalization)) for layer in plain.layers)
    assert all(layer.rate == 0.5 for layer in dropout.layers if isinstance(layer, keras.layers.Dropout))
    assert any(isinstance(layer, keras.layers.Dropout) for layer in dropout.layers)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in bn.layers)
    x = _data((2, 48, 1), 5)
    assert np.asarray(dropout(x, training=True)).shape == x.shape and np.asarray(bn(x, training=True)).shape == x.shape


def test_resnet_residual_scaling_and_paper_defaults():
    paper = build_without_weights(BWEResNet, preset_kwargs(BWEResNet, "paper"))
    assert (paper.filters, paper.num_blocks, paper.kernel_size, paper.residual_scaling) == (512, 15, 7, 0.1)
    scales = [layer for layer in paper.layers if isinstance(layer, keras.layers.Rescaling)]
    assert len(scales) == 15 and all(layer.scale == 0.1 for layer in scales)
    unet = build_without_weights(BWEUNet, preset_kwargs(BWEUNet, "paper"))
    assert unet.filters == (128, 256, 512, 512) and unet.kernel_sizes == (65, 33, 17, 9)
    down_convs = [
        layer for layer in unet.layers if layer.name.startswith("down") and isinstance(layer, keras.layers.Conv1D)
    ]
    assert [layer.strides for layer in down_convs] == [(2,)] * 4


@pytest.mark.parametrize("cls", MODELS)
def test_sizes(cls):
    assert cls.from_size("tiny").count_params() < cls.from_size("small").count_params() < 1_000_000
    with pytest.raises(ValueError, match="unknown model size"):
        cls.from_size("huge")


def test_fold_channels_runs_stereo_channel_by_channel():
    stereo = _data((3, 50, 2), 6)
    folded = fold_channels(stereo)
    assert folded.shape == (6, 50, 1)
    np.testing.assert_array_equal(folded[1 * 2 + 1, :, 0], stereo[1, :, 1])
    np.testing.assert_array_equal(unfold_channels(folded, 2), stereo)
    tensor = keras.ops.convert_to_tensor(stereo)
    np.testing.assert_array_equal(np.asarray(unfold_channels(fold_channels(tensor), 2)), stereo)
    model = BWEResNet.from_size("tiny")
    model.get_layer("output_conv").kernel.assign(_data((1, 8, 1), 7))
    out = unfold_channels(np.asarray(model(fold_channels(stereo))), 2)
    for c in range(2):
        np.testing.assert_allclose(out[..., c : c + 1], np.asarray(model(stereo[..., c : c + 1])), atol=1e-6)
    with pytest.raises(ValueError, match="unfold_channels"):
        unfold_channels(folded[:5], 2)
