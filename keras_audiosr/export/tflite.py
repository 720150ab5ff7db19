"""Keras -> SavedModel (``model.export``) -> ``.tflite``, in a named precision mode
(:data:`keras_audiosr.export.modes.MODES`).

Conversion always goes through ``model.export`` (a SavedModel); converting a ``tf.function`` that
captures Keras variables leaves READ_VARIABLE ops that fail at run time. A model whose input shapes
are fully known (batch included) is exported with exactly those shapes, so the ``.tflite`` is static:
no SHAPE/PACK ops computing shapes at run time (see :mod:`keras_audiosr.export.opcheck`). The converter's own
console chatter is filtered out (:func:`keras_audiosr.utils.filtered_stderr`); its errors are kept.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable

from keras_audiosr.export.logs import quiet_absl
from keras_audiosr.export.modes import MODES, QUANTIZED_MODES, check_mode
from keras_audiosr.export.opcheck import NonBuiltinOpError, flex_ops_in_error
from keras_audiosr.utils import filtered_stderr

__all__ = [
    "MODES",
    "QUANTIZED_MODES",
    "check_mode",
    "convert_keras",
    "convert_saved_model",
    "export_saved_model",
    "static_input_signature",
]


def static_input_signature(keras_model):
    """The export signature of ``keras_model`` with every input dim as built (batch included), or None.

    ``model.export`` replaces the batch dim by None unless told otherwise, and the converter then
    computes shapes at run time (SHAPE, PACK, dynamic RESHAPE). None when some dim is unknown.
    """
    import keras

    inputs = list(keras_model.inputs or [])
    if not inputs or any(d is None for x in inputs for d in x.shape):
        return None

    def spec(x):
        return keras.InputSpec(shape=tuple(int(d) for d in x.shape), dtype=x.dtype, name=x.name)

    if isinstance(keras_model, keras.Sequential):
        return [spec(x) for x in inputs]
    structure = getattr(keras_model, "_inputs_struct", inputs)  # what keras.export itself maps over
    return [keras.tree.map_structure(spec, structure)]


@contextlib.contextmanager
def _plain_tf_add():
    """While tracing for export, ``keras.ops.add`` is a plain ``tf.add``.

    Keras 3's TensorFlow backend turns ``a + b`` into ``BiasAdd`` whenever ``b``'s static shape
    squeezes to one axis that matches an axis of ``a``: with a batch of 1 and one channel
    (``[1, T, 1] + [1, T, 1]``, e.g. a residual waveform sum) that is an NCHW ``BiasAdd`` on a rank-3
    tensor, which the TFLite converter cannot lower ("'tf.Transpose' op x should be of the same rank
    with y"). The sum itself is unchanged.
    """
    import tensorflow as tf
    from keras.src import backend

    if backend.backend() != "tensorflow":
        yield
        return
    module = backend.numpy
    original = module.add

    def add(x1, x2):
        if isinstance(x1, tf.SparseTensor) or isinstance(x2, tf.SparseTensor):
            return original(x1, x2)
        x1 = x1 if isinstance(x1, (int, float)) else backend.convert_to_tensor(x1)
        x2 = x2 if isinstance(x2, (int, float)) else backend.convert_to_tensor(x2)
        dtype = backend.result_type(getattr(x1, "dtype", type(x1)), getattr(x2, "dtype", type(x2)))
        return tf.add(backend.convert_to_tensor(x1, dtype), backend.convert_to_tensor(x2, dtype))

    module.add = add
    try:
        yield
    finally:
        module.add = original


def export_saved_model(keras_model, directory) -> str:
    """``keras_model.export(directory)`` (TF SavedModel with a ``serve`` signature); returns the directory.

    Fully known input shapes are kept static (:func:`static_input_signature`).
    """
    signature = static_input_signature(keras_model)
    with _plain_tf_add():
        keras_model.export(str(directory), format="tf_saved_model", verbose=False, input_signature=signature)
    return str(directory)


def convert_saved_model(
    saved_model_dir,
    mode: str,
    representative: Callable[[], Iterable] | None = None,
    allow_flex: bool = False,
    what: str | None = None,
) -> bytes:
    """Convert a SavedModel to ``.tflite`` bytes in ``mode``.

    ``representative`` (``int8``, ``int16x8``) is a callable returning an iterable of ``[input]``
    lists. Without ``allow_flex`` only builtin ops are allowed and a conversion that needs others
    raises :class:`keras_audiosr.export.opcheck.NonBuiltinOpError` naming them (and ``what``, default the folder);
    with it, Flex and custom ops are let through so that :func:`keras_audiosr.export.opcheck.check_builtin_ops` can
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
        with filtered_stderr(), quiet_absl():
            return bytes(converter.convert())
    except Exception as e:  # ConverterError; its text names the unsupported TF ops
        text = str(e)
        unsupported = any(k in text.lower() for k in ("custom op", "flex op", "not supported", "select_tf_ops"))
        ops = flex_ops_in_error(text) if unsupported else []
        if ops:
            raise NonBuiltinOpError(
                f"{what or saved_model_dir}: conversion to TFLite builtins failed; ops without a "
                "builtin "
                f"kernel: {', '.join(ops)}",
                ops,
            ) from e
        raise


def convert_keras(keras_model, mode: str, representative=None, allow_flex: bool = False) -> bytes:
    """:func:`export_saved_model` into a temporary folder, then :func:`convert_saved_model`."""
    with tempfile.TemporaryDirectory(prefix="keras_audiosr_edge_") as tmp:
        export_saved_model(keras_model, tmp)
        return convert_saved_model(
            tmp, mode, representative=representative, allow_flex=allow_flex, what=f"model {keras_model.name!r}"
        )
