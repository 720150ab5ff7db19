"""The streaming runtime: shipped and exported models run frame by frame, without TensorFlow.

* :mod:`~keras_audiosr.streaming.plan`: the geometry of a stream (:class:`StreamingPlan`: frame,
  context, lookahead, latency), for window models and stateful models;
* :mod:`~keras_audiosr.streaming.upsampler`: :class:`StreamingUpsampler`, which feeds a frame model
  a signal of any length, block by block, and returns output aligned with the input;
* :mod:`~keras_audiosr.streaming.runtime`: :class:`TFLiteModel` (a window ``.tflite``) and
  :class:`StatefulTFLiteModel` (a stateful ``.tflite``: frame and state tensors) on the LiteRT interpreter;
* :mod:`~keras_audiosr.streaming.metadata`: the ``keras_audiosr`` metadata inside a ``.tflite``;
* :mod:`~keras_audiosr.streaming.keras_runner`: the Keras model as a frame function (the float
  reference; the only part that needs TensorFlow, imported when called).

Everything here imports only numpy and, when a model is loaded, ``ai_edge_litert``::

    from keras_audiosr.streaming import StreamingUpsampler
    up = StreamingUpsampler.from_tflite("model_stream_int8.tflite")
    y = up.run(x)   # x: low-rate samples [time]; y: [time * ratio]

The export side (writing these files) is :mod:`keras_audiosr.export`.
"""

from keras_audiosr.streaming.metadata import (
    METADATA_FORMAT,
    METADATA_NAME,
    TFLiteError,
    read_metadata,
)
from keras_audiosr.streaming.plan import (
    StreamingPlan,
    has_stateful_form,
    make_plan,
    stateful_plan,
)
from keras_audiosr.streaming.runtime import (
    StatefulTFLiteModel,
    TFLiteModel,
    dequantize,
    quantize,
)
from keras_audiosr.streaming.upsampler import StreamingUpsampler

__all__ = [
    "METADATA_FORMAT",
    "METADATA_NAME",
    "StatefulTFLiteModel",
    "StreamingPlan",
    "StreamingUpsampler",
    "TFLiteError",
    "TFLiteModel",
    "dequantize",
    "has_stateful_form",
    "make_plan",
    "quantize",
    "read_metadata",
    "stateful_plan",
]
