"""``python -m edge.convert``: a trained ``.keras`` model -> a checked ``.tflite`` with metadata and golden fixtures.

Conversion is a series of gates; each one stops the export with a clear error:

1. export the fixed-window model (``[context | frame | lookahead]`` -> the frame's high-rate samples,
   see :mod:`edge.streaming`) with ``model.export`` and convert it to a float ``.tflite``;
2. op check: TFLite builtin operators only (:mod:`edge.opcheck`), naming any offender;
3. float parity on audio: the float ``.tflite`` against Keras, both fed frame by frame over the same
   signals (max abs error and SNR);
4. quantize in the named mode (:data:`edge.export.MODES`), calibrated or fine-tuned on TRAINING
   audio only, and op-check the result;
5. parity of the quantized model against the float ``.tflite``;
6. write ``<name>.tflite`` (metadata embedded), ``<name>.json`` (metadata, parity, ops, fixture
   files and tolerance) and the golden fixtures ``<name>.input.npy`` / ``<name>.expected.npy``
   (one window in the model's input dtype and its output in the output dtype).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.export import MODES, check_mode, convert_keras
from edge.metadata import METADATA_FORMAT, add_metadata, write_bytes_atomic, write_json_atomic
from edge.opcheck import check_builtin_ops
from edge.runtime import TFLiteModel
from edge.streaming import StreamingPlan, StreamingUpsampler, keras_frame_fn, make_plan, streaming_keras_model

__all__ = ["ParityError", "MIN_SNR_DB", "Exporter", "ExportResult", "parity", "convert_model", "main"]

# Parity gates (dB): float .tflite vs Keras, and each quantized model vs the float .tflite, on audio.
MIN_SNR_DB = {"float": 60.0, "float16": 40.0, "dynamic": 12.0, "int8": 10.0, "int16x8": 25.0, "qat": 10.0}
MAX_FLOAT_ABS_ERROR = 1e-4


class ParityError(AssertionError):
    """An exported model that does not reproduce its reference closely enough."""


def _finite(v):
    return None if v is None or not math.isfinite(v) else float(v)


def parity(test: np.ndarray, reference: np.ndarray) -> dict:
    """``{"max_abs_error", "snr_db"}`` of ``test`` against ``reference`` (``snr_db`` None when identical)."""
    test = np.asarray(test, np.float64).ravel()
    reference = np.asarray(reference, np.float64).ravel()
    if test.shape != reference.shape:
        raise ValueError(f"parity: shapes differ ({test.shape} vs {reference.shape})")
    err = test - reference
    noise = float(np.sum(err ** 2))
    snr = math.inf if noise == 0 else 10.0 * math.log10(max(float(np.sum(reference ** 2)), 1e-30) / noise)
    return {"max_abs_error": float(np.max(np.abs(err))), "snr_db": _finite(snr)}


def _snr_ok(p: dict, bound: float) -> bool:
    return p["snr_db"] is None or p["snr_db"] >= bound


@dataclass
class ExportResult:
    """What one export wrote and measured."""

    name: str
    mode: str
    path: Path
    json_path: Path
    metadata: dict
    parity: dict
    ops: dict
    size_bytes: int
    seconds: float
    files: dict = field(default_factory=dict)


def _io_spec(tfl: TFLiteModel) -> tuple[dict, dict]:
    def spec(dtype, quant, shape):
        scale, zero = quant
        integer = np.dtype(dtype).kind == "i"
        return {"dtype": np.dtype(dtype).name, "shape": [int(d) for d in shape],
                "scale": float(scale) if integer else None, "zero_point": int(zero) if integer else None}

    return (spec(tfl.input_dtype, tfl.input_quant, tfl.input_shape),
            spec(tfl.output_dtype, tfl.output_quant, (1, tfl.output_length, 1)))


class Exporter:
    """Converts one Keras model at one window geometry into any mode, sharing the work between modes.

    The float conversion, the calibration windows, the parity signals and their Keras and float
    outputs are computed once, on first use.

    Args:
        model: A trained :class:`keras_audiosr.models.AudioSRModel`.
        plan: Window geometry (:func:`edge.streaming.make_plan`); default a 20 ms frame.
        train_utts: Training utterances (:func:`edge.data.training_utterances`); calibration, QAT
            fine-tuning and parity signals come from them and nothing else.
        calibration_windows: Windows for int8/int16x8 calibration.
        qat_steps, qat_batch_size, qat_learning_rate, qat_patch: Quantization-aware fine-tuning
            (``qat_patch`` low-rate samples per training patch).
        parity_files, parity_seconds: Audio used by the parity gates.
        min_snr: Per-mode parity bounds overriding :data:`MIN_SNR_DB`.
    """

    def __init__(self, model, plan: StreamingPlan | None = None, train_utts=None, *, calibration_windows: int = 128,
                 qat_steps: int = 200, qat_batch_size: int = 16, qat_learning_rate: float = 1e-4,
                 qat_patch: int = 4096, parity_files: int = 2, parity_seconds: float = 4.0,
                 min_snr: dict | None = None, progress: bool = True, seed: int = 0, log=print):
        from edge.data import training_utterances

        self.model = model
        self.plan = plan or make_plan(model)
        self.train_utts = list(train_utts) if train_utts is not None else training_utterances(None)
        self.calibration_windows = int(calibration_windows)
        self.qat_steps, self.qat_batch_size = int(qat_steps), int(qat_batch_size)
        self.qat_learning_rate, self.qat_patch = float(qat_learning_rate), int(qat_patch)
        self.parity_files, self.parity_seconds = int(parity_files), float(parity_seconds)
        self.min_snr = {**MIN_SNR_DB, **(min_snr or {})}
        self.progress, self.seed, self.log = progress, int(seed), log or (lambda *a, **k: None)
        self._float = None
        self._signals = None
        self._keras_out = None
        self._float_out = None
        self._qat_model = None

    # ---- shared pieces ----------------------------------------------------------------------------
    def float_bytes(self) -> bytes:
        """Gates 1-2: the float ``.tflite`` of the window model, op-checked."""
        if self._float is None:
            t = time.monotonic()
            fixed = streaming_keras_model(self.model, self.plan)
            data = convert_keras(fixed, "float", allow_flex=True)
            check_builtin_ops(data, f"{self.model.name} (float)")
            self._float = data
            self.log(f"[edge] float .tflite: {len(data)} bytes, builtin ops only ({time.monotonic() - t:.1f} s)")
        return self._float

    def parity_signals(self) -> list[np.ndarray]:
        """Low-rate signals for the parity gates: the first seconds of a few training files, degraded as in training."""
        if self._signals is None:
            from keras_audiosr.data.patches import prepare_signal
            from keras_audiosr.degrade import Degradation, trim_to_multiple

            deg = Degradation.from_dict(self.model.degradation)
            n = int(self.parity_seconds * self.model.hr_rate)
            signals = []
            for u in self.train_utts[:max(1, self.parity_files)]:
                hr = trim_to_multiple(prepare_signal(u.path, int(self.model.hr_rate))[:n], self.model.ratio)
                signals.append(deg(hr))
            self._signals = signals
        return self._signals

    def _stream(self, fn, desc: str) -> np.ndarray:
        up = StreamingUpsampler(fn, self.plan)
        return np.concatenate([up.run(x, progress=self.progress, desc=desc) for x in self.parity_signals()])

    def keras_output(self) -> np.ndarray:
        if self._keras_out is None:
            self._keras_out = self._stream(keras_frame_fn(self.model, self.plan), "keras frames")
        return self._keras_out

    def float_output(self) -> np.ndarray:
        """Gate 3: the float ``.tflite`` over the parity signals, checked against Keras."""
        if self._float_out is None:
            out = self._stream(TFLiteModel(self.float_bytes()), "float frames")
            p = parity(out, self.keras_output())
            self.float_parity = p
            self.log(f"[edge] float parity vs keras: max abs error {p['max_abs_error']:.2e}, SNR "
                     f"{'identical' if p['snr_db'] is None else format(p['snr_db'], '.1f') + ' dB'}")
            if p["max_abs_error"] > MAX_FLOAT_ABS_ERROR or not _snr_ok(p, self.min_snr["float"]):
                raise ParityError(f"{self.model.name}: float .tflite differs from Keras: {p} (bounds: max abs error "
                                  f"<= {MAX_FLOAT_ABS_ERROR}, SNR >= {self.min_snr['float']} dB)")
            self._float_out = out
        return self._float_out

    def representative(self):
        """Calibration windows (``plan.window`` low-rate samples) of training audio, as the converter wants them."""
        from edge.data import training_windows

        lr, _ = training_windows(self.model, self.train_utts, self.plan.window, max_windows=self.calibration_windows,
                                 seed=self.seed, progress=self.progress)
        self.log(f"[edge] calibration: {len(lr)} windows of {self.plan.window} samples of training audio")

        def gen():
            for w in lr:
                yield [w[None].astype(np.float32)]

        return gen

    def qat_model(self):
        """The model fine-tuned with fake quantization on training patches (once)."""
        if self._qat_model is None:
            from edge.data import training_windows
            from edge.qat import qat_finetune

            patch = -(-self.qat_patch // self.plan.period) * self.plan.period
            lr, hr = training_windows(self.model, self.train_utts, patch, max_windows=100000, seed=self.seed,
                                      progress=self.progress)
            t = time.monotonic()
            self._qat_model, history = qat_finetune(self.model, lr, hr, steps=self.qat_steps,
                                                    batch_size=self.qat_batch_size,
                                                    learning_rate=self.qat_learning_rate, seed=self.seed,
                                                    verbose=2 if self.progress else 0)
            loss = history.get("loss", [None])[-1] if history.get("loss") else None
            self.log(f"[edge] QAT: {self.qat_steps} steps on {len(lr)} training patches of {patch} samples "
                     f"({time.monotonic() - t:.1f} s, final loss {loss})")
        return self._qat_model

    # ---- one mode ---------------------------------------------------------------------------------
    def quantized_bytes(self, mode: str) -> bytes:
        """Gate 4: the ``.tflite`` bytes in ``mode`` (float: gates 1-2 only), op-checked."""
        check_mode(mode)
        if mode == "float":
            return self.float_bytes()
        self.float_bytes()  # the float gates run first: a model that fails them is not quantized
        t = time.monotonic()
        if mode == "qat":
            fixed = streaming_keras_model(self.qat_model(), self.plan)
            data = convert_keras(fixed, "qat")
        else:
            fixed = streaming_keras_model(self.model, self.plan)
            rep = self.representative() if mode in ("int8", "int16x8") else None
            data = convert_keras(fixed, mode, representative=rep)
        check_builtin_ops(data, f"{self.model.name} ({mode})")
        self.log(f"[edge] {mode} .tflite: {len(data)} bytes, builtin ops only ({time.monotonic() - t:.1f} s)")
        return data

    def metadata(self, mode: str, tfl: TFLiteModel) -> dict:
        """The document embedded in the ``.tflite`` (everything a device app needs to drive it)."""
        import keras_audiosr

        inp, out = _io_spec(tfl)
        p = self.plan
        return {
            "format": METADATA_FORMAT,
            "model": self.model.name,
            "mode": mode,
            "lr_rate": int(self.model.lr_rate),
            "hr_rate": int(self.model.hr_rate),
            "ratio": int(self.model.ratio),
            "frame_length": p.frame,
            "frame_ms": p.frame_ms,
            "input_length": p.window,
            "output_length": p.frame * p.ratio,
            "context": p.context,
            "lookahead": p.lookahead,
            "algorithmic_latency_ms": p.latency_ms,
            "exact_streaming": p.exact,
            "plan": p.to_dict(),
            "input": inp,
            "output": out,
            "degradation": dict(self.model.degradation),
            "keras_audiosr_version": keras_audiosr.__version__,
            "usage": ("keep a buffer of input_length low-rate samples (zeros at start); per call shift frame_length "
                      "new samples in at the end, quantize (q = clamp(round(x / scale) + zero_point)) when the input "
                      "is integer, invoke, dequantize ((q - zero_point) * scale); the output_length high-rate "
                      "samples are those of the frame that starts lookahead + frame_length samples before the "
                      "buffer's end"),
        }

    def export(self, mode: str, out_dir, name: str | None = None) -> ExportResult:
        """Run every gate for ``mode`` and write ``out_dir/<name>.tflite`` with its sidecar JSON and fixtures."""
        check_mode(mode)
        t0 = time.monotonic()
        name = name or f"{self.model.name}_{mode}"
        out_dir = Path(out_dir)
        data = self.quantized_bytes(mode)
        float_out = self.float_output()
        tfl = TFLiteModel(data, num_threads=1)
        result_parity = {"vs_keras": parity(float_out, self.keras_output()) if mode == "float" else None}
        if mode != "float":
            out = self._stream(tfl, f"{mode} frames")
            p = parity(out, float_out)
            result_parity["vs_float"] = p
            result_parity["vs_keras"] = parity(out, self.keras_output())
            bound = self.min_snr[mode]
            self.log(f"[edge] {mode} parity vs float .tflite: max abs error {p['max_abs_error']:.3g}, "
                     f"SNR {p['snr_db']:.1f} dB (gate >= {bound} dB)" if p["snr_db"] is not None else
                     f"[edge] {mode} parity vs float .tflite: identical")
            if not _snr_ok(p, bound):
                raise ParityError(f"{name}: {mode} model differs from the float model by SNR {p['snr_db']:.1f} dB "
                                  f"(< {bound} dB gate); max abs error {p['max_abs_error']:.3g}")
        meta = self.metadata(mode, tfl)
        data = add_metadata(data, meta)
        path = write_bytes_atomic(out_dir / f"{name}.tflite", data)
        files = self._fixtures(data, out_dir, name)
        ops = dict(check_builtin_ops(data, str(path)))
        side = {**meta, "parity": result_parity, "parity_gates_db": {k: self.min_snr[k] for k in ("float", mode)},
                "ops": ops, "files": files, "size_bytes": len(data)}
        json_path = write_json_atomic(out_dir / f"{name}.json", side)
        seconds = time.monotonic() - t0
        self.log(f"[edge] wrote {path} ({len(data)} bytes) + {json_path.name} + fixtures ({seconds:.1f} s)")
        return ExportResult(name, mode, path, json_path, meta, result_parity, ops, len(data), seconds, files)

    def _fixtures(self, data: bytes, out_dir: Path, name: str) -> dict:
        """Gate 6: one window of real input (model dtype) and its output (model dtype), with a tolerance.

        The tolerance is twice the largest difference between running with and without the XNNPACK
        delegate on this window, at least 1e-5 (float outputs) or 1 step (integer outputs).
        """
        signal = max(self.parity_signals(), key=len)
        w = self.plan.window
        start = max(0, (len(signal) - w) // 2) // self.plan.period * self.plan.period
        window = np.zeros(w, np.float32)
        chunk = signal[start:start + w]
        window[:len(chunk)] = chunk
        fast = TFLiteModel(data)
        q_in = fast.quantize_input(window)
        expected = fast.invoke_raw(q_in)
        other = TFLiteModel(data, xnnpack=False).invoke_raw(q_in)
        diff = float(np.max(np.abs(expected.astype(np.float64) - other.astype(np.float64))))
        integer = expected.dtype.kind == "i"
        floor = 1.0 if integer else 1e-5 * max(1.0, float(np.max(np.abs(expected))))
        atol = max(floor, 2.0 * diff)
        files = {"input": f"{name}.input.npy", "expected": f"{name}.expected.npy"}
        for key, arr in (("input", q_in), ("expected", expected)):
            with tempfile.NamedTemporaryFile(dir=out_dir, suffix=".npy", delete=False) as f:
                np.save(f, arr)
            Path(f.name).replace(out_dir / files[key])
        files.update({"input_offset_samples": int(start), "atol": atol, "atol_units": "raw output tensor units",
                      "xnnpack_vs_builtin_kernels_max_diff": diff})
        return files


def convert_model(model, mode: str, out_dir, *, train_data=None, frame: int | None = None,
                  frame_ms: float | None = None, name: str | None = None, progress: bool = True,
                  **exporter_kwargs) -> ExportResult:
    """One-call export: :class:`Exporter` for ``model`` with a ``frame``/``frame_ms`` window, then ``export(mode)``."""
    from edge.data import training_utterances

    check_mode(mode)
    plan = make_plan(model, frame=frame, frame_ms=frame_ms)
    exporter = Exporter(model, plan, training_utterances(train_data), progress=progress, **exporter_kwargs)
    return exporter.export(mode, out_dir, name=name)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edge.convert", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="trained .keras model (an AudioSRModel)")
    p.add_argument("--mode", required=True, help=f"precision mode: {', '.join(MODES)}")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--train-data", default=None,
                   help="training audio folder for calibration/QAT/parity (default: the embedded default corpus); "
                        "never give evaluation audio here")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--frame-ms", type=float, default=None, help="frame length in ms at the low rate (default 20)")
    g.add_argument("--frame", type=int, default=None, help="frame length in low-rate samples")
    p.add_argument("--name", default=None, help="file stem (default <model name>_<mode>)")
    p.add_argument("--calibration-windows", type=int, default=128)
    p.add_argument("--qat-steps", type=int, default=200)
    p.add_argument("--qat-learning-rate", type=float, default=1e-4)
    p.add_argument("--min-snr", type=float, default=None, help="override the parity gate (dB) of this mode")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--streaming", action="store_true",
                   help="stateful streaming export (frame + state tensors in and out; edge.stateful): modes "
                        "float, int8 (float I/O), int8-pcm16 (int16 PCM I/O); --frame-ms defaults to 10")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.streaming:  # the stateful export has its own modes and gates
        from edge.stateful import convert_cli

        return convert_cli(args)
    try:
        check_mode(args.mode)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from keras_audiosr.inference import load_model

    from edge.opcheck import NonBuiltinOpError

    try:
        model = load_model(args.model)
        res = convert_model(model, args.mode, args.out, train_data=args.train_data, frame=args.frame,
                            frame_ms=args.frame_ms, name=args.name, progress=not args.no_progress,
                            calibration_windows=args.calibration_windows, qat_steps=args.qat_steps,
                            qat_learning_rate=args.qat_learning_rate,
                            min_snr=None if args.min_snr is None else {args.mode: args.min_snr})
    except (NonBuiltinOpError, ParityError) as e:
        print(f"error: gate failed: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:  # missing/corrupt model or audio, bad arguments
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{res.path}\t{res.size_bytes} bytes\tlatency {res.metadata['algorithmic_latency_ms']:.1f} ms\t"
          f"parity {res.parity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
