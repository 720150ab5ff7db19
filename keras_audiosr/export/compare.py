"""``python -m edge.compare``: models and their exported variants side by side, measured on evaluation audio.

One row per model and variant, all in one run on this machine (ratios between rows are the
claim; absolute times vary with the machine):

* ``keras``     -- the Keras float model on each whole file (chunked, :mod:`keras_audiosr.inference`);
* ``float``, ``dynamic``, ``float16``, ``int8``, ``int16x8``, ``qat`` -- ``.tflite`` block models
  (``--block-ms`` frames with the receptive-field context, :mod:`keras_audiosr.streaming`) exported through
  every conversion gate (:mod:`keras_audiosr.export.conversion`) and run over each file block by block under LiteRT;
* ``streaming`` -- the float ``.tflite`` with a ``--frame-ms`` frame, fed frame by frame;
* ``stream-float``, ``stream-int8``, ``stream-int8-pcm16`` -- for models with a stateful streaming form
  (:class:`keras_audiosr.models.StreamingBWE`), that form exported through the same gates
  (:mod:`keras_audiosr.export.stateful`) and fed ``--frame-ms`` frames with its state tensors. Such a model is
  compared in its stateful form only (its window variants are skipped), every other model in its
  window forms only.

Quality columns come from the library's evaluation loop (:func:`keras_audiosr.evaluation.evaluate_suite`):
every metric :func:`keras_audiosr.metrics.evaluate_pair` returns (SNR, low-band SNR, LSD, LSD-HF,
PESQ-WB), against the high-rate reference, under each input degradation of ``--degradations``
(default ``own,resample``: the model's training degradation and a sinc resampler; the rows show the
first, a second table every one), with the sinc and spline baselines on the same inputs, and "SNR vs
Keras" (how far a variant departs from the model it came from). Cost columns: parameters and MMAC per
second of audio counted from the graph (:mod:`keras_audiosr.export.graphstats`), file size, median latency of one
call and per 10 ms of audio with ``--threads`` threads, real-time factor, algorithmic latency.
Calibration and QAT use ``--train-data`` only; when it shares files with ``--data``, the corpus is
split by speaker and only held-out speakers are evaluated.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from keras_audiosr.export.compare_report import format_markdown
from keras_audiosr.export.modes import MODES, STREAMING_MODES

__all__ = ["VARIANTS", "compare", "format_markdown", "main"]

STATEFUL_VARIANTS = tuple(f"stream-{m}" for m in STREAMING_MODES)
VARIANTS = ("keras",) + MODES + ("streaming",) + STATEFUL_VARIANTS
BASELINES = ("sinc", "spline")
# Input degradations scored by default: the model's own and a sinc resampler (how real low-rate files are made).
DEGRADATIONS = ("own", "resample")
# Preferred column order; metrics evaluate_pair adds later are appended after these.


def _keras_latency(model, plan, repeats: int = 20) -> float:
    from keras_audiosr.streaming.keras_runner import keras_frame_fn

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


def _check_variants(variants) -> tuple[str, ...]:
    variants = tuple(dict.fromkeys(variants or VARIANTS))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}; choose from: {', '.join(VARIANTS)}")
    return variants


def _keras_named(suite: dict) -> dict:
    """An evaluation-suite report with the system ``model`` called ``keras`` (as the rows name it)."""

    def rename(d):
        return {("keras" if k == "model" else k): v for k, v in d.items()}

    suite["systems"] = ["keras" if s == "model" else s for s in suite["systems"]]
    for rep in suite["degradations"].values():
        rep["systems"] = suite["systems"]
        rep["files"] = [rename(f) for f in rep["files"]]
        rep["mean"], rep["mean_excluded"] = rename(rep["mean"]), rename(rep["mean_excluded"])
    return suite


def _compare_one(
    model,
    label,
    eval_utts,
    train_utts,
    out_dir,
    *,
    variants,
    block_ms,
    frame_ms,
    with_pesq,
    max_seconds,
    threads,
    repeats,
    progress,
    log,
    model_path,
    strict,
    exporter_kwargs,
    degradations,
    perceptual=False,
):
    from keras_audiosr.evaluation import (
        evaluate_suite,
        finite_mean,
        resolve_degradations,
        suite_summary,
    )
    from keras_audiosr.export.benchmark import benchmark_model
    from keras_audiosr.export.stateful import StreamingExporter
    from keras_audiosr.export.window import Exporter
    from keras_audiosr.streaming import StreamingUpsampler, make_plan
    from keras_audiosr.streaming.plan import has_stateful_form, stateful_plan
    from keras_audiosr.streaming.runtime import TFLiteModel

    hr_rate = int(model.hr_rate)
    block_plan = make_plan(model, frame_ms=block_ms)
    stateful = has_stateful_form(model)
    stream_plan = stateful_plan(model, frame_ms=frame_ms) if stateful else make_plan(model, frame_ms=frame_ms)
    skipped = [v for v in variants if v != "keras" and (v in STATEFUL_VARIANTS) != stateful]
    if skipped:
        log(
            f"[edge] {label or model.name}: {'stateful' if stateful else 'window'} model: skipping {', '.join(skipped)}"
        )
    variants = [v for v in variants if v not in skipped]
    modes = [v for v in variants if v in MODES]
    log(
        f"[edge] {label}: block model {block_plan.frame_ms:g} ms frames (window {block_plan.window} samples), "
        f"streaming {stream_plan.frame_ms:g} ms frames (algorithmic latency {stream_plan.latency_ms:.1f} ms)"
    )

    exports = {}
    if modes:
        log(f"[edge] {label}: stage 1/3: export {', '.join(modes)} through the conversion gates")
        block = Exporter(model, block_plan, train_utts, progress=progress, log=log, strict=strict, **exporter_kwargs)
        for mode in modes:
            exports[mode] = (block.export(mode, out_dir, name=f"{label}_{mode}" if label else mode), block_plan)
    if "streaming" in variants:
        log(f"[edge] {label}: stage 1/3: export the streaming model through the conversion gates")
        streaming = Exporter(
            model, stream_plan, train_utts, progress=progress, log=log, strict=strict, **exporter_kwargs
        )
        exports["streaming"] = (
            streaming.export("float", out_dir, name=f"{label}_streaming" if label else "streaming"),
            stream_plan,
        )
    stream_modes = [v[len("stream-") :] for v in variants if v in STATEFUL_VARIANTS]
    if stream_modes:
        log(
            f"[edge] {label}: stage 1/3: export the stateful stream ({', '.join(stream_modes)}) through the conversion "
            f"gates"
        )
        stream = StreamingExporter(model, stream_plan.frame, train_utts, progress=progress, log=log, strict=strict)
        for mode in stream_modes:
            exports[f"stream-{mode}"] = (
                stream.export(mode, out_dir, name=f"{label}_stream_{mode}" if label else f"stream_{mode}"),
                stream_plan,
            )

    def runner(res, plan):
        if plan.stateful:
            up = StreamingUpsampler.from_tflite(res.path, num_threads=threads)
        else:
            up = StreamingUpsampler(TFLiteModel(res.path, num_threads=threads), plan)
        return lambda low: up.run(low)

    systems = {name: runner(res, plan) for name, (res, plan) in exports.items()}
    inputs = resolve_degradations(model, degradations)
    log(
        f"[edge] {label}: stage 2/3: evaluate {len(eval_utts)} files under {len(inputs)} input degradation(s) "
        f"({', '.join(i.label for i in inputs)}): Keras, {len(systems)} .tflite variants, "
        f"{' and '.join(BASELINES)} baselines"
    )
    suite = _keras_named(
        evaluate_suite(
            model,
            [u.path for u in eval_utts],
            degradations=degradations,
            baselines=BASELINES,
            with_pesq=with_pesq,
            systems=systems,
            relative_to="model",
            max_seconds=max_seconds,
            progress=progress,
            perceptual=perceptual,
        )
    )
    primary = suite["order"][0]  # the quality columns of the rows
    per_file = suite["degradations"][primary]["files"]

    log(
        f"[edge] {label}: stage 3/3: benchmark {len(exports)} .tflite variants ({threads} thread(s), "
        f"{repeats} calls each)"
    )
    from keras_audiosr.export.graphstats import graph_stats

    rows = []
    for name in VARIANTS:
        if name not in variants or (name != "keras" and name not in exports):
            continue
        entry = {"name": name, "model": model.name, "label": f"{label}/{name}" if label else name}
        metrics = [k for k in per_file[0][name] if k != "snr_vs_model"]
        excluded = {}
        for k in metrics:
            entry[k], excluded[k] = finite_mean(f[name].get(k) for f in per_file)
        entry["snr_vs_float"], _ = finite_mean(f[name].get("snr_vs_model") for f in per_file)
        entry["excluded_non_finite"] = {k: n for k, n in excluded.items() if n}
        entry["quality_degradation"] = primary
        entry["by_degradation"] = {lb: rep["mean"][name] for lb, rep in suite["degradations"].items()}
        if name == "keras":
            latency = _keras_latency(model, block_plan)
            entry.update(
                mode="float32 (Keras)",
                size_bytes=Path(model_path).stat().st_size if model_path else None,
                parameters=int(model.count_params()),
                mmac_per_second=None,
                latency_ms=latency,
                latency_per_10ms_ms=latency * 10.0 / block_plan.frame_ms,
                rtf=latency / block_plan.frame_ms,
                frame_ms=block_plan.frame_ms,
                algorithmic_latency_ms=None,
                snr_vs_float=None,
            )
        else:
            res, plan = exports[name]
            bench = benchmark_model(res.path, threads=(threads,), repeats=repeats, memory=False)
            stats = bench["threads"][str(threads)]
            g = graph_stats(res.path)
            entry.update(
                mode=res.mode,
                size_bytes=res.size_bytes,
                parameters=g["parameters"],
                mmac_per_second=g["macs"] * 1000.0 / plan.frame_ms / 1e6,
                latency_ms=stats["latency_ms"],
                latency_per_10ms_ms=stats["latency_per_10ms_ms"],
                rtf=stats["rtf"],
                frame_ms=plan.frame_ms,
                algorithmic_latency_ms=plan.latency_ms,
                file=str(res.path),
                parity=res.parity,
                gates={gr["gate"]: gr["status"] for gr in res.gates},
            )
        rows.append(entry)
    baselines = {b: dict(suite["degradations"][primary]["mean"][b]) for b in BASELINES}
    tables = {
        **suite,
        "degradations": {
            lb: {k: v for k, v in rep.items() if k != "files"} for lb, rep in suite["degradations"].items()
        },
    }
    info = {
        "name": model.name,
        "label": label,
        "path": None if model_path is None else str(model_path),
        "ratio": int(model.ratio),
        "lr_rate": int(model.lr_rate),
        "hr_rate": hr_rate,
        "degradation": dict(model.degradation),
        "block_plan": block_plan.to_dict(),
        "streaming_plan": stream_plan.to_dict(),
        "baselines": baselines,
        "quality_degradation": primary,
        "degradations": suite_summary(suite),
        "suite": tables,
        "files": per_file,
    }
    return rows, info


def compare(
    models,
    eval_utts,
    train_utts,
    out_dir,
    *,
    variants=None,
    block_ms: float = 1000.0,
    frame_ms: float = 20.0,
    with_pesq: bool | None = None,
    max_files: int | None = None,
    max_seconds: float | None = None,
    threads: int = 1,
    repeats: int = 30,
    progress: bool = True,
    log=print,
    model_path=None,
    model_paths=None,
    strict: bool = False,
    degradations=DEGRADATIONS,
    perceptual=False,
    **exporter_kwargs,
) -> dict:
    """Export the ``variants`` of each model into ``out_dir``, run them over ``eval_utts``, score and time them.

    ``models`` is one model or a list; ``model_paths`` (or ``model_path`` for one model) are their
    ``.keras`` files (size of the ``keras`` row). ``degradations`` are the input degradations
    every variant and baseline is scored under (:func:`keras_audiosr.evaluation.resolve_degradations`;
    the first gives the rows' quality columns). Returns the report dict (``variants``: one row per
    model and variant, with ``by_degradation`` means; ``models``: per-model plans, baselines,
    ``degradations`` (:func:`keras_audiosr.evaluation.suite_summary`), ``suite`` (the evaluation
    report without per-file scores) and the per-file scores of the first degradation). ``perceptual`` adds
    ViSQOL and DNSMOS P.808 to every variant's scores (:func:`keras_audiosr.metrics.perceptual_scores`).
    """
    from keras_audiosr.metrics import pesq_available

    single = not isinstance(models, (list, tuple))
    models = [models] if single else list(models)
    paths = list(model_paths) if model_paths is not None else [model_path] * len(models)
    variants = _check_variants(variants)
    out_dir = Path(out_dir)
    if with_pesq is None:
        with_pesq = pesq_available()
    eval_utts = list(eval_utts)[:max_files] if max_files else list(eval_utts)
    if not eval_utts:
        raise ValueError("compare: no evaluation files")
    names = [m.name for m in models]
    labels = (
        [""]
        if single
        else [
            (m.name if names.count(m.name) == 1 else f"{m.name}_{Path(p).stem if p else i}")
            for i, (m, p) in enumerate(zip(models, paths))
        ]
    )
    rows, infos = [], []
    for model, label, path in zip(models, labels, paths):
        r, info = _compare_one(
            model,
            label,
            eval_utts,
            train_utts,
            out_dir,
            variants=variants,
            block_ms=block_ms,
            frame_ms=frame_ms,
            with_pesq=with_pesq,
            max_seconds=max_seconds,
            threads=threads,
            repeats=repeats,
            progress=progress,
            log=log,
            model_path=path,
            strict=strict,
            exporter_kwargs=exporter_kwargs,
            degradations=degradations,
            perceptual=perceptual,
        )
        rows += r
        infos.append(info)
    first = infos[0]
    report = {
        "variants": rows,
        "models": [{k: v for k, v in i.items() if k != "files"} for i in infos],
        "baselines": first["baselines"],
        "files": first["files"] if single else {i["label"]: i["files"] for i in infos},
        "n_files": len(eval_utts),
        "seconds": float(sum(f["seconds"] for f in first["files"])),
        "threads": threads,
        "pesq": bool(with_pesq),
        "perceptual": bool(perceptual),
        "machine_note": "latencies measured one after another in this run on this machine; compare them as ratios",
    }
    if single:
        report.update(
            {
                k: first[k]
                for k in (
                    "ratio",
                    "lr_rate",
                    "hr_rate",
                    "degradation",
                    "block_plan",
                    "streaming_plan",
                    "quality_degradation",
                    "degradations",
                )
            },
            model=first["name"],
        )
    return report


def build_parser():
    from keras_audiosr.args import Parser, invoked_as, positive_float, positive_int

    prog = invoked_as(("edge.compare", "keras_audiosr.export.compare"), "python -m keras_audiosr.export.compare")
    p = Parser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        action="append",
        required=True,
        help="trained .keras model or a shipped model's name; repeat it to put several models side by side; required",
    )
    p.add_argument("--data", required=True, help="evaluation audio folder (high-rate references); required")
    p.add_argument(
        "--train-data",
        default=None,
        help="training audio folder for calibration and QAT (default: the embedded default corpus)",
    )
    p.add_argument("--json", required=True, help="write the report here; required")
    p.add_argument("--md", default=None, help="also write the markdown table here (default: not written)")
    p.add_argument("--out-dir", default=None, help="where the .tflite variants go (default: <json stem>_models/)")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated variants to run (default: {','.join(VARIANTS)})",
    )
    p.add_argument(
        "--degradations",
        default=",".join(DEGRADATIONS),
        help="comma-separated input degradations to score under: own (the model's training degradation), "
        "a spec (resample, butter:4, telephone:mulaw, ...) or a set name; the first gives the rows' "
        f"quality columns (default: {','.join(DEGRADATIONS)})",
    )
    p.add_argument(
        "--block-ms", type=positive_float, default=1000.0, help="frame of the block variants in ms (default: 1000)"
    )
    p.add_argument(
        "--frame-ms", type=positive_float, default=20.0, help="frame of the streaming variant in ms (default: 20)"
    )
    p.add_argument(
        "--test-speakers",
        default=None,
        help="comma-separated held-out speakers when --data and --train-data overlap "
        "(default: the recipes' speaker split)",
    )
    p.add_argument(
        "--max-files", type=positive_int, default=None, help="evaluate at most this many files (default: all)"
    )
    p.add_argument(
        "--max-seconds",
        type=positive_float,
        default=None,
        help="score only the first seconds of each file (default: whole files)",
    )
    p.add_argument("--threads", type=positive_int, default=1, help="interpreter threads for timing (default: 1)")
    p.add_argument("--repeats", type=positive_int, default=30, help="timed calls per variant (default: 30)")
    p.add_argument("--qat-steps", type=positive_int, default=200, help="QAT fine-tuning steps (default: 200)")
    p.add_argument(
        "--calibration-windows",
        type=positive_int,
        default=128,
        help="training windows for int8/int16x8 calibration (default: 128)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="static_graph and second_runtime gates blocking for every model (default: off)",
    )
    p.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB (default: computed when pesq is installed)")
    p.add_argument(
        "--no-perceptual",
        action="store_true",
        help="skip ViSQOL and DNSMOS P.808 (default: computed when the eval extra is installed; they cost "
        "seconds per second of audio)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: off)")
    p.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's and LiteRT's start-up log lines (default: hidden)",
    )
    return p


def _validate(args):
    """Every path and name checked before any work; returns ``(variants, eval_utts, degradations)``."""
    from keras_audiosr import pretrained
    from keras_audiosr.args import (
        UsageError,
        require_dir,
        require_file,
        writable_dir,
        writable_file,
    )
    from keras_audiosr.data import load_corpus
    from keras_audiosr.evaluation import check_degradation_names

    resolved = []
    for m in args.model:  # a .keras file, or a shipped model's name (its .keras)
        try:
            path, _ = pretrained.resolve(m)
        except pretrained.PretrainedError as e:
            raise UsageError(f"model {e}") from None
        resolved.append(str(require_file(path, "model", (".keras",))))
    args.model = resolved
    require_dir(args.data, "evaluation audio")
    if args.train_data is not None:
        require_dir(args.train_data, "training audio")
    writable_file(args.json, "--json")
    if args.md:
        writable_file(args.md, "--md")
    writable_dir(args.out_dir or str(Path(args.json).with_suffix("")) + "_models", "--out-dir")
    variants = _check_variants([v.strip() for v in args.variants.split(",") if v.strip()])
    try:
        degradations = check_degradation_names(args.degradations)
    except ValueError as e:
        raise UsageError(f"--degradations: {e}") from None
    try:
        eval_utts = load_corpus(args.data)
    except (OSError, ValueError) as e:
        raise UsageError(f"evaluation audio {args.data}: {e}") from e
    if not eval_utts:
        raise UsageError(f"evaluation audio {args.data}: no audio files found")
    return variants, eval_utts, degradations


def main(argv=None) -> int:
    from keras_audiosr.args import UsageError
    from keras_audiosr.metrics import perceptual_available

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        variants, eval_utts, degradations = _validate(args)
    except (UsageError, ValueError) as e:
        return parser.fail(str(e))

    from keras_audiosr.export.logs import import_tensorflow

    try:
        import_tensorflow()
    except ImportError as e:
        return parser.fail(str(e))
    from keras_audiosr.export.calibration import (
        separate_eval_and_train,
        training_utterances,
    )
    from keras_audiosr.export.files import write_text
    from keras_audiosr.inference import load_model
    from keras_audiosr.utils import write_json

    try:
        models = [load_model(m) for m in args.model]
        train_utts = training_utterances(args.train_data, max(m.hr_rate for m in models))
        speakers = [s for s in args.test_speakers.split(",") if s] if args.test_speakers else None
        eval_utts, train_utts, note = separate_eval_and_train(eval_utts, train_utts, speakers)
    except (OSError, ValueError) as e:
        return parser.fail(str(e))
    print(f"[edge] {len(eval_utts)} evaluation files, {len(train_utts)} training files ({note})", flush=True)
    out_dir = args.out_dir or str(Path(args.json).with_suffix("")) + "_models"
    from keras_audiosr.export.gates import GateFailed

    try:
        report = compare(
            models if len(models) > 1 else models[0],
            eval_utts,
            train_utts,
            out_dir,
            variants=variants,
            block_ms=args.block_ms,
            frame_ms=args.frame_ms,
            with_pesq=False if args.no_pesq else None,
            max_files=args.max_files,
            max_seconds=args.max_seconds,
            threads=args.threads,
            repeats=args.repeats,
            progress=not args.no_progress,
            qat_steps=args.qat_steps,
            calibration_windows=args.calibration_windows,
            model_paths=args.model,
            strict=args.strict,
            degradations=degradations,
            log=lambda s: print(s, flush=True),
            perceptual=False if args.no_perceptual else perceptual_available(),
        )
    except GateFailed as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    report["split_note"] = note
    report["command"] = f"{parser.prog} " + " ".join(sys.argv[1:] if argv is None else argv)
    write_json(args.json, report, indent=1, sort_keys=True)
    table = format_markdown(report)
    if args.md:
        write_text(args.md, table + "\n")
    print(table)
    excluded = {v["label"]: v["excluded_non_finite"] for v in report["variants"] if v.get("excluded_non_finite")}
    if excluded:
        print(f"[edge] non-finite scores left out of the means: {excluded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
