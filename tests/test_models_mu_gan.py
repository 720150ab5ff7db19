import keras
import numpy as np
import pytest

from keras_audiosr.layers import MultiscaleConv1D, SuperPixel1D
from keras_audiosr.models import MUGANAutoencoder, MUGANDiscriminator, MUGANGenerator
from tests.contracts import (
    build_without_weights,
    check_config_round_trip,
    check_fit_step,
    check_save_load,
    preset_kwargs,
    run_model_test,
)


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.slow  # kept out of the default run for time (-m slow runs it)
def test_generator_contract_with_tflite():
    run_model_test(
        MUGANGenerator,
        preset_kwargs(MUGANGenerator, "tiny", ratio=2),
        _data((2, 64, 1)),
        _data((2, 128, 1), 1),
        tflite=True,
    )


@pytest.mark.parametrize("ratio,length", [(2, 1), (2, 37), (3, 50), (4, 65)])
def test_generator_any_length_and_ratio(ratio, length):
    model = MUGANGenerator.from_size("tiny", ratio=ratio, hr_rate=48000)
    assert tuple(model(_data((2, length, 1))).shape) == (2, length * ratio, 1)


def test_generator_structure_and_untrained_output_is_the_interpolation():
    model = MUGANGenerator.from_size("tiny", ratio=2)
    names = {layer.name for layer in model.layers}
    assert {"down0_superpixel", "down1_superpixel", "bottleneck", "up1_skip", "up0_skip", "band_merge"} <= names
    assert "residual" in {layer.name for layer in MUGANGenerator.from_size("tiny", band_preserving=False).layers}
    assert not any(isinstance(layer, keras.layers.Conv1D) and layer.strides != (1,) for layer in model.layers)
    assert all(layer.kernel_sizes == (3, 9, 27, 81) for layer in model.layers if isinstance(layer, MultiscaleConv1D))
    x = _data((1, 40, 1), 2)
    np.testing.assert_allclose(np.asarray(model(x))[:, ::2], x, atol=1e-5)
    plain = MUGANGenerator.from_size("tiny", skip_connections=False)
    assert not any(isinstance(layer, keras.layers.Concatenate) for layer in plain.layers)
    assert plain.count_params() < model.count_params()


def test_autoencoder_contract_and_frozen_feature_extractor():
    ae = MUGANAutoencoder.from_size("tiny", hr_rate=16000)  # B = 2, bottleneck width 8
    assert (ae.ratio, ae.lr_rate) == (1, 16000)
    assert not any(isinstance(layer, (keras.layers.Concatenate, keras.layers.Add)) for layer in ae.layers)
    assert tuple(ae(_data((3, 29, 1))).shape) == (3, 29, 1)
    phi = ae.feature_extractor()
    y = _data((2, 40, 1), 3)
    features = np.asarray(phi(y))
    assert features.shape == (2, 40 // 8, 16)
    assert isinstance(phi.layers[-1], SuperPixel1D)
    assert not phi.trainable and phi.trainable_weights == []
    reference = keras.Model(ae.input, ae.get_layer("bottleneck").output)
    np.testing.assert_allclose(features, np.asarray(reference(y)), atol=1e-6)
    run_model_test(MUGANAutoencoder, preset_kwargs(MUGANAutoencoder, "tiny", hr_rate=16000), y, y)
    check_fit_step(ae, y, y)  # fits the autoencoder: the snapshot must not move
    assert ae.trainable_weights
    np.testing.assert_allclose(np.asarray(phi(y)), features, atol=1e-6)
    with pytest.raises(ValueError, match="ratio must be 1"):
        MUGANAutoencoder.from_size("tiny", ratio=2)


def test_discriminator_contract_and_any_length():
    model = run_model_test(
        MUGANDiscriminator, preset_kwargs(MUGANDiscriminator, "tiny"), _data((4, 64, 1)), _data((4, 1), 1)
    )
    for length in (1, 33, 250):
        assert tuple(model(_data((2, length, 1))).shape) == (2, 1)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


def test_sizes_and_bad_widths():
    paper = build_without_weights(MUGANGenerator, preset_kwargs(MUGANGenerator, "paper"))
    assert paper.filters == (64, 128, 256, 512) and paper.kernel_sizes == (3, 9, 27, 81) and paper.batch_norm
    assert len(MUGANDiscriminator.presets["paper"]["filters"]) == 8
    for cls in (MUGANGenerator, MUGANAutoencoder, MUGANDiscriminator):
        assert cls.from_size("tiny").count_params() < cls.from_size("small").count_params()
        with pytest.raises(ValueError, match="unknown model size"):
            cls.from_size("huge")
    with pytest.raises(ValueError, match="multiple of the 4 multi-scale branches"):
        MUGANGenerator(filters=(6, 8), bottleneck_filters=8)


def _stride_two_convs(model):
    return [layer for layer in model.layers if isinstance(layer, MultiscaleConv1D) and layer.strides == 2]


@pytest.mark.parametrize("ratio,length", [(2, 37), (3, 50)])
def test_strided_generator_round_trips_and_keeps_the_shapes(ratio, length):
    model = MUGANGenerator.from_size("tiny", ratio=ratio, hr_rate=48000, downsample="strided")
    assert model.downsample == "strided" and model.get_config()["downsample"] == "strided"
    assert check_config_round_trip(model).downsample == "strided"
    assert not any(isinstance(layer, SuperPixel1D) for layer in model.layers)
    names = {layer.name for layer in model.layers}
    assert {"down0_strided", "down1_strided", "bottleneck"} <= names and "down0_superpixel" not in names
    # Each stride-2 convolution gives the width SuperPixel1D gave (2F), with the block's kernels.
    assert [(layer.filters, layer.kernel_sizes) for layer in _stride_two_convs(model)] == [
        (8, (3, 9, 27, 81)),
        (16, (3, 9, 27, 81)),
        (16, (3, 9, 27, 81)),
    ]
    x = _data((2, length, 1), 4)
    assert tuple(model(x).shape) == (2, length * ratio, 1)
    assert check_save_load(model, x).downsample == "strided"
    if ratio == 2:  # the last convolution still starts at zero: the untrained model is the interpolation
        np.testing.assert_allclose(np.asarray(model(x))[:, ::2], x, atol=1e-5)


def test_strided_parameter_counts_differ_by_the_stride_two_convolutions():
    for cls in (MUGANGenerator, MUGANAutoencoder):
        for size in ("tiny", "small"):
            kwargs = preset_kwargs(cls, size)
            superpixel = build_without_weights(cls, kwargs)
            strided = build_without_weights(cls, {**kwargs, "downsample": "strided"})
            assert superpixel.downsample == "superpixel"
            widths = superpixel.filters + (superpixel.bottleneck_filters,)
            k = (
                superpixel.kernel_sizes
            )  # per block of width F: 2F x F weights per kernel tap (split over branches), 2F biases
            extra = sum(2 * f * f * sum(k) // len(k) + 2 * f for f in widths)
            assert strided.count_params() - superpixel.count_params() == extra, (cls.__name__, size)
    assert extra == 814_560  # "small": 2.34 M -> 3.15 M generator parameters


def test_strided_autoencoder_features_come_from_the_stride_two_bottleneck():
    ae = MUGANAutoencoder.from_size("tiny", downsample="strided")
    assert check_config_round_trip(ae).downsample == "strided"
    y = _data((2, 40, 1), 5)
    assert tuple(ae(_data((3, 29, 1))).shape) == (3, 29, 1)
    phi = ae.feature_extractor()
    assert phi.layers[-1].name == "bottleneck" and phi.layers[-1].strides == 2 and len(_stride_two_convs(ae)) == 3
    features = np.asarray(phi(y))
    assert features.shape == (2, 5, 16)
    np.testing.assert_allclose(
        features, np.asarray(keras.Model(ae.input, ae.get_layer("bottleneck").output)(y)), atol=1e-6
    )


def test_unknown_downsample_is_refused_naming_the_choices():
    for cls in (MUGANGenerator, MUGANAutoencoder):
        with pytest.raises(
            ValueError,
            match=rf"{cls.__name__}: unknown downsample 'pool'; "
            r"choose one of \('superpixel', 'strided'\)",
        ):
            cls.from_size("tiny", downsample="pool")
