"""Repository entry points of the edge tools (``python -m edge.convert ...`` from a clone).

Each module is a few lines over :mod:`keras_audiosr.export`, where the code lives (installed users run
``keras-audiosr export ...`` or ``python -m keras_audiosr.export.convert ...``):

* ``python -m edge.convert``   -- a trained ``.keras`` model -> a checked ``.tflite`` through the ordered
  conversion gates (:mod:`keras_audiosr.export.convert`); ``--streaming`` for the stateful form
* ``python -m edge.benchmark`` -- exported models side by side: MACs, size, latency, RTF, memory
* ``python -m edge.compare``   -- models and their variants side by side on evaluation audio

The runtime that plays the exported files needs no TensorFlow: :mod:`keras_audiosr.streaming`.
``edge/native/`` holds the C++ streaming example.
"""
