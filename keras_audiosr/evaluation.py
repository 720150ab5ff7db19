"""Scoring a model against its high-rate references, beside the spline (and other) baselines.

Every reference is degraded exactly as the model's training inputs were
(``Degradation.from_dict(model.degradation)``), upsampled by the model (chunked, see
:mod:`keras_audiosr.inference`) and by each baseline, and every estimate is scored with
:func:`keras_audiosr.metrics.evaluate_pair` (SNR, LSD, LSD-HF and, when available, PESQ-WB) against
the same trimmed reference.

Same-rate bandwidth extenders (``model.ratio == 1``, e.g. :class:`~keras_audiosr.models.SameRateModel`)
take the low-passed reference at the full rate (the degradation's filter without decimation); their
band ratio for LSD-HF is the degradation's ratio, the baselines are upsampled from the decimated
signal (the same band information), and the low-passed input itself is scored as system ``"input"``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import numpy as np
from tqdm import tqdm

from keras_audiosr.audio import AudioError, read_audio, resample, validate_audio
from keras_audiosr.baselines import get_baseline
from keras_audiosr.degrade import Degradation, lowpass, trim_to_multiple
from keras_audiosr.inference import upsample_array
from keras_audiosr.metrics import evaluate_pair, pesq_available, snr

__all__ = ["evaluate_files", "evaluate_signal", "finite_mean", "format_table"]

_LABELS = {"snr": "SNR", "snr_lb": "LB-SNR", "lsd": "LSD", "lsd_hf": "LSD-HF", "pesq": "PESQ"}


def _degradation(model, filter=None) -> Degradation:
    deg = Degradation.from_dict(model.degradation)
    if filter is not None:
        deg = Degradation(ratio=deg.ratio, filter=filter, zero_phase=deg.zero_phase)
    if deg.ratio != model.ratio and model.ratio != 1:
        raise ValueError(f"model {model.name!r}: degradation ratio {deg.ratio} != model ratio {model.ratio}")
    return deg


def _same_rate(model) -> bool:
    return int(model.ratio) == 1


def _baseline_names(baselines) -> tuple[str, ...]:
    names = (baselines,) if isinstance(baselines, str) else tuple(baselines or ())
    for n in names:
        get_baseline(n)  # ValueError listing the valid names
    if {"model", "input"} & set(names):
        raise ValueError("'model' and 'input' are not baseline names")
    return tuple(dict.fromkeys(names))


def evaluate_signal(model, reference, rate=None, *, baselines=("spline",), with_pesq=None, chunk: int = 16384,
                    overlap: int = 1024, return_signals: bool = False, name: str = "<array>", filter=None,
                    systems=None, relative_to: str | None = None) -> dict:
    """Metrics of ``model`` and each baseline on one high-rate mono ``reference``.

    ``reference`` is ``[time]`` (or ``[time, 1]``) at ``rate`` Hz (default ``model.hr_rate``); a
    higher rate is resampled down to ``model.hr_rate``, a lower one is an error (it lacks the band
    the model must restore). The reference is trimmed to a multiple of the ratio, degraded as in
    training, upsampled, and scored. Returns ``{"model": {snr, lsd, lsd_hf[, pesq]}, "<baseline>":
    {...}, ..., "seconds": duration scored}`` (plus ``"input"`` for a same-rate model), and
    ``"signals"`` (``reference``, ``low``, each baseline and ``model`` arrays) when
    ``return_signals``. ``name`` labels errors. ``filter`` replaces the training degradation's
    filter (e.g. to score an unseen filter).

    ``systems`` maps further names to upsamplers ``fn(low) -> high-rate array`` (e.g. exported
    ``.tflite`` variants of the model) scored on the same low-rate input as the model. With
    ``relative_to`` (``"model"`` or a ``systems`` name), every other model-like system also gets
    ``snr_vs_<relative_to>``: its SNR against that system's output (how far a variant departs from
    the model it came from).
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
        raise AudioError(f"{name}: sample rate {rate} Hz is below the model's high rate {hr} Hz, so it cannot "
                         f"serve as a reference")
    if rate > hr:
        ref = resample(ref, rate, hr)
    deg = _degradation(model, filter)
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
    out = {k: evaluate_pair(v, ref, band, hr, with_pesq=with_pesq) for k, v in estimates.items()}
    if relative_to is not None:
        for k in ("model", *systems):
            if k != relative_to:
                out[k][f"snr_vs_{relative_to}"] = snr(estimates[k], estimates[relative_to])
    out["seconds"] = ref.size / hr
    if return_signals:
        out["signals"] = {"reference": ref, "low": low, **{k: v for k, v in estimates.items() if k != "model"},
                          "model": estimates["model"]}
    return out


def _file_rate(path: Path) -> int:
    import soundfile as sf

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


def evaluate_files(model, paths, *, baselines=("spline",), with_pesq=None, plot_dir=None, progress: bool = True,
                   chunk: int = 16384, overlap: int = 1024, filter=None) -> dict:
    """Evaluate ``model`` on each sound file in ``paths``, each the high-rate reference of itself.

    Each file is read, mixed to mono and resampled down to ``model.hr_rate``
    (:func:`keras_audiosr.data.prepare_signal`); a file whose rate is below ``model.hr_rate`` is an
    :class:`~keras_audiosr.audio.AudioError` naming it. ``with_pesq=None`` adds PESQ when the package is
    installed. ``plot_dir`` gets one spectrogram PNG per file (:func:`keras_audiosr.plots.plot_spectrograms`).

    Returns ``{"files": [{"path", "seconds", "model": {...}, "<baseline>": {...}[, "plot"]}, ...],
    "mean": {"model": {...}, "<baseline>": {...}}, "mean_excluded": {"model": {"snr": 0, ...}, ...},
    "systems", "n_files", "ratio", "band_ratio", "lr_rate", "hr_rate", "degradation",
    "degradation_text"}``; means are over files and leave out ``None`` (failed PESQ) and non-finite
    values (the ``-inf`` SNR of a silent file), counted per system and metric in ``mean_excluded``. A same-rate model (``ratio == 1``) also gets the system ``"input"``. ``filter``
    replaces the filter of the model's training degradation (seen/unseen filter reports).
    """
    from keras_audiosr.data.patches import prepare_signal

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("evaluate_files: no files given")
    names = _baseline_names(baselines)
    deg = _degradation(model, filter)
    systems = ("model",) + (("input",) if _same_rate(model) else ()) + names
    hr = int(model.hr_rate)
    if with_pesq is None:
        with_pesq = pesq_available()
    plot_dir = None if plot_dir is None else Path(plot_dir)
    used: set = set()
    files = []
    for path in tqdm(paths, desc="evaluate", unit="file", disable=not progress):
        path = Path(path)
        rate = _file_rate(path)
        if rate < hr:
            raise AudioError(f"{path}: sample rate {rate} Hz is below the model's high rate {hr} Hz, so it cannot "
                             f"serve as a reference")
        ref = prepare_signal(path, hr)
        res = evaluate_signal(model, ref, hr, baselines=names, with_pesq=with_pesq, chunk=chunk, overlap=overlap,
                              return_signals=plot_dir is not None, name=str(path), filter=filter)
        entry = {"path": str(path), "seconds": res["seconds"], **{s: res[s] for s in systems}}
        if plot_dir is not None:
            from keras_audiosr.plots import plot_spectrograms

            sig = res["signals"]
            rates = {k: (model.lr_rate if k == "low" else hr) for k in sig}
            png = _unique_png(plot_dir, path.stem, used)
            entry["plot"] = str(plot_spectrograms(sig, rates, png, title=f"{path.name}: {deg.describe(hr)}"))
        files.append(entry)
    means = {s: {m: finite_mean(f[s].get(m) for f in files) for m in files[0][s]} for s in systems}
    mean = {s: {m: v for m, (v, _) in ms.items()} for s, ms in means.items()}
    excluded = {s: {m: n for m, (_, n) in ms.items()} for s, ms in means.items()}
    return {"files": files, "mean": mean, "mean_excluded": excluded, "systems": list(systems), "n_files": len(files),
            "ratio": int(model.ratio), "band_ratio": deg.ratio, "lr_rate": int(model.lr_rate), "hr_rate": hr,
            "degradation": deg.to_dict(), "degradation_text": deg.describe(hr)}


def _fmt(v, width: int, digits: int) -> str:
    if v is None:
        return "-".rjust(width)
    if isinstance(v, float) and not math.isfinite(v):
        return ("inf" if v > 0 else "-inf" if v < 0 else "nan").rjust(width)
    return f"{v:{width}.{digits}f}"


def _short_names(paths: list[str]) -> list[str]:
    """File names, or paths relative to the files' common folder when two names collide."""
    names = [Path(p).name for p in paths]
    if len(set(names)) == len(names):
        return names
    try:
        root = os.path.commonpath([str(Path(p).resolve().parent) for p in paths])
        return [os.path.relpath(Path(p).resolve(), root) for p in paths]
    except ValueError:  # different drives
        return [str(p) for p in paths]


def format_table(report: dict) -> str:
    """A fixed-width text table of an :func:`evaluate_files` report: one row per file and a mean row,
    with SNR (dB), LSD, LSD-HF (log10 power) and PESQ (when computed) for the model and each baseline."""
    systems = list(report.get("systems") or report["mean"].keys())
    metrics = [m for m in _LABELS if any(m in report["mean"][s] for s in systems)]
    digits = {"snr": 2, "snr_lb": 2, "lsd": 3, "lsd_hf": 3, "pesq": 2}
    w = 8
    names = _short_names([f["path"] for f in report["files"]])
    mean_label = f"mean ({len(names)} file{'s' if len(names) != 1 else ''})"
    fw = min(max([len(n) for n in names] + [len(mean_label), 4]), 40)
    group_w = len(metrics) * (w + 1)
    lines = []
    made = f"input made by {report.get('degradation_text', report.get('degradation'))}"
    if report.get("ratio") == 1:
        band = report.get("band_ratio")
        limit = f", band limit {report['hr_rate'] / (2 * band):g} Hz" if band and "hr_rate" in report else ""
        made = made.replace(f", decimate by {band}", "")
        lines.append(f"same rate {report.get('hr_rate', '?')} Hz{limit}; {made} (no decimation)")
    elif "ratio" in report:
        lines.append(f"ratio {report['ratio']}: {report.get('lr_rate', '?')} Hz -> {report.get('hr_rate', '?')} Hz; "
                     f"{made}")
    lines.append(" " * fw + " |" + " |".join(s.center(group_w) for s in systems))
    lines.append("file".ljust(fw) + " |" + " |".join("".join(f" {_LABELS[m]:>{w}}" for m in metrics) for _ in systems))
    lines.append("-" * len(lines[-1]))

    def row(label, results):
        label = label if len(label) <= fw else "..." + label[-(fw - 3):]
        cells = [
            "".join(" " + _fmt(results.get(s, {}).get(m), w, digits[m]) for m in metrics) for s in systems]
        return label.ljust(fw) + " |" + " |".join(cells)

    for name, f in zip(names, report["files"]):
        lines.append(row(name, f))
    lines.append("-" * len(lines[-1]))
    lines.append(row(mean_label, report["mean"]))
    left_out = [f"{s} {_LABELS[m]} ({n} file{'s' if n != 1 else ''})"
                for s in systems for m, n in (report.get("mean_excluded") or {}).get(s, {}).items() if n and m in metrics]
    if left_out:
        lines.append(f"note: means leave out non-finite or missing values: {', '.join(left_out)}")
    return "\n".join(lines)
