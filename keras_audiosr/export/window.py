"""The fixed-window export form: ``[context | frame | lookahead]`` low-rate samples in, the frame's
high-rate samples out (:mod:`keras_audiosr.streaming.plan`), batch 1 and every shape fixed, in any of
:data:`keras_audiosr.export.modes.MODES`, through the conversion gates
(:data:`keras_audiosr.export.conversion.CONVERSION_GATES`).

Models with a stateful streaming form are exported in that form only
(:mod:`keras_audiosr.export.stateful`).
"""

from __future__ import annotations

import time

import numpy as np

import keras_audiosr
from keras_audiosr.export.calibration import training_utterances, training_windows
from keras_audiosr.export.conversion import ExportResult, GatedExporter, io_spec
from keras_audiosr.export.modes import check_mode
from keras_audiosr.export.tflite import convert_keras
from keras_audiosr.streaming.keras_runner import keras_frame_fn, streaming_keras_model
from keras_audiosr.streaming.metadata import METADATA_FORMAT
from keras_audiosr.streaming.plan import StreamingPlan, has_stateful_form, make_plan
from keras_audiosr.streaming.runtime import TFLiteModel

__all__ = ["Exporter", "check_window_form", "convert_model"]


def check_window_form(model) -> None:
    """ValueError for a model with a stateful streaming form: it is exported in that form only."""
    if has_stateful_form(model):
        raise ValueError(
            f"model {model.name!r} ({type(model).__name__}) has a stateful streaming form: export it "
            f"with --streaming (keras_audiosr.export.stateful); its fixed-window form recomputes every "
            "frame's past, "
            f"and LiteRT's XNNPACK delegate aborts on its full-integer int8 window graph"
        )


class Exporter(GatedExporter):
    """Converts one Keras model at one window geometry into any mode through :data:`CONVERSION_GATES`.

    The float conversion, its gates, the calibration windows, the parity signals and their Keras and
    float outputs are shared between modes: the first export runs those gates, later ones record
    the same results.

    Args:
        model: A trained :class:`keras_audiosr.models.AudioSRModel`.
        plan: Window geometry (:func:`keras_audiosr.streaming.make_plan`); default a 20 ms frame.
        train_utts: Training utterances (:func:`keras_audiosr.export.calibration.training_utterances`); calibration, QAT
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

    def __init__(
        self,
        model,
        plan: StreamingPlan | None = None,
        train_utts=None,
        *,
        calibration_windows: int = 128,
        qat_steps: int = 200,
        qat_batch_size: int = 16,
        qat_learning_rate: float = 1e-4,
        qat_patch: int = 4096,
        parity_files: int = 2,
        parity_seconds: float = 4.0,
        min_snr: dict | None = None,
        strict: bool = False,
        progress: bool = True,
        seed: int = 0,
        log=print,
    ):
        check_window_form(model)
        super().__init__(
            model,
            plan or make_plan(model),
            train_utts,
            parity_files=parity_files,
            parity_seconds=parity_seconds,
            min_snr=min_snr,
            strict=strict,
            progress=progress,
            seed=seed,
            log=log,
        )
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
        how = {
            "int8": "full integer, calibrated on training audio",
            "int16x8": "int16 activations, calibrated on training audio",
            "qat": "full integer from quantization-aware fine-tuning on training audio",
            "dynamic": "int8 weights, float activations",
            "float16": "float16 weights",
        }[mode]
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
        chunk = signal[start : start + w]
        window[: len(chunk)] = chunk
        name = tfl.interpreter.get_input_details()[0]["name"]
        return (
            {name: tfl.quantize_input(window)},
            {"input_offset_samples": int(start)},
            f"one window of training audio (offset {start})",
        )

    def representative(self):
        """``(generator, n)``: calibration windows (``plan.window`` low-rate samples) of training audio, as the
        converter wants them, with a progress bar over the calibration."""
        if self._calibration is None:
            lr, _ = training_windows(
                self.model,
                self.train_utts,
                self.plan.window,
                max_windows=self.calibration_windows,
                seed=self.seed,
                progress=self.progress,
            )
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
            from keras_audiosr.export.qat import qat_finetune  # Keras at its top

            patch = -(-self.qat_patch // self.plan.period) * self.plan.period
            lr, hr = training_windows(
                self.model, self.train_utts, patch, max_windows=100000, seed=self.seed, progress=self.progress
            )
            t = time.monotonic()
            self._qat_model, history = qat_finetune(
                self.model,
                lr,
                hr,
                steps=self.qat_steps,
                batch_size=self.qat_batch_size,
                learning_rate=self.qat_learning_rate,
                seed=self.seed,
                progress=self.progress,
            )
            loss = history.get("loss", [None])[-1] if history.get("loss") else None
            self._qat_info = {
                "qat_steps": self.qat_steps,
                "qat_patches": len(lr),
                "qat_patch_samples": patch,
                "qat_seconds": time.monotonic() - t,
                "qat_final_loss": loss,
            }
        return self._qat_model

    def metadata(self, mode: str, tfl: TFLiteModel) -> dict:
        """The document embedded in the ``.tflite`` (everything a device app needs to drive it)."""
        inp, out = io_spec(tfl)
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
            "usage": (
                "keep a buffer of input_length low-rate samples (zeros at start); per call shift frame_length "
                "new samples in at the end, quantize (q = clamp(round(x / scale) + zero_point)) when the input "
                "is integer, invoke, dequantize ((q - zero_point) * scale); the output_length high-rate "
                "samples are those of the frame that starts lookahead + frame_length samples before the "
                "buffer's end"
            ),
        }


def convert_model(
    model,
    mode: str,
    out_dir,
    *,
    train_data=None,
    frame: int | None = None,
    frame_ms: float | None = None,
    name: str | None = None,
    progress: bool = True,
    **exporter_kwargs,
) -> ExportResult:
    """One-call export: :class:`Exporter` for ``model`` with a ``frame``/``frame_ms`` window, then ``export(mode)``."""
    check_mode(mode)
    plan = make_plan(model, frame=frame, frame_ms=frame_ms)
    exporter = Exporter(
        model, plan, training_utterances(train_data, model.hr_rate), progress=progress, **exporter_kwargs
    )
    return exporter.export(mode, out_dir, name=name)
