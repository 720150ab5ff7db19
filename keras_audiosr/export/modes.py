"""The named precision modes of an export, and their checks (no TensorFlow: the command line checks
its arguments with them before loading anything).

Fixed-window models (:data:`MODES`):

* ``float``   -- float32 weights and activations (the reference).
* ``dynamic`` -- int8 weights, float activations (dynamic-range quantization; float input/output).
* ``float16`` -- float16 weights, float32 compute (float input/output).
* ``int8``    -- full integer: int8 weights and activations, int8 input and output, calibrated on
  training audio windows.
* ``int16x8`` -- int16 activations, int8 weights, int16 input and output, calibrated likewise.
* ``qat``     -- the model is fine-tuned with fake quantization first (:mod:`keras_audiosr.export.qat`), then
  converted to full integer int8 from the learnt ranges.

Stateful streaming models (:data:`STREAMING_MODES`, :mod:`keras_audiosr.export.stateful`):

* ``float`` -- float32 throughout (the reference).
* ``int8`` -- an int8 core with int8 state tensors, float audio in and out.
* ``int8-pcm16`` -- the same with int16 PCM audio in and out.
"""

from __future__ import annotations

__all__ = ["MODES", "QUANTIZED_MODES", "STREAMING_MODES", "check_mode", "check_streaming_mode"]

MODES = ("float", "dynamic", "float16", "int8", "int16x8", "qat")
QUANTIZED_MODES = MODES[1:]
STREAMING_MODES = ("float", "int8", "int8-pcm16")


def check_mode(mode: str) -> str:
    """``mode`` if it names a mode, else ValueError listing the valid ones."""
    if mode not in MODES:
        raise ValueError(
            f"unknown quantization mode {mode!r}; choose one of: {', '.join(MODES)} "
            f"(quantized: {', '.join(QUANTIZED_MODES)})"
        )
    return mode


def check_streaming_mode(mode: str) -> str:
    """``mode`` if it names a stateful streaming mode, else ValueError listing them."""
    if mode not in STREAMING_MODES:
        raise ValueError(f"unknown streaming mode {mode!r}; choose one of: {', '.join(STREAMING_MODES)}")
    return mode
