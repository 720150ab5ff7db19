"""The conversion gates: one explicit, ordered list (:data:`CONVERSION_GATES`) that every export runs.

Export, builtin ops, float parity, quantize, static graph, parity, fixtures, second runtime (Arm NN),
write: each gate is a named function of the conversion so far; the first failure stops the
conversion, naming the gate and the problem. Every gate's result (passed, failed, warning, skipped;
message, seconds, details) is recorded in ``<name>.json`` beside the model, or in
``<name>.failed.json`` when a gate stops the conversion (then no model file is written). A model's
files appear together or not at all (:func:`keras_audiosr.utils.write_file_set`): the ``.tflite`` and
fixtures are renamed into place after the old ``<name>.json`` is removed, and the new one, which holds
every file's SHA-256, comes last; a folder with a ``.tflite`` and no ``.json`` holds an unfinished export.

:class:`GatedExporter` runs the list for one Keras model in one exported form; a form supplies the
conversions, the reference output and the fixture inputs: the fixed-window model
(:class:`keras_audiosr.export.convert.Exporter`) and the stateful streaming model
(:class:`keras_audiosr.export.stateful.StreamingExporter`). A model that claims edge-readiness
(``model.edge_ready``) or a run with ``strict`` must pass ``static_graph`` and ``second_runtime``;
for the other (legacy) models their failure is recorded as a warning and conversion goes on.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_audiosr.audio import read_at_rate as prepare_signal
from keras_audiosr.degrade import Degradation, trim_to_multiple
from keras_audiosr.export.calibration import training_utterances
from keras_audiosr.export.files import json_bytes, npy_bytes
from keras_audiosr.export.gates import (
    Gate,
    GateFailed,
    Outcome,
    builtin_ops_outcome,
    golden_outputs,
    run_gates,
    second_runtime_outcome,
    static_graph_outcome,
)
from keras_audiosr.export.metadata import add_metadata
from keras_audiosr.export.opcheck import NonBuiltinOpError
from keras_audiosr.export.tflite import MODES
from keras_audiosr.streaming.plan import StreamingPlan
from keras_audiosr.streaming.runtime import TFLiteModel
from keras_audiosr.streaming.upsampler import StreamingUpsampler
from keras_audiosr.utils import write_file_set, write_json

__all__ = [
    "CONVERSION_GATES",
    "MAX_FLOAT_ABS_ERROR",
    "MIN_SNR_DB",
    "ExportResult",
    "GateFailed",
    "GatedExporter",
    "ParityError",
    "io_spec",
    "parity",
    "snr_text",
]

# Parity gates (dB): float .tflite vs Keras, and each quantized model vs the float .tflite, on audio.
MIN_SNR_DB = {"float": 60.0, "float16": 40.0, "dynamic": 12.0, "int8": 10.0, "int16x8": 25.0, "qat": 10.0}
MAX_FLOAT_ABS_ERROR = 1e-4


class ParityError(GateFailed):
    """A parity gate failed: an exported model does not reproduce its reference closely enough."""


def _finite(v):
    return None if v is None or not math.isfinite(v) else float(v)


def parity(test: np.ndarray, reference: np.ndarray) -> dict:
    """``{"max_abs_error", "snr_db"}`` of ``test`` against ``reference`` (``snr_db`` None when identical)."""
    from keras_audiosr.metrics import (
        snr,  # the metrics module loads Keras (its Keras metric classes)
    )

    test = np.asarray(test, np.float64).ravel()
    reference = np.asarray(reference, np.float64).ravel()
    if test.shape != reference.shape:
        raise ValueError(f"parity: shapes differ ({test.shape} vs {reference.shape})")
    return {"max_abs_error": float(np.max(np.abs(test - reference))), "snr_db": _finite(snr(test, reference))}


def _snr_ok(p: dict, bound: float) -> bool:
    return p["snr_db"] is None or p["snr_db"] >= bound


def snr_text(p: dict) -> str:
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


def io_spec(tfl: TFLiteModel) -> tuple[dict, dict]:
    def spec(dtype, quant, shape):
        scale, zero = quant
        integer = np.dtype(dtype).kind == "i"
        return {
            "dtype": np.dtype(dtype).name,
            "shape": [int(d) for d in shape],
            "scale": float(scale) if integer else None,
            "zero_point": int(zero) if integer else None,
        }

    return (
        spec(tfl.input_dtype, tfl.input_quant, tfl.input_shape),
        spec(tfl.output_dtype, tfl.output_quant, (1, tfl.output_length, 1)),
    )


class _Conversion:
    """The state one mode's gates pass along (each gate reads what earlier gates left)."""

    def __init__(self, exporter: GatedExporter, mode: str, name: str, out_dir: Path):
        self.exporter, self.mode, self.name, self.out_dir = exporter, mode, name, out_dir
        self.data = None  # the model in ``mode`` (bytes, no metadata yet)
        self.final = None  # with metadata embedded
        self.parity = {}
        self.fixture = None  # {"inputs", "expected", "atol", "diff"}: dicts by tensor name; "info"
        self.metadata = None
        self.results = []
        self.written = {}
        self.staged = {}  # file name -> bytes: the model's files, written as one set after the gates

    @property
    def edge_ready(self) -> bool:
        return self.exporter.edge_ready


def _first_line(err) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


# ---- the gates ----------------------------------------------------------------------------------------


def _gate_export(c: _Conversion) -> Outcome:
    e = c.exporter
    try:
        data, text = e.convert_float()
    except Exception as err:  # the converter's ConverterError and friends: report, do not crash
        return Outcome.failed(f"{e.model.name}: conversion to a float .tflite failed: {_first_line(err)[:500]}")
    e._float = data
    return Outcome.passed(
        f"float .tflite of the {text}: {len(data)} bytes", size_bytes=len(data), form=e.form, plan=e.plan.to_dict()
    )


def _gate_builtin_ops(c: _Conversion) -> Outcome:
    return builtin_ops_outcome(c.exporter._float, f"{c.exporter.model.name} (float)")


def _gate_float_parity(c: _Conversion) -> Outcome:
    e = c.exporter
    out = e._stream(e.frame_runner(e._float, "float"), "float .tflite frames")
    p = parity(out, e.keras_output())
    bounds = {"max_abs_error": MAX_FLOAT_ABS_ERROR, "min_snr_db": e.min_snr["float"]}
    text = f"max abs error {p['max_abs_error']:.2e}, {snr_text(p)} against Keras ({e.keras_reference})"
    if p["max_abs_error"] > MAX_FLOAT_ABS_ERROR or not _snr_ok(p, e.min_snr["float"]):
        return Outcome.failed(
            f"the float .tflite differs from Keras: {text} (bounds: max abs error <= "
            f"{MAX_FLOAT_ABS_ERROR}, SNR >= {e.min_snr['float']} dB)",
            **p,
            bounds=bounds,
        )
    e._float_out = out
    e._float_parity = p
    return Outcome.passed(text, **p, bounds=bounds)


def _gate_quantize(c: _Conversion) -> Outcome:
    e, mode = c.exporter, c.mode
    if mode == "float":
        c.data = e._float
        return Outcome.skipped("float mode: the float .tflite is the model")
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
    text = f"{snr_text(p)}, max abs error {p['max_abs_error']:.3g} against the float .tflite (gate >= {bound} dB)"
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
    return Outcome.passed(
        f"metadata embedded; {text} and the outputs, tolerance {bounds}",
        atol=atol,
        xnnpack_vs_builtin_kernels_max_diff=diffs,
        **info,
    )


def _gate_second_runtime(c: _Conversion) -> Outcome:
    f = c.fixture
    return second_runtime_outcome(c.final, f["inputs"], f["expected"], f["atol"])


def _gate_write(c: _Conversion) -> Outcome:
    out_dir, name, f = c.out_dir, c.name, c.fixture
    single = len(f["inputs"]) == 1 and len(f["expected"]) == 1
    if single:  # one window in, one frame out: plain .npy arrays
        files = {"input": f"{name}.input.npy", "expected": f"{name}.expected.npy"}
        staged = {
            files["input"]: npy_bytes(next(iter(f["inputs"].values()))),
            files["expected"]: npy_bytes(next(iter(f["expected"].values()))),
        }
        atol, diff = next(iter(f["atol"].values())), next(iter(f["diff"].values()))
    else:  # several tensors (frame + states): .npz archives keyed by tensor name
        files = {"inputs": f"{name}.inputs.npz", "expected": f"{name}.expected.npz"}
        staged = {}
        for key, arrays in (("inputs", f["inputs"]), ("expected", f["expected"])):
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            staged[files[key]] = buf.getvalue()
        atol, diff = dict(f["atol"]), dict(f["diff"])
    path = out_dir / f"{name}.tflite"
    staged[path.name] = c.final  # written with the JSON sidecar, as one set, by GatedExporter.export
    c.staged = staged
    files.update(
        {
            **f["info"],
            "atol": atol,
            "atol_units": "raw tensor units (integer tensors: quantization steps)",
            "xnnpack_vs_builtin_kernels_max_diff": diff,
        }
    )
    c.written = {"path": path, "files": files}
    fixtures = [v for k, v in files.items() if k in ("input", "expected", "inputs")]
    return Outcome.passed(
        f"{path.name} ({len(c.final)} bytes), {name}.json, {', '.join(fixtures)}",
        tflite=path.name,
        json=f"{name}.json",
        fixtures=fixtures,
    )


def _edge_ready(c: _Conversion) -> bool:
    return c.edge_ready


CONVERSION_GATES: tuple[Gate, ...] = (
    Gate(
        "export",
        "the model in its exported form (the fixed-window model, or with --streaming the stateful "
        "frame + state model), batch 1 and every shape fixed, to a float .tflite",
        _gate_export,
    ),
    Gate(
        "builtin_ops",
        "TFLite builtin operators only (no Flex or custom operators), in the float .tflite",
        _gate_builtin_ops,
    ),
    Gate(
        "float_parity",
        "the float .tflite fed frame by frame over training audio against Keras (max abs error <= "
        f"{MAX_FLOAT_ABS_ERROR}, SNR >= {MIN_SNR_DB['float']:g} dB)",
        _gate_float_parity,
        error=ParityError,
    ),
    Gate(
        "quantize",
        "conversion in the named mode, calibrated or fine-tuned on training audio only (skipped in float mode)",
        _gate_quantize,
    ),
    Gate(
        "static_graph",
        "every operator in the embedded-runtime allowlist "
        "(keras_audiosr.export.opcheck.EMBEDDED_OPS) and every "
        "tensor of static shape; blocking for edge-ready models, a warning for the others",
        _gate_static_graph,
        blocking=_edge_ready,
    ),
    Gate(
        "parity",
        "the quantized model against the float .tflite on the same audio, frame by frame (SNR bound per "
        "mode; skipped in float mode)",
        _gate_parity,
        error=ParityError,
    ),
    Gate(
        "fixtures",
        "metadata embedded; golden fixtures: one call's real inputs (a window, or a frame and the "
        "states reached) and every output in the model's dtypes, with a tolerance per output",
        _gate_fixtures,
    ),
    Gate(
        "second_runtime",
        "Arm NN (CpuRef) on the golden fixtures, inputs bound by name: every output (state "
        "tensors included) within the fixture tolerance, and each integer operator alone within one "
        "quantization step of LiteRT; skipped with a notice where Arm NN is absent; blocking as "
        "static_graph",
        _gate_second_runtime,
        blocking=_edge_ready,
    ),
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

    def __init__(
        self,
        model,
        plan: StreamingPlan,
        train_utts=None,
        *,
        parity_files: int = 2,
        parity_seconds: float = 4.0,
        min_snr: dict | None = None,
        strict: bool = False,
        progress: bool = True,
        seed: int = 0,
        log=print,
    ):
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
            deg = Degradation.from_dict(self.model.degradation)
            n = int(self.parity_seconds * self.model.hr_rate)
            hr_rate, ratio = int(self.model.hr_rate), int(self.model.ratio)
            self._signals = [
                deg(trim_to_multiple(prepare_signal(u.path, hr_rate)[:n], ratio))
                for u in self.train_utts[: max(1, self.parity_files)]
            ]
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
        """A frame function of ``data`` for :class:`keras_audiosr.streaming.StreamingUpsampler`."""
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

        Raises the failing gate's :class:`keras_audiosr.export.gates.GateFailed` (:class:`ParityError` for the parity
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
            write_json(
                failed_report,
                {
                    "model": self.model.name,
                    "mode": mode,
                    "form": self.form,
                    "status": "failed",
                    "failed_gate": err.gate,
                    "message": str(err),
                    "edge_ready": self.edge_ready,
                    "gates": [r.to_dict() for r in err.results],
                },
                indent=1,
                sort_keys=True,
            )
            raise
        for r in results:
            if r.name in _SHARED:
                self._shared_results.setdefault(r.name, r)
        failed_report.unlink(missing_ok=True)
        gates = [r.to_dict() for r in results]
        ops = dict(next(r for r in results if r.name == "static_graph").details.get("ops", {}))
        side = {
            **c.metadata,
            "edge_ready": self.edge_ready,
            "gates": gates,
            "parity": c.parity,
            "parity_gates_db": {k: self.min_snr[k] for k in ("float", mode)},
            "float_max_abs_error": MAX_FLOAT_ABS_ERROR,
            "ops": ops,
            "files": c.written["files"],
            "size_bytes": len(c.final),
        }
        side["sha256"] = {n: hashlib.sha256(data).hexdigest() for n, data in c.staged.items()}
        json_path = out_dir / f"{name}.json"
        write_file_set(out_dir, {**c.staged, json_path.name: json_bytes(side)}, manifest=json_path.name)
        seconds = time.monotonic() - t0
        return ExportResult(
            name,
            mode,
            c.written["path"],
            json_path,
            c.metadata,
            c.parity,
            ops,
            len(c.final),
            seconds,
            c.written["files"],
            gates,
        )
