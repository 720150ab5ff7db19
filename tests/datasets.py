"""In-memory ``tf.data`` batches of small arrays, for tests of training code (the package streams from disk)."""

import numpy as np


def make_dataset(lr, hr, batch_size, shuffle=True, seed=0, repeat=False):
    """``(lr, hr)`` batches (float32, a channel axis added to 2-D arrays), shuffled with ``seed``, last partial
    batch dropped; auto-sharded by data under a multi-worker strategy."""
    import tensorflow as tf

    lr, hr = (np.asarray(a, np.float32) for a in (lr, hr))
    lr, hr = (a[..., None] if a.ndim == 2 else a for a in (lr, hr))
    ds = tf.data.Dataset.from_tensor_slices((lr, hr))
    if shuffle:
        ds = ds.shuffle(len(lr), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.batch(batch_size, drop_remainder=True).prefetch(2).with_options(options)
