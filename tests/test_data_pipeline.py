"""tf.data pipeline: shapes, dtypes, determinism per seed, options, errors."""
import numpy as np
import pytest
import tensorflow as tf

from keras_audiosr.data import make_dataset


def _arrays(n=10, p=16, r=2, dtype=np.float64):
    hr = np.arange(n * p, dtype=dtype).reshape(n, p, 1)
    lr = hr[:, ::r].copy()
    return lr, hr


def _epoch(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_shapes_dtypes_and_pairs_stay_together():
    lr, hr = _arrays()
    batches = _epoch(make_dataset(lr, hr, 4))
    assert len(batches) == 2  # 10 // 4 with drop_remainder
    for x, y in batches:
        assert x.shape == (4, 8, 1) and y.shape == (4, 16, 1)
        assert x.dtype == np.float32 and y.dtype == np.float32
        np.testing.assert_array_equal(x, y[:, ::2])
    seen = np.concatenate([y[:, 0, 0] for _, y in batches]) // 16
    assert len(set(seen)) == 8


def test_no_shuffle_keeps_order_and_remainder():
    lr, hr = _arrays()
    batches = _epoch(make_dataset(lr, hr, 4, shuffle=False, drop_remainder=False))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), hr.astype(np.float32))


def test_deterministic_for_seed_and_reshuffles_each_epoch():
    lr, hr = _arrays(n=64)
    order = lambda ds: np.concatenate([y[:, 0, 0] for _, y in _epoch(ds)])
    a, b = make_dataset(lr, hr, 8, seed=7), make_dataset(lr, hr, 8, seed=7)
    first_a, first_b = order(a), order(b)
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, order(make_dataset(lr, hr, 8, seed=8)))
    second_a = order(a)
    assert not np.array_equal(first_a, second_a)
    assert sorted(second_a) == sorted(first_a)
    np.testing.assert_array_equal(second_a, order(b))


def test_repeat_augment_and_options():
    lr, hr = _arrays()

    def flip(x, y):
        return -x, -y

    ds = make_dataset(lr, hr, 4, repeat=True, augment=flip)
    batches = [(x.numpy(), y.numpy()) for x, y in ds.take(5)]
    assert len(batches) == 5
    assert all(np.all(y <= 0) and y.dtype == np.float32 for _, y in batches)
    assert ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA


def test_errors():
    lr, hr = _arrays()
    with pytest.raises(ValueError, match="lr has 9"):
        make_dataset(lr[:9], hr, 4)
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(lr, hr, 0)
    with pytest.raises(ValueError, match="no batches"):
        make_dataset(lr, hr, 16)
    assert len(_epoch(make_dataset(lr, hr, 16, drop_remainder=False))) == 1
