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
:func:`receptive_field`) and every length a multiple of the model's shift period (strided
convolutions are only shift-equivariant by multiples of their total stride), frame-by-frame output
equals processing the whole signal at once, up to float rounding, except within one receptive field
of the signal's start and end (where the whole-signal model sees its own boundary padding and the
stream sees zeros).

The algorithmic latency is ``frame + lookahead`` low-rate samples: a sample can leave only once its
frame is complete and the lookahead after it has arrived.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["StreamingPlan", "StreamingUpsampler", "make_plan", "receptive_field", "shift_period",
           "streaming_keras_model", "keras_frame_fn"]


def shift_period(model) -> int:
    """Least common multiple of every ``PadToMultiple.multiple`` in ``model`` (low-rate samples; 1 if none)."""
    from keras_audiosr.layers import PadToMultiple

    period, stack, seen = 1, list(getattr(model, "layers", [])), set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, PadToMultiple):
            period = math.lcm(period, int(layer.multiple))
        stack.extend(getattr(layer, "layers", []) or [])
    return period


def receptive_field(model, trials: int = 4, seed: int = 0, max_length: int = 1 << 16,
                    structural: bool = True) -> tuple[int, int]:
    """``(context, lookahead)``: how many low-rate samples before and after an output's own sample affect it.

    Measured by impulse probing: a signal is perturbed at one sample for every phase of the shift
    period, and the span of high-rate outputs that change gives the reach in each direction; the
    maximum over phases is returned. The probe grows until the changes stay clear of its ends.

    The model itself is probed on ``trials`` random signals (changes above 1e-7 of the output scale
    count). A trained model can hide part of its structural reach (near-zero taps, units that do not
    fire on the probes), so with ``structural`` a linearised copy -- activations replaced by the
    identity, random kernels, zero biases -- is probed from silence as well, where any non-zero
    output is a dependency, and the larger reach is kept.
    """
    reach = _probe_reach(model, trials, seed, max_length, linear=False)
    if structural:
        clone = _linearized_copy(model, seed)
        if clone is not None:
            other = _probe_reach(clone, 1, seed, max_length, linear=True)
            reach = (max(reach[0], other[0]), max(reach[1], other[1]))
    return reach


_ACTIVATION_LAYERS = ("ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Activation")


def _linearized_copy(model, seed: int):
    """A functional copy of ``model`` with identity activations, random kernels and zero biases (None if not clonable)."""
    import keras

    def clone(layer):
        if type(layer).__name__ in _ACTIVATION_LAYERS:
            return keras.layers.Identity(name=layer.name)
        config = layer.get_config()
        if "activation" in config:
            config["activation"] = "linear"
        return layer.__class__.from_config(config)

    try:
        copy = keras.models.clone_model(model, clone_function=clone)
    except Exception:  # subclassed models without a functional graph
        return None
    copy.ratio = model.ratio
    rng = np.random.default_rng(seed + 1)
    for v in copy.weights:
        shape, name = tuple(v.shape), v.path.rsplit("/", 1)[-1]
        if name in ("gamma", "moving_variance", "variance"):
            value = np.ones(shape)
        elif len(shape) < 2:
            value = np.zeros(shape)
        else:
            value = rng.standard_normal(shape) / np.sqrt(max(1, int(np.prod(shape[:-1]))))
        v.assign(value.astype(v.dtype))
    return copy


def _probe_reach(model, trials: int, seed: int, max_length: int, linear: bool) -> tuple[int, int]:
    from keras import ops

    ratio = int(model.ratio)
    period = shift_period(model)
    rng = np.random.default_rng(seed)
    length = max(512, 64 * period)
    while True:
        length = -(-length // period) * period
        mid = length // 2 - (length // 2) % period
        positions = [mid + j for j in range(period)]
        if linear:
            base = np.zeros((trials, length, 1), np.float32)
        else:
            base = (0.1 * rng.standard_normal((trials, length, 1))).astype(np.float32)
        batch = [base]
        for p in positions:
            pert = base.copy()
            pert[:, p, 0] += 0.5
            batch.append(pert)
        y = ops.convert_to_numpy(model(np.concatenate(batch), training=False))[..., 0].astype(np.float64)
        y_base = y[:trials]
        thr = 0.0 if linear else 1e-7 * max(1.0, float(np.max(np.abs(y_base))))
        context = lookahead = 0
        touches_edge = False
        for i, p in enumerate(positions):
            changed = np.abs(y[(i + 1) * trials:(i + 2) * trials] - y_base) > thr
            idx = np.nonzero(changed.any(axis=0))[0]
            if idx.size == 0:
                continue
            first, last = int(idx[0]) // ratio, int(idx[-1]) // ratio
            touches_edge |= first <= 0 or last >= length - 1
            lookahead = max(lookahead, p - first)
            context = max(context, last - p)
        if not touches_edge:
            return context, lookahead
        if length * 2 > max_length:
            raise ValueError(f"receptive field of {model.name!r} exceeds {max_length // 2} low-rate samples; "
                             f"cannot stream it with an overlap buffer")
        length *= 2


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
    pre-roll). :meth:`run` streams a whole signal and returns output aligned with it.

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

    def reset(self) -> None:
        """Forget the past: the buffer (or the model's states) back to zeros, as before the start of a signal."""
        if self.plan.stateful:
            self.fn.reset()
        else:
            self._buffer = np.zeros(self.plan.window, np.float32)

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

    def run(self, x: np.ndarray, progress: bool = False, desc: str = "stream") -> np.ndarray:
        """Stream the whole low-rate signal ``x`` (``[time]``) and return ``[time * ratio]`` aligned output.

        The last frame is completed with zeros and zeros are fed after the signal until the lookahead
        has been flushed. Resets the buffer first.
        """
        from tqdm import tqdm

        x = np.asarray(x, np.float32).reshape(-1)
        if x.size == 0:
            raise ValueError("StreamingUpsampler.run: empty signal")
        f, r = self.plan.frame, self.plan.ratio
        n_calls = -(-(x.size + self.plan.lookahead) // f)
        padded = np.zeros(n_calls * f, np.float32)
        padded[:x.size] = x
        self.reset()
        out = [self.process(padded[k * f:(k + 1) * f])
               for k in tqdm(range(n_calls), desc=desc, unit="frame", disable=not progress, leave=False)]
        y = np.concatenate(out)
        return y[self.delay:self.delay + x.size * r]
