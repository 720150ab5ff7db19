"""Edge deployment of keras_audiosr models: checked LiteRT (``.tflite``) export, streaming, benchmarks, reports.

* ``python -m edge.convert``   -- gated conversion in a named precision mode (:mod:`edge.convert`);
  ``--streaming`` for the stateful frame + state form of models that have one (:mod:`edge.stateful`)
* ``python -m edge.benchmark`` -- size, latency, real-time factor, peak memory (:mod:`edge.benchmark`)
* ``python -m edge.compare``   -- the quantized-vs-float quality table (:mod:`edge.compare`)

Names are imported lazily, so the runtime side (:mod:`edge.runtime`, :mod:`edge.metadata`) loads
without TensorFlow.
"""
import importlib

__all__ = ["MODES", "Exporter", "convert_model", "read_metadata", "TFLiteModel", "TFLiteError", "StreamingUpsampler",
           "StreamingPlan", "make_plan", "receptive_field", "check_builtin_ops", "NonBuiltinOpError", "ParityError",
           "STREAMING_MODES", "StatefulTFLiteModel", "export_streaming"]

_WHERE = {
    "MODES": "edge.export", "Exporter": "edge.convert", "convert_model": "edge.convert", "ParityError": "edge.convert",
    "read_metadata": "edge.metadata", "TFLiteModel": "edge.runtime", "TFLiteError": "edge.metadata",
    "StreamingUpsampler": "edge.streaming", "StreamingPlan": "edge.streaming", "make_plan": "edge.streaming",
    "receptive_field": "edge.streaming", "check_builtin_ops": "edge.opcheck", "NonBuiltinOpError": "edge.opcheck",
    "STREAMING_MODES": "edge.stateful", "StatefulTFLiteModel": "edge.stateful", "export_streaming": "edge.stateful",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'edge' has no attribute {name!r}")
