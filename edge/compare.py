"""``python -m edge.compare``: what quantization and streaming cost, measured on evaluation audio.

One row per variant, in this order:

* ``keras``     -- the Keras float model on each whole file (:func:`keras_audiosr.inference.upsample_array`);
* ``float``, ``dynamic``, ``float16``, ``int8``, ``int16x8``, ``qat`` -- ``.tflite`` block models
  (``--block-ms`` frames with the receptive-field context, see :mod:`edge.streaming`), run over each
  file block by block under the LiteRT interpreter;
* ``streaming`` -- the float ``.tflite`` with a ``--frame-ms`` frame, fed frame by frame.

Columns: SNR, LSD, LSD-HF and PESQ-WB against the high-rate reference (each file degraded exactly as
the model's training inputs were), ``snr_vs_float`` (SNR against the Keras float output: how much
the variant departs from the model it came from), file size, median latency of one call (1 thread)
and real-time factor (latency / frame duration). Calibration and QAT fine-tuning use
``--train-data`` only; when it shares files with ``--data``, the corpus is split by speaker and
only the held-out speakers are evaluated.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from edge.export import MODES

__all__ = ["VARIANTS", "compare", "format_markdown", "main"]

VARIANTS = ("keras",) + MODES + ("streaming",)
_METRICS = ("snr", "lsd", "lsd_hf", "pesq")


def _mean(values):
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _keras_latency(model, plan, repeats: int = 20) -> float:
    from edge.streaming import keras_frame_fn

    fn = keras_frame_fn(model, plan)
    x = (0.1 * np.random.default_rng(0).standard_normal(plan.window)).astype(np.float32)
    for _ in range(3):
        fn(x)
    t = []
    for _ in range(repeats):
        s = time.perf_counter()
        fn(x)
        t.append(time.perf_counter() - s)
    return float(np.median(t) * 1000.0)


def compare(model, eval_utts, train_utts, out_dir, *, block_ms: float = 1000.0, frame_ms: float = 20.0,
            with_pesq: bool | None = None, max_files: int | None = None, max_seconds: float | None = None,
            threads: int = 1, repeats: int = 30, progress: bool = True, log=print, model_path=None,
            **exporter_kwargs) -> dict:
    """Export every variant into ``out_dir``, run each over ``eval_utts`` and score it; returns the report dict.

    ``model_path`` (the ``.keras`` file) gives the size of the ``keras`` row.
    """
    from keras_audiosr.data.patches import prepare_signal
    from keras_audiosr.degrade import Degradation, trim_to_multiple
    from keras_audiosr.inference import upsample_array
    from keras_audiosr.metrics import evaluate_pair, pesq_available, snr

    from edge.benchmark import benchmark_model
    from edge.convert import Exporter
    from edge.runtime import TFLiteModel
    from edge.streaming import StreamingUpsampler, make_plan
    from keras_audiosr.baselines import get_baseline

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if with_pesq is None:
        with_pesq = pesq_available()
    eval_utts = list(eval_utts)[:max_files] if max_files else list(eval_utts)
    if not eval_utts:
        raise ValueError("compare: no evaluation files")
    hr_rate, ratio = int(model.hr_rate), int(model.ratio)
    block_plan = make_plan(model, frame_ms=block_ms)
    stream_plan = make_plan(model, frame_ms=frame_ms)
    log(f"[edge] block plan {block_plan.to_dict()}")
    log(f"[edge] streaming plan {stream_plan.to_dict()}")

    exports = {}
    block = Exporter(model, block_plan, train_utts, progress=progress, log=log, **exporter_kwargs)
    for mode in MODES:
        exports[mode] = (block.export(mode, out_dir, name=mode), block_plan)
    streaming = Exporter(model, stream_plan, train_utts, progress=progress, log=log, **exporter_kwargs)
    exports["streaming"] = (streaming.export("float", out_dir, name="streaming"), stream_plan)

    deg = Degradation.from_dict(model.degradation)
    runners = {name: StreamingUpsampler(TFLiteModel(res.path, num_threads=threads), plan)
               for name, (res, plan) in exports.items()}
    per_file = []
    spline = get_baseline("spline")
    from tqdm import tqdm

    for u in tqdm(eval_utts, desc="compare", unit="file", disable=not progress):
        ref = prepare_signal(u.path, hr_rate)
        if max_seconds:
            ref = ref[:int(max_seconds * hr_rate)]
        ref = np.ascontiguousarray(trim_to_multiple(ref, ratio))
        low = deg(ref)
        keras_out = upsample_array(model, low)
        outs = {"keras": keras_out}
        for name, runner in runners.items():
            outs[name] = runner.run(low)
        row = {"path": str(u.path), "seconds": ref.size / hr_rate}
        for name, y in outs.items():
            m = evaluate_pair(y, ref, ratio, hr_rate, with_pesq=with_pesq)
            m["snr_vs_float"] = None if name == "keras" else snr(y, keras_out)
            row[name] = m
        row["spline"] = evaluate_pair(spline(low, ratio), ref, ratio, hr_rate, with_pesq=with_pesq)
        per_file.append(row)

    variants = []
    for name in VARIANTS:
        entry = {"name": name}
        for k in _METRICS + ("snr_vs_float",):
            entry[k] = _mean(f[name].get(k) for f in per_file)
        if name == "keras":
            entry["snr_vs_float"] = None
            entry["size_bytes"] = Path(model_path).stat().st_size if model_path else None
            entry["latency_ms"] = _keras_latency(model, block_plan)
            entry["rtf"] = entry["latency_ms"] / block_plan.frame_ms
            entry.update(frame_ms=block_plan.frame_ms, algorithmic_latency_ms=None, mode="float32 (Keras)")
        else:
            res, plan = exports[name]
            bench = benchmark_model(res.path, threads=(threads,), repeats=repeats, memory=False)
            stats = bench["threads"][str(threads)]
            entry.update(size_bytes=res.size_bytes, latency_ms=stats["latency_ms"], rtf=stats["rtf"],
                         frame_ms=plan.frame_ms, algorithmic_latency_ms=plan.latency_ms, mode=res.mode,
                         file=str(res.path), parity=res.parity)
        variants.append(entry)
    return {
        "variants": variants,
        "baselines": {"spline": {k: _mean(f["spline"].get(k) for f in per_file) for k in _METRICS}},
        "files": per_file,
        "n_files": len(per_file),
        "seconds": float(sum(f["seconds"] for f in per_file)),
        "model": model.name,
        "ratio": ratio, "lr_rate": int(model.lr_rate), "hr_rate": hr_rate,
        "degradation": dict(model.degradation),
        "block_plan": block_plan.to_dict(),
        "streaming_plan": stream_plan.to_dict(),
        "threads": threads,
        "pesq": bool(with_pesq),
    }


def _f(v, digits):
    return "-" if v is None else f"{v:.{digits}f}"


def format_markdown(report: dict) -> str:
    """The comparison as a markdown table (plus the spline baseline for scale)."""
    head = ["variant", "SNR (dB)", "LSD", "LSD-HF", "PESQ", "SNR vs float (dB)", "size (KiB)", "latency (ms)",
            "RTF", "frame (ms)", "algorithmic latency (ms)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in report["variants"]:
        lines.append("| " + " | ".join([
            v["name"], _f(v["snr"], 2), _f(v["lsd"], 3), _f(v["lsd_hf"], 3), _f(v.get("pesq"), 2),
            _f(v["snr_vs_float"], 1), _f(None if v["size_bytes"] is None else v["size_bytes"] / 1024, 1),
            _f(v["latency_ms"], 3), _f(v["rtf"], 4), _f(v.get("frame_ms"), 0), _f(v.get("algorithmic_latency_ms"), 1),
        ]) + " |")
    b = report.get("baselines", {}).get("spline")
    if b:
        lines.append("| spline (baseline) | " + " | ".join([_f(b["snr"], 2), _f(b["lsd"], 3), _f(b["lsd_hf"], 3),
                                                             _f(b.get("pesq"), 2)] + ["-"] * 6) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="trained .keras model")
    p.add_argument("--data", required=True, help="evaluation audio folder (high-rate references)")
    p.add_argument("--train-data", default=None,
                   help="training audio folder for calibration and QAT (default: the embedded default corpus)")
    p.add_argument("--json", required=True, help="write the report here")
    p.add_argument("--md", default=None, help="also write the markdown table here")
    p.add_argument("--out-dir", default=None, help="where the .tflite variants go (default: <json stem>_models/)")
    p.add_argument("--block-ms", type=float, default=1000.0, help="frame of the block variants (default 1000 ms)")
    p.add_argument("--frame-ms", type=float, default=20.0, help="frame of the streaming variant (default 20 ms)")
    p.add_argument("--test-speakers", default=None,
                   help="comma-separated held-out speakers when --data and --train-data overlap")
    p.add_argument("--max-files", type=int, default=None)
    p.add_argument("--max-seconds", type=float, default=None, help="score only the first seconds of each file")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--qat-steps", type=int, default=200)
    p.add_argument("--calibration-windows", type=int, default=128)
    p.add_argument("--no-pesq", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    from keras_audiosr.data import load_corpus
    from keras_audiosr.inference import load_model

    from edge.data import separate_eval_and_train, training_utterances
    from edge.metadata import write_bytes_atomic, write_json_atomic

    model = load_model(args.model)
    eval_utts = load_corpus(args.data)
    train_utts = training_utterances(args.train_data)
    speakers = [s for s in args.test_speakers.split(",") if s] if args.test_speakers else None
    eval_utts, train_utts, note = separate_eval_and_train(eval_utts, train_utts, speakers)
    print(f"[edge] {len(eval_utts)} evaluation files, {len(train_utts)} training files ({note})")
    out_dir = args.out_dir or str(Path(args.json).with_suffix("")) + "_models"
    report = compare(model, eval_utts, train_utts, out_dir, block_ms=args.block_ms, frame_ms=args.frame_ms,
                     with_pesq=False if args.no_pesq else None, max_files=args.max_files,
                     max_seconds=args.max_seconds, threads=args.threads, progress=not args.no_progress,
                     qat_steps=args.qat_steps, calibration_windows=args.calibration_windows, model_path=args.model)
    report["split_note"] = note
    report["command"] = "python -m edge.compare " + " ".join(sys.argv[1:] if argv is None else argv)
    write_json_atomic(args.json, report)
    table = format_markdown(report)
    if args.md:
        write_bytes_atomic(args.md, (table + "\n").encode("utf-8"))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
