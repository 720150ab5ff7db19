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

Export (:class:`StreamingExporter`, :func:`export_streaming`, ``python -m edge.convert --streaming``)
runs the same ordered gate list as the fixed-window export
(:data:`keras_audiosr.export.conversion.CONVERSION_GATES`):
export, builtin ops, float parity (the float ``.tflite`` streamed frame by frame equals the Keras
whole-signal output, max abs error :data:`MAX_FLOAT_ABS_ERROR`), quantize, static graph (allowlisted
operators, static shapes), parity (each quantized stream within :data:`MIN_SNR_DB` of the float
one), fixtures (one call: a frame and the states reached, every output), second runtime (Arm NN
binds the frame and every state by name and must reproduce every output, states included) and
write.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

import keras_audiosr
from keras_audiosr.export.calibration import training_utterances, training_windows
from keras_audiosr.export.conversion import MAX_FLOAT_ABS_ERROR, GatedExporter
from keras_audiosr.export.metadata import add_metadata, level_normalization
from keras_audiosr.export.modes import STREAMING_MODES, check_streaming_mode
from keras_audiosr.export.opcheck import check_builtin_ops
from keras_audiosr.export.stateful_graph import PCM16_SCALE, rewire_io, tflite_macs
from keras_audiosr.streaming.metadata import METADATA_FORMAT, TFLiteError
from keras_audiosr.streaming.plan import check_stateful, stateful_plan
from keras_audiosr.streaming.runtime import SIGNATURE, StatefulTFLiteModel

__all__ = [
    "MAX_FLOAT_ABS_ERROR",
    "MIN_SNR_DB",
    "PCM16_SCALE",
    "STREAMING_MODES",
    "StreamingExporter",
    "calibrate",
    "check_streaming_mode",
    "convert_streaming",
    "export_streaming",
    "qat_finetune",
    "rewire_io",
    "tflite_macs",
]

# Parity gates (the float stream against Keras: conversion.MAX_FLOAT_ABS_ERROR), each quantized mode against float.
MIN_SNR_DB = {"float": 60.0, "int8": 30.0, "int8-pcm16": 30.0}


# ---- quantization: calibration and QAT ------------------------------------------------------------
def calibrate(model, lr: np.ndarray, batch_size: int = 16) -> None:
    """Post-training calibration: each fake-quant range of the core covers the 0.01st..99.99th
    percentiles of every batch of ``lr`` windows (``keras_audiosr.layers._fake_quant``)."""
    if len(lr) == 0:
        raise ValueError("calibrate: no calibration windows")
    model.reset_quantization_ranges()
    qmodel = model.quantization_model("calibrate")
    for start in range(0, len(lr), batch_size):
        qmodel(np.asarray(lr[start : start + batch_size], np.float32), training=False)


def qat_finetune(
    model,
    lr: np.ndarray,
    hr: np.ndarray,
    steps: int,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    seed: int = 0,
    verbose: int = 0,
    loss="mse",
) -> dict:
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
    ds = (
        tf.data.Dataset.from_tensor_slices((lr.astype(np.float32), hr.astype(np.float32)))
        .shuffle(len(lr), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=len(lr) >= batch_size)
    )
    qmodel.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return qmodel.fit(ds, steps_per_epoch=int(steps), epochs=1, verbose=verbose).history


# ---- conversion -----------------------------------------------------------------------------------
def convert_streaming(model, mode: str, frame: int) -> bytes:
    """The streaming ``.tflite`` of ``model`` at ``frame`` low-rate samples in ``mode`` (no metadata yet).

    Quantized modes use the model's current fake-quant ranges (:func:`calibrate` first).
    """
    import tensorflow as tf

    check_streaming_mode(mode)
    check_stateful(model)
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
    return rewire_io(
        data,
        int8_inputs=[s["input"] for s in core],
        int8_outputs=[s["output"] for s in core],
        pcm16=(mode == "int8-pcm16"),
    )


# ---- runners --------------------------------------------------------------------------------------
def _tensor_spec(details: dict, name: str) -> dict:
    scale, zero = details["quantization"]
    dtype = np.dtype(details["dtype"])
    integer = dtype.kind == "i"
    return {
        "name": name,
        "dtype": dtype.name,
        "shape": [int(d) for d in details["shape"]],
        "scale": float(scale) if integer else None,
        "zero_point": int(zero) if integer else None,
    }


# ---- export through the conversion gates ---------------------------------------------------------
class StreamingExporter(GatedExporter):
    """Exports one stateful model at one frame length in any of :data:`STREAMING_MODES` through the
    conversion gates (:data:`keras_audiosr.export.conversion.CONVERSION_GATES`), sharing the work.

    Calibration windows, QAT and parity signals come from ``train_utts`` (training audio) only. The
    float gate compares the float stream, fed frame by frame from zero states, with the Keras model
    on each whole signal; the fixtures are one call (a frame of training audio and the states
    reached after the frames before it) and every output, state tensors included.

    Args:
        model: A model with a stateful streaming form (:class:`keras_audiosr.models.StreamingBWE`).
        frame: Frame length in low-rate samples (default: 10 ms).
        train_utts: Training utterances (:func:`keras_audiosr.export.calibration.training_utterances`).
        calibration_windows, calibration_length: Post-training calibration data (windows of low-rate samples).
        qat_steps, qat_batch_size, qat_learning_rate, qat_loss: Quantization-aware fine-tuning after
            calibration (0 steps: none, the default: post-training calibration is enough for
            StreamingBWE). It moves the model's own weights, so every mode, ``float`` included, then
            exports the fine-tuned model.
        parity_files, parity_seconds: Audio used by the parity gates.
        min_snr: Per-mode parity bounds overriding :data:`MIN_SNR_DB`.
        strict: ``static_graph`` and ``second_runtime`` blocking even for a model that does not claim
            edge-readiness.
    """

    form = "stateful streaming model"
    modes = STREAMING_MODES
    min_snr_defaults = MIN_SNR_DB
    keras_reference = "the stream vs the Keras model on each whole signal"

    def __init__(
        self,
        model,
        frame: int | None = None,
        train_utts=None,
        *,
        calibration_windows: int = 256,
        calibration_length: int = 4096,
        qat_steps: int = 0,
        qat_batch_size: int = 16,
        qat_learning_rate: float = 1e-4,
        qat_loss="mse",
        parity_files: int = 2,
        parity_seconds: float = 4.0,
        min_snr: dict | None = None,
        strict: bool = False,
        progress: bool = True,
        seed: int = 0,
        log=print,
    ):
        check_stateful(model)
        super().__init__(
            model,
            stateful_plan(model, frame=frame),
            train_utts,
            parity_files=parity_files,
            parity_seconds=parity_seconds,
            min_snr=min_snr,
            strict=strict,
            progress=progress,
            seed=seed,
            log=log,
        )
        self.frame = self.plan.frame
        self.calibration_windows, self.calibration_length = int(calibration_windows), int(calibration_length)
        self.qat_steps, self.qat_batch_size = int(qat_steps), int(qat_batch_size)
        self.qat_learning_rate = float(qat_learning_rate)
        self.qat_loss = qat_loss
        self._keras_out = None
        self._windows = None
        self.quantization = None

    def default_name(self, mode: str) -> str:
        return f"{self.model.name}_stream_{mode}"

    # ---- quantization -----------------------------------------------------------------------------
    def _training_windows(self):
        if self._windows is None:
            fold = int(getattr(self.model, "fold", 1))
            length = -(-self.calibration_length // fold) * fold
            self._windows = training_windows(
                self.model,
                self.train_utts,
                length,
                max_windows=self.calibration_windows,
                seed=self.seed,
                progress=self.progress,
            )
        return self._windows

    def _quantize_model(self) -> None:
        """Calibrate the core's ranges on training windows (and run QAT when asked), once."""
        if self.quantization is not None:
            return
        t = time.monotonic()
        lr, hr = self._training_windows()
        calibrate(self.model, lr)
        info = {
            "method": "post-training calibration (99.99th percentiles)",
            "calibration_windows": len(lr),
            "calibration_window_samples": int(lr.shape[1]),
        }
        self.log(
            f"[edge] calibrated the int8 core on {len(lr)} windows of {lr.shape[1]} samples of training audio "
            f"({time.monotonic() - t:.1f} s)"
        )
        if self.qat_steps > 0:
            t = time.monotonic()
            history = qat_finetune(
                self.model,
                lr,
                hr,
                self.qat_steps,
                self.qat_batch_size,
                self.qat_learning_rate,
                self.seed,
                verbose=2 if self.progress else 0,
                loss=self.qat_loss,
            )
            info.update(
                method="post-training calibration, then quantization-aware training",
                qat_steps=self.qat_steps,
                qat_final_loss=(history.get("loss") or [None])[-1],
            )
            self.log(f"[edge] QAT: {self.qat_steps} steps ({time.monotonic() - t:.1f} s)")
        self.quantization = info

    # ---- the form's pieces ------------------------------------------------------------------------
    def convert_float(self):
        if self.qat_steps > 0:  # QAT moves the float weights: fine-tune before anything is converted
            self._quantize_model()
        data = convert_streaming(self.model, "float", self.frame)
        n = len(self.model.state_specs())
        f, r = self.frame, int(self.model.ratio)
        return data, (
            f"stateful streaming model, frame [1, {f}, 1] and {n} state tensors -> [1, {f * r}, 1] and {n} new states"
        )

    def convert_quantized(self, mode):
        self._quantize_model()
        data = convert_streaming(self.model, mode, self.frame)
        check_builtin_ops(data, f"{self.model.name} (streaming {mode})")
        io = "int16 PCM" if mode == "int8-pcm16" else "float32"
        how = (
            f"int8 core with int8 state tensors, float path around it, {io} audio in and out; "
            + self.quantization["method"]
        )
        return data, how, dict(self.quantization)

    def frame_runner(self, data, mode):
        return StatefulTFLiteModel(self._with_metadata(data, mode))

    def keras_output(self) -> np.ndarray:
        """The Keras model on each whole parity signal (the offline reference)."""
        if self._keras_out is None:
            self._keras_out = np.concatenate(
                [np.asarray(self.model(x[None, :, None], training=False))[0, :, 0] for x in self.parity_signals()]
            )
        return self._keras_out

    def describe(self, mode, data):
        return self.metadata(mode, data)

    def fixture_inputs(self, final):
        """One call's raw inputs by signature name: a frame of training audio and the states reached after
        up to 49 frames before it."""
        signal = max(self.parity_signals(), key=len)
        fast = StatefulTFLiteModel(final)
        f = self.frame
        calls = max(1, min(len(signal) // f, 50))
        for k in range(calls - 1):
            fast(signal[k * f : (k + 1) * f])
        frame = np.zeros(f, np.float32)
        chunk = signal[(calls - 1) * f : calls * f]
        frame[: len(chunk)] = chunk
        inputs = {
            fast.metadata["input"]["name"]: fast.quantize_frame(frame),
            **{k: v.copy() for k, v in fast.states.items()},
        }
        return (
            inputs,
            {"frames_before": calls - 1},
            (f"frame {calls} of training audio with the states reached after the {calls - 1} frames before it"),
        )

    def metadata(self, mode: str, data: bytes) -> dict:
        """The document embedded in the ``.tflite``: geometry, audio and state tensors, quantization."""
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
                raise TFLiteError(
                    f"{m.name} ({mode}): state {s['name']!r} comes out as {out_spec} but goes in "
                    f"as {spec}; it would not round-trip"
                )
            states.append(
                {
                    "name": s["name"],
                    "input": s["input"],
                    "output": s["output"],
                    "shape": spec["shape"],
                    "dtype": spec["dtype"],
                    "scale": spec["scale"],
                    "zero_point": spec["zero_point"],
                    "initial_value": spec["zero_point"] if spec["zero_point"] is not None else 0.0,
                    "integer_core": bool(s["core"]),
                }
            )
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
            "level_normalization": level_normalization(m),
            "keras_audiosr_version": keras_audiosr.__version__,
            "usage": (
                "per call: set the input named input.name (frame_length low-rate samples; float32, or int16 PCM "
                "when io is pcm16) and every state input, invoke, read the output named output.name "
                "(frame_length * ratio high-rate samples) and copy each state output into its state input for "
                "the next call; start a stream with every state at its initial_value. Tensors are named as "
                "the signature's entries. Output lags input by lookahead low-rate samples: feed lookahead more "
                "samples (zeros) at the end to flush."
            ),
        }

    def _with_metadata(self, data: bytes, mode: str) -> bytes:
        return add_metadata(data, self.metadata(mode, data))


def export_streaming(
    model,
    mode: str,
    out_dir,
    *,
    frame: int | None = None,
    frame_ms: float | None = None,
    train_data=None,
    name: str | None = None,
    progress: bool = True,
    **exporter_kwargs,
):
    """One-call stateful export of ``model`` in ``mode`` (``frame`` samples or ``frame_ms``, default 10 ms)."""
    check_streaming_mode(mode)
    plan = stateful_plan(model, frame=frame, frame_ms=frame_ms)
    exporter = StreamingExporter(
        model, plan.frame, training_utterances(train_data, model.hr_rate), progress=progress, **exporter_kwargs
    )
    return exporter.export(mode, out_dir, name=name)
