"""Stateful streaming export: one frame and the state tensors in, the output frame and the new states out.

For models with a streaming form (:class:`keras_audiosr.models.StreamingBWE`: ``streaming_model(frame)``
and ``state_specs()``), the exported ``.tflite`` recomputes nothing: each causal layer's past input
frames travel as state tensors that the caller hands back on the next call (zeros -- or their int8
zero point -- at the start of a stream). Shapes are fully static (batch 1, a fixed frame).

Modes (:data:`STREAMING_MODES`):

* ``float`` -- float32 throughout (the reference).
* ``int8`` -- the core (every learnt convolution) is full-integer int8 with int8 state tensors; the
  fixed low-band interpolation, level normalisation and band-merge filter stay float around it (the
  low band bypasses the integer core); float32 audio in and out.
* ``int8-pcm16`` -- the same model with int16 PCM audio in and out (scale 1/32768, zero point 0):
  a ``DEQUANTIZE`` after the input and a ``QUANTIZE`` before the output.

Quantization is post-training first: the fake-quantization ranges of the core are calibrated on
training audio (each range covers the 0.01st..99.99th percentiles of every calibration batch,
:func:`calibrate`); with ``qat_steps`` the model is then fine-tuned through the fake quantization
(quantization-aware training) before conversion. For the trained ``small`` StreamingBWE
post-training calibration alone keeps int8 within 0.02 PESQ-WB of float (README), so QAT is off by
default. The converter turns the
fake-quantized core into int8 kernels and leaves the rest float.

Gates (:func:`export_streaming`), each stopping the export with a clear error: builtin ops only;
float ``.tflite`` streamed frame by frame equals the Keras whole-signal output (max abs error
:data:`MAX_FLOAT_ABS_ERROR`); quantized streamed output within :data:`MIN_SNR_DB` of the float one.
"""
from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.metadata import METADATA_FORMAT, TFLiteError, add_metadata, load_flatbuffer, parse_model, read_metadata
from edge.files import write_bytes as write_bytes_atomic, write_json as write_json_atomic
from edge.runtime import dequantize, quantize

__all__ = ["STREAMING_MODES", "PCM16_SCALE", "MIN_SNR_DB", "MAX_FLOAT_ABS_ERROR", "has_stateful_form",
           "check_streaming_mode", "stateful_plan", "calibrate", "qat_finetune", "convert_streaming", "tflite_macs",
           "KerasStatefulRunner", "StatefulTFLiteModel", "StreamingExporter", "export_streaming", "convert_cli"]

STREAMING_MODES = ("float", "int8", "int8-pcm16")
PCM16_SCALE = 1.0 / 32768.0
SIGNATURE = "serving_default"
# Gates: the float .tflite against Keras (whole signal vs frame by frame), each quantized mode against float.
MAX_FLOAT_ABS_ERROR = 1e-4
MIN_SNR_DB = {"float": 60.0, "int8": 30.0, "int8-pcm16": 30.0}


def has_stateful_form(model) -> bool:
    """Whether ``model`` can be exported as a stateful stream (``streaming_model`` and ``state_specs``)."""
    return callable(getattr(model, "streaming_model", None)) and callable(getattr(model, "state_specs", None))


def check_streaming_mode(mode: str) -> str:
    if mode not in STREAMING_MODES:
        raise ValueError(f"unknown streaming mode {mode!r}; choose one of: {', '.join(STREAMING_MODES)}")
    return mode


def _require_stateful(model):
    if not has_stateful_form(model):
        raise ValueError(f"model {getattr(model, 'name', model)!r} ({type(model).__name__}) has no stateful streaming "
                         f"form (streaming_model/state_specs); export it without --streaming (window form)")


def stateful_plan(model, frame: int | None = None, frame_ms: float | None = None):
    """The :class:`edge.streaming.StreamingPlan` of a stateful stream: no context window, the model's lookahead."""
    from edge.streaming import StreamingPlan

    _require_stateful(model)
    if frame is not None and frame_ms is not None:
        raise ValueError("give frame (samples) or frame_ms, not both")
    frame = model.frame_length(10.0 if frame_ms is None else frame_ms) if frame is None else model.check_frame(frame)
    return StreamingPlan(ratio=int(model.ratio), lr_rate=int(model.lr_rate), frame=int(frame), context=0,
                         lookahead=int(model.lookahead), period=int(getattr(model, "fold", 1)), receptive_context=0,
                         receptive_lookahead=int(model.lookahead), stateful=True)


# ---- quantization: calibration and QAT ------------------------------------------------------------
def calibrate(model, lr: np.ndarray, batch_size: int = 16) -> None:
    """Post-training calibration: each fake-quant range of the core covers the 0.01st..99.99th
    percentiles of every batch of ``lr`` windows (``keras_audiosr.layers._fake_quant``)."""
    if len(lr) == 0:
        raise ValueError("calibrate: no calibration windows")
    model.reset_quantization_ranges()
    qmodel = model.quantization_model("calibrate")
    for start in range(0, len(lr), batch_size):
        qmodel(np.asarray(lr[start:start + batch_size], np.float32), training=False)


def qat_finetune(model, lr: np.ndarray, hr: np.ndarray, steps: int, batch_size: int = 16,
                 learning_rate: float = 1e-4, seed: int = 0, verbose: int = 0, loss="mse") -> dict:
    """Quantization-aware fine-tuning of ``model``'s own weights through its fake-quantized form
    (``loss``: L2 by default; give the model's training loss to keep its balance between bands).

    Call :func:`calibrate` first: training starts from the calibrated ranges, which then follow an
    exponential moving average of each batch's.
    """
    import keras
    import tensorflow as tf

    if steps <= 0:
        return {}
    qmodel = model.quantization_model("fake")
    ds = (tf.data.Dataset.from_tensor_slices((lr.astype(np.float32), hr.astype(np.float32)))
          .shuffle(len(lr), seed=seed, reshuffle_each_iteration=True).repeat()
          .batch(batch_size, drop_remainder=len(lr) >= batch_size))
    qmodel.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return qmodel.fit(ds, steps_per_epoch=int(steps), epochs=1, verbose=verbose).history


# ---- conversion -----------------------------------------------------------------------------------
def convert_streaming(model, mode: str, frame: int) -> bytes:
    """The streaming ``.tflite`` of ``model`` at ``frame`` low-rate samples in ``mode`` (no metadata yet).

    Quantized modes use the model's current fake-quant ranges (:func:`calibrate` first).
    """
    import tensorflow as tf

    check_streaming_mode(mode)
    _require_stateful(model)
    stream = model.streaming_model(frame, quantize=None if mode == "float" else "fake")
    # An explicit signature keeps batch 1 static (model.export alone relaxes the batch to -1).
    signature = [{t.name: tf.TensorSpec(tuple(t.shape), t.dtype, name=t.name) for t in stream.inputs}]
    with tempfile.TemporaryDirectory(prefix="keras_audiosr_stream_") as tmp:
        stream.export(tmp, format="tf_saved_model", verbose=False, input_signature=signature)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if mode != "float":  # fake-quant nodes -> int8 kernels; the rest stays float
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        data = bytes(converter.convert())
    core = [s for s in model.state_specs() if s["core"]] if mode != "float" else []
    return rewire_io(data, int8_inputs=[s["input"] for s in core], int8_outputs=[s["output"] for s in core],
                     pcm16=(mode == "int8-pcm16"))


def _names():
    from ai_edge_litert import schema_py_generated as schema

    ops = vars(schema.BuiltinOperator).items()
    return schema, {v: k for k, v in ops if not k.startswith("_") and isinstance(v, int)}


def _opcode(model, schema, op) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def _opcode_index(model, schema, builtin: int, version: int = 1) -> int:
    for i, code in enumerate(model.operatorCodes):
        if max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) == builtin:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    code.version = version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _signature(model, key=SIGNATURE):
    for sig in model.signatureDefs or []:
        k = sig.signatureKey.decode() if isinstance(sig.signatureKey, bytes) else sig.signatureKey
        if k == key:
            return sig
    raise TFLiteError(f"no {key!r} signature in the converted model")


def _tensor_map(entries) -> dict:
    return {(e.name.decode() if isinstance(e.name, bytes) else e.name): e for e in entries}


def rewire_io(data: bytes, int8_inputs=(), int8_outputs=(), pcm16: bool = False) -> bytes:
    """Flatbuffer surgery on a converted model's boundary (signature names as in :meth:`streaming_model`).

    * ``int8_inputs`` / ``int8_outputs``: drop the ``QUANTIZE`` after (``DEQUANTIZE`` before) each named
      float tensor, so the int8 tensor itself is the model's input (output): int8 state passes
      through the app untouched, at the scale the core uses.
    * ``pcm16``: the audio input ``frame`` and output ``output`` become int16 PCM (scale 1/32768) with
      a ``DEQUANTIZE`` / ``QUANTIZE`` added at the boundary.
    Every input and output tensor is then named as its signature entry (``frame``, ``output``,
    ``<layer>_state``, ``<layer>_state_out``), so runtimes that bind tensors by name without reading
    signatures (Arm NN's TfLite parser) find them; unused tensors are dropped.
    """
    import flatbuffers

    schema, _ = _names()
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    sg = model.subgraphs[0]
    sig = _signature(model)
    ins, outs = _tensor_map(sig.inputs), _tensor_map(sig.outputs)
    ops = list(sg.operators)
    Q, DQ = schema.BuiltinOperator.QUANTIZE, schema.BuiltinOperator.DEQUANTIZE

    def retarget(graph_list, old, new):
        graph_list[list(graph_list).index(old)] = new

    for name in int8_inputs:
        if name not in ins:
            raise TFLiteError(f"rewire_io: no input {name!r} in the signature (have {sorted(ins)})")
        t = ins[name].tensorIndex
        users = [op for op in ops if t in list(op.inputs)]
        if len(users) != 1 or _opcode(model, schema, users[0]) != Q:
            raise TFLiteError(f"rewire_io: input {name!r} does not feed exactly one QUANTIZE (the core's int8 range)")
        q = int(users[0].outputs[0])
        ops.remove(users[0])
        sg.inputs = np.asarray(sg.inputs).copy()
        retarget(sg.inputs, t, q)
        ins[name].tensorIndex = q
        sg.tensors[q].name = sg.tensors[t].name
    for name in int8_outputs:
        if name not in outs:
            raise TFLiteError(f"rewire_io: no output {name!r} in the signature (have {sorted(outs)})")
        t = outs[name].tensorIndex
        producers = [op for op in ops if t in list(op.outputs)]
        if len(producers) != 1 or _opcode(model, schema, producers[0]) != DQ:
            raise TFLiteError(f"rewire_io: output {name!r} is not made by a DEQUANTIZE of the core's int8 tensor")
        src = int(producers[0].inputs[0])
        ops.remove(producers[0])
        sg.outputs = np.asarray(sg.outputs).copy()
        retarget(sg.outputs, t, src)
        outs[name].tensorIndex = src
        sg.tensors[src].name = sg.tensors[t].name
    if pcm16:
        def pcm_tensor(like, name):
            t = schema.TensorT()
            t.shape = np.asarray(like.shape).copy()
            t.shapeSignature = None if like.shapeSignature is None else np.asarray(like.shapeSignature).copy()
            t.type = schema.TensorType.INT16
            t.name = name
            t.buffer = len(model.buffers)
            model.buffers.append(schema.BufferT())
            t.quantization = schema.QuantizationParametersT()
            t.quantization.scale = np.asarray([PCM16_SCALE], np.float32)
            t.quantization.zeroPoint = np.asarray([0], np.int64)
            sg.tensors.append(t)
            return len(sg.tensors) - 1

        def op(code, inputs, outputs):
            o = schema.OperatorT()
            o.opcodeIndex = _opcode_index(model, schema, code)
            o.inputs = np.asarray(inputs, np.int32)
            o.outputs = np.asarray(outputs, np.int32)
            return o

        t_in = ins["frame"].tensorIndex
        p_in = pcm_tensor(sg.tensors[t_in], "frame_pcm16")
        ops.insert(0, op(DQ, [p_in], [t_in]))
        sg.inputs = np.asarray(sg.inputs).copy()
        retarget(sg.inputs, t_in, p_in)
        ins["frame"].tensorIndex = p_in
        t_out = outs["output"].tensorIndex
        p_out = pcm_tensor(sg.tensors[t_out], "output_pcm16")
        ops.append(op(Q, [t_out], [p_out]))
        sg.outputs = np.asarray(sg.outputs).copy()
        retarget(sg.outputs, t_out, p_out)
        outs["output"].tensorIndex = p_out
    sg.operators = ops
    for name, entry in list(ins.items()) + list(outs.items()):
        sg.tensors[entry.tensorIndex].name = name
    _drop_unused_tensors(sg, sig)
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _drop_unused_tensors(sg, sig) -> None:
    used = set(int(i) for i in sg.inputs) | set(int(i) for i in sg.outputs)
    for op in sg.operators:
        used |= {int(i) for i in op.inputs if i >= 0} | {int(i) for i in op.outputs}
    keep = sorted(used)
    new_index = {old: new for new, old in enumerate(keep)}
    sg.tensors = [sg.tensors[i] for i in keep]
    remap = np.vectorize(lambda i: new_index[int(i)] if i >= 0 else -1, otypes=[np.int32])
    for op in sg.operators:
        op.inputs = remap(np.asarray(op.inputs)) if len(op.inputs) else op.inputs
        op.outputs = remap(np.asarray(op.outputs))
    sg.inputs = remap(np.asarray(sg.inputs))
    sg.outputs = remap(np.asarray(sg.outputs))
    for entry in list(sig.inputs) + list(sig.outputs):
        entry.tensorIndex = new_index[int(entry.tensorIndex)]


def tflite_macs(source) -> int:
    """Multiply-accumulates of one invocation, counted from the flatbuffer's tensor shapes:
    CONV_2D (output elements x kernel taps x input channels), DEPTHWISE_CONV_2D (output elements x
    taps), FULLY_CONNECTED (output elements x input features) and MUL (output elements)."""
    schema, names = _names()
    model = parse_model(source)
    total = 0
    for sg in model.subgraphs:
        for op in sg.operators:
            name = names.get(_opcode(model, schema, op), "")
            out = int(np.prod(sg.tensors[op.outputs[0]].shape))
            if name == "CONV_2D":
                _, kh, kw, cin = sg.tensors[op.inputs[1]].shape
                total += out * int(kh) * int(kw) * int(cin)
            elif name == "DEPTHWISE_CONV_2D":
                _, kh, kw, _ = sg.tensors[op.inputs[1]].shape
                total += out * int(kh) * int(kw)
            elif name == "FULLY_CONNECTED":
                total += out * int(sg.tensors[op.inputs[1]].shape[-1])
            elif name == "MUL":
                total += out
    return total


# ---- runners --------------------------------------------------------------------------------------
class KerasStatefulRunner:
    """Streams a Keras model's stateful form: ``runner(frame [F]) -> [F * ratio]``, keeping the states."""

    def __init__(self, model, frame: int):
        import tensorflow as tf

        _require_stateful(model)
        self.frame = model.check_frame(frame)
        self.ratio = int(model.ratio)
        self.specs = model.state_specs()
        stream = model.streaming_model(self.frame)
        self._fn = tf.function(lambda inputs: stream(inputs, training=False))
        self.reset()

    def reset(self) -> None:
        self.states = {s["input"]: np.zeros(s["shape"], np.float32) for s in self.specs}

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, np.float32).reshape(1, self.frame, 1)
        out = self._fn({"frame": frame, **self.states})
        for s in self.specs:
            self.states[s["input"]] = out[s["output"]].numpy()
        return out["output"].numpy().reshape(-1)


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
            self.interpreter = Interpreter(model_content=data, num_threads=int(num_threads),
                                           experimental_op_resolver_type=resolver)
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
                ("output", self._out, [audio_out["name"]] + [s["output"] for s in self.states_meta])):
            missing = sorted(set(want) - set(details))
            if missing:
                raise TFLiteError(f"{self.name}: metadata names {label} tensors {missing} that the model does not have")
        self.reset()

    def reset(self) -> None:
        """Start a new stream: every state at its initial value (the quantized zero)."""
        self.states = {s["input"]: np.full(s["shape"], s["initial_value"], np.dtype(s["dtype"]))
                       for s in self.states_meta}

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
        return (f"StatefulTFLiteModel({self.name!r}, mode {self.metadata.get('mode')}, frame {self.frame}, "
                f"{len(self.states_meta)} states)")


def _tensor_spec(details: dict, name: str) -> dict:
    scale, zero = details["quantization"]
    dtype = np.dtype(details["dtype"])
    integer = dtype.kind == "i"
    return {"name": name, "dtype": dtype.name, "shape": [int(d) for d in details["shape"]],
            "scale": float(scale) if integer else None, "zero_point": int(zero) if integer else None}


# ---- export with gates ----------------------------------------------------------------------------
def _parity(test, reference) -> dict:
    test = np.asarray(test, np.float64).ravel()
    reference = np.asarray(reference, np.float64).ravel()
    err = test - reference
    noise = float(np.sum(err ** 2))
    snr = None if noise == 0 else 10.0 * math.log10(max(float(np.sum(reference ** 2)), 1e-30) / noise)
    return {"max_abs_error": float(np.max(np.abs(err))), "snr_db": snr}


class StreamingExporter:
    """Exports one stateful model at one frame length in any of :data:`STREAMING_MODES`, sharing the work.

    Calibration windows, QAT and parity signals come from ``train_utts`` (training audio) only.

    Args:
        model: A model with a stateful streaming form (:class:`keras_audiosr.models.StreamingBWE`).
        frame: Frame length in low-rate samples (default: 10 ms).
        train_utts: Training utterances (:func:`edge.data.training_utterances`).
        calibration_windows, calibration_length: Post-training calibration data (windows of low-rate samples).
        qat_steps, qat_batch_size, qat_learning_rate, qat_loss: Quantization-aware fine-tuning after
            calibration (0 steps: none, the default: post-training calibration is enough for StreamingBWE).
        parity_files, parity_seconds: Audio used by the parity gates.
        min_snr: Per-mode parity bounds overriding :data:`MIN_SNR_DB`.
    """

    def __init__(self, model, frame: int | None = None, train_utts=None, *, calibration_windows: int = 256,
                 calibration_length: int = 4096, qat_steps: int = 0, qat_batch_size: int = 16,
                 qat_learning_rate: float = 1e-4, qat_loss="mse", parity_files: int = 2, parity_seconds: float = 4.0,
                 min_snr: dict | None = None, progress: bool = True, seed: int = 0, log=print):
        from edge.data import training_utterances

        _require_stateful(model)
        self.model = model
        self.plan = stateful_plan(model, frame=frame)
        self.frame = self.plan.frame
        self.train_utts = list(train_utts) if train_utts is not None else training_utterances(None)
        self.calibration_windows, self.calibration_length = int(calibration_windows), int(calibration_length)
        self.qat_steps, self.qat_batch_size = int(qat_steps), int(qat_batch_size)
        self.qat_learning_rate = float(qat_learning_rate)
        self.qat_loss = qat_loss
        self.parity_files, self.parity_seconds = int(parity_files), float(parity_seconds)
        self.min_snr = {**MIN_SNR_DB, **(min_snr or {})}
        self.progress, self.seed, self.log = progress, int(seed), log or (lambda *a, **k: None)
        self._bytes = {}
        self._signals = None
        self._keras_out = None
        self._float_out = None
        self.quantization = None

    def parity_signals(self) -> list[np.ndarray]:
        """The first seconds of a few training files, degraded as in training."""
        if self._signals is None:
            from keras_audiosr.data.patches import prepare_signal
            from keras_audiosr.degrade import Degradation, trim_to_multiple

            deg = Degradation.from_dict(self.model.degradation)
            n = int(self.parity_seconds * self.model.hr_rate)
            hr_rate, ratio = int(self.model.hr_rate), int(self.model.ratio)
            self._signals = [deg(trim_to_multiple(prepare_signal(u.path, hr_rate)[:n], ratio))
                             for u in self.train_utts[:max(1, self.parity_files)]]
        return self._signals

    def _stream(self, fn) -> np.ndarray:
        from edge.streaming import StreamingUpsampler

        up = StreamingUpsampler(fn, self.plan)
        return np.concatenate([up.run(x, progress=self.progress, desc="frames") for x in self.parity_signals()])

    def keras_output(self) -> np.ndarray:
        """The Keras model on each whole parity signal (the offline reference)."""
        if self._keras_out is None:
            self._keras_out = np.concatenate([np.asarray(self.model(x[None, :, None], training=False))[0, :, 0]
                                              for x in self.parity_signals()])
        return self._keras_out

    def _quantize_model(self) -> None:
        """Calibrate the core's ranges on training windows (and run QAT when asked), once."""
        if self.quantization is not None:
            return
        from edge.data import training_windows

        t = time.monotonic()
        fold = int(getattr(self.model, "fold", 1))
        length = -(-self.calibration_length // fold) * fold
        lr, hr = training_windows(self.model, self.train_utts, length, max_windows=self.calibration_windows,
                                  seed=self.seed, progress=self.progress)
        calibrate(self.model, lr)
        info = {"method": "post-training calibration (99.99th percentiles)", "calibration_windows": int(len(lr)),
                "calibration_window_samples": int(length)}
        self.log(f"[edge] calibrated the int8 core on {len(lr)} windows of {length} samples of training audio "
                 f"({time.monotonic() - t:.1f} s)")
        if self.qat_steps > 0:
            t = time.monotonic()
            history = qat_finetune(self.model, lr, hr, self.qat_steps, self.qat_batch_size, self.qat_learning_rate,
                                   self.seed, verbose=2 if self.progress else 0, loss=self.qat_loss)
            info.update(method="post-training calibration, then quantization-aware training", qat_steps=self.qat_steps,
                        qat_final_loss=(history.get("loss") or [None])[-1])
            self.log(f"[edge] QAT: {self.qat_steps} steps ({time.monotonic() - t:.1f} s)")
            self._keras_out = None  # the float weights moved
            self._float_out = None
            self._bytes.pop("float", None)
        self.quantization = info

    def tflite_bytes(self, mode: str) -> bytes:
        """The converted model in ``mode`` (op-checked: builtin operators only)."""
        from edge.opcheck import check_builtin_ops

        check_streaming_mode(mode)
        if mode not in self._bytes:
            if mode != "float":
                self._quantize_model()
            t = time.monotonic()
            data = convert_streaming(self.model, mode, self.frame)
            check_builtin_ops(data, f"{self.model.name} (streaming {mode})")
            self._bytes[mode] = data
            self.log(f"[edge] streaming {mode} .tflite: {len(data)} bytes ({time.monotonic() - t:.1f} s)")
        return self._bytes[mode]

    def float_output(self) -> np.ndarray:
        """Gate: the float ``.tflite`` fed frame by frame equals the Keras model on the whole signal."""
        from edge.convert import ParityError

        if self._float_out is None:
            data = self.tflite_bytes("float")
            out = self._stream(StatefulTFLiteModel(self._with_metadata(data, "float")))
            p = _parity(out, self.keras_output())
            self.float_parity = p
            self.log(f"[edge] streaming float .tflite vs Keras whole signal: max abs error {p['max_abs_error']:.2e}")
            low_snr = p["snr_db"] is not None and p["snr_db"] < self.min_snr["float"]
            if p["max_abs_error"] > MAX_FLOAT_ABS_ERROR or low_snr:
                raise ParityError(f"{self.model.name}: streaming float .tflite differs from Keras: {p} (bounds: "
                                  f"max abs error <= {MAX_FLOAT_ABS_ERROR}, SNR >= {self.min_snr['float']} dB)")
            self._float_out = out
        return self._float_out

    def metadata(self, mode: str, data: bytes) -> dict:
        """The document embedded in the ``.tflite``: geometry, audio and state tensors, quantization."""
        import keras_audiosr
        from ai_edge_litert.interpreter import Interpreter

        from keras_audiosr.models.complexity import macs_per_second

        runner = Interpreter(model_content=data).get_signature_runner(SIGNATURE)
        ins, outs = runner.get_input_details(), runner.get_output_details()
        p, m = self.plan, self.model
        states = []
        for s in m.state_specs():
            spec = _tensor_spec(ins[s["input"]], s["input"])
            out_spec = _tensor_spec(outs[s["output"]], s["output"])
            keys = ("dtype", "scale", "zero_point")
            if any(spec[k] != out_spec[k] for k in keys):
                raise TFLiteError(f"{m.name} ({mode}): state {s['name']!r} comes out as {out_spec} but goes in "
                                  f"as {spec}; "
                                  f"it would not round-trip")
            states.append({"name": s["name"], "input": s["input"], "output": s["output"], "shape": spec["shape"],
                           "dtype": spec["dtype"], "scale": spec["scale"], "zero_point": spec["zero_point"],
                           "initial_value": spec["zero_point"] if spec["zero_point"] is not None else 0.0,
                           "integer_core": bool(s["core"])})
        io = "pcm16" if mode == "int8-pcm16" else "float32"
        return {
            "format": METADATA_FORMAT,
            "model": m.name,
            "model_class": type(m).__name__,
            "mode": mode,
            "io": io,
            "stateful": True,
            "signature": SIGNATURE,
            "lr_rate": int(m.lr_rate),
            "hr_rate": int(m.hr_rate),
            "ratio": int(m.ratio),
            "frame_length": p.frame,
            "frame_ms": p.frame_ms,
            "input_length": p.frame,
            "output_length": p.frame * p.ratio,
            "context": 0,
            "lookahead": p.lookahead,
            "algorithmic_latency_ms": p.latency_ms,
            "latency_formula": "(frame_length + lookahead) / lr_rate",
            "exact_streaming": True,
            "plan": p.to_dict(),
            "input": _tensor_spec(ins["frame"], "frame"),
            "output": _tensor_spec(outs["output"], "output"),
            "states": states,
            "macs_per_second": float(macs_per_second(m)),
            "tflite_macs_per_frame": int(tflite_macs(data)),
            "quantization": None if mode == "float" else dict(self.quantization or {}),
            "degradation": dict(m.degradation),
            "keras_audiosr_version": keras_audiosr.__version__,
            "usage": ("per call: set 'frame' (frame_length low-rate samples; float32, or int16 PCM when io is pcm16) "
                      "and every state input, invoke the signature, read 'output' (frame_length * ratio high-rate "
                      "samples) and copy each state output into its state input for the next call; start a stream "
                      "with every state at its initial_value. Output lags input by lookahead low-rate samples: feed "
                      "lookahead more samples (zeros) at the end to flush."),
        }

    def _with_metadata(self, data: bytes, mode: str) -> bytes:
        return add_metadata(data, self.metadata(mode, data))

    def export(self, mode: str, out_dir, name: str | None = None):
        """Every gate for ``mode``; writes ``<name>.tflite`` (metadata embedded), ``<name>.json`` and fixtures."""
        from edge.convert import ExportResult, ParityError
        from edge.opcheck import check_builtin_ops

        check_streaming_mode(mode)
        t0 = time.monotonic()
        name = name or f"{self.model.name}_stream_{mode}"
        out_dir = Path(out_dir)
        if mode != "float":
            self._quantize_model()
        float_out = self.float_output()
        data = self._with_metadata(self.tflite_bytes(mode), mode)
        meta = read_metadata(data)
        result_parity = {"vs_keras": _parity(float_out, self.keras_output()) if mode == "float" else None}
        if mode != "float":
            out = self._stream(StatefulTFLiteModel(data))
            p = _parity(out, float_out)
            result_parity.update(vs_float=p, vs_keras=_parity(out, self.keras_output()))
            bound = self.min_snr[mode]
            self.log(f"[edge] streaming {mode} vs float: SNR {p['snr_db']:.1f} dB, max abs error "
                     f"{p['max_abs_error']:.3g} (gate >= {bound} dB)")
            if p["snr_db"] is not None and p["snr_db"] < bound:
                raise ParityError(f"{name}: streaming {mode} differs from the float stream by SNR {p['snr_db']:.1f} dB "
                                  f"(< {bound} dB gate); max abs error {p['max_abs_error']:.3g}")
        path = write_bytes_atomic(out_dir / f"{name}.tflite", data)
        files = self._fixtures(data, out_dir, name)
        ops = dict(check_builtin_ops(data, str(path)))
        gates = {"float_max_abs_error": MAX_FLOAT_ABS_ERROR,
                 "min_snr_db": {k: self.min_snr[k] for k in ("float", mode)}}
        side = {**meta, "parity": result_parity, "parity_gates": gates,
                "ops": ops, "files": files, "size_bytes": len(data)}
        json_path = write_json_atomic(out_dir / f"{name}.json", side)
        seconds = time.monotonic() - t0
        self.log(f"[edge] wrote {path} ({len(data)} bytes) + {json_path.name} + fixtures ({seconds:.1f} s)")
        return ExportResult(name, mode, path, json_path, meta, result_parity, ops, len(data), seconds, files)

    def _fixtures(self, data: bytes, out_dir: Path, name: str) -> dict:
        """Golden fixture: one call's raw inputs (a frame of real audio and the states reached after the
        frames before it) and raw outputs, as ``<name>.inputs.npz`` / ``<name>.expected.npz`` keyed by
        signature name; tolerance twice the XNNPACK-vs-builtin-kernels difference, at least 1e-5 of the
        output scale (float) or one step (integer)."""
        import io

        signal = max(self.parity_signals(), key=len)
        fast, slow = StatefulTFLiteModel(data), StatefulTFLiteModel(data, xnnpack=False)
        f = self.frame
        calls = max(1, min(len(signal) // f, 50))
        for k in range(calls - 1):
            fast(signal[k * f:(k + 1) * f])
        frame = np.zeros(f, np.float32)
        chunk = signal[(calls - 1) * f:calls * f]
        frame[:len(chunk)] = chunk
        audio = fast.metadata["input"]["name"]
        states = {k: v.copy() for k, v in fast.states.items()}
        inputs = {audio: fast.quantize_frame(frame), **states}
        expected = fast.invoke_raw(inputs[audio], states)
        other = slow.invoke_raw(inputs[audio], states)
        diff = max(float(np.max(np.abs(expected[k].astype(np.float64) - other[k].astype(np.float64))))
                   for k in expected)
        integer = any(v.dtype.kind == "i" for v in expected.values())
        scale = max(float(np.max(np.abs(v))) for v in expected.values() if v.dtype.kind == "f") if not integer else 1.0
        atol = max(1.0 if integer else 1e-5 * max(1.0, scale), 2.0 * diff)
        files = {"inputs": f"{name}.inputs.npz", "expected": f"{name}.expected.npz"}
        for key, arrays in (("inputs", inputs), ("expected", expected)):
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            write_bytes_atomic(out_dir / files[key], buf.getvalue())
        files.update({"frames_before": calls - 1, "atol": atol, "atol_units": "raw tensor units (per tensor dtype)",
                      "xnnpack_vs_builtin_kernels_max_diff": diff})
        return files


def export_streaming(model, mode: str, out_dir, *, frame: int | None = None, frame_ms: float | None = None,
                     train_data=None, name: str | None = None, progress: bool = True, **exporter_kwargs):
    """One-call stateful export of ``model`` in ``mode`` (``frame`` samples or ``frame_ms``, default 10 ms)."""
    from edge.data import training_utterances

    check_streaming_mode(mode)
    plan = stateful_plan(model, frame=frame, frame_ms=frame_ms)
    exporter = StreamingExporter(model, plan.frame, training_utterances(train_data), progress=progress,
                                 **exporter_kwargs)
    return exporter.export(mode, out_dir, name=name)


def convert_cli(args) -> int:
    """``python -m edge.convert --streaming``: the stateful export (arguments as parsed by :mod:`edge.convert`)."""
    from edge.convert import ParityError
    from edge.opcheck import NonBuiltinOpError

    try:
        check_streaming_mode(args.mode)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from keras_audiosr.inference import load_model

    try:
        model = load_model(args.model)
        _require_stateful(model)
        res = export_streaming(model, args.mode, args.out, frame=args.frame,
                               frame_ms=args.frame_ms if args.frame is None else None, train_data=args.train_data,
                               name=args.name, progress=not args.no_progress,
                               calibration_windows=args.calibration_windows,
                               qat_learning_rate=args.qat_learning_rate,
                               min_snr=None if args.min_snr is None else {args.mode: args.min_snr})
    except (NonBuiltinOpError, ParityError) as e:
        print(f"error: gate failed: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    meta = res.metadata
    print(f"{res.path}\t{res.size_bytes} bytes\tframe {meta['frame_ms']:.1f} ms\tlatency "
          f"{meta['algorithmic_latency_ms']:.2f} ms\t{len(meta['states'])} state tensors\tparity {res.parity}")
    return 0
