"""The Keras model itself as a frame function of a stream (the float reference of every export).

:func:`keras_frame_fn` runs a window plan's fixed-shape model (:func:`streaming_keras_model`);
:class:`KerasStatefulRunner` a stateful model's streaming form, keeping its states. These need
TensorFlow and Keras (imported by the functions); the rest of :mod:`keras_audiosr.streaming` does not.
"""

from __future__ import annotations

import numpy as np

from keras_audiosr.streaming.plan import StreamingPlan, check_stateful

__all__ = ["KerasStatefulRunner", "keras_frame_fn", "streaming_keras_model"]


def streaming_keras_model(model, plan: StreamingPlan):
    """A fixed-shape Keras model ``[1, window, 1] -> [1, frame * ratio, 1]`` (the centre frame's output).

    Its shapes are static, so the padding inside the wrapped model is resolved at export time.
    """
    import keras

    inputs = keras.Input(batch_shape=(1, plan.window, 1), name="low_rate")
    y = model(inputs)
    start = plan.context * plan.ratio
    outputs = y[:, start : start + plan.frame * plan.ratio, :]
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


class KerasStatefulRunner:
    """Streams a Keras model's stateful form: ``runner(frame [F]) -> [F * ratio]``, keeping the states."""

    def __init__(self, model, frame: int):
        import tensorflow as tf

        check_stateful(model)
        self.frame = model.check_frame(frame)
        self.ratio = int(model.ratio)
        self.specs = model.state_specs()
        stream = model.streaming_model(self.frame)
        self._fn = tf.function(lambda inputs: stream(inputs, training=False))
        self.reset()

    def reset(self) -> None:
        self.states = {s["input"]: np.zeros(s["shape"], np.float32) for s in self.specs}

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, np.float32).reshape(1, self.frame, 1)
        out = self._fn({"frame": frame, **self.states})
        for s in self.specs:
            self.states[s["input"]] = out[s["output"]].numpy()
        return out["output"].numpy().reshape(-1)
