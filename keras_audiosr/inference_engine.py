"""The engines behind :mod:`keras_audiosr.inference`: a Keras model run on overlapping chunks, or a frame streamer.

The signal is cut into chunks of ``chunk`` low-rate samples that share ``overlap`` samples with
their neighbours. Chunks are run through the model a batch at a time and joined by cross-fading in
the shared region: the earlier chunk's weight ``w`` falls from 1 to 0 while the later chunk's weight
is ``1 - w``, so the weights sum to 1 everywhere and a signal the model leaves unchanged comes out
unchanged. The fade covers the middle quarter of the shared region; the outer 3/8 on each side are
taken from the chunk whose edge is farther away, because a convolutional model's output near a
chunk edge differs from its whole-signal output (zero padding) for as far as its receptive field
reaches. When that reach is below ``3/8 * overlap`` low-rate samples, chunked output equals
whole-signal output up to float rounding; otherwise the remaining seam is smoothed over
``overlap / 4`` samples. The default overlap (1024) covers the published AudioUNet, whose reach
is about 362 low-rate samples at ratio 2.

Chunk starts are multiples of the model's shift period (the ``multiple`` of its
:class:`~keras_audiosr.layers.PadToMultiple` layers): a model with strided convolutions gives the
same output for a shifted input only when the shift is a multiple of its total stride.

The file functions of :mod:`keras_audiosr.inference` also take a frame streamer instead of a Keras
model: an object with ``feed``, ``finish``, ``fork`` and ``plan`` such as
:class:`keras_audiosr.streaming.StreamingUpsampler` (e.g. over an exported stateful ``.tflite`` run by
LiteRT). Files are then streamed block by block through it, one stream per channel, with no chunks and
no cross-fades.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import numpy as np

FADES = ("cosine", "linear")


def _model_channels(model) -> int | None:
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):
        shape = shape[0]
    return None if shape is None or shape[-1] is None else int(shape[-1])


class _Plan:
    """Chunk geometry in low-rate samples and the fade-out weights of a chunk's tail (high-rate)."""

    def __init__(self, model, chunk: int, overlap: int, batch_size: int, fade: str):
        for name, v, lo in (("chunk", chunk, 1), ("overlap", overlap, 0), ("batch_size", batch_size, 1)):
            if isinstance(v, bool) or int(v) != v or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if fade not in FADES:
            raise ValueError(f"unknown fade {fade!r}; valid: {', '.join(FADES)}")
        chunk, overlap = int(chunk), int(overlap)
        self.ratio = int(model.ratio)
        from keras_audiosr.models.geometry import shift_period

        self.period = shift_period(model)
        hop = (chunk - overlap) // self.period * self.period
        if hop < max(overlap, 1):
            least = overlap + self.period * max(1, -(-overlap // self.period))
            raise ValueError(
                f"chunk={chunk} is too small for overlap={overlap}: the hop (chunk - overlap, rounded "
                "down to "
                f"the model's shift period {self.period}) must be at least the overlap; use chunk >= "
                f"{least}"
            )
        self.hop, self.overlap = hop, overlap
        self.chunk = hop + overlap  # shrunk by less than one period so that starts stay on the period grid
        self.batch_size = int(batch_size)
        length = self.ratio * overlap
        guard = 3 * length // 8
        n = length - 2 * guard
        t = (np.arange(n) + 0.5) / max(n, 1)
        ramp = 0.5 * (1.0 + np.cos(np.pi * t)) if fade == "cosine" else 1.0 - t
        self.fade_out = np.concatenate([np.ones(guard), ramp, np.zeros(guard)]).astype(np.float32)[:, None]

    def n_chunks(self, n: int) -> int:
        return 1 if n <= self.chunk else 1 + -(-(n - self.chunk) // self.hop)


def _chunks(blocks: Iterable[np.ndarray], plan: _Plan) -> Iterator[tuple[np.ndarray, bool]]:
    """``(x [len, channels], is_last)`` for each chunk of the concatenated ``blocks``, read lazily.

    Chunk ``k`` starts at ``k * hop``; it is a full chunk while samples remain beyond it, otherwise
    it is the last and runs to the end of the signal (so it is longer than the overlap).
    """
    buf, offset, start = None, 0, 0
    for block in blocks:
        buf = block if buf is None else np.concatenate([buf, block])
        while offset + len(buf) > start + plan.chunk:
            a = start - offset
            yield buf[a : a + plan.chunk], False
            start += plan.hop
            buf, offset = buf[start - offset :], start
    if buf is None or len(buf) <= start - offset:
        raise ValueError("upsample: empty signal")
    yield buf[start - offset :], True


def _run(model, xs: list[np.ndarray], joint: bool) -> list[np.ndarray]:
    """Model outputs ``[ratio*len, channels]`` for chunks of equal length (channels folded into the batch unless
    ``joint``)."""
    from keras import ops

    n, length, channels = len(xs), xs[0].shape[0], xs[0].shape[1]
    x = np.stack(xs)  # [n, len, ch]
    if not joint:
        x = x.transpose(0, 2, 1).reshape(n * channels, length, 1)
    y = ops.convert_to_numpy(model(x, training=False)).astype(np.float32, copy=False)
    expected = (x.shape[0], model.ratio * length, x.shape[2])
    if y.shape != expected:
        raise ValueError(f"model {model.name!r} returned shape {y.shape} for input {x.shape}; expected {expected}")
    if not joint:
        y = y.reshape(n, channels, -1).transpose(0, 2, 1)
    return list(y)


def _stream(model, blocks: Iterable[np.ndarray], plan: _Plan, channels: int, bar=None) -> Iterator[np.ndarray]:
    """High-rate output, in order, of the low-rate ``blocks`` ``[n_i, channels]``: final samples only."""
    model_ch = _model_channels(model)
    joint = model_ch not in (None, 1)
    if joint and model_ch != channels:
        raise ValueError(f"model {model.name!r} takes {model_ch} channels jointly, the signal has {channels}")
    per_call = plan.batch_size if joint else max(1, plan.batch_size // channels)
    L = plan.ratio * plan.overlap
    tail = None
    it = _chunks(blocks, plan)
    while group := list(itertools.islice(it, per_call)):
        outputs = [None] * len(group)
        for length in dict.fromkeys(len(x) for x, _ in group):
            idx = [i for i, (x, _) in enumerate(group) if len(x) == length]
            for i, y in zip(idx, _run(model, [np.asarray(group[i][0], np.float32) for i in idx], joint)):
                outputs[i] = y
        for (_, last), y in zip(group, outputs):
            if not np.all(np.isfinite(y)):
                raise ValueError(f"model {model.name!r} produced NaN or Inf output")
            if tail is not None and L:
                y[:L] += plan.fade_out * (tail - y[:L])
            if last or not L:
                tail = None
                yield y
            else:
                tail = y[-L:].copy()
                yield y[:-L]
            if bar is not None:
                bar.update(1)


def _is_streamer(model) -> bool:
    return all(callable(getattr(model, a, None)) for a in ("feed", "finish", "fork")) and hasattr(model, "plan")


class _ChunkEngine:
    """A Keras model run on overlapping, cross-faded chunks (the module docstring)."""

    unit = "chunk"

    def __init__(self, model, chunk, overlap, batch_size, fade):
        self.model, self.plan = model, _Plan(model, chunk, overlap, batch_size, fade)
        self.lr_rate, self.hr_rate, self.name = int(model.lr_rate), int(model.hr_rate), model.name
        self.blocksize = self.plan.hop * self.plan.batch_size

    def units(self, n_lr: int) -> int:
        return self.plan.n_chunks(n_lr)

    def stream(self, blocks, channels: int, bar=None) -> Iterator[np.ndarray]:
        return _stream(self.model, blocks, self.plan, channels, bar)


class _FrameEngine:
    """A frame streamer (:class:`keras_audiosr.streaming.StreamingUpsampler`), one independent stream per channel,
    fed ``blocksize`` low-rate samples at a time (the progress unit)."""

    unit = "block"

    def __init__(self, streamer):
        plan = streamer.plan
        self.streamer = streamer
        self.lr_rate, self.hr_rate = int(plan.lr_rate), int(plan.lr_rate * plan.ratio)
        self.name = str(getattr(streamer.fn, "name", "stream"))
        self.blocksize = int(plan.frame) * 100

    def units(self, n_lr: int) -> int:
        return max(1, -(-n_lr // self.blocksize))

    def stream(self, blocks, channels: int, bar=None) -> Iterator[np.ndarray]:
        streams = [self.streamer.fork() for _ in range(channels)]
        b = self.blocksize

        def checked(parts):
            y = np.stack(parts, axis=1)
            if not np.all(np.isfinite(y)):
                raise ValueError(f"model {self.name!r} produced NaN or Inf output")
            return y

        for block in blocks:
            for k in range(0, len(block), b):
                y = checked([s.feed(block[k : k + b, c]) for c, s in enumerate(streams)])
                if bar is not None:
                    bar.update(1)
                if len(y):
                    yield y
        yield checked([s.finish() for s in streams])


def _engine(model, chunk=16384, overlap=1024, batch_size=4, fade="cosine"):
    return _FrameEngine(model) if _is_streamer(model) else _ChunkEngine(model, chunk, overlap, batch_size, fade)
