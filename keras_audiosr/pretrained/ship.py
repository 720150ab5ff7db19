"""Shipping as a library step: a finished recipe run folder -> a shipped model folder with its cards.

Like keras-hub's ``save_to_preset``: :func:`ship` reads a run folder (``config.json``,
``metrics.json``, ``model.keras``, as ``python -m recipes.streaming_bwe`` writes it) and writes
``<out>/<name>/`` (default ``out``: :func:`keras_audiosr.pretrained.models_dir`)::

    <name>/model.keras                           the run's model (with its high-band trim applied)
    <name>/<model>_stream_<mode>.tflite          the stateful streaming model per mode (float, int8, ...),
    <name>/<model>_stream_<mode>.json            with its sidecar (metadata, every gate) and golden fixtures,
    <name>/<model>_stream_<mode>.{inputs,expected}.npz   exactly as ``python -m edge.convert --streaming`` writes them
    <name>/card.json                             rates, files, headline metrics, facts (keras_audiosr.pretrained)
    <name>/MODEL_CARD.md                         the card template filled in (keras_audiosr.pretrained.card)

Every argument is checked first (:func:`check_run`). The high-band trim is chosen on training files
only (:func:`keras_audiosr.pretrained.trim.apply_high_band_trim`); calibration uses the run's training
split; the held-out table comes from one evaluation (:func:`keras_audiosr.evaluation.evaluate_suite`)
of the run's test speakers under the model's default input degradations: the Keras model, the shipped
int8 streaming ``.tflite`` fed frames with its state tensors, sinc and spline. The folder is built in
a temporary folder beside the target and renamed over it: a rerun replaces a shipped model whole, a
failed one leaves it as it was. ``python -m tools.ship_model`` is the command line over it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from keras_audiosr import __version__
from keras_audiosr.args import UsageError, require_dir, writable_dir
from keras_audiosr.evaluation import evaluate_suite, quality_degradations, training_degradations
from keras_audiosr.export.modes import check_streaming_mode
from keras_audiosr.metrics import perceptual_available, pesq_available
from keras_audiosr.pretrained import ShipError, models_dir
from keras_audiosr.pretrained.card import (
    METRICS,
    REFERENCE_CASCADES,
    SYSTEMS,
    check_targets,
    model_card,
    reference_systems,
    training_stages,
)
from keras_audiosr.pretrained.provenance import (
    at_rate,
    data_sources,
    files_seconds,
    read_json,
    recorded_dirs,
    run_split,
    speakers,
)
from keras_audiosr.pretrained.trim import apply_high_band_trim
from keras_audiosr.streaming import StreamingUpsampler
from keras_audiosr.utils import write_json, write_text_atomic

__all__ = ["DEFAULT_MODES", "NAME_RE", "RUN_FILES", "check_run", "ship"]

RUN_FILES = ("config.json", "metrics.json", "model.keras")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEFAULT_MODES = ("float", "int8", "int8-pcm16")
SIZE_WARN_BYTES = 5 * 1024 * 1024


def _modes(modes) -> list[str]:
    text = modes if isinstance(modes, str) else ",".join(modes)
    out = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    for m in out:
        check_streaming_mode(m)
    missing = [m for m in ("float", "int8") if m not in out]
    if missing:
        raise ShipError(f"--modes {text}: must include {' and '.join(missing)}")
    return out


def _corpus_dirs(run: Path, data, recorded: list[Path]) -> list[Path]:
    """The folders the held-out files and the calibration audio are read from: ``data``, else the run's."""
    if data:
        return [require_dir(d, "--data") for d in data]
    for d in recorded:
        if not d.is_dir():
            raise ShipError(
                f"corpus folder {d} (recorded in {run}) not found from {Path.cwd()}; "
                f"pass the run's corpus folders with --data"
            )
    return recorded


def check_run(run, name: str, out=None, *, data=None, modes=DEFAULT_MODES, high_band_trim="auto") -> dict:
    """Every argument of :func:`ship` and every file it needs, checked before any work; returns what it needs.

    Raises :class:`~keras_audiosr.pretrained.ShipError` with one line naming the argument (as the
    command line's flag) and the problem."""
    try:
        run = require_dir(run, "--run")
        if not NAME_RE.match(str(name)):
            raise ShipError(
                f"--name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', starting "
                f"with a letter or digit"
            )
        missing = [f for f in RUN_FILES if not (run / f).is_file()]
        if missing:
            raise ShipError(
                f"--run {run}: no {', '.join(missing)} (is the run finished? a run writes model.keras "
                f"after training and metrics.json after its evaluation)"
            )
        config, metrics = read_json(run / "config.json"), read_json(run / "metrics.json")
        if not metrics.get("test_speakers"):
            raise ShipError(f"{run / 'metrics.json'}: no test_speakers: the run has no held-out speakers to score")
        out = writable_dir(models_dir() if out is None else out, "--out")
        modes = _modes(modes)
        if str(high_band_trim).strip().lower() not in ("auto", "none"):
            try:
                float(high_band_trim)
            except ValueError:
                raise ShipError(f"--high-band-trim {high_band_trim!r}: use auto, none or a number of dB") from None
        recorded = recorded_dirs(config, metrics)
        dirs = _corpus_dirs(run, data, recorded)
    except (UsageError, ValueError) as e:
        raise ShipError(str(e)) from None
    return {
        "run": run,
        "name": str(name),
        "config": config,
        "metrics": metrics,
        "out": out,
        "modes": modes,
        "dirs": dirs,
        "data": [str(d) for d in data] if data else None,
        "recorded": recorded if all(d.is_dir() for d in recorded) else None,
    }


def _stream_runner(path):
    up = StreamingUpsampler.from_tflite(path)
    return lambda low: up.run(low)


def held_out_files(corpora, per_speaker: int | None = 2) -> list:
    """The held-out utterances a card scores: up to ``per_speaker`` of each held-out speaker (spread over the
    speaker's files in sorted order; ``None`` for all), so every speaker counts and ViSQOL's cost stays bounded."""
    by_speaker: dict = {}
    for u in corpora.test:
        by_speaker.setdefault(u.speaker, []).append(u)
    chosen = []
    for _, utts in sorted(by_speaker.items()):
        utts = sorted(utts, key=lambda u: str(u.path))
        if per_speaker is not None and len(utts) > per_speaker:
            step = len(utts) / per_speaker
            utts = [utts[int(i * step)] for i in range(per_speaker)]
        chosen += utts
    return chosen


def held_out_paths(corpora, per_speaker: int | None = 2):
    """The paths of :func:`held_out_files`, as ``{corpus: [paths]}`` when several corpora hold some (per-corpus
    means in the reports), else a sorted list."""
    test = {str(u.path) for u in held_out_files(corpora, per_speaker)}
    groups = {k: [str(u.path) for u in v if str(u.path) in test] for k, v in corpora.test_by_corpus().items()}
    groups = {k: v for k, v in groups.items() if v}
    return groups if len(groups) > 1 else sorted(test)


def evaluate_shipped(
    model,
    int8_path,
    corpora,
    *,
    with_pesq,
    max_seconds,
    progress,
    per_speaker: int | None = 2,
    perceptual: bool | None = None,
) -> dict:
    """One evaluation of the held-out files (:func:`held_out_files`): the Keras model and the int8 stream beside
    sinc and spline, under :func:`~keras_audiosr.evaluation.quality_degradations` (own, resample, Butterworth 4,
    Chebyshev 8, and the telephone channel and real codecs for 8 kHz input), with ViSQOL and DNSMOS P.808 when the
    eval extra is installed (``perceptual=None``); files grouped by corpus when several corpora hold some; and the
    shipped cascade a model of these rates must beat (:func:`~keras_audiosr.pretrained.card.reference_systems`)."""
    paths = held_out_paths(corpora, per_speaker)
    perceptual = perceptual_available() if perceptual is None else bool(perceptual)
    return evaluate_suite(
        model,
        paths,
        degradations=quality_degradations(model),
        baselines=("sinc", "spline"),
        with_pesq=with_pesq,
        systems={"int8": _stream_runner(int8_path), **reference_systems(model.lr_rate, model.hr_rate)},
        relative_to="model",
        max_seconds=max_seconds,
        progress=progress,
        perceptual=perceptual,
    )


def _cleanup_leftovers(out: Path, name: str, log) -> None:
    for p in out.glob(f".{name}.partial-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            log(f"[ship] removed {p} (left by an interrupted run)")


def swap_in(tmp: Path, target: Path, aside: Path) -> None:
    """Rename ``tmp`` onto ``target``; an existing ``target`` is first renamed to ``aside`` (the caller removes it)
    and put back when the second rename fails."""
    moved = False
    if target.exists():
        os.rename(target, aside)
        moved = True
    try:
        os.rename(tmp, target)
    except OSError:
        if moved:
            os.rename(aside, target)
        raise


def ship(
    run,
    name: str,
    out=None,
    *,
    data=None,
    description: str | None = None,
    modes=DEFAULT_MODES,
    frame_ms: float = 10.0,
    calibration_windows: int = 256,
    max_seconds: float | None = None,
    high_band_trim="auto",
    with_pesq: bool | None = None,
    progress: bool = True,
    command: str | None = None,
    per_speaker: int | None = 2,
    perceptual: bool | None = None,
    log=print,
) -> dict:
    """Build ``<out>/<name>/`` from the run folder ``run`` (see the module docstring); returns its ``card.json``.

    ``data``: corpus folders holding the run's held-out speakers (default: the run's, as recorded);
    ``modes``: streaming ``.tflite`` modes (float and int8 required); ``frame_ms``: the stream frame;
    ``calibration_windows``: training windows for int8 calibration; ``max_seconds``: score only the
    first seconds of each held-out file; ``per_speaker``: held-out files scored per speaker (``None``: all);
    ``perceptual``: ViSQOL and DNSMOS P.808 in the held-out evaluation (default: when installed);
    ``high_band_trim``: ``"auto"`` (chosen on training files),
    ``"none"`` or a number of dB; ``with_pesq``: PESQ-WB (default: when installed); ``command``: what
    the card says made it. Raises :class:`~keras_audiosr.pretrained.ShipError` (before any work for a
    bad argument), :class:`~keras_audiosr.export.gates.GateFailed` when a conversion gate fails.
    """
    from keras_audiosr.export.metadata import stamp_model_folder  # the Keras layer, after the checks
    from keras_audiosr.export.stateful import StreamingExporter
    from keras_audiosr.inference import load_model
    from keras_audiosr.models.complexity import macs_per_second
    from keras_audiosr.streaming.plan import has_stateful_form, stateful_plan

    checked = check_run(run, name, out, data=data, modes=modes, high_band_trim=high_band_trim)
    t0 = time.monotonic()
    run, config, metrics, out, modes = (checked[k] for k in ("run", "config", "metrics", "out", "modes"))
    name = checked["name"]
    model = load_model(run / "model.keras")
    if not has_stateful_form(model):
        raise ShipError(
            f"{run / 'model.keras'}: {type(model).__name__} has no stateful streaming form; the shipped "
            f"models are StreamingBWE (python -m recipes.streaming_bwe)"
        )
    plan = stateful_plan(model, frame_ms=frame_ms)
    corpora = run_split(checked["dirs"], config, metrics)  # the held-out files and the calibration audio
    training = corpora  # what the card lists as the training data: every corpus of the run, when reachable
    rec = checked.get("recorded")
    narrowed = rec is not None and {d.resolve() for d in rec} != {Path(d).resolve() for d in checked["dirs"]}
    if narrowed:
        training = run_split(rec, config, metrics)
    corpora, below_rate = at_rate(corpora, model.hr_rate)
    training, below_rate = at_rate(training, model.hr_rate) if narrowed else (corpora, below_rate)
    overlap = set(speakers(training.train)) & set(speakers(corpora.test))
    if overlap:
        raise ShipError(f"speakers {', '.join(sorted(overlap))} are both training and held-out speakers")
    log(
        f"[ship] {name}: {type(model).__name__} {model.lr_rate} -> {model.hr_rate} Hz from {run}; "
        f"{len(corpora.train)} training files (calibration), {len(corpora.test)} held-out files of "
        f"{', '.join(speakers(corpora.test))}"
    )
    with_pesq = pesq_available() if with_pesq is None else bool(with_pesq)
    trim = apply_high_band_trim(model, corpora.train, high_band_trim, with_pesq, log)

    out.mkdir(parents=True, exist_ok=True)
    _cleanup_leftovers(out, name, log)
    # Built in <out>/.<name>.partial-XXXX/<name> (a folder pretrained.list() does not see), then renamed onto
    # <out>/<name>; the replaced folder goes to the partial folder, removed at the end.
    partial = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=out))
    tmp = partial / name
    try:
        tmp.mkdir()
        if trim["trim_db"] or (trim.get("upper_band") or {}).get("applied"):
            model.save(tmp / "model.keras")  # the trimmed model
        else:
            shutil.copyfile(run / "model.keras", tmp / "model.keras")
        exporter = StreamingExporter(
            model, plan.frame, corpora.train, calibration_windows=calibration_windows, progress=progress, log=log
        )
        results = {}
        for mode in modes:
            results[mode] = exporter.export(mode, tmp)
            log(f"[ship] {results[mode].path.name}: {results[mode].size_bytes / 1024:.1f} KiB")
        int8 = results["int8"]
        cascade = ", the shipped cascade" if (model.lr_rate, model.hr_rate) in REFERENCE_CASCADES else ""
        log(
            f"[ship] evaluating {len(held_out_files(corpora, per_speaker))} held-out files (Keras model, int8 "
            f"stream, sinc, spline{cascade})"
        )
        report = evaluate_shipped(
            model,
            int8.path,
            corpora,
            with_pesq=with_pesq,
            max_seconds=max_seconds,
            progress=progress,
            per_speaker=per_speaker,
            perceptual=perceptual,
        )
        headline = {
            lb: {
                s: {m: rep["mean"][s].get(m) for m in METRICS if m in rep["mean"][s]}
                for s in SYSTEMS + ("cascade",)
                if s in rep["mean"]
            }
            for lb, rep in ((lb, report["degradations"][lb]) for lb in report["order"])
        }
        snr_vs = {lb: report["degradations"][lb]["mean"]["int8"].get("snr_vs_model") for lb in report["order"]}
        sources = data_sources(training, corpora)
        train_speakers, test_speakers = speakers(training.train), speakers(corpora.test)
        size = config.get("model_size") or metrics.get("model_size")
        desc = description or (
            f"{type(model).__name__} ({size}) speech bandwidth extension from {model.lr_rate} Hz "
            f"to {model.hr_rate} Hz: causal, {frame_ms:g} ms stateful streaming, int8 LiteRT; trained on "
            f"{len(train_speakers)} speakers of {', '.join(s['source'] for s in sources['sources'])}."
        )
        stages = training_stages(config, metrics, out, name)
        card = {
            "name": name,
            "lr_rate": int(model.lr_rate),
            "hr_rate": int(model.hr_rate),
            "description": desc,
            "keras": "model.keras",
            "tflite": {mode: res.path.name for mode, res in results.items()},
            "metrics": headline,
            "metrics_note": (
                "means over the held-out files per input degradation (own = the model's training "
                "degradation set drawn per file); systems: model (Keras), int8 (the int8 streaming "
                ".tflite), sinc, spline; snr/snr_lb in dB, lsd/lsd_hf log10 power, pesq = PESQ-WB, "
                "visqol = ViSQOL audio mode at 48 kHz, visqol_speech = speech mode, dnsmos = DNSMOS "
                "P.808 (no reference)"
            ),
            "targets": {"int8": check_targets(report, "int8"), "model": check_targets(report, "model")},
            "int8_snr_vs_model": snr_vs,
            "high_band_trim": trim,
            "ratio": int(model.ratio),
            "model_class": type(model).__name__,
            "model_size": size,
            "parameters": int(model.count_params()),
            "macs_per_second": float(macs_per_second(model)),
            "frame_ms": float(frame_ms),
            "frame_length": int(plan.frame),
            "lookahead": int(plan.lookahead),
            "algorithmic_latency_ms": float(plan.latency_ms),
            "degradation": dict(model.degradation),
            "training_degradations": training_degradations(model) or config.get("degradations"),
            "recipe": config.get("recipe"),
            "training_command": stages[-1]["command"],
            "training_stages": stages,
            "train_speakers": train_speakers,
            "test_speakers": test_speakers,
            "n_test_files": report["n_files"],
            "epochs_run": metrics.get("epochs_run"),
            "train_seconds": metrics.get("train_seconds"),
            "data_sources": sources,
            "not_trained_on": {
                "reason": f"recorded below {int(model.hr_rate)} Hz (the prepared store skips them)",
                "files": below_rate,
            }
            if below_rate
            else None,
            "evaluation": {
                "degradations": {
                    lb: {
                        "spec": report["degradations"][lb]["spec"],
                        "text": report["degradations"][lb]["degradation_text"],
                        "note": report["degradations"][lb].get("note"),
                    }
                    for lb in report["order"]
                },
                "pesq": bool(report["pesq"]),
                "perceptual": report.get("perceptual", []),
                "n_files": report["n_files"],
                "per_speaker": per_speaker,
                "max_seconds": max_seconds,
            },
            "keras_audiosr_version": __version__,
            "ship_command": command
            or (
                f"python -m tools.ship_model --run {run} --name {name}"
                + (f" --data {' '.join(checked['data'])}" if checked["data"] else "")
            ),
        }
        stamp_model_folder(tmp, card, log=log)  # name, version, licence, level contract into each .tflite
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        train_hours = sum(float(c.get("train_hours") or 0) for c in (metrics.get("data") or {}).get("corpora", []))
        facts = {
            "file_sizes": sizes,
            "calibration": f"{exporter.quantization['calibration_windows']} windows of "
            f"{exporter.quantization['calibration_window_samples']} samples",
            "calibration_from": ""
            if not narrowed
            else " (the training files of " + ", ".join(c.name for c in corpora.corpora) + " only)",
            "epochs_run": metrics.get("epochs_run") or 0,
            "train_seconds": float(metrics.get("train_seconds") or 0.0),
            "stopped_by_time_budget": bool(metrics.get("stopped_by_time_budget")),
            "training_inputs": f"random crops with inputs drawn from `{card['training_degradations']}`, loss "
            f"`{config.get('loss')}`",
            "corpora": [
                {
                    "name": c.name,
                    "n_train": training.train_corpora.count(c.name),
                    "n_test": len(corpora.test_by_corpus().get(c.name, [])),
                }
                for c in training.corpora
            ],
            "n_test_files": report["n_files"],
            "test_seconds": float(sum(f["seconds"] for f in report["degradations"][report["order"][0]]["files"])),
            "train_hours": train_hours or files_seconds(training.train) / 3600.0,
        }
        write_json(tmp / "card.json", card)
        write_text_atomic(tmp / "MODEL_CARD.md", model_card(card, report, facts))
        total = sum(p.stat().st_size for p in tmp.iterdir() if p.is_file())
        if total > SIZE_WARN_BYTES:
            log(f"[ship] warning: {name} takes {total / 1e6:.1f} MB; the shipped models together must stay under 20 MB")
        target = out / name
        swap_in(tmp, target, partial / "replaced")
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log(
        f"[ship] wrote {target} ({total / 1024:.0f} KiB: {', '.join(sorted(sizes) + ['card.json', 'MODEL_CARD.md'])}) "
        f"in {time.monotonic() - t0:.0f} s"
    )
    return card
