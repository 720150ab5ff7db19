"""Running exported models under the LiteRT interpreter (``ai_edge_litert``), float in, float out; no TensorFlow.

:class:`TFLiteModel` hides the integer input/output of quantized models: it quantizes the float
input with the input tensor's scale and zero-point (rounding, clipping to the integer range), and
dequantizes the output, exactly as a device app does with the values in the model's metadata.
:class:`StatefulTFLiteModel` runs a stateful streaming export frame by frame, keeping its state tensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_audiosr.streaming.metadata import TFLiteError, load_flatbuffer, read_metadata
from keras_audiosr.utils import quiet_native_stderr

__all__ = ["SIGNATURE", "StatefulTFLiteModel", "TFLiteError", "TFLiteModel", "dequantize", "quantize"]

# The signature a stateful streaming export is called through (frame and state tensors by name).
SIGNATURE = "serving_default"


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
    """One exported model: ``y = model(x)`` maps a float low-rate window ``[input_length]`` to float
    ``[output_length]``.

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
        self.interpreter = Interpreter(
            model_content=data, num_threads=int(num_threads), experimental_op_resolver_type=resolver
        )
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
            raise ValueError(
                f"{self.name}: input of shape {x.shape}; the model takes {self.input_shape} "
                f"({self.input_length} low-rate samples)"
            )
        return quantize(x, *self.input_quant, self.input_dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Float ``[input_length]`` (or ``[1, input_length, 1]``) -> float32 ``[output_length]``."""
        return dequantize(self.invoke_raw(self.quantize_input(x)), *self.output_quant).reshape(-1)

    def __repr__(self):
        return (
            f"TFLiteModel({self.name!r}, input {self.input_shape} {self.input_dtype.name}, "
            f"output [{self.output_length}] {self.output_dtype.name})"
        )


class StatefulTFLiteModel:
    """Runs an exported stateful ``.tflite`` frame by frame: ``m(frame float [F]) -> float [F * ratio]``.

    The states live here between calls, initialised from the metadata (zeros, or the int8 zero point);
    audio is quantized/dequantized at the boundary as the metadata says (int16 PCM for ``int8-pcm16``).

    Args:
        source: ``.tflite`` path or bytes with ``keras_audiosr`` stateful metadata.
        num_threads: Interpreter threads.
        xnnpack: Use the default XNNPACK delegate (False: builtin kernels only).
    """

    def __init__(self, source, num_threads: int = 1, xnnpack: bool = True):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        data, self.name = load_flatbuffer(source)
        self._data = data
        self.size_bytes = len(data)
        self.metadata = read_metadata(data)
        if not self.metadata.get("stateful"):
            raise TFLiteError(f"{self.name}: not a stateful streaming model (its metadata has no state tensors)")
        try:
            resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            self.interpreter = Interpreter(
                model_content=data, num_threads=int(num_threads), experimental_op_resolver_type=resolver
            )
            self.interpreter.allocate_tensors()
            runner = self.interpreter.get_signature_runner(self.metadata.get("signature", SIGNATURE))
            self._in = runner.get_input_details()
            self._out = runner.get_output_details()
            del runner
        except Exception as e:
            raise TFLiteError(f"{self.name}: cannot load the stateful TFLite model ({type(e).__name__}: {e})") from e
        self.states_meta = self.metadata["states"]
        self.frame = int(self.metadata["frame_length"])
        self.ratio = int(self.metadata["ratio"])
        self.input_length, self.output_length = self.frame, self.frame * self.ratio
        audio_in, audio_out = self.metadata["input"], self.metadata["output"]
        for label, details, want in (
            ("input", self._in, [audio_in["name"]] + [s["input"] for s in self.states_meta]),
            ("output", self._out, [audio_out["name"]] + [s["output"] for s in self.states_meta]),
        ):
            missing = sorted(set(want) - set(details))
            if missing:
                raise TFLiteError(f"{self.name}: metadata names {label} tensors {missing} that the model does not have")
        self.reset()

    def reset(self) -> None:
        """Start a new stream: every state at its initial value (the quantized zero)."""
        self.states = {
            s["input"]: np.full(s["shape"], s["initial_value"], np.dtype(s["dtype"])) for s in self.states_meta
        }

    def invoke_raw(self, frame_q: np.ndarray, states: dict) -> dict:
        """One invocation on raw tensors (model dtypes); returns every output tensor by signature name."""
        it = self.interpreter
        it.set_tensor(self._in[self.metadata["input"]["name"]]["index"], frame_q)
        for name, value in states.items():
            it.set_tensor(self._in[name]["index"], value)
        it.invoke()
        return {name: it.get_tensor(d["index"]).copy() for name, d in self._out.items()}

    def quantize_frame(self, frame: np.ndarray) -> np.ndarray:
        spec = self.metadata["input"]
        x = np.asarray(frame, np.float32).reshape(spec["shape"])
        return quantize(x, spec["scale"] or 0.0, spec["zero_point"] or 0, spec["dtype"])

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, np.float32).reshape(-1)
        if frame.size != self.frame:
            raise ValueError(f"{self.name}: frame of {frame.size} samples; the model takes {self.frame}")
        out = self.invoke_raw(self.quantize_frame(frame), self.states)
        for s in self.states_meta:
            self.states[s["input"]] = out[s["output"]]
        spec = self.metadata["output"]
        return dequantize(out[spec["name"]], spec["scale"] or 0.0, spec["zero_point"] or 0).reshape(-1)

    def __repr__(self):
        return (
            f"StatefulTFLiteModel({self.name!r}, mode {self.metadata.get('mode')}, frame {self.frame}, "
            f"{len(self.states_meta)} states)"
        )
