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
