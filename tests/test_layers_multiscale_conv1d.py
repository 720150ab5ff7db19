"""MultiscaleConv1D (MU-GAN's multi-scale convolution): contract, channel layout, per-branch receptive field."""

import keras
import numpy as np
import pytest

from keras_audiosr.layers import MultiscaleConv1D
from tests.contracts import run_layer_test


def test_multiscale_conv_contract_and_channels():
    run_layer_test(MultiscaleConv1D, {"filters": 8}, (2, 40, 3), (2, 40, 8))
    layer = MultiscaleConv1D(12, kernel_sizes=(3, 5, 7))
    y = layer(np.zeros((1, 10, 2), "float32"))
    assert tuple(y.shape) == (1, 10, 12)
    assert [tuple(b.kernel.shape) for b in layer.branches] == [(3, 2, 4), (5, 2, 4), (7, 2, 4)]
    assert len(layer.trainable_weights) == 6
    with pytest.raises(ValueError, match="multiple of the number of branches"):
        MultiscaleConv1D(10)


def test_multiscale_conv_impulse_response_spans_each_kernel():
    kernels = (3, 9, 27, 81)
    layer = MultiscaleConv1D(8, kernels, use_bias=False, kernel_initializer="ones")
    impulse = np.zeros((1, 201, 1), "float32")
    impulse[0, 100, 0] = 1.0
    y = np.asarray(layer(impulse))[0]
    for i, k in enumerate(kernels):
        for c in (2 * i, 2 * i + 1):
            support = np.flatnonzero(y[:, c])
            assert len(support) == k and support[0] == 100 - k // 2 and support[-1] == 100 + k // 2


def test_multiscale_conv_weights_survive_save_load(tmp_path):
    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, MultiscaleConv1D(4, (3, 9))(inputs))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert loaded.layers[-1].kernel_sizes == (3, 9)


def test_multiscale_conv_stride_two_halves_the_length_with_branches_aligned():
    run_layer_test(MultiscaleConv1D, {"filters": 8, "strides": 2}, (2, 40, 3), (2, 20, 8))
    layer = MultiscaleConv1D(8, (3, 9, 27, 81), use_bias=False, kernel_initializer="ones", strides=2)
    assert tuple(layer(np.zeros((1, 41, 1), "float32")).shape) == (1, 21, 8)  # ceil(T / 2)
    impulse = np.zeros((1, 202, 1), "float32")
    impulse[0, 101, 0] = 1.0  # input sample 2t + 1 for t = 50
    y = np.asarray(layer(impulse))[0]
    for i, k in enumerate(layer.kernel_sizes):
        support = np.flatnonzero(y[:, 2 * i])
        assert (support[0] + support[-1]) / 2 == 50 and len(support) == 2 * (k // 4) + 1, (k, support)
    with pytest.raises(ValueError, match="strides must be a positive integer"):
        MultiscaleConv1D(8, strides=0)
