"""The one evaluation loop: a model against its high-rate references, beside the sinc and spline baselines.

Every reference is degraded into the model's input (:mod:`.inputs`: by default the degradation the
model was trained with), upsampled by the model (chunked, see :mod:`keras_audiosr.inference`) and by
each baseline from the *same* input, and every estimate is scored with
:func:`keras_audiosr.metrics.evaluate_pair` against the same trimmed reference.

* :func:`evaluate_signal`: one reference array.
* :func:`evaluate_files`: sound files, one at a time (memory does not grow with their number), under
  one input degradation; means over files leave out non-finite values and say how many.
* :func:`evaluate_suite`: :func:`evaluate_files` under several input degradations, with per-corpus
  and pooled means (shown by :mod:`.report`).

Same-rate bandwidth extenders (``model.ratio == 1``, e.g. :class:`~keras_audiosr.models.SameRateModel`)
take the degraded reference kept at the full rate (:meth:`~keras_audiosr.degrade.Degradation.at_high_rate`);
their band ratio for LSD-HF is the degradation's ratio, the baselines are upsampled from the decimated
signal (the same band information), and the degraded input itself is scored as system ``"input"``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from keras_audiosr.audio import AudioError, read_at_rate, read_audio, resample, validate_audio
from keras_audiosr.baselines import get_baseline
from keras_audiosr.degrade import Degradation, lowpass, trim_to_multiple
from keras_audiosr.evaluation.inputs import (
    SuiteInput,
    as_input,
    resolve_degradations,
    signal_degradation,
    training_degradations,
)
from keras_audiosr.evaluation.report import METRIC_COLUMNS
from keras_audiosr.inference import upsample_array
from keras_audiosr.metrics import evaluate_pair, perceptual_names, pesq_available, snr

__all__ = ["SUITE_BASELINES", "SUITE_METRICS", "evaluate_files", "evaluate_signal", "evaluate_suite", "finite_mean"]

#: The metrics a suite reports, in table order (the columns of :data:`~.report.METRIC_COLUMNS`).
SUITE_METRICS = tuple(METRIC_COLUMNS)

#: The baselines a suite reports by default.
SUITE_BASELINES = ("sinc", "spline")

_TELEPHONE_NOTE = (
    "the telephone channel's causal band-pass shifts the phase of every system's input alike, so SNR "
    "and LB-SNR say little here; compare PESQ-WB and LSD"
)


def _same_rate(model) -> bool:
    return int(model.ratio) == 1


def _baseline_names(baselines) -> tuple[str, ...]:
    names = (baselines,) if isinstance(baselines, str) else tuple(baselines or ())
    for n in names:
        get_baseline(n)  # ValueError listing the valid names
    if {"model", "input"} & set(names):
        raise ValueError("'model' and 'input' are not baseline names")
    return tuple(dict.fromkeys(names))


def evaluate_signal(
    model,
    reference,
    rate=None,
    *,
    baselines=("spline",),
    with_pesq=None,
    chunk: int = 16384,
    overlap: int = 1024,
    return_signals: bool = False,
    name: str = "<array>",
    filter=None,
    systems=None,
    relative_to: str | None = None,
    degradation=None,
    perceptual=False,
) -> dict:
    """Metrics of ``model`` and each baseline on one high-rate mono ``reference``.

    ``reference`` is ``[time]`` (or ``[time, 1]``) at ``rate`` Hz (default ``model.hr_rate``); a
    higher rate is resampled down to ``model.hr_rate``, a lower one is an error (it lacks the band
    the model must restore). The reference is trimmed to a multiple of the ratio, degraded as in
    training (or by ``degradation``), upsampled, and scored. Returns ``{"model": {snr, lsd, lsd_hf[, pesq]},
    "<baseline>": {...}, ..., "seconds": duration scored}`` (plus ``"input"`` for a same-rate model), and
    ``"signals"`` (``reference``, ``low``, each baseline and ``model`` arrays) when
    ``return_signals``. ``name`` labels errors. ``degradation`` (a :class:`~keras_audiosr.degrade.Degradation`
    or a spec string such as ``"resample"``) makes the input instead of the model's recorded
    degradation; ``filter`` replaces only the recorded degradation's spec (both: an error).

    ``systems`` maps further names to upsamplers ``fn(low) -> high-rate array`` (e.g. exported
    ``.tflite`` variants of the model) scored on the same low-rate input as the model. With
    ``relative_to`` (``"model"`` or a ``systems`` name), every other model-like system also gets
    ``snr_vs_<relative_to>``: its SNR against that system's output (how far a variant departs from
    the model it came from). ``perceptual=True`` adds ViSQOL (audio mode at 48 kHz and speech mode) and
    DNSMOS P.808 (:func:`keras_audiosr.metrics.perceptual_scores`) to every system's scores.
    """
    hr = int(model.hr_rate)
    names = _baseline_names(baselines)
    systems = dict(systems or {})
    clash = set(systems) & ({"model", "input"} | set(names))
    if clash:
        raise ValueError(f"system names {sorted(clash)} clash with the model or a baseline")
    if relative_to is not None and relative_to != "model" and relative_to not in systems:
        raise ValueError(f"relative_to={relative_to!r} names no system (model or one of {sorted(systems)})")
    ref = np.asarray(reference, dtype=np.float32)
    if ref.ndim == 2 and ref.shape[1] == 1:
        ref = ref[:, 0]
    if ref.ndim != 1:
        raise ValueError(f"{name}: reference must be mono [time], got shape {ref.shape}")
    rate = hr if rate is None else int(rate)
    validate_audio(ref, rate, name)
    if rate < hr:
        raise AudioError(
            f"{name}: sample rate {rate} Hz is below the model's high rate {hr} Hz, so it cannot serve as a reference"
        )
    if rate > hr:
        ref = resample(ref, rate, hr)
    deg = signal_degradation(model, filter, degradation)
    band = deg.ratio  # the band ratio: LSD-HF scores the bins above hr / (2 * band)
    ref = np.ascontiguousarray(trim_to_multiple(ref, band))
    if ref.size == 0:
        raise AudioError(f"{name}: shorter than one low-rate sample")
    try:
        decimated = deg(ref)
        low = decimated if not _same_rate(model) else lowpass(ref, band, deg.filter, deg.zero_phase)
    except ValueError as e:
        raise AudioError(f"{name}: cannot degrade ({e})") from e
    estimates = {"model": upsample_array(model, low, chunk=chunk, overlap=overlap)}
    for key, fn in systems.items():
        y = np.asarray(fn(low), dtype=np.float32).reshape(-1)
        if y.shape != ref.shape:
            raise ValueError(f"{name}: system {key!r} returned {y.size} samples for a {ref.size}-sample reference")
        estimates[key] = y
    if _same_rate(model):
        estimates["input"] = low
    for n in names:
        estimates[n] = get_baseline(n)(decimated, band)
    out = {k: evaluate_pair(v, ref, band, hr, with_pesq=with_pesq, perceptual=perceptual) for k, v in estimates.items()}
    if relative_to is not None:
        for k in ("model", *systems):
            if k != relative_to:
                out[k][f"snr_vs_{relative_to}"] = snr(estimates[k], estimates[relative_to])
    out["seconds"] = ref.size / hr
    if return_signals:
        out["signals"] = {
            "reference": ref,
            "low": low,
            **{k: v for k, v in estimates.items() if k != "model"},
            "model": estimates["model"],
        }
    return out


def _file_rate(path: Path) -> int:
    try:
        return int(sf.info(str(path)).samplerate)
    except (sf.SoundFileError, RuntimeError, OSError):
        read_audio(path)  # raises the package's AudioError naming the problem
        raise


def finite_mean(values: Iterable) -> tuple[float | None, int]:
    """The mean of the finite values and how many were left out (``None`` or non-finite, e.g. the
    ``-inf`` SNR of a silent reference); the mean is ``None`` when nothing is left."""
    values = list(values)
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return (float(np.mean(vals)) if vals else None), len(values) - len(vals)


def _unique_png(plot_dir: Path, stem: str, used: set) -> Path:
    name, i = f"{stem}.png", 2
    while name in used:
        name, i = f"{stem}_{i}.png", i + 1
    used.add(name)
    return plot_dir / name


def _means(files: list[dict], systems) -> tuple[dict, dict]:
    """``(mean, excluded)``: per system and metric, the finite mean over ``files`` and how many were left out."""
    means = {s: {m: finite_mean(f[s].get(m) for f in files) for m in files[0][s]} for s in systems}
    return (
        {s: {m: v for m, (v, _) in ms.items()} for s, ms in means.items()},
        {s: {m: n for m, (_, n) in ms.items()} for s, ms in means.items()},
    )


def evaluate_files(
    model,
    paths,
    *,
    baselines=("spline",),
    with_pesq=None,
    plot_dir=None,
    progress: bool = True,
    chunk: int = 16384,
    overlap: int = 1024,
    filter=None,
    degradation=None,
    seed: int = 0,
    systems=None,
    relative_to: str | None = None,
    max_seconds: float | None = None,
    desc: str = "evaluate",
    perceptual=False,
) -> dict:
    """Evaluate ``model`` on each sound file in ``paths``, each the high-rate reference of itself, one at a time.

    Each file is read, mixed to mono and resampled down to ``model.hr_rate``
    (:func:`keras_audiosr.audio.read_at_rate`), cut to its first ``max_seconds`` when given; a file
    whose rate is below ``model.hr_rate`` is an :class:`~keras_audiosr.audio.AudioError` naming it.
    The input is made by ``degradation``: ``None`` for the model's own (its recorded spec, or the set
    it was trained on drawn per file with ``seed``), a spec, a
    :class:`~keras_audiosr.degrade.Degradation` or a :class:`SuiteInput`; ``filter`` replaces the
    spec of the model's recorded degradation (seen/unseen filter reports). ``with_pesq=None`` adds
    PESQ when the package is installed. ``plot_dir`` gets one spectrogram PNG per file
    (:func:`keras_audiosr.plots.plot_spectrograms`). ``systems`` and ``relative_to`` are as in
    :func:`evaluate_signal` (extra upsamplers on the same inputs), and so is ``perceptual``.

    Returns ``{"files": [{"path", "seconds", ["degradation": spec drawn for it,] "model": {...},
    "<baseline>": {...}[, "plot"]}, ...], "mean": {"model": {...}, "<baseline>": {...}},
    "mean_excluded": {"model": {"snr": 0, ...}, ...}, "systems", "n_files", "ratio", "band_ratio",
    "lr_rate", "hr_rate", "degradation", "degradation_text"[, "draws"]}``; ``degradation`` is
    ``Degradation.to_dict()`` (a set: ``{"ratio", "set", "seed"}``, and ``draws`` counts the specs
    drawn). Means are over files and leave out ``None`` (failed PESQ) and non-finite values (the
    ``-inf`` SNR of a silent file), counted per system and metric in ``mean_excluded``. A same-rate
    model (``ratio == 1``) also gets the system ``"input"``.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("evaluate_files: no files given")
    names = _baseline_names(baselines)
    inp = as_input(model, degradation, filter, seed)
    extra = tuple(systems or ())
    systems_all = ("model",) + extra + (("input",) if _same_rate(model) else ()) + names
    hr = int(model.hr_rate)
    if with_pesq is None:
        with_pesq = pesq_available()
    plot_dir = None if plot_dir is None else Path(plot_dir)
    used: set = set()
    files = []
    for path in tqdm(paths, desc=desc, unit="file", disable=not progress):
        path = Path(path)
        rate = _file_rate(path)
        if rate < hr:
            raise AudioError(
                f"{path}: sample rate {rate} Hz is below the model's high rate {hr} Hz, so it cannot "
                f"serve as a reference"
            )
        ref = read_at_rate(path, hr)
        if max_seconds:
            ref = ref[: max(1, int(max_seconds * hr))]
        deg = inp.for_file(path)
        res = evaluate_signal(
            model,
            ref,
            hr,
            baselines=names,
            with_pesq=with_pesq,
            chunk=chunk,
            overlap=overlap,
            return_signals=plot_dir is not None,
            name=str(path),
            degradation=deg,
            systems=systems,
            relative_to=relative_to,
            perceptual=perceptual,
        )
        entry = {
            "path": str(path),
            "seconds": res["seconds"],
            **({"degradation": deg.filter} if inp.drawn else {}),
            **{s: res[s] for s in systems_all},
        }
        if plot_dir is not None:
            from keras_audiosr.plots import plot_spectrograms

            sig = res["signals"]
            rates = {k: (model.lr_rate if k == "low" else hr) for k in sig}
            png = _unique_png(plot_dir, path.stem, used)
            entry["plot"] = str(plot_spectrograms(sig, rates, png, title=f"{path.name}: {deg.describe(hr)}"))
        files.append(entry)
    mean, excluded = _means(files, systems_all)
    report = {
        "files": files,
        "mean": mean,
        "mean_excluded": excluded,
        "systems": list(systems_all),
        "n_files": len(files),
        "ratio": int(model.ratio),
        "band_ratio": inp.ratio,
        "lr_rate": int(model.lr_rate),
        "hr_rate": hr,
        "degradation": inp.to_dict(),
        "degradation_text": inp.text(hr),
    }
    if inp.drawn:
        report["draws"] = dict(sorted(Counter(f["degradation"] for f in files).items()))
    return report


def _group_paths(paths) -> tuple[list, dict | None]:
    """``(flat list, {group: [paths]} or None)`` from a sequence of paths or a mapping of groups."""
    if isinstance(paths, (str, Path)):
        return [paths], None
    if isinstance(paths, Mapping):
        groups = {str(g): [str(p) for p in ps] for g, ps in paths.items()}
        flat = [p for ps in groups.values() for p in ps]
        dup = [p for p, n in Counter(flat).items() if n > 1]
        if dup:
            raise ValueError(f"file {dup[0]} is in more than one group")
        empty = [g for g, ps in groups.items() if not ps]
        if empty:
            raise ValueError(f"group {empty[0]!r} has no files")
        return flat, groups
    return list(paths), None


def _safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "degradation"


def evaluate_suite(
    model,
    paths,
    *,
    degradations=None,
    baselines=SUITE_BASELINES,
    with_pesq=None,
    progress: bool = True,
    seed: int = 0,
    chunk: int = 16384,
    overlap: int = 1024,
    plot_dir=None,
    systems=None,
    relative_to: str | None = None,
    max_seconds: float | None = None,
    perceptual=False,
) -> dict:
    """:func:`evaluate_files` of ``model`` under each input degradation of a suite, every system on the same inputs.

    ``paths``: sound files, or ``{group: [files]}`` (e.g. ``{"vctk-mini": [...], "ljspeech-mini":
    [...]}``) for per-group means beside the pooled ones. ``degradations``: see
    :func:`resolve_degradations` (default :func:`default_degradations`). ``seed`` fixes the per-file
    draws of a set. ``plot_dir`` gets a subfolder per degradation. ``with_pesq=None``: PESQ-WB when
    the package is installed (decided once for the whole suite). ``systems``, ``relative_to`` and
    ``max_seconds`` and ``perceptual`` (ViSQOL and DNSMOS P.808) are passed to :func:`evaluate_files`.

    Returns::

        {"model": {"name", "class", "ratio", "lr_rate", "hr_rate", "degradation", "training_degradations"},
         "ratio", "lr_rate", "hr_rate", "systems": [...], "metrics": [...], "pesq": bool, "seed",
         "n_files", "groups": {group: [paths]} or None, "order": [label, ...],
         "degradations": {label: <evaluate_files report> + {"label", "spec", "drawn", "note",
                                                            ["groups": {group: {"mean", "mean_excluded", "n_files"}}]}}}

    ``spec`` is the canonical degradation spec (a set name when drawn), ``degradation_text`` its
    description, ``note`` a caveat for the tables (``None`` when there is none; the telephone channel's says that
    SNR is not meaningful there).
    """
    flat, groups = _group_paths(paths)
    if not flat:
        raise ValueError("evaluate_suite: no files given")
    inputs = resolve_degradations(model, degradations, seed=seed)
    names = _baseline_names(baselines)
    if with_pesq is None:
        with_pesq = pesq_available()
    hr = int(model.hr_rate)
    results = {}
    for i, inp in enumerate(inputs):
        rep = evaluate_files(
            model,
            flat,
            baselines=names,
            with_pesq=with_pesq,
            progress=progress,
            chunk=chunk,
            overlap=overlap,
            degradation=inp,
            systems=systems,
            relative_to=relative_to,
            max_seconds=max_seconds,
            desc=f"evaluate {i + 1}/{len(inputs)} {inp.label}",
            perceptual=perceptual,
            plot_dir=None if plot_dir is None else Path(plot_dir) / _safe_name(inp.label),
        )
        rep.update(label=inp.label, spec=inp.spec, drawn=inp.drawn, note=_note(inp, rep))
        if groups:
            by_path = {f["path"]: f for f in rep["files"]}
            rep["groups"] = {}
            for g, ps in groups.items():
                mean, excluded = _means([by_path[str(Path(p))] for p in ps], rep["systems"])
                rep["groups"][g] = {"mean": mean, "mean_excluded": excluded, "n_files": len(ps)}
        results[inp.label] = rep
    first = next(iter(results.values()))
    return {
        "model": {
            "name": getattr(model, "name", None),
            "class": type(model).__name__,
            "ratio": int(model.ratio),
            "lr_rate": int(model.lr_rate),
            "hr_rate": hr,
            "degradation": dict(model.degradation),
            "training_degradations": training_degradations(model),
        },
        "ratio": int(model.ratio),
        "lr_rate": int(model.lr_rate),
        "hr_rate": hr,
        "systems": first["systems"],
        "metrics": [m for m in METRIC_COLUMNS if m in first["mean"]["model"]],
        "pesq": bool(with_pesq),
        "perceptual": list(perceptual_names(perceptual)),
        "seed": int(seed),
        "n_files": len(flat),
        "groups": groups,
        "order": list(results),
        "degradations": results,
    }


def _note(inp: SuiteInput, report: dict) -> str | None:
    if inp.drawn:
        kinds = {Degradation(inp.ratio, s).kind for s in report.get("draws", {})}
        return f"drawn per file ({', '.join(f'{s} x{n}' for s, n in report['draws'].items())})" + (
            "; files given the telephone channel are phase-shifted by its causal band-pass, which lowers "
            "every system's SNR alike"
            if "telephone" in kinds
            else ""
        )
    if inp.degradation.kind == "telephone":
        return _TELEPHONE_NOTE
    return None
