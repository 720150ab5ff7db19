import numpy as np
import pytest

from keras_audiosr.layers import CropToLength, Interpolation1D, PadToMultiple, SubPixel1D, SuperPixel1D
from tests.contracts import run_layer_test


@pytest.mark.parametrize("ratio", [2, 3])
def test_subpixel_contract(ratio):
    run_layer_test(SubPixel1D, {"ratio": ratio}, (2, 8, 2 * ratio), (2, 8 * ratio, 2))


def test_superpixel_contract():
    run_layer_test(SuperPixel1D, {"ratio": 4}, (3, 16, 2), (3, 4, 8))


def test_subpixel_matches_kuleshov_definition():
    x = np.arange(2 * 3 * 6, dtype="float32").reshape(2, 3, 6)  # r=3, C=2
    y = np.asarray(SubPixel1D(3)(x))
    for b in range(2):
        for t in range(3):
            for i in range(3):
                for c in range(2):
                    assert y[b, t * 3 + i, c] == x[b, t, i * 2 + c]


@pytest.mark.parametrize("batch,steps,channels,ratio", [(1, 8, 1, 2), (5, 12, 3, 3), (2, 32, 4, 8)])
def test_superpixel_is_exact_inverse(batch, steps, channels, ratio):
    x = np.random.default_rng(1).standard_normal((batch, steps, channels)).astype("float32")
    np.testing.assert_array_equal(np.asarray(SubPixel1D(ratio)(SuperPixel1D(ratio)(x))), x)
    z = np.random.default_rng(2).standard_normal((batch, steps, channels * ratio)).astype("float32")
    np.testing.assert_array_equal(np.asarray(SuperPixel1D(ratio)(SubPixel1D(ratio)(z))), z)


def test_pixel_layers_reject_bad_shapes():
    with pytest.raises(ValueError, match="divisible"):
        SubPixel1D(2)(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match="divisible"):
        SuperPixel1D(2)(np.zeros((1, 5, 1), "float32"))
    with pytest.raises(ValueError):
        SubPixel1D(0)


@pytest.mark.parametrize("method", ["linear", "cubic", "sinc"])
@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_interpolation_keeps_samples_and_reconstructs_tones(method, ratio):
    x = np.random.default_rng(3).standard_normal((2, 40, 1)).astype("float32")
    y = np.asarray(Interpolation1D(ratio, method)(x))
    assert y.shape == (2, 40 * ratio, 1)
    np.testing.assert_allclose(y[:, ::ratio], x, atol=1e-6)
    n = np.arange(300)
    tone = np.sin(2 * np.pi * 0.05 * n).astype("float32")[None, :, None]
    fine = np.sin(2 * np.pi * 0.05 * np.arange(300 * ratio) / ratio)
    est = np.asarray(Interpolation1D(ratio, method)(tone))[0, 40 * ratio : -40 * ratio, 0]
    ref = fine[40 * ratio : -40 * ratio]
    snr = 10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2))
    assert snr > {"linear": 25, "cubic": 45, "sinc": 60}[method]


def test_interpolation_contract_and_unknown_method():
    run_layer_test(Interpolation1D, {"ratio": 2, "method": "cubic"}, (2, 10, 1), (2, 20, 1), trainable=False)
    run_layer_test(
        Interpolation1D, {"ratio": 3, "method": "sinc"}, (1, 9, 2), (1, 27, 2), trainable=False, tflite=False
    )
    with pytest.raises(ValueError, match="unknown interpolation"):
        Interpolation1D(2, "spline")


def test_pad_and_crop_restore_length():
    x = np.random.default_rng(4).standard_normal((2, 13, 1)).astype("float32")
    padded = np.asarray(PadToMultiple(8)(x))
    assert padded.shape == (2, 16, 1)
    np.testing.assert_array_equal(padded[:, :13], x)
    np.testing.assert_array_equal(padded[:, 13:], np.repeat(x[:, -1:], 3, axis=1))
    run_layer_test(PadToMultiple, {"multiple": 8}, (2, 13, 1), (2, 16, 1), trainable=False)
    up = np.zeros((2, 40, 1), "float32")
    assert np.asarray(CropToLength(2)([up, x])).shape == (2, 26, 1)
