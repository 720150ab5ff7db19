"""Export: a trained Keras model -> a checked ``.tflite`` (fixed-window or stateful streaming), and the tools
around it. The runtime that plays the files is :mod:`keras_audiosr.streaming` (no TensorFlow).

* :mod:`~keras_audiosr.export.modes` -- the named precision modes (float, dynamic, float16, int8, int16x8,
  qat; streaming: float, int8, int8-pcm16)
* :mod:`~keras_audiosr.export.conversion` -- the conversion as an explicit, ordered list of named gates
  (:data:`~keras_audiosr.export.conversion.CONVERSION_GATES`) and :class:`GatedExporter`, which runs it
* :mod:`~keras_audiosr.export.window` and :mod:`~keras_audiosr.export.stateful` -- the two exported forms
* :mod:`~keras_audiosr.export.convert`, :mod:`~keras_audiosr.export.compare`,
  :mod:`~keras_audiosr.export.benchmark` -- the commands (``keras-audiosr export``, ``python -m edge.convert``
  from a clone, ...)
* :mod:`~keras_audiosr.export.tflite` (Keras -> ``.tflite``), :mod:`~keras_audiosr.export.qat`
  (quantization-aware fine-tuning), :mod:`~keras_audiosr.export.calibration` (training audio for both)
* :mod:`~keras_audiosr.export.gates`, :mod:`~keras_audiosr.export.opcheck`,
  :mod:`~keras_audiosr.export.graphstats`, :mod:`~keras_audiosr.export.armnn` -- the checks
* :mod:`~keras_audiosr.export.metadata` -- the description written into each ``.tflite`` and its sidecar

Importing a module here loads no TensorFlow; the functions that convert or train import it.
"""
