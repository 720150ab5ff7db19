"""Frame-by-frame (streaming) super-resolution: :class:`StreamingUpsampler` feeds a frame model one frame
at a time, a stateful model directly and any other through an overlap buffer (the geometry is a
:class:`keras_audiosr.streaming.plan.StreamingPlan`).

Over an exported ``.tflite`` (:meth:`StreamingUpsampler.from_tflite`) it needs only numpy and the
LiteRT runtime; over the Keras model (:meth:`StreamingUpsampler.from_keras`) it needs TensorFlow.
"""

from __future__ import annotations

import numpy as np

from keras_audiosr.streaming.keras_runner import KerasStatefulRunner, keras_frame_fn
from keras_audiosr.streaming.metadata import TFLiteError, read_metadata
from keras_audiosr.streaming.plan import (
    StreamingPlan,
    has_stateful_form,
    make_plan,
    stateful_plan,
)
from keras_audiosr.streaming.runtime import StatefulTFLiteModel, TFLiteModel

__all__ = ["StreamingUpsampler"]


class StreamingUpsampler:
    """Feeds a frame model one frame at a time: a stateful model directly, any other through an overlap buffer.

    ``process(frame)`` takes ``plan.frame`` new low-rate samples and returns ``plan.frame * ratio``
    high-rate samples, delayed by ``plan.lookahead`` low-rate samples (the first outputs are the
    pre-roll). :meth:`feed` takes any number of samples and :meth:`finish` flushes, both returning
    output aligned with the input (the delay removed), so a file can be streamed block by block;
    :meth:`run` streams a whole signal. :meth:`fork` gives an independent stream (one per channel).

    Args:
        fn: For a window plan, ``window [plan.window] float -> [plan.frame * ratio] float`` (a
            :class:`keras_audiosr.streaming.runtime.TFLiteModel` or
            :func:`keras_audiosr.streaming.keras_runner.keras_frame_fn`); for a stateful plan, a
            stateful frame model ``frame [plan.frame] -> [plan.frame * ratio]`` with ``reset()``
            (:class:`keras_audiosr.streaming.runtime.StatefulTFLiteModel` or
            :class:`keras_audiosr.streaming.keras_runner.KerasStatefulRunner`).
        plan: The geometry.
    """

    def __init__(self, fn, plan: StreamingPlan):
        self.fn = fn
        self.plan = plan
        self.reset()

    @classmethod
    def from_keras(
        cls,
        model,
        frame: int | None = None,
        frame_ms: float | None = None,
        context: int | None = None,
        lookahead: int | None = None,
        plan: StreamingPlan | None = None,
    ) -> StreamingUpsampler:
        """Stream with the Keras model itself (the float reference).

        A model with a stateful form is streamed statefully (frame + states, no window) unless a
        window geometry (``context``/``lookahead`` or a window ``plan``) is asked for.
        """
        windowed = context is not None or lookahead is not None or (plan is not None and not plan.stateful)
        if has_stateful_form(model) and not windowed:
            plan = plan or stateful_plan(model, frame=frame, frame_ms=frame_ms)
            return cls(KerasStatefulRunner(model, plan.frame), plan)
        plan = plan or make_plan(model, frame=frame, frame_ms=frame_ms, context=context, lookahead=lookahead)
        return cls(keras_frame_fn(model, plan), plan)

    @classmethod
    def from_tflite(cls, source, num_threads: int = 1) -> StreamingUpsampler:
        """Stream with an exported ``.tflite`` (window or stateful form); the geometry comes from its metadata."""
        try:
            stateful = bool(read_metadata(source).get("stateful"))
        except TFLiteError:
            stateful = False
        if stateful:
            model = StatefulTFLiteModel(source, num_threads=num_threads)
            return cls(model, StreamingPlan.from_dict(model.metadata["plan"]))
        model = TFLiteModel(source, num_threads=num_threads)
        if model.metadata is None or "plan" not in model.metadata:
            raise TFLiteError(
                f"{model.name}: no streaming plan in its keras_audiosr metadata (not exported by edge.convert?)"
            )
        plan = StreamingPlan.from_dict(model.metadata["plan"])
        if model.input_length != plan.window or model.output_length != plan.frame * plan.ratio:
            raise TFLiteError(
                f"{model.name}: tensor shapes (in {model.input_length}, out {model.output_length}) "
                f"disagree with its metadata (window {plan.window}, frame {plan.frame} x {plan.ratio})"
            )
        return cls(model, plan)

    @property
    def delay(self) -> int:
        """Output delay in high-rate samples."""
        return self.plan.lookahead * self.plan.ratio

    def fork(self) -> StreamingUpsampler:
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
        self._fed = 0  # low-rate samples given to feed() since the reset
        self._emitted = 0  # high-rate samples produced since the reset, the pre-roll included

    def process(self, frame: np.ndarray) -> np.ndarray:
        """Shift ``plan.frame`` new low-rate samples in; return the high-rate output of the frame ``lookahead``
        behind."""
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
        outputs = [self.process(buf[k * f : (k + 1) * f]) for k in range(n)]
        self._pending = buf[n * f :].copy()
        self._fed += x.size
        return self._aligned(outputs)

    def finish(self) -> np.ndarray:
        """End the stream: complete the last frame and flush the lookahead with zeros; returns the rest of the
        output, so that everything :meth:`feed` and this returned is ``ratio`` times the samples fed. Resets."""
        f, r = self.plan.frame, self.plan.ratio
        total_calls = -(-(self._fed + self.plan.lookahead) // f)
        padded = np.zeros((total_calls - self._emitted // (f * r)) * f, np.float32)
        padded[: self._pending.size] = self._pending
        before = max(0, self._emitted - self.delay)
        y = self._aligned([self.process(padded[k * f : (k + 1) * f]) for k in range(padded.size // f)])
        y = y[: self._fed * r - before]
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
        out = [
            self.feed(x[k : k + f])
            for k in tqdm(range(0, x.size, f), desc=desc, unit="frame", disable=not progress, leave=False)
        ]
        return np.concatenate(out + [self.finish()])
