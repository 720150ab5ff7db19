"""``python -m edge.convert``: a trained ``.keras`` model -> a checked ``.tflite`` with metadata and golden fixtures.

Conversion runs an explicit, ordered list of gates (:data:`CONVERSION_GATES`) and stops at the first
failure, naming the gate and the problem. Every gate's result (passed, failed, warning, skipped;
message, seconds, details) is recorded in ``<name>.json`` beside the model, or in
``<name>.failed.json`` when a gate stops the conversion (then no model file is written).

One gate list serves both exported forms; :class:`GatedExporter` runs it, and each form supplies
the conversions, the reference output and the fixture inputs:

* the fixed-window model (:class:`Exporter`; ``[context | frame | lookahead]`` low-rate samples ->
  the frame's high-rate samples, see :mod:`edge.streaming`), batch 1 and every shape fixed;
* ``--streaming``: the stateful streaming model of models that have one (one frame and the state
  tensors in, the output frame and the new states out; :class:`edge.stateful.StreamingExporter`).

A model that claims edge-readiness (``model.edge_ready``) or a run with ``--strict`` must pass
``static_graph`` and ``second_runtime``; for the other (legacy) models their failure is recorded
as a warning and conversion goes on.
"""
from __future__ import annotations

import io
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.export import MODES, check_mode, convert_keras
from edge.files import write_bytes, write_json, write_npy
from edge.gates import (Gate, GateFailed, Outcome, builtin_ops_outcome, describe_gates, golden_outputs, run_gates,
                        second_runtime_outcome, static_graph_outcome)
from edge.metadata import METADATA_FORMAT, add_metadata
from edge.runtime import TFLiteModel
from edge.streaming import StreamingPlan, StreamingUpsampler, keras_frame_fn, make_plan, streaming_keras_model

__all__ = ["CONVERSION_GATES", "GateFailed", "ParityError", "MIN_SNR_DB", "MAX_FLOAT_ABS_ERROR", "GatedExporter",
           "Exporter", "ExportResult", "parity", "convert_model", "main"]

# Parity gates (dB): float .tflite vs Keras, and each quantized model vs the float .tflite, on audio.
MIN_SNR_DB = {"float": 60.0, "float16": 40.0, "dynamic": 12.0, "int8": 10.0, "int16x8": 25.0, "qat": 10.0}
MAX_FLOAT_ABS_ERROR = 1e-4


class ParityError(GateFailed):
    """A parity gate failed: an exported model does not reproduce its reference closely enough."""


def _finite(v):
    return None if v is None or not math.isfinite(v) else float(v)


def parity(test: np.ndarray, reference: np.ndarray) -> dict:
    """``{"max_abs_error", "snr_db"}`` of ``test`` against ``reference`` (``snr_db`` None when identical)."""
    from keras_audiosr.metrics import snr

    test = np.asarray(test, np.float64).ravel()
    reference = np.asarray(reference, np.float64).ravel()
    if test.shape != reference.shape:
        raise ValueError(f"parity: shapes differ ({test.shape} vs {reference.shape})")
    return {"max_abs_error": float(np.max(np.abs(test - reference))), "snr_db": _finite(snr(test, reference))}


def _snr_ok(p: dict, bound: float) -> bool:
    return p["snr_db"] is None or p["snr_db"] >= bound


def _snr_text(p: dict) -> str:
    return "identical" if p["snr_db"] is None else f"SNR {p['snr_db']:.1f} dB"


@dataclass
class ExportResult:
    """What one export wrote and measured (``gates``: every gate's result, in order)."""

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
    gates: list = field(default_factory=list)


def _io_spec(tfl: TFLiteModel) -> tuple[dict, dict]:
    def spec(dtype, quant, shape):
        scale, zero = quant
        integer = np.dtype(dtype).kind == "i"
        return {"dtype": np.dtype(dtype).name, "shape": [int(d) for d in shape],
                "scale": float(scale) if integer else None, "zero_point": int(zero) if integer else None}

    return (spec(tfl.input_dtype, tfl.input_quant, tfl.input_shape),
            spec(tfl.output_dtype, tfl.output_quant, (1, tfl.output_length, 1)))


class _Conversion:
    """The state one mode's gates pass along (each gate reads what earlier gates left)."""

    def __init__(self, exporter: "GatedExporter", mode: str, name: str, out_dir: Path):
        self.exporter, self.mode, self.name, self.out_dir = exporter, mode, name, out_dir
        self.data = None          # the model in ``mode`` (bytes, no metadata yet)
        self.final = None         # with metadata embedded
        self.parity = {}
        self.fixture = None       # {"inputs", "expected", "atol", "diff"}: dicts by tensor name; "info"
        self.metadata = None
        self.results = []
        self.written = {}

    @property
    def edge_ready(self) -> bool:
        return self.exporter.edge_ready


def _first_line(err) -> str:
    return ((str(err).strip().splitlines() or [type(err).__name__])[0])


# ---- the gates ----------------------------------------------------------------------------------------

def _gate_export(c: _Conversion) -> Outcome:
    e = c.exporter
    try:
        data, text = e.convert_float()
    except Exception as err:  # the converter's ConverterError and friends: report, do not crash
        return Outcome.failed(f"{e.model.name}: conversion to a float .tflite failed: {_first_line(err)[:500]}")
    e._float = data
    return Outcome.passed(f"float .tflite of the {text}: {len(data)} bytes", size_bytes=len(data),
                          form=e.form, plan=e.plan.to_dict())


def _gate_builtin_ops(c: _Conversion) -> Outcome:
    return builtin_ops_outcome(c.exporter._float, f"{c.exporter.model.name} (float)")


def _gate_float_parity(c: _Conversion) -> Outcome:
    e = c.exporter
    out = e._stream(e.frame_runner(e._float, "float"), "float .tflite frames")
    p = parity(out, e.keras_output())
    bounds = {"max_abs_error": MAX_FLOAT_ABS_ERROR, "min_snr_db": e.min_snr["float"]}
    text = f"max abs error {p['max_abs_error']:.2e}, {_snr_text(p)} against Keras ({e.keras_reference})"
    if p["max_abs_error"] > MAX_FLOAT_ABS_ERROR or not _snr_ok(p, e.min_snr["float"]):
        return Outcome.failed(f"the float .tflite differs from Keras: {text} (bounds: max abs error <= "
                              f"{MAX_FLOAT_ABS_ERROR}, SNR >= {e.min_snr['float']} dB)", **p, bounds=bounds)
    e._float_out = out
    e._float_parity = p
    return Outcome.passed(text, **p, bounds=bounds)


def _gate_quantize(c: _Conversion) -> Outcome:
    e, mode = c.exporter, c.mode
    if mode == "float":
        c.data = e._float
        return Outcome.skipped("float mode: the float .tflite is the model")
    from edge.opcheck import NonBuiltinOpError

    try:
        data, how, details = e.convert_quantized(mode)
    except NonBuiltinOpError as err:
        return Outcome.failed(str(err), non_builtin_ops=err.ops)
    except Exception as err:  # the converter's ConverterError: report its first line, not a traceback
        return Outcome.failed(f"{mode} conversion failed: {_first_line(err)[:800]}")
    c.data = data
    return Outcome.passed(f"{mode} .tflite ({how}): {len(data)} bytes", size_bytes=len(data), **details)


def _gate_static_graph(c: _Conversion) -> Outcome:
    return static_graph_outcome(c.data, f"{c.name} ({c.mode})")


def _gate_parity(c: _Conversion) -> Outcome:
    e, mode = c.exporter, c.mode
    if mode == "float":
        c.parity = {"vs_keras": e._float_parity}
        return Outcome.skipped("float mode: compared with Keras by float_parity")
    out = e._stream(e.frame_runner(c.data, mode), f"{mode} .tflite frames")
    p = parity(out, e._float_out)
    c.parity = {"vs_float": p, "vs_keras": parity(out, e.keras_output())}
    bound = e.min_snr[mode]
    text = f"{_snr_text(p)}, max abs error {p['max_abs_error']:.3g} against the float .tflite (gate >= {bound} dB)"
    if not _snr_ok(p, bound):
        return Outcome.failed(f"{mode} model differs from the float model: {text}", **p, min_snr_db=bound)
    return Outcome.passed(text, **p, min_snr_db=bound)


def _gate_fixtures(c: _Conversion) -> Outcome:
    e = c.exporter
    c.metadata = e.describe(c.mode, c.data)
    c.final = add_metadata(c.data, c.metadata)
    inputs, info, text = e.fixture_inputs(c.final)
    outputs, atol, diffs = golden_outputs(c.final, inputs)
    c.fixture = {"inputs": inputs, "expected": outputs, "atol": atol, "diff": diffs, "info": info}
    bounds = ", ".join(f"{n} {atol[n]:.3g}{' steps' if outputs[n].dtype.kind in 'iu' else ''}" for n in outputs)
    return Outcome.passed(f"metadata embedded; {text} and the outputs, tolerance {bounds}",
                          atol=atol, xnnpack_vs_builtin_kernels_max_diff=diffs, **info)


def _gate_second_runtime(c: _Conversion) -> Outcome:
    f = c.fixture
    return second_runtime_outcome(c.final, f["inputs"], f["expected"], f["atol"])


def _gate_write(c: _Conversion) -> Outcome:
    out_dir, name, f = c.out_dir, c.name, c.fixture
    single = len(f["inputs"]) == 1 and len(f["expected"]) == 1
    if single:  # one window in, one frame out: plain .npy arrays
        files = {"input": f"{name}.input.npy", "expected": f"{name}.expected.npy"}
        write_npy(out_dir / files["input"], next(iter(f["inputs"].values())))
        write_npy(out_dir / files["expected"], next(iter(f["expected"].values())))
        atol, diff = next(iter(f["atol"].values())), next(iter(f["diff"].values()))
    else:  # several tensors (frame + states): .npz archives keyed by tensor name
        files = {"inputs": f"{name}.inputs.npz", "expected": f"{name}.expected.npz"}
        for key, arrays in (("inputs", f["inputs"]), ("expected", f["expected"])):
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            write_bytes(out_dir / files[key], buf.getvalue())
        atol, diff = dict(f["atol"]), dict(f["diff"])
    path = write_bytes(out_dir / f"{name}.tflite", c.final)
    files.update({**f["info"], "atol": atol, "atol_units": "raw tensor units (integer tensors: quantization steps)",
                  "xnnpack_vs_builtin_kernels_max_diff": diff})
    c.written = {"path": path, "files": files}
    fixtures = [v for k, v in files.items() if k in ("input", "expected", "inputs")]
    return Outcome.passed(f"{path.name} ({len(c.final)} bytes), {name}.json, {', '.join(fixtures)}",
                          tflite=path.name, json=f"{name}.json", fixtures=fixtures)


def _edge_ready(c: _Conversion) -> bool:
    return c.edge_ready


CONVERSION_GATES: tuple[Gate, ...] = (
    Gate("export", "the model in its exported form (the fixed-window model, or with --streaming the stateful "
                   "frame + state model), batch 1 and every shape fixed, to a float .tflite", _gate_export),
    Gate("builtin_ops", "TFLite builtin operators only (no Flex or custom operators), in the float .tflite",
         _gate_builtin_ops),
    Gate("float_parity", "the float .tflite fed frame by frame over training audio against Keras (max abs error <= "
                         f"{MAX_FLOAT_ABS_ERROR}, SNR >= {MIN_SNR_DB['float']:g} dB)",
         _gate_float_parity, error=ParityError),
    Gate("quantize", "conversion in the named mode, calibrated or fine-tuned on training audio only "
                     "(skipped in float mode)", _gate_quantize),
    Gate("static_graph", "every operator in the embedded-runtime allowlist (edge.opcheck.EMBEDDED_OPS) and every "
                         "tensor of static shape; blocking for edge-ready models, a warning for the others",
         _gate_static_graph, blocking=_edge_ready),
    Gate("parity", "the quantized model against the float .tflite on the same audio, frame by frame (SNR bound per "
                   "mode; skipped in float mode)", _gate_parity, error=ParityError),
    Gate("fixtures", "metadata embedded; golden fixtures: one call's real inputs (a window, or a frame and the "
                     "states reached) and every output in the model's dtypes, with a tolerance per output",
         _gate_fixtures),
    Gate("second_runtime", "Arm NN (CpuRef) on the golden fixtures, inputs bound by name: every output (state "
                           "tensors included) within the fixture tolerance, and each integer operator alone within one "
                           "quantization step of LiteRT; skipped with a notice where Arm NN is absent; blocking as "
                           "static_graph", _gate_second_runtime, blocking=_edge_ready),
    Gate("write", "the .tflite, the JSON sidecar (metadata and every gate result) and the fixtures", _gate_write),
)

# Gates whose work depends only on the Keras model and the form, shared by every mode of one exporter.
_SHARED = ("export", "builtin_ops", "float_parity")


class GatedExporter:
    """Runs :data:`CONVERSION_GATES` for one Keras model in one exported form, in any mode, sharing the work.

    A form subclasses it and supplies :meth:`convert_float`, :meth:`convert_quantized`,
    :meth:`frame_runner`, :meth:`keras_output`, :meth:`describe` and :meth:`fixture_inputs`;
    :meth:`export` (the gates, the failure report, the sidecar) and the parity signals are shared.
    """

    form = "model"
    modes: tuple = MODES
    min_snr_defaults: dict = MIN_SNR_DB
    keras_reference = "the Keras model"

    def __init__(self, model, plan: StreamingPlan, train_utts=None, *, parity_files: int = 2,
                 parity_seconds: float = 4.0, min_snr: dict | None = None, strict: bool = False,
                 progress: bool = True, seed: int = 0, log=print):
        from edge.data import training_utterances

        self.model = model
        self.plan = plan
        self.train_utts = list(train_utts) if train_utts is not None else training_utterances(None, model.hr_rate)
        self.parity_files, self.parity_seconds = int(parity_files), float(parity_seconds)
        self.min_snr = {**self.min_snr_defaults, **(min_snr or {})}
        self.edge_ready = bool(strict or getattr(model, "edge_ready", False))
        self.progress, self.seed = progress, int(seed)
        self.log = log or (lambda *a, **k: None)
        self._float = self._float_out = self._float_parity = None
        self._signals = None
        self._shared_results: dict = {}

    # ---- shared pieces ----------------------------------------------------------------------------
    def check_mode(self, mode: str) -> str:
        if mode not in self.modes:
            raise ValueError(f"unknown mode {mode!r} for the {self.form}; choose one of: {', '.join(self.modes)}")
        return mode

    def default_name(self, mode: str) -> str:
        return f"{self.model.name}_{mode}"

    def parity_signals(self) -> list[np.ndarray]:
        """Low-rate signals for the parity gates: the first seconds of a few training files, degraded as in training."""
        if self._signals is None:
            from keras_audiosr.audio import read_at_rate as prepare_signal
            from keras_audiosr.degrade import Degradation, trim_to_multiple

            deg = Degradation.from_dict(self.model.degradation)
            n = int(self.parity_seconds * self.model.hr_rate)
            hr_rate, ratio = int(self.model.hr_rate), int(self.model.ratio)
            self._signals = [deg(trim_to_multiple(prepare_signal(u.path, hr_rate)[:n], ratio))
                             for u in self.train_utts[:max(1, self.parity_files)]]
        return self._signals

    def _stream(self, fn, desc: str) -> np.ndarray:
        up = StreamingUpsampler(fn, self.plan)
        return np.concatenate([up.run(x, progress=self.progress, desc=desc) for x in self.parity_signals()])

    # ---- what a form supplies ---------------------------------------------------------------------
    def convert_float(self) -> tuple[bytes, str]:
        """``(float .tflite bytes, what was converted)``."""
        raise NotImplementedError

    def convert_quantized(self, mode: str) -> tuple[bytes, str, dict]:
        """``(.tflite bytes in mode, how it was quantized, details)``."""
        raise NotImplementedError

    def frame_runner(self, data: bytes, mode: str):
        """A frame function of ``data`` for :class:`edge.streaming.StreamingUpsampler`."""
        raise NotImplementedError

    def keras_output(self) -> np.ndarray:
        """The Keras model's output on the parity signals, the float gate's reference."""
        raise NotImplementedError

    def describe(self, mode: str, data: bytes) -> dict:
        """The metadata embedded in the ``.tflite``."""
        raise NotImplementedError

    def fixture_inputs(self, final: bytes) -> tuple[dict, dict, str]:
        """``({input tensor name: raw array}, details for the sidecar, one line saying what they are)``."""
        raise NotImplementedError

    # ---- one mode ---------------------------------------------------------------------------------
    def export(self, mode: str, out_dir, name: str | None = None) -> ExportResult:
        """Run :data:`CONVERSION_GATES` for ``mode``; on success ``out_dir/<name>.tflite`` with its JSON and fixtures.

        Raises the failing gate's :class:`edge.gates.GateFailed` (:class:`ParityError` for the parity
        gates) after writing ``out_dir/<name>.failed.json`` with every gate result so far.
        """
        self.check_mode(mode)
        t0 = time.monotonic()
        name = name or self.default_name(mode)
        out_dir = Path(out_dir)
        c = _Conversion(self, mode, name, out_dir)
        failed_report = out_dir / f"{name}.failed.json"
        try:
            results = run_gates(CONVERSION_GATES, c, label=f"{name}", log=self.log, reuse=self._shared_results)
        except GateFailed as err:
            err.report_path = failed_report
            write_json(failed_report, {"model": self.model.name, "mode": mode, "form": self.form, "status": "failed",
                                       "failed_gate": err.gate, "message": str(err), "edge_ready": self.edge_ready,
                                       "gates": [r.to_dict() for r in err.results]})
            raise
        for r in results:
            if r.name in _SHARED:
                self._shared_results.setdefault(r.name, r)
        failed_report.unlink(missing_ok=True)
        gates = [r.to_dict() for r in results]
        ops = dict(next(r for r in results if r.name == "static_graph").details.get("ops", {}))
        side = {**c.metadata, "edge_ready": self.edge_ready, "gates": gates, "parity": c.parity,
                "parity_gates_db": {k: self.min_snr[k] for k in ("float", mode)},
                "float_max_abs_error": MAX_FLOAT_ABS_ERROR, "ops": ops, "files": c.written["files"],
                "size_bytes": len(c.final)}
        json_path = write_json(out_dir / f"{name}.json", side)
        seconds = time.monotonic() - t0
        return ExportResult(name, mode, c.written["path"], json_path, c.metadata, c.parity, ops, len(c.final), seconds,
                            c.written["files"], gates)


def _check_window_form(model) -> None:
    """ValueError for a model with a stateful streaming form: it is exported in that form only."""
    from edge.stateful import has_stateful_form

    if has_stateful_form(model):
        raise ValueError(f"model {model.name!r} ({type(model).__name__}) has a stateful streaming form: export it "
                         f"with --streaming (edge.stateful); its fixed-window form recomputes every frame's past, "
                         f"and LiteRT's XNNPACK delegate aborts on its full-integer int8 window graph")


class Exporter(GatedExporter):
    """Converts one Keras model at one window geometry into any mode through :data:`CONVERSION_GATES`.

    The float conversion, its gates, the calibration windows, the parity signals and their Keras and
    float outputs are shared between modes: the first export runs those gates, later ones record
    the same results.

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
        strict: Make ``static_graph`` and ``second_runtime`` blocking even for a model that does not
            claim edge-readiness (``model.edge_ready``).
    """

    form = "fixed-window model"
    keras_reference = "both fed frame by frame"

    def __init__(self, model, plan: StreamingPlan | None = None, train_utts=None, *, calibration_windows: int = 128,
                 qat_steps: int = 200, qat_batch_size: int = 16, qat_learning_rate: float = 1e-4,
                 qat_patch: int = 4096, parity_files: int = 2, parity_seconds: float = 4.0,
                 min_snr: dict | None = None, strict: bool = False, progress: bool = True, seed: int = 0, log=print):
        _check_window_form(model)
        super().__init__(model, plan or make_plan(model), train_utts, parity_files=parity_files,
                         parity_seconds=parity_seconds, min_snr=min_snr, strict=strict, progress=progress, seed=seed,
                         log=log)
        self.calibration_windows = int(calibration_windows)
        self.qat_steps, self.qat_batch_size = int(qat_steps), int(qat_batch_size)
        self.qat_learning_rate, self.qat_patch = float(qat_learning_rate), int(qat_patch)
        self._keras_out = self._qat_model = self._calibration = None
        self._qat_info = {}

    # ---- the form's pieces ------------------------------------------------------------------------
    def convert_float(self):
        p = self.plan
        data = convert_keras(streaming_keras_model(self.model, p), "float", allow_flex=True)
        return data, f"fixed-window model, [1, {p.window}, 1] -> [1, {p.frame * p.ratio}, 1]"

    def convert_quantized(self, mode):
        details = {}
        if mode == "qat":
            source = self.qat_model()
            details.update(self._qat_info)
            data = convert_keras(streaming_keras_model(source, self.plan), "qat")
        else:
            rep = None
            if mode in ("int8", "int16x8"):
                rep, n = self.representative()
                details["calibration_windows"] = n
            data = convert_keras(streaming_keras_model(self.model, self.plan), mode, representative=rep)
        how = {"int8": "full integer, calibrated on training audio", "int16x8": "int16 activations, calibrated on "
               "training audio", "qat": "full integer from quantization-aware fine-tuning on training audio",
               "dynamic": "int8 weights, float activations", "float16": "float16 weights"}[mode]
        return data, how, details

    def frame_runner(self, data, mode):
        return TFLiteModel(data)

    def keras_output(self) -> np.ndarray:
        if self._keras_out is None:
            self._keras_out = self._stream(keras_frame_fn(self.model, self.plan), "keras frames")
        return self._keras_out

    def describe(self, mode, data):
        return self.metadata(mode, TFLiteModel(data, num_threads=1))

    def fixture_inputs(self, final):
        tfl = TFLiteModel(final, num_threads=1)
        signal = max(self.parity_signals(), key=len)
        w = self.plan.window
        start = max(0, (len(signal) - w) // 2) // self.plan.period * self.plan.period
        window = np.zeros(w, np.float32)
        chunk = signal[start:start + w]
        window[:len(chunk)] = chunk
        name = tfl.interpreter.get_input_details()[0]["name"]
        return ({name: tfl.quantize_input(window)}, {"input_offset_samples": int(start)},
                f"one window of training audio (offset {start})")

    def representative(self):
        """``(generator, n)``: calibration windows (``plan.window`` low-rate samples) of training audio, as the
        converter wants them, with a progress bar over the calibration."""
        if self._calibration is None:
            from edge.data import training_windows

            lr, _ = training_windows(self.model, self.train_utts, self.plan.window, max_windows=self.calibration_windows,
                                     seed=self.seed, progress=self.progress)
            self._calibration = lr
        lr = self._calibration

        def gen():
            from tqdm import tqdm

            for w in tqdm(lr, desc="calibrate", unit="window", disable=not self.progress, leave=False):
                yield [w[None].astype(np.float32)]

        return gen, len(lr)

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
                                                    progress=self.progress)
            loss = history.get("loss", [None])[-1] if history.get("loss") else None
            self._qat_info = {"qat_steps": self.qat_steps, "qat_patches": len(lr), "qat_patch_samples": patch,
                              "qat_seconds": time.monotonic() - t, "qat_final_loss": loss}
        return self._qat_model

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


def convert_model(model, mode: str, out_dir, *, train_data=None, frame: int | None = None,
                  frame_ms: float | None = None, name: str | None = None, progress: bool = True,
                  **exporter_kwargs) -> ExportResult:
    """One-call export: :class:`Exporter` for ``model`` with a ``frame``/``frame_ms`` window, then ``export(mode)``."""
    from edge.data import training_utterances

    check_mode(mode)
    plan = make_plan(model, frame=frame, frame_ms=frame_ms)
    exporter = Exporter(model, plan, training_utterances(train_data, model.hr_rate), progress=progress, **exporter_kwargs)
    return exporter.export(mode, out_dir, name=name)


def build_parser():
    from edge.args import Parser, positive_float, positive_int

    p = Parser(prog="python -m edge.convert", description=__doc__.split("\n\n")[0] + "\n\nGates, in order:\n"
               + describe_gates(CONVERSION_GATES))
    p.add_argument("--model", required=True, help="trained .keras model (an AudioSRModel); required")
    p.add_argument("--mode", required=True, help=f"precision mode, one of: {', '.join(MODES)}; with --streaming one "
                                                 f"of: float, int8, int8-pcm16; required")
    p.add_argument("--out", required=True, help="output folder (created if missing); required")
    p.add_argument("--train-data", default=None,
                   help="training audio folder for calibration, QAT and parity; never give evaluation audio here "
                        "(default: the embedded default corpus)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--frame-ms", type=positive_float, default=None, help="frame length in ms at the low rate (default: 20; 10 with --streaming)")
    g.add_argument("--frame", type=positive_int, default=None,
                   help="frame length in low-rate samples, instead of --frame-ms (default: from --frame-ms)")
    p.add_argument("--name", default=None,
                   help="file stem (default: <model name>_<mode>; <model name>_stream_<mode> with --streaming)")
    p.add_argument("--calibration-windows", type=positive_int, default=None,
                   help="training windows for int8/int16x8 calibration (default: 128; 256 with --streaming)")
    p.add_argument("--qat-steps", type=positive_int, default=200,
                   help="QAT fine-tuning steps of the qat mode (default: 200)")
    p.add_argument("--qat-learning-rate", type=positive_float, default=1e-4,
                   help="QAT fine-tuning learning rate (default: 0.0001)")
    p.add_argument("--min-snr", type=float, default=None,
                   help="override the parity gate of this mode, in dB (default: the mode's bound: "
                        + ", ".join(f"{k} {v:g}" for k, v in MIN_SNR_DB.items())
                        + "; with --streaming int8 and int8-pcm16 30)")
    p.add_argument("--strict", action="store_true",
                   help="make static_graph and second_runtime blocking for any model (default: off; always on "
                        "for models that claim edge-readiness)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: off)")
    p.add_argument("--streaming", action="store_true",
                   help="stateful streaming export (frame + state tensors in and out, edge.stateful) for models "
                        "that have one; modes float, int8 (float I/O), int8-pcm16 (int16 PCM I/O); --frame-ms "
                        "defaults to 10 (default: off)")
    return p


def _validate(args) -> None:
    from edge.args import existing_dir, existing_file, writable_dir

    if args.streaming:
        from edge.stateful import check_streaming_mode

        check_streaming_mode(args.mode)
    else:
        check_mode(args.mode)
    existing_file(args.model, "model", (".keras",))
    writable_dir(args.out, "output folder")
    if args.train_data is not None:
        existing_dir(args.train_data, "training audio")


def main(argv=None) -> int:
    from edge.args import UsageError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _validate(args)
    except (UsageError, ValueError) as e:
        return parser.fail(str(e))
    from edge.logs import import_tensorflow

    import_tensorflow()
    from keras_audiosr.inference import load_model

    from edge.data import training_utterances

    try:
        model = load_model(args.model)
        min_snr = None if args.min_snr is None else {args.mode: args.min_snr}
        if args.streaming:  # the stateful form: its own modes and geometry, the same gates
            from edge.stateful import StreamingExporter, stateful_plan

            plan = stateful_plan(model, frame=args.frame, frame_ms=args.frame_ms)
            exporter = StreamingExporter(model, plan.frame, training_utterances(args.train_data, model.hr_rate),
                                         calibration_windows=args.calibration_windows or 256, min_snr=min_snr,
                                         strict=args.strict, progress=not args.no_progress)
        else:
            _check_window_form(model)
            plan = make_plan(model, frame=args.frame, frame_ms=args.frame_ms)
            exporter = Exporter(model, plan, training_utterances(args.train_data, model.hr_rate),
                                calibration_windows=args.calibration_windows or 128, qat_steps=args.qat_steps,
                                qat_learning_rate=args.qat_learning_rate, min_snr=min_snr, strict=args.strict,
                                progress=not args.no_progress)
    except (OSError, ValueError) as e:  # corrupt model, no stateful form, a frame the model cannot take
        return parser.fail(str(e))
    try:
        res = exporter.export(args.mode, args.out, name=args.name)
    except GateFailed as e:
        print(f"{parser.prog}: error: {e} (every gate result: {getattr(e, 'report_path', '?')})", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:  # corrupt audio, no training audio
        return parser.fail(str(e))
    _print_summary(res)
    return 0


def _print_summary(res: ExportResult) -> None:
    m = res.metadata
    counts = {}
    for g in res.gates:
        counts.setdefault(g["status"], []).append(g["gate"])
    fixtures = "golden fixtures" if "inputs" not in res.files else f"golden fixtures ({res.files['inputs']}, " \
                                                                   f"{res.files['expected']})"
    print(f"wrote {res.path} ({res.size_bytes / 1024:.1f} KiB), {res.json_path.name} and {fixtures}")
    print(f"  mode {res.mode}: input {m['input']['dtype']} [{m['input_length']}], output {m['output']['dtype']} "
          f"[{m['output_length']}], {m['lr_rate']} Hz -> {m['hr_rate']} Hz")
    if m.get("stateful"):
        core = sum(1 for s in m["states"] if s["integer_core"] and s["dtype"] != "float32")
        print(f"  stateful: {len(m['states'])} state tensors handed back each call"
              + (f" ({core} of them int8, in the integer core)" if core else ""))
    print(f"  frame {m['frame_ms']:g} ms, algorithmic latency {m['algorithmic_latency_ms']:.1f} ms"
          f"{'' if m['exact_streaming'] else ' (window shorter than the receptive field: not exact)'}")
    for key, label in (("vs_keras", "against Keras"), ("vs_float", "against the float .tflite")):
        p = res.parity.get(key)
        if p:
            print(f"  parity {label}: {_snr_text(p)}, max abs error {p['max_abs_error']:.3g}")
    print("  gates: " + "; ".join(f"{k} {len(v)}" + (f" ({', '.join(v)})" if k != "passed" else "")
                                  for k, v in counts.items()))


if __name__ == "__main__":
    sys.exit(main())
