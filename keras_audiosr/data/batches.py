"""The stream of a :class:`~keras_audiosr.data.CropSampler` as a ``keras.utils.PyDataset``: ``model.fit``
input on any Keras backend (JAX, PyTorch or TensorFlow), no ``tf.data`` needed."""

from __future__ import annotations

import keras

from keras_audiosr.data.stream import CropSampler, _pool_batch

__all__ = ["SamplerBatches"]


class SamplerBatches(keras.utils.PyDataset):
    """Endless batches ``(lr [B, L, 1], hr [B, P, 1])`` float32 of ``sampler``, the same as
    :meth:`CropSampler.dataset` makes: batch ``k`` holds examples ``(start_batch + k) * B ..`` of
    the stream seeded ``seed``, so ``start_batch`` continues a resumed run's stream.

    ``processes > 0`` makes batches in the sampler's pool of that many forked worker processes
    (:meth:`CropSampler.pool`), requested by as many threads of Keras's ordered enqueuer (which keeps
    the order, and whose index runs on over the epochs of a ``fit``). Create the pool before the
    backend starts its own threads (JAX warns about forking after that); the recipes' runner does.
    ``processes=0`` makes each batch in the training process when it is needed. Every epoch
    continues the stream instead of repeating it: where Keras starts the index at 0 again for a
    new epoch (the in-process path on some backends), the index going back is taken as the next
    epoch's start. ``map_batch(lr, hr)`` replaces each batch (numpy arrays), e.g.
    ``lambda lr, hr: (hr, hr)`` for an autoencoder.
    """

    def __init__(
        self,
        sampler: CropSampler,
        batch_size: int,
        seed: int = 0,
        start_batch: int = 0,
        processes: int = 0,
        max_queue_size: int = 8,
        map_batch=None,
    ):
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.processes = int(processes)
        super().__init__(workers=max(1, self.processes), use_multiprocessing=False, max_queue_size=max_queue_size)
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.start_batch = int(start_batch)
        self.map_batch = map_batch
        self._offset, self._last = 0, None

    @property
    def num_batches(self):
        return None  # endless

    def __getitem__(self, index):
        index = int(index)
        if self.workers <= 1:  # no enqueuer: calls come in order, in this thread
            if self._last is not None and index <= self._last - self._offset:
                self._offset = self._last + 1 - index  # Keras restarted the index for a new epoch
            self._last = self._offset + index
            index = self._last
        first = (self.start_batch + index) * self.batch_size
        indices = range(first, first + self.batch_size)
        if self.processes:
            lr, hr = self.sampler.pool(self.processes).apply(_pool_batch, (self.seed, indices))
        else:
            lr, hr = self.sampler.batch(self.seed, indices)
        return (lr, hr) if self.map_batch is None else self.map_batch(lr, hr)
