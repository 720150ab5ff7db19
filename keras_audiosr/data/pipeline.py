"""tf.data input pipelines over in-memory patch arrays."""
from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

__all__ = ["make_dataset"]


def make_dataset(lr, hr, batch_size: int, *, shuffle: bool = True, seed: int | None = 0, repeat: bool = False,
                 drop_remainder: bool = True,
                 augment: Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]] | None = None) -> tf.data.Dataset:
    """Batches of ``(low_rate [B, P/r, 1], high_rate [B, P, 1])`` float32 from patch arrays.

    ``from_tensor_slices -> shuffle (whole-set buffer, reshuffled each epoch) -> repeat -> batch ->
    map (cast to float32, then ``augment(lr, hr)`` on the batch if given) -> prefetch``. With an
    integer ``seed`` the order is the same for every dataset built with that seed (and the map runs
    deterministically); ``seed=None`` lets TF pick. Auto-sharding is by DATA, so the dataset can be
    handed to ``MultiWorkerMirroredStrategy`` as is.

    Raises ValueError if the arrays differ in length, ``batch_size`` is not positive, or
    ``drop_remainder`` would leave a finite dataset with no batch at all.
    """
    lr, hr = np.asarray(lr), np.asarray(hr)
    if lr.ndim == 2:
        lr = lr[..., None]
    if hr.ndim == 2:
        hr = hr[..., None]
    if lr.shape[0] != hr.shape[0]:
        raise ValueError(f"make_dataset: lr has {lr.shape[0]} patches, hr has {hr.shape[0]}")
    n = int(lr.shape[0])
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"make_dataset: batch_size must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    if n == 0:
        raise ValueError("make_dataset: no patches")
    if drop_remainder and not repeat and n < batch_size:
        raise ValueError(f"make_dataset: {n} patches < batch_size {batch_size} with drop_remainder=True "
                         f"gives no batches; lower batch_size or pass drop_remainder=False")

    def _prepare(x, y):
        x, y = tf.cast(x, tf.float32), tf.cast(y, tf.float32)
        return augment(x, y) if augment is not None else (x, y)

    deterministic = seed is not None
    ds = tf.data.Dataset.from_tensor_slices((lr, hr))
    if shuffle:
        ds = ds.shuffle(buffer_size=n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(_prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = deterministic
    return ds.with_options(options)
