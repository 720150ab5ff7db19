"""Running exported models under the LiteRT interpreter (``ai_edge_litert``), float in, float out.

:class:`TFLiteModel` hides the integer input/output of quantized models: it quantizes the float
input with the input tensor's scale and zero-point (rounding, clipping to the integer range), and
dequantizes the output, exactly as a device app does with the values in the model's metadata.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.logs import quiet_native_stderr
from edge.metadata import TFLiteError, load_flatbuffer, read_metadata

__all__ = ["TFLiteModel", "TFLiteError", "quantize", "dequantize"]


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """``clip(round(x / scale) + zero_point)`` in ``dtype`` (float dtypes pass through)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.asarray(x, dtype=dtype)
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, np.float64) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``(q - zero_point) * scale`` as float32 (float arrays pass through)."""
    q = np.asarray(q)
    if q.dtype.kind == "f":
        return q.astype(np.float32, copy=False)
    return ((q.astype(np.float64) - zero_point) * scale).astype(np.float32)


class TFLiteModel:
    """One exported model: ``y = model(x)`` maps a float low-rate window ``[input_length]`` to float ``[output_length]``.

    Args:
        source: Path of a ``.tflite`` file or its bytes.
        num_threads: Interpreter threads (XNNPACK, the default CPU delegate, uses them for float and int8 ops).
        xnnpack: Apply the default XNNPACK delegate (False runs the builtin kernels alone: another code
            path, used to bound how much results may differ between runtimes).
    """

    def __init__(self, source, num_threads: int = 1, xnnpack: bool = True):
        data, self.name = load_flatbuffer(source)
        self._data = data  # the interpreter reads from this buffer
        self.path = None if isinstance(source, (bytes, bytearray, memoryview)) else Path(source)
        self.size_bytes = len(data)
        try:
            with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on fd 2
                self._load(data, num_threads, xnnpack)
        except TFLiteError:
            raise
        except Exception as e:  # the interpreter raises ValueError/RuntimeError for a damaged model
            raise TFLiteError(f"{self.name}: cannot load the TFLite model ({type(e).__name__}: {e})") from e
        try:
            self.metadata = read_metadata(data)
        except TFLiteError:
            self.metadata = None
        self.input_dtype = np.dtype(self._in["dtype"])
        self.output_dtype = np.dtype(self._out["dtype"])
        self.input_quant = tuple(self._in["quantization"])
        self.output_quant = tuple(self._out["quantization"])
        self.input_length = int(self.input_shape[1])
        self.output_length = int(self._out["shape"][1])

    def _load(self, data: bytes, num_threads: int, xnnpack: bool) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.interpreter = Interpreter(model_content=data, num_threads=int(num_threads),
                                       experimental_op_resolver_type=resolver)
        inp = self.interpreter.get_input_details()
        out = self.interpreter.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise TFLiteError(f"{self.name}: expected one input and one output tensor, found {len(inp)} and {len(out)}")
        self._in, self._out = inp[0], out[0]
        shape = tuple(int(d) for d in self._in["shape_signature"])
        self.input_shape = tuple(1 if d < 0 else d for d in shape)
        self.interpreter.resize_tensor_input(self._in["index"], self.input_shape, strict=False)
        self.interpreter.allocate_tensors()
        # Output shapes of a model exported with a dynamic batch are only known after one invoke.
        self.interpreter.set_tensor(self._in["index"], np.zeros(self.input_shape, self._in["dtype"]))
        self.interpreter.invoke()
        self._out = self.interpreter.get_output_details()[0]

    def invoke_raw(self, q: np.ndarray) -> np.ndarray:
        """Run on an input already in the model's dtype and shape; the raw output tensor (a copy)."""
        self.interpreter.set_tensor(self._in["index"], q)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._out["index"]).copy()

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.ndim == 1:
            x = x[None, :, None]
        if x.shape != self.input_shape:
            raise ValueError(f"{self.name}: input of shape {x.shape}; the model takes {self.input_shape} "
                             f"({self.input_length} low-rate samples)")
        return quantize(x, *self.input_quant, self.input_dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Float ``[input_length]`` (or ``[1, input_length, 1]``) -> float32 ``[output_length]``."""
        return dequantize(self.invoke_raw(self.quantize_input(x)), *self.output_quant).reshape(-1)

    def __repr__(self):
        return (f"TFLiteModel({self.name!r}, input {self.input_shape} {self.input_dtype.name}, "
                f"output [{self.output_length}] {self.output_dtype.name})")
