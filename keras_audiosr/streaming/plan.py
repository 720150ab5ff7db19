"""The geometry of a stream (:class:`StreamingPlan`): stateful models, or any model through an overlap buffer.

Models with a stateful streaming form (:class:`keras_audiosr.models.StreamingBWE`) are driven
directly: each call takes one frame and the state tensors and returns the output frame and the new
states (:mod:`keras_audiosr.export.stateful` exports them); nothing is recomputed and the plan has no context window
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

This module needs no TensorFlow: :func:`make_plan` and :func:`stateful_plan` only read the model's
attributes (a window plan measures the receptive field with Keras, imported by that function alone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["StreamingPlan", "check_stateful", "has_stateful_form", "make_plan", "stateful_plan"]


@dataclass(frozen=True)
class StreamingPlan:
    """Window geometry in low-rate samples: the model takes ``window = context + frame + lookahead``
    and emits ``frame * ratio`` high-rate samples (those of the centre frame).

    A ``stateful`` plan (:func:`stateful_plan`) has no context: the model takes one
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
        for name in ("frame",) if self.stateful else ("frame", "context", "lookahead"):
            v = int(getattr(self, name))
            if v < 0 or v % self.period:
                raise ValueError(
                    f"StreamingPlan.{name}={v} must be a non-negative multiple of the model's shift "
                    f"period {self.period} (strided convolutions are shift-equivariant only by it)"
                )

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
        d.update(
            window=self.window,
            frame_ms=self.frame_ms,
            latency_samples=self.latency_samples,
            latency_ms=self.latency_ms,
            exact=self.exact,
        )
        return d

    @classmethod
    def from_dict(cls, d: dict) -> StreamingPlan:
        fields = (
            "ratio",
            "lr_rate",
            "frame",
            "context",
            "lookahead",
            "period",
            "receptive_context",
            "receptive_lookahead",
            "stateful",
        )
        return cls(**{k: d[k] for k in fields if k in d})


def _round_up(n: int, m: int) -> int:
    return -(-int(n) // m) * m


def make_plan(
    model,
    frame: int | None = None,
    frame_ms: float | None = None,
    context: int | None = None,
    lookahead: int | None = None,
) -> StreamingPlan:
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
    return StreamingPlan(
        ratio=int(model.ratio),
        lr_rate=lr_rate,
        frame=_round_up(frame, period),
        context=context,
        lookahead=lookahead,
        period=period,
        receptive_context=rf_context,
        receptive_lookahead=rf_lookahead,
    )


def has_stateful_form(model) -> bool:
    """Whether ``model`` can be exported as a stateful stream (``streaming_model`` and ``state_specs``)."""
    return callable(getattr(model, "streaming_model", None)) and callable(getattr(model, "state_specs", None))


def check_stateful(model):
    """ValueError unless ``model`` has a stateful streaming form (:func:`has_stateful_form`)."""
    if not has_stateful_form(model):
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} ({type(model).__name__}) has no stateful streaming "
            f"form (streaming_model/state_specs); export it without --streaming (window form)"
        )


def stateful_plan(model, frame: int | None = None, frame_ms: float | None = None):
    """The :class:`StreamingPlan` of a stateful stream: no context window, the model's lookahead."""
    check_stateful(model)
    if frame is not None and frame_ms is not None:
        raise ValueError("give frame (samples) or frame_ms, not both")
    frame = model.frame_length(10.0 if frame_ms is None else frame_ms) if frame is None else model.check_frame(frame)
    return StreamingPlan(
        ratio=int(model.ratio),
        lr_rate=int(model.lr_rate),
        frame=int(frame),
        context=0,
        lookahead=int(model.lookahead),
        period=int(getattr(model, "fold", 1)),
        receptive_context=0,
        receptive_lookahead=int(model.lookahead),
        stateful=True,
    )
