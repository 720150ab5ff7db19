"""Frame-by-frame (streaming) super-resolution: stateful models, or any model through an overlap buffer.

Models with a stateful streaming form (:class:`keras_audiosr.models.StreamingBWE`) are driven
directly: each call takes one frame and the state tensors and returns the output frame and the new
states (:mod:`edge.stateful`); nothing is recomputed and the plan has no context window
(``plan.stateful``). Every other model is streamed through a window, as follows.

A U-Net has a finite receptive field, so the high-rate output of a frame depends only on the low-rate
input from ``context`` samples before the frame to ``lookahead`` samples after it. Every exported
model therefore takes a fixed window ``[context | frame | lookahead]`` (low-rate samples) and emits
the high-rate samples of the centre frame; the caller keeps the last ``context + lookahead`` input
samples between calls (the overlap buffer) and shifts ``frame`` new samples in each time. With
``context`` and ``lookahead`` at least the receptive field (found by impulse probing,
:func:`keras_audiosr.models.geometry.receptive_field`) and every length a multiple of the model's shift period (strided
convolutions are only shift-equivariant by multiples of their total stride), frame-by-frame output
equals processing the whole signal at once, up to float rounding, except within one receptive field
of the signal's start and end (where the whole-signal model sees its own boundary padding and the
stream sees zeros).

The algorithmic latency is ``frame + lookahead`` low-rate samples: a sample can leave only once its
frame is complete and the lookahead after it has arrived.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

_GEOMETRY = ("receptive_field", "shift_period")


def __getattr__(name):
    # Re-exported from keras_audiosr.models.geometry lazily: the runtime side (StreamingUpsampler over a
    # .tflite) loads without Keras.
    if name in _GEOMETRY:
        from keras_audiosr.models import geometry

        return getattr(geometry, name)
    raise AttributeError(f"module 'edge.streaming' has no attribute {name!r}")

__all__ = ["StreamingPlan", "StreamingUpsampler", "make_plan", "receptive_field", "shift_period",
           "streaming_keras_model", "keras_frame_fn"]


@dataclass(frozen=True)
class StreamingPlan:
    """Window geometry in low-rate samples: the model takes ``window = context + frame + lookahead``
    and emits ``frame * ratio`` high-rate samples (those of the centre frame).

    A ``stateful`` plan (:func:`edge.stateful.stateful_plan`) has no context: the model takes one
    frame (plus its states) and its output lags by ``lookahead`` samples."""

    ratio: int
    lr_rate: int
    frame: int
    context: int
    lookahead: int
    period: int = 1
    receptive_context: int | None = None
    receptive_lookahead: int | None = None
    stateful: bool = False

    def __post_init__(self):
        for name in ("ratio", "lr_rate", "frame", "period"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"StreamingPlan.{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.stateful and self.context:
            raise ValueError("a stateful StreamingPlan has no context window (the states carry the past)")
        # A stateful stream only needs whole frames of the model's shift period; its lookahead is a delay.
        for name in (("frame",) if self.stateful else ("frame", "context", "lookahead")):
            v = int(getattr(self, name))
            if v < 0 or v % self.period:
                raise ValueError(f"StreamingPlan.{name}={v} must be a non-negative multiple of the model's shift "
                                 f"period {self.period} (strided convolutions are shift-equivariant only by it)")

    @property
    def window(self) -> int:
        """Input samples per call: the frame alone for a stateful plan."""
        return self.frame if self.stateful else self.context + self.frame + self.lookahead

    @property
    def frame_ms(self) -> float:
        return 1000.0 * self.frame / self.lr_rate

    @property
    def latency_samples(self) -> int:
        """Algorithmic latency in low-rate samples: the frame plus the lookahead."""
        return self.frame + self.lookahead

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_samples / self.lr_rate

    @property
    def exact(self) -> bool:
        """Whether context and lookahead cover the measured receptive field (frame output == whole-signal output)."""
        if self.stateful:
            return True
        if self.receptive_context is None or self.receptive_lookahead is None:
            return False
        return self.context >= self.receptive_context and self.lookahead >= self.receptive_lookahead

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(window=self.window, frame_ms=self.frame_ms, latency_samples=self.latency_samples,
                 latency_ms=self.latency_ms, exact=self.exact)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StreamingPlan":
        fields = ("ratio", "lr_rate", "frame", "context", "lookahead", "period", "receptive_context",
                  "receptive_lookahead", "stateful")
        return cls(**{k: d[k] for k in fields if k in d})


def _round_up(n: int, m: int) -> int:
    return -(-int(n) // m) * m


def make_plan(model, frame: int | None = None, frame_ms: float | None = None, context: int | None = None,
              lookahead: int | None = None) -> StreamingPlan:
    """The window for ``model`` with a frame of ``frame`` low-rate samples (or ``frame_ms``, default 20 ms).

    The frame is rounded up to the model's shift period. ``context`` and ``lookahead`` default to the
    measured receptive field rounded up to the period (exact streaming); smaller values trade
    exactness for latency (``plan.exact`` is then False).
    """
    from keras_audiosr.models.geometry import receptive_field, shift_period

    period = shift_period(model)
    lr_rate = int(model.lr_rate)
    if frame is None:
        ms = 20.0 if frame_ms is None else float(frame_ms)
        if ms <= 0:
            raise ValueError(f"frame_ms must be positive, got {frame_ms!r}")
        frame = max(1, round(ms * lr_rate / 1000.0))
    elif frame_ms is not None:
        raise ValueError("give frame (samples) or frame_ms, not both")
    if int(frame) != frame or frame < 1:
        raise ValueError(f"frame must be a positive integer number of low-rate samples, got {frame!r}")
    rf_context, rf_lookahead = receptive_field(model)
    context = _round_up(rf_context, period) if context is None else _round_up(context, period)
    lookahead = _round_up(rf_lookahead, period) if lookahead is None else _round_up(lookahead, period)
    return StreamingPlan(ratio=int(model.ratio), lr_rate=lr_rate, frame=_round_up(frame, period), context=context,
                         lookahead=lookahead, period=period, receptive_context=rf_context,
                         receptive_lookahead=rf_lookahead)


def streaming_keras_model(model, plan: StreamingPlan):
    """A fixed-shape Keras model ``[1, window, 1] -> [1, frame * ratio, 1]`` (the centre frame's output).

    Its shapes are static, so the padding inside the wrapped model is resolved at export time.
    """
    import keras

    inputs = keras.Input(batch_shape=(1, plan.window, 1), name="low_rate")
    y = model(inputs)
    start = plan.context * plan.ratio
    outputs = y[:, start:start + plan.frame * plan.ratio, :]
    return keras.Model(inputs, outputs, name=f"{model.name}_w{plan.window}_f{plan.frame}")


def keras_frame_fn(model, plan: StreamingPlan):
    """A callable ``window [W] -> [frame * ratio]`` running ``model`` (float reference for the frame runner)."""
    import tensorflow as tf

    fixed = streaming_keras_model(model, plan)

    @tf.function(reduce_retracing=True)
    def run(x):
        return fixed(x, training=False)

    def fn(window):
        return run(tf.constant(np.asarray(window, np.float32).reshape(1, -1, 1))).numpy().reshape(-1)

    return fn


class StreamingUpsampler:
    """Feeds a frame model one frame at a time: a stateful model directly, any other through an overlap buffer.

    ``process(frame)`` takes ``plan.frame`` new low-rate samples and returns ``plan.frame * ratio``
    high-rate samples, delayed by ``plan.lookahead`` low-rate samples (the first outputs are the
    pre-roll). :meth:`feed` takes any number of samples and :meth:`finish` flushes, both returning
    output aligned with the input (the delay removed), so a file can be streamed block by block;
    :meth:`run` streams a whole signal. :meth:`fork` gives an independent stream (one per channel).

    Args:
        fn: For a window plan, ``window [plan.window] float -> [plan.frame * ratio] float`` (a
            :class:`edge.runtime.TFLiteModel` or :func:`keras_frame_fn`); for a stateful plan, a
            stateful frame model ``frame [plan.frame] -> [plan.frame * ratio]`` with ``reset()``
            (:class:`edge.stateful.StatefulTFLiteModel` or :class:`edge.stateful.KerasStatefulRunner`).
        plan: The geometry.
    """

    def __init__(self, fn, plan: StreamingPlan):
        self.fn = fn
        self.plan = plan
        self.reset()

    @classmethod
    def from_keras(cls, model, frame: int | None = None, frame_ms: float | None = None, context: int | None = None,
                   lookahead: int | None = None, plan: StreamingPlan | None = None) -> "StreamingUpsampler":
        """Stream with the Keras model itself (the float reference).

        A model with a stateful form is streamed statefully (frame + states, no window) unless a
        window geometry (``context``/``lookahead`` or a window ``plan``) is asked for.
        """
        from edge.stateful import KerasStatefulRunner, has_stateful_form, stateful_plan

        windowed = context is not None or lookahead is not None or (plan is not None and not plan.stateful)
        if has_stateful_form(model) and not windowed:
            plan = plan or stateful_plan(model, frame=frame, frame_ms=frame_ms)
            return cls(KerasStatefulRunner(model, plan.frame), plan)
        plan = plan or make_plan(model, frame=frame, frame_ms=frame_ms, context=context, lookahead=lookahead)
        return cls(keras_frame_fn(model, plan), plan)

    @classmethod
    def from_tflite(cls, source, num_threads: int = 1) -> "StreamingUpsampler":
        """Stream with an exported ``.tflite`` (window or stateful form); the geometry comes from its metadata."""
        from edge.metadata import read_metadata
        from edge.runtime import TFLiteError, TFLiteModel

        try:
            stateful = bool(read_metadata(source).get("stateful"))
        except TFLiteError:
            stateful = False
        if stateful:
            from edge.stateful import StatefulTFLiteModel

            model = StatefulTFLiteModel(source, num_threads=num_threads)
            return cls(model, StreamingPlan.from_dict(model.metadata["plan"]))
        model = TFLiteModel(source, num_threads=num_threads)
        if model.metadata is None or "plan" not in model.metadata:
            raise TFLiteError(f"{model.name}: no streaming plan in its keras_audiosr metadata (not exported by edge.convert?)")
        plan = StreamingPlan.from_dict(model.metadata["plan"])
        if model.input_length != plan.window or model.output_length != plan.frame * plan.ratio:
            raise TFLiteError(f"{model.name}: tensor shapes (in {model.input_length}, out {model.output_length}) "
                              f"disagree with its metadata (window {plan.window}, frame {plan.frame} x {plan.ratio})")
        return cls(model, plan)

    @property
    def delay(self) -> int:
        """Output delay in high-rate samples."""
        return self.plan.lookahead * self.plan.ratio

    def fork(self) -> "StreamingUpsampler":
        """A new, independent stream over the same model (its own states or buffer; the interpreter is shared,
        so forks must be called from one thread): one per channel of a multi-channel signal."""
        import copy

        return type(self)(copy.copy(self.fn) if self.plan.stateful else self.fn, self.plan)

    def reset(self) -> None:
        """Forget the past: the buffer (or the model's states) back to zeros, as before the start of a signal."""
        if self.plan.stateful:
            self.fn.reset()
        else:
            self._buffer = np.zeros(self.plan.window, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._fed = 0       # low-rate samples given to feed() since the reset
        self._emitted = 0   # high-rate samples produced since the reset, the pre-roll included

    def process(self, frame: np.ndarray) -> np.ndarray:
        """Shift ``plan.frame`` new low-rate samples in; return the high-rate output of the frame ``lookahead`` behind."""
        frame = np.asarray(frame, np.float32).reshape(-1)
        if frame.shape[0] != self.plan.frame:
            raise ValueError(f"frame of {frame.shape[0]} samples; the stream takes {self.plan.frame}")
        f = self.plan.frame
        if self.plan.stateful:
            return np.asarray(self.fn(frame), np.float32).reshape(-1)
        self._buffer[:-f] = self._buffer[f:]
        self._buffer[-f:] = frame
        return np.asarray(self.fn(self._buffer.copy()), np.float32).reshape(-1)

    def _aligned(self, outputs: list) -> np.ndarray:
        y = np.concatenate(outputs) if outputs else np.zeros(0, np.float32)
        skip = min(len(y), max(0, self.delay - self._emitted))
        self._emitted += len(y)
        return y[skip:]

    def feed(self, x: np.ndarray) -> np.ndarray:
        """Stream any number of low-rate samples; returns the high-rate output aligned with the input so far.

        Samples short of a whole frame wait for the next call; the output lags the input by the
        lookahead until :meth:`finish`. Do not mix with :meth:`process` on one stream.
        """
        x = np.asarray(x, np.float32).reshape(-1)
        f = self.plan.frame
        buf = np.concatenate([self._pending, x]) if self._pending.size else x
        n = buf.size // f
        outputs = [self.process(buf[k * f:(k + 1) * f]) for k in range(n)]
        self._pending = buf[n * f:].copy()
        self._fed += x.size
        return self._aligned(outputs)

    def finish(self) -> np.ndarray:
        """End the stream: complete the last frame and flush the lookahead with zeros; returns the rest of the
        output, so that everything :meth:`feed` and this returned is ``ratio`` times the samples fed. Resets."""
        f, r = self.plan.frame, self.plan.ratio
        total_calls = -(-(self._fed + self.plan.lookahead) // f)
        padded = np.zeros((total_calls - self._emitted // (f * r)) * f, np.float32)
        padded[:self._pending.size] = self._pending
        before = max(0, self._emitted - self.delay)
        y = self._aligned([self.process(padded[k * f:(k + 1) * f]) for k in range(padded.size // f)])
        y = y[:self._fed * r - before]
        self.reset()
        return y

    def run(self, x: np.ndarray, progress: bool = False, desc: str = "stream") -> np.ndarray:
        """Stream the whole low-rate signal ``x`` (``[time]``) and return ``[time * ratio]`` aligned output.

        The last frame is completed with zeros and zeros are fed after the signal until the lookahead
        has been flushed (:meth:`finish`). Resets the buffer first.
        """
        from tqdm import tqdm

        x = np.asarray(x, np.float32).reshape(-1)
        if x.size == 0:
            raise ValueError("StreamingUpsampler.run: empty signal")
        f = self.plan.frame
        self.reset()
        out = [self.feed(x[k:k + f])
               for k in tqdm(range(0, x.size, f), desc=desc, unit="frame", disable=not progress, leave=False)]
        return np.concatenate(out + [self.finish()])
