"""PhaseShuffle (WaveGAN's critic layer): contract, identity at inference, reflect-shifted copies in training."""

import numpy as np
import pytest
import tensorflow as tf

from keras_audiosr.layers import PhaseShuffle
from tests.contracts import run_layer_test


def _reflect_shift(x, shift):
    """Reference: numpy reflect padding then a window, out[t] = x[t - shift]."""
    n = abs(shift)
    padded = np.pad(x, ((n, n), (0, 0)), mode="reflect")
    return padded[n - shift : n - shift + len(x)]


def test_phase_shuffle_contract():
    run_layer_test(PhaseShuffle, {"n": 2, "seed": 1}, (3, 16, 2), (3, 16, 2))


def test_phase_shuffle_is_identity_at_inference():
    x = np.random.default_rng(0).standard_normal((4, 20, 3)).astype("float32")
    layer = PhaseShuffle(3, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(PhaseShuffle(0)(x, training=True)), x)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_phase_shuffle_shifts_each_example_with_reflection(n):
    batch, steps = 64, 12
    x = np.random.default_rng(n).standard_normal((batch, steps, 2)).astype("float32")
    y = np.asarray(PhaseShuffle(n, seed=3)(x, training=True))
    shifts = []
    for b in range(batch):
        matches = [s for s in range(-n, n + 1) if np.array_equal(y[b], _reflect_shift(x[b], s))]
        assert matches, f"example {b} is not a reflect-shifted copy within -{n}..{n}"
        shifts.append(matches[0])
    assert len(set(shifts)) == 2 * n + 1, f"64 examples drew only shifts {sorted(set(shifts))}"


def test_phase_shuffle_seed_is_reproducible_and_short_inputs_work():
    x = np.random.default_rng(5).standard_normal((8, 10, 1)).astype("float32")
    a = np.asarray(PhaseShuffle(2, seed=7)(x, training=True))
    b = np.asarray(PhaseShuffle(2, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)
    for steps in (1, 2, 3):
        short = np.arange(4 * steps, dtype="float32").reshape(4, steps, 1)
        y = np.asarray(PhaseShuffle(2, seed=0)(short, training=True))
        assert y.shape == short.shape
        for row, src in zip(y, short):  # only values of the same example, mirrored
            assert set(row.ravel()) <= set(src.ravel())
    np.testing.assert_array_equal(np.asarray(PhaseShuffle(2, seed=0)(short[:, :1], training=True)), short[:, :1])


def test_phase_shuffle_in_graph_mode_with_dynamic_batch_and_length():
    layer = PhaseShuffle(2, seed=11)
    fn = tf.function(lambda x: layer(x, training=True), input_signature=[tf.TensorSpec([None, None, 3], tf.float32)])
    for batch, steps in [(2, 9), (5, 30)]:
        x = np.random.default_rng(batch).standard_normal((batch, steps, 3)).astype("float32")
        y = fn(x).numpy()
        assert y.shape == x.shape
        for b in range(batch):
            assert any(np.array_equal(y[b], _reflect_shift(x[b], s)) for s in range(-2, 3))
    with pytest.raises(ValueError):
        PhaseShuffle(-1)
