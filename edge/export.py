"""Keras -> SavedModel (``model.export``) -> ``.tflite``, in a named precision mode.

Modes (:data:`MODES`):

* ``float``   -- float32 weights and activations (the reference).
* ``dynamic`` -- int8 weights, float activations (dynamic-range quantization; float input/output).
* ``float16`` -- float16 weights, float32 compute (float input/output).
* ``int8``    -- full integer: int8 weights and activations, int8 input and output, calibrated on
  training audio windows.
* ``int16x8`` -- int16 activations, int8 weights, int16 input and output, calibrated likewise.
* ``qat``     -- the model is fine-tuned with fake quantization first (:mod:`edge.qat`), then
  converted to full integer int8 from the learnt ranges.

Conversion always goes through ``model.export`` (a SavedModel); converting a ``tf.function`` that
captures Keras variables leaves READ_VARIABLE ops that fail at run time.
"""
from __future__ import annotations

import tempfile
from typing import Callable, Iterable

import numpy as np

from edge.opcheck import NonBuiltinOpError, flex_ops_in_error

__all__ = ["MODES", "QUANTIZED_MODES", "check_mode", "export_saved_model", "convert_saved_model", "convert_keras"]

MODES = ("float", "dynamic", "float16", "int8", "int16x8", "qat")
QUANTIZED_MODES = MODES[1:]
INTEGER_IO = {"int8": np.int8, "int16x8": np.int16, "qat": np.int8}


def check_mode(mode: str) -> str:
    """``mode`` if it names a mode, else ValueError listing the valid ones."""
    if mode not in MODES:
        raise ValueError(f"unknown quantization mode {mode!r}; choose one of: {', '.join(MODES)} "
                         f"(quantized: {', '.join(QUANTIZED_MODES)})")
    return mode


def export_saved_model(keras_model, directory) -> str:
    """``keras_model.export(directory)`` (TF SavedModel with a ``serve`` signature); returns the directory."""
    keras_model.export(str(directory), format="tf_saved_model", verbose=False)
    return str(directory)


def convert_saved_model(saved_model_dir, mode: str, representative: Callable[[], Iterable] | None = None,
                        allow_flex: bool = False, what: str | None = None) -> bytes:
    """Convert a SavedModel to ``.tflite`` bytes in ``mode``.

    ``representative`` (``int8``, ``int16x8``) is a callable returning an iterable of ``[input]``
    lists. Without ``allow_flex`` only builtin ops are allowed and a conversion that needs others
    raises :class:`edge.opcheck.NonBuiltinOpError` naming them (and ``what``, default the folder);
    with it, Flex and custom ops are let through so that :func:`edge.opcheck.check_builtin_ops` can
    name them in the flatbuffer.
    """
    import tensorflow as tf

    check_mode(mode)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    builtins = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode in ("int8", "int16x8"):
        if representative is None:
            raise ValueError(f"mode {mode!r} needs a representative dataset (calibration windows of training audio)")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        if mode == "int8":
            builtins = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        else:
            builtins = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int16
    elif mode == "qat":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    converter.target_spec.supported_ops = builtins + ([tf.lite.OpsSet.SELECT_TF_OPS] if allow_flex else [])
    converter.allow_custom_ops = bool(allow_flex)
    try:
        return bytes(converter.convert())
    except Exception as e:  # ConverterError; its text names the unsupported TF ops
        text = str(e)
        unsupported = any(k in text.lower() for k in ("custom op", "flex op", "not supported", "select_tf_ops"))
        ops = flex_ops_in_error(text) if unsupported else []
        if ops:
            raise NonBuiltinOpError(f"{what or saved_model_dir}: conversion to TFLite builtins failed; ops without a builtin "
                                    f"kernel: {', '.join(ops)}", ops) from e
        raise


def convert_keras(keras_model, mode: str, representative=None, allow_flex: bool = False) -> bytes:
    """:func:`export_saved_model` into a temporary folder, then :func:`convert_saved_model`."""
    with tempfile.TemporaryDirectory(prefix="keras_audiosr_edge_") as tmp:
        export_saved_model(keras_model, tmp)
        return convert_saved_model(tmp, mode, representative=representative, allow_flex=allow_flex,
                                   what=f"model {keras_model.name!r}")
