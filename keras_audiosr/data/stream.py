"""Training examples streamed from a prepared store: random crops, degraded on the fly, through tf.data.

Example ``i`` of a stream with seed ``s`` is made by a ``numpy.random.Generator`` seeded with
``(s, i)`` (plus the shard, when sharded), so it depends on nothing else: not on thread timing, not
on what came before. The stream is endless (index 0, 1, 2, ...), so every epoch of
``model.fit(ds, steps_per_epoch=...)`` sees fresh crops while the whole run reproduces. Drawing one
example, in order:

1. a corpus, with probability ``weights[corpus] / sum(weights)`` (default: proportional to each
   corpus's duration, i.e. every second of audio is equally likely);
2. a signal of that corpus (a file, or one channel of it in a ``separate`` store) with probability
   proportional to its length; signals shorter than a patch are never drawn;
3. a crop start, uniform over multiples of ``ratio``; a crop whose RMS is below ``silence_db``
   dBFS is drawn again (steps 1-3, up to ``max_tries`` times; then the loudest crop drawn is kept);
4. a degradation and gain from the degradation set (:meth:`~keras_audiosr.degrade.DegradationSet.draw`);
5. the crop plus :attr:`~keras_audiosr.degrade.Degradation.context` samples either side (where the
   file has them) is scaled by the gain and degraded, and the input is cut from the middle, so filter
   edges never reach the example and ``lr[k]`` sits at ``hr[k * ratio]``.

Memory: the store is memory-mapped and only the windows drawn are copied, so a process holds a
bounded set of open maps and buffers whatever the corpus size.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Mapping, Sequence

import numpy as np

from keras_audiosr.data.store import SignalStore
from keras_audiosr.degrade import DegradationSet, get_degradation_set

__all__ = ["CropSampler", "shard_files"]

_SHARD_SALT = 0x5EED5


class _ExitGuard:
    """Lets a process exit while an endless stream is still being prefetched.

    tf.data threads call back into Python for every batch; an iterator still alive when the
    interpreter finalises waits for calls that can no longer get the GIL, and the process hangs.
    At exit this guard makes new calls fail at once and waits (at most 2 s) until none is in flight,
    so the pipeline is idle when it is destroyed.
    """

    def __init__(self):
        self.exiting = False
        self.active = 0
        self.lock = threading.Lock()
        self.registered = False

    def register(self):
        with self.lock:
            if not self.registered:
                atexit.register(self.drain)
                self.registered = True

    def __enter__(self):
        with self.lock:
            if self.exiting:
                raise RuntimeError("the process is exiting")
            self.active += 1

    def __exit__(self, *exc):
        with self.lock:
            self.active -= 1

    def drain(self, timeout: float = 2.0, quiet: float = 0.1):
        self.exiting = True
        start = last_busy = time.monotonic()
        while time.monotonic() - start < timeout:
            now = time.monotonic()
            if self.active:
                last_busy = now
            elif now - last_busy > quiet:
                return
            time.sleep(0.005)


_EXIT_GUARD = _ExitGuard()


def _rms_db(x: np.ndarray) -> float:
    ms = float(np.mean(np.square(x, dtype=np.float64)))
    return 10.0 * np.log10(ms) if ms > 0 else -np.inf


_POOL_SAMPLER = None


def _pool_init(sampler):
    global _POOL_SAMPLER
    _POOL_SAMPLER = sampler


def _pool_batch(seed, indices):
    return _POOL_SAMPLER.batch(seed, indices)


def shard_files(n_files: int, index: int, count: int, seed: int = 0) -> np.ndarray:
    """The file indices worker ``index`` of ``count`` reads: a seeded permutation of ``range(n_files)``
    dealt out in turn, so shards are disjoint, cover every file and differ in size by at most one."""
    if not (isinstance(count, (int, np.integer)) and count >= 1 and 0 <= index < count):
        raise ValueError(f"shard index {index!r} of {count!r}: need 0 <= index < count")
    perm = np.random.default_rng([int(seed), _SHARD_SALT]).permutation(int(n_files))
    return np.sort(perm[index::count])


class CropSampler:
    """Makes ``(low_rate, high_rate)`` training examples from a :class:`~keras_audiosr.data.store.SignalStore`.

    Args:
        store: the prepared signals.
        ratio: up-sampling ratio ``r``; ``patch_size`` (high-rate samples) must be a multiple of it.
        degradations: a degradation set name, spec or :class:`~keras_audiosr.degrade.DegradationSet`.
        same_rate: inputs at the high rate (``Degradation.at_high_rate``, for the same-rate models)
            instead of decimated ones.
        silence_db: crops quieter than this (dBFS, before the gain) are redrawn; ``None`` keeps all.
        weights: ``{corpus: weight}`` sampling weights (corpora not named get 1); ``None``: by duration.
        shard: ``(index, count)``: read only that share of the files (:func:`shard_files`, seeded by
            ``shard_seed``).
        max_tries: crops drawn before giving up on finding a loud one.
    """

    def __init__(
        self,
        store: SignalStore,
        *,
        ratio: int,
        patch_size: int,
        degradations="cheby1:8",
        same_rate: bool = False,
        silence_db: float | None = -50.0,
        weights: Mapping[str, float] | None = None,
        shard: tuple[int, int] | None = None,
        shard_seed: int = 0,
        max_tries: int = 10,
    ):
        self.store = store
        self.ratio = int(ratio)
        self.patch_size = int(patch_size)
        if self.ratio < 1 or self.patch_size < 1 or self.patch_size % self.ratio:
            raise ValueError(f"patch_size {patch_size} must be a positive multiple of ratio {ratio}")
        self.degradations: DegradationSet = get_degradation_set(degradations)
        self.same_rate = bool(same_rate)
        self.silence_db = None if silence_db is None else float(silence_db)
        self.max_tries = max(1, int(max_tries))
        self.shard = None if shard is None else (int(shard[0]), int(shard[1]))
        files = (
            np.arange(len(store))
            if shard is None
            else shard_files(len(store), self.shard[0], self.shard[1], shard_seed)
        )
        self.files = files
        # Signals: (file, channel) pairs long enough for a patch.
        sig_file, sig_chan, sig_len, sig_corpus = [], [], [], []
        for f in files:
            sf = store.files[int(f)]
            if sf.length < self.patch_size:
                continue
            for c in range(sf.channels):
                sig_file.append(int(f))
                sig_chan.append(c)
                sig_len.append(sf.length)
                sig_corpus.append(sf.corpus)
        where = "" if shard is None else f" in shard {self.shard[0]} of {self.shard[1]} ({len(files)} files)"
        if not sig_file:
            raise ValueError(
                f"no signal of at least patch_size={self.patch_size} samples "
                f"({self.patch_size / store.hr_rate:.2f} s at {store.hr_rate} Hz){where}; "
                f"use a shorter patch, more files or fewer workers"
            )
        self._file = np.array(sig_file, np.int64)
        self._chan = np.array(sig_chan, np.int64)
        self._len = np.array(sig_len, np.int64)
        corpora = sorted(set(sig_corpus))
        corpus_of = np.array([corpora.index(c) for c in sig_corpus])
        if weights is None:
            w = np.array([self._len[corpus_of == k].sum() for k in range(len(corpora))], np.float64)
        else:
            unknown = sorted(set(weights) - {sf.corpus for sf in store.files})
            if unknown:
                raise ValueError(
                    f"weights name unknown corpora {unknown}; corpora: {sorted({f.corpus for f in store.files})}"
                )
            w = np.array([float(weights.get(c, 1.0)) for c in corpora], np.float64)
            if np.any(w < 0) or not w.sum() > 0:
                raise ValueError(
                    f"corpus weights must be non-negative with a positive sum over the corpora "
                    f"present{where} ({', '.join(corpora)}), got {dict(weights)}"
                )
        self.corpora = corpora
        self.corpus_probabilities = {c: float(p) for c, p in zip(corpora, w / w.sum())}
        self._corpus_cum = np.cumsum(w / w.sum())
        self._members = [np.nonzero(corpus_of == k)[0] for k in range(len(corpora))]
        self._member_cum = [np.cumsum(self._len[m] / self._len[m].sum()) for m in self._members]

    @property
    def input_length(self) -> int:
        return self.patch_size if self.same_rate else self.patch_size // self.ratio

    def _rng(self, seed: int, index: int) -> np.random.Generator:
        key = [int(seed), int(index)] if self.shard is None else [int(seed), int(index), *self.shard]
        return np.random.default_rng(key)

    def _pick(self, rng) -> tuple[int, int]:
        """(signal, crop start): steps 1-3 of the module docstring."""
        best, best_db = None, -np.inf
        for _ in range(self.max_tries):
            k = (
                0
                if len(self._members) == 1
                else min(int(np.searchsorted(self._corpus_cum, rng.random(), "right")), len(self._members) - 1)
            )
            members = self._members[k]
            j = members[min(int(np.searchsorted(self._member_cum[k], rng.random(), "right")), len(members) - 1)]
            n_starts = (int(self._len[j]) - self.patch_size) // self.ratio + 1
            start = int(rng.integers(0, n_starts)) * self.ratio
            if self.silence_db is None:
                return j, start
            level = _rms_db(self.store.read(int(self._file[j]), int(self._chan[j]), start, start + self.patch_size))
            if level >= self.silence_db:
                return j, start
            if best is None or level > best_db:
                best, best_db = (j, start), level
        return best

    def example(self, seed: int, index: int, details: bool = False):
        """Example ``index`` of the stream seeded ``seed``: ``(lr [L], hr [P])`` float32, plus a dict
        ``{file, channel, start, degradation, gain}`` when ``details``."""
        rng = self._rng(seed, index)
        j, start = self._pick(rng)
        draw = self.degradations.draw(rng, self.ratio)
        deg, r, P = draw.degradation, self.ratio, self.patch_size
        f, c, length = int(self._file[j]), int(self._chan[j]), int(self._len[j])
        m = deg.context
        a, b = max(0, start - m), min(length, start + P + m)  # a is a multiple of r: start and m are
        x = self.store.read(f, c, a, b)
        if draw.gain != 1.0:
            x *= np.float32(draw.gain)
        hr = x[start - a : start - a + P]
        if self.same_rate:
            lr = deg.at_high_rate(x)[start - a : start - a + P]
        else:
            lr = deg(x)[(start - a) // r : (start - a) // r + P // r]
        lr, hr = np.ascontiguousarray(lr, np.float32), np.ascontiguousarray(hr, np.float32)
        if details:
            return lr, hr, {"file": f, "channel": c, "start": start, "degradation": deg.filter, "gain": draw.gain}
        return lr, hr

    def pool(self, processes: int):
        """A pool of ``processes`` forked workers holding this sampler (made once per sampler and size;
        workers are daemons that end with this process). Make it before a backend that starts threads
        of its own (JAX) initialises, as forking a multi-threaded process is unsafe."""
        import multiprocessing

        pools = self.__dict__.setdefault("_pools", {})
        if processes not in pools:
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            pools[processes] = ctx.Pool(processes, initializer=_pool_init, initargs=(self,))
            atexit.register(pools[processes].terminate)  # before interpreter teardown half-closes its pipes
        return pools[processes]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_pools", None)
        return state

    def batch(self, seed: int, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Examples ``indices`` stacked: ``(lr [B, L, 1], hr [B, P, 1])`` float32."""
        lr = np.empty((len(indices), self.input_length, 1), np.float32)
        hr = np.empty((len(indices), self.patch_size, 1), np.float32)
        for n, i in enumerate(indices):
            lr[n, :, 0], hr[n, :, 0] = self.example(seed, int(i))
        return lr, hr

    def dataset(
        self, batch_size: int, seed: int = 0, start_batch: int = 0, parallel: int | None = None, processes: int = 0
    ):
        """Endless ``tf.data.Dataset`` of ``(lr [B, L, 1], hr [B, P, 1])`` float32 batches.

        Batch ``k`` holds examples ``(start_batch + k) * B ..``; pass ``start_batch`` (e.g. epochs done
        times steps per epoch) to continue a resumed run's stream. Batches are made by a parallel
        ``map`` with deterministic order and prefetched; ``parallel`` caps the parallel calls
        (default AUTOTUNE). The map's calls run in tf.data's threads, which share the GIL;
        ``processes=N`` hands each batch to a pool of N forked worker processes instead (for hosts
        with many cores feeding a fast accelerator). Either way the batches are the same.
        Auto-sharding is off: shard by file with ``shard=`` instead.
        """
        import tensorflow as tf

        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        B, L, P = int(batch_size), self.input_length, self.patch_size
        seed = int(seed)

        pool = self.pool(int(processes)) if processes else None

        def make(idx):
            with _EXIT_GUARD:
                if pool is not None:
                    return pool.apply(_pool_batch, (seed, idx))
                return self.batch(seed, idx)

        _EXIT_GUARD.register()

        @tf.autograph.experimental.do_not_convert
        def as_tensors(idx):
            lr, hr = tf.numpy_function(make, [idx], (tf.float32, tf.float32), stateful=False)
            lr.set_shape((B, L, 1))
            hr.set_shape((B, P, 1))
            return lr, hr

        ds = tf.data.Dataset.range(int(start_batch) * B, 2**62).batch(B, drop_remainder=True)
        ds = ds.map(as_tensors, num_parallel_calls=parallel or tf.data.AUTOTUNE, deterministic=True)
        ds = ds.prefetch(tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = True
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(options)
