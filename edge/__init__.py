"""Edge deployment of keras_audiosr models: checked LiteRT (``.tflite``) export, streaming, benchmarks, reports.

* ``python -m edge.convert``   -- conversion through an ordered list of gates (:mod:`edge.convert`,
  :mod:`edge.gates`): export, builtin ops, float parity, quantize, static graph, parity, fixtures,
  second runtime (Arm NN), write; ``--streaming`` for the stateful frame + state form of models that
  have one (:mod:`edge.stateful`)
* ``python -m edge.benchmark`` -- models side by side: MACs, parameters, size, latency, RTF, memory
* ``python -m edge.compare``   -- models and their variants side by side on evaluation audio

Names are imported lazily, so the runtime side (:mod:`edge.runtime`, :mod:`edge.metadata`) loads
without TensorFlow.
"""
import importlib

__all__ = ["MODES", "Exporter", "convert_model", "CONVERSION_GATES", "read_metadata", "TFLiteModel", "TFLiteError",
           "StreamingUpsampler", "StreamingPlan", "make_plan", "receptive_field", "shift_period", "check_builtin_ops",
           "NonBuiltinOpError", "check_static_graph", "static_graph_report", "StaticGraphError", "EMBEDDED_OPS",
           "ParityError", "GateFailed", "Gate", "run_gates", "graph_stats", "armnn_status", "run_armnn",
           "STREAMING_MODES", "StatefulTFLiteModel", "export_streaming", "GatedExporter", "StreamingExporter",
           "check_operators"]

_WHERE = {
    "MODES": "edge.export", "Exporter": "edge.convert", "convert_model": "edge.convert", "ParityError": "edge.convert",
    "CONVERSION_GATES": "edge.convert", "read_metadata": "edge.metadata", "TFLiteModel": "edge.runtime",
    "TFLiteError": "edge.metadata", "StreamingUpsampler": "edge.streaming", "StreamingPlan": "edge.streaming",
    "make_plan": "edge.streaming", "receptive_field": "keras_audiosr.models.geometry",
    "shift_period": "keras_audiosr.models.geometry", "check_builtin_ops": "edge.opcheck",
    "NonBuiltinOpError": "edge.opcheck", "check_static_graph": "edge.opcheck", "static_graph_report": "edge.opcheck",
    "StaticGraphError": "edge.opcheck", "EMBEDDED_OPS": "edge.opcheck", "GateFailed": "edge.gates",
    "Gate": "edge.gates", "run_gates": "edge.gates", "graph_stats": "edge.graphstats",
    "armnn_status": "edge.armnn", "run_armnn": "edge.armnn",
    "STREAMING_MODES": "edge.stateful", "StatefulTFLiteModel": "edge.stateful", "export_streaming": "edge.stateful",
    "GatedExporter": "edge.convert", "StreamingExporter": "edge.stateful", "check_operators": "edge.armnn",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'edge' has no attribute {name!r}")
