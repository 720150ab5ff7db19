"""The one evaluation loop: a model against its high-rate references, beside the sinc and spline baselines.

Every reference is degraded into the model's input by a named degradation (by default the one the
model was trained with), upsampled by the model (chunked, see :mod:`keras_audiosr.inference`) and by
each baseline from the *same* input, and every estimate is scored with
:func:`keras_audiosr.metrics.evaluate_pair` (SNR, low-band SNR, LSD, LSD-HF and, when available,
PESQ-WB) against the same trimmed reference.

* :func:`evaluate_signal`: one reference array.
* :func:`evaluate_files`: sound files, one at a time (memory does not grow with their number), under
  one input degradation; means over files leave out non-finite values and say how many.
* :func:`evaluate_suite`: :func:`evaluate_files` under several input degradations (by default
  :func:`default_degradations`: the model's own, a sinc resampler, an unseen Butterworth 4 and, for an
  8 kHz low rate, the telephone channel with G.711 mu-law), with per-corpus and pooled means; shown by
  :func:`format_suite` (text) and :func:`format_suite_markdown` (README / model-card tables) and
  summarised for ``metrics.json`` by :func:`suite_summary`.

A degradation is named as in :mod:`keras_audiosr.degrade` (``cheby1:8``, ``resample``,
``telephone:mulaw``, ...), by a set name (``speech-robust``: one member drawn per file), or ``own``:
the model's training degradation -- the single spec it carries (``model.degradation``) or, for a model
trained on a set (``model.training_degradations``), that set drawn per file. A file's draw depends on
the seed and the file's name only (:func:`draw_for_file`), so it is reproducible and the same in
pooled and per-corpus means. A set's random gain is a training augmentation and is not applied: files
are scored at their own level.

Same-rate bandwidth extenders (``model.ratio == 1``, e.g. :class:`~keras_audiosr.models.SameRateModel`)
take the degraded reference kept at the full rate (:meth:`~keras_audiosr.degrade.Degradation.at_high_rate`);
their band ratio for LSD-HF is the degradation's ratio, the baselines are upsampled from the decimated
signal (the same band information), and the degraded input itself is scored as system ``"input"``.
"""
from __future__ import annotations

import math
import os
import re
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
from tqdm import tqdm

from keras_audiosr.audio import AudioError, read_audio, resample, validate_audio
from keras_audiosr.baselines import get_baseline
from keras_audiosr.degrade import (DEGRADATION_SETS, Degradation, DegradationSet, canonical_spec, get_degradation_set,
                                   lowpass, trim_to_multiple)
from keras_audiosr.inference import upsample_array
from keras_audiosr.metrics import evaluate_pair, pesq_available, snr

__all__ = ["OWN", "SUITE_BASELINES", "SUITE_METRICS", "SuiteInput", "check_degradation_names", "default_degradations",
           "choose_high_band_trim", "draw_for_file", "evaluate_files", "evaluate_signal", "evaluate_suite", "finite_mean", "format_suite",
           "format_suite_markdown", "format_table", "resolve_degradations", "suite_summary", "training_degradations"]

_LABELS = {"snr": "SNR", "snr_lb": "LB-SNR", "lsd": "LSD", "lsd_hf": "LSD-HF", "pesq": "PESQ"}
_DIGITS = {"snr": 2, "snr_lb": 2, "lsd": 3, "lsd_hf": 3, "pesq": 2}

#: The name of the model's own training degradation in a suite.
OWN = "own"
#: The metrics a suite reports, in table order.
SUITE_METRICS = ("snr", "snr_lb", "lsd", "lsd_hf", "pesq")
#: The baselines a suite reports by default.
SUITE_BASELINES = ("sinc", "spline")
_SUITE_LABELS = {"snr": "SNR (dB)", "snr_lb": "LB-SNR (dB)", "lsd": "LSD", "lsd_hf": "LSD-HF", "pesq": "PESQ-WB"}
_TELEPHONE_NOTE = ("the telephone channel's causal band-pass shifts the phase of every system's input alike, so SNR "
                   "and LB-SNR say little here; compare PESQ-WB and LSD")


def training_degradations(model) -> str | None:
    """The name of the degradation set ``model`` was trained on (``model.training_degradations``, also
    read from its config), or ``None`` for a model that carries one degradation only."""
    name = getattr(model, "training_degradations", None)
    if name is None and hasattr(model, "get_config"):
        try:
            name = (model.get_config() or {}).get("training_degradations")
        except (NotImplementedError, TypeError, AttributeError):
            name = None
    return name or None


def draw_for_file(dset: DegradationSet, path, ratio: int, seed: int = 0) -> Degradation:
    """The member of ``dset`` a file gets in an evaluation: drawn by ``dset.draw`` from a generator
    seeded with ``seed`` and the CRC-32 of the file's name (not its folder), so the draw is the same
    whatever other files are evaluated with it. The set's gain is not applied (see the module docstring)."""
    key = zlib.crc32(Path(path).name.encode("utf-8"))
    return dset.draw(np.random.default_rng([int(seed), key]), ratio).degradation


def _model_degradation(model) -> Degradation:
    return Degradation.from_dict(model.degradation)


@dataclass(frozen=True)
class SuiteInput:
    """One input degradation of an evaluation: ``label`` (what reports call it), ``spec`` (a canonical
    degradation spec, or a set name when ``dset`` is given), the band ``ratio``, and either one
    ``degradation`` for every file or a ``dset`` drawn per file (:func:`draw_for_file` with ``seed``)."""

    label: str
    spec: str
    ratio: int
    degradation: Degradation | None = None
    dset: DegradationSet | None = None
    seed: int = 0

    def __post_init__(self):
        if (self.degradation is None) == (self.dset is None):
            raise ValueError(f"{self.label}: give either one degradation or a set to draw from")

    @classmethod
    def single(cls, label: str, degradation: Degradation) -> "SuiteInput":
        return cls(label, degradation.filter, degradation.ratio, degradation)

    @property
    def drawn(self) -> bool:
        """Whether each file draws its degradation from a set."""
        return self.dset is not None

    def for_file(self, path) -> Degradation:
        """The degradation of one file."""
        if self.dset is None:
            return self.degradation
        return draw_for_file(self.dset, path, self.ratio, self.seed)

    def text(self, hr_rate: int | None = None) -> str:
        """Human text: the degradation's :meth:`~keras_audiosr.degrade.Degradation.describe`, or the set's."""
        if self.dset is None:
            return self.degradation.describe(hr_rate)
        what = self.dset.description or ", ".join(self.dset.specs)
        gain = "; its random gain is not applied" if self.dset.gain_db is not None else ""
        return f"one degradation per file drawn from the set {self.dset.name!r} (seed {self.seed}{gain}): {what}"

    def to_dict(self) -> dict:
        """A report's ``degradation``: ``Degradation.to_dict()``, or ``{"ratio", "set", "seed"}`` with the set's dict."""
        if self.dset is None:
            return self.degradation.to_dict()
        return {"ratio": self.ratio, "set": self.dset.to_dict(), "seed": self.seed}


def _is_single(dset: DegradationSet) -> bool:
    return len(dset.members) == 1 and dset.members[0].cutoff is None


def _own_input(model, seed: int = 0, label: str = OWN) -> SuiteInput:
    """The model's own training degradation: its set drawn per file, or the single spec it carries."""
    deg = _model_degradation(model)
    name = training_degradations(model)
    if name is not None:
        try:
            dset = get_degradation_set(name)
        except ValueError as e:
            warnings.warn(f"model {getattr(model, 'name', '?')!r}: training degradations {name!r} are unknown here "
                          f"({e}); evaluating its recorded degradation {deg.filter} instead", stacklevel=3)
        else:
            if not _is_single(dset):
                return SuiteInput(label, dset.name, deg.ratio, dset=dset, seed=int(seed))
            deg = Degradation(deg.ratio, dset.members[0].spec, deg.zero_phase)
    return SuiteInput.single(label, deg)


def check_degradation_names(names) -> list[str]:
    """``names`` (a comma-separated string or a sequence) checked without a model: each is ``own``, a
    set name (:data:`~keras_audiosr.degrade.DEGRADATION_SETS`) or a degradation spec. Returns them
    (specs in canonical spelling); ValueError naming the first unknown one, the known names and the
    spec grammar."""
    if isinstance(names, str):
        names = [n for n in (p.strip() for p in names.split(",")) if n]
    out = []
    for name in names:
        key = str(name).strip().lower()
        if key == OWN:
            out.append(OWN)
            continue
        try:
            dset = get_degradation_set(key)
        except ValueError as e:
            raise ValueError(f"degradation {name!r} is not {OWN!r} (the model's training degradation), a set or a "
                             f"spec: {e}") from None
        out.append(key if key in DEGRADATION_SETS else dset.members[0].spec)
    if not out:
        raise ValueError("no degradation named; e.g. own,resample,butter:4,telephone:mulaw")
    return out


def default_degradations(model) -> list[str]:
    """The names a suite evaluates ``model`` under by default: ``own``, ``resample``, ``butter:4`` and,
    when the model's input rate (the low rate of its band) is 8 kHz, ``telephone:mulaw``."""
    deg = _model_degradation(model)
    names = [OWN, "resample", "butter:4"]
    if int(model.hr_rate) // deg.ratio == 8000:
        names.append("telephone:mulaw")
    return names


def _input_key(inp: SuiteInput):
    if inp.drawn:
        return ("set", inp.spec, inp.seed)
    d = inp.degradation
    return ("one", d.filter, d.zero_phase if d.kind == "lowpass" else None)


def resolve_degradations(model, degradations=None, *, seed: int = 0) -> list[SuiteInput]:
    """The :class:`SuiteInput` list of a suite for ``model``.

    ``degradations``: ``None`` (:func:`default_degradations`; a default that repeats the model's own
    degradation is left out), names (a sequence or comma-separated string, each its own label), or a
    mapping ``{label: name}`` (e.g. ``{"seen": "cheby1:8", "unseen": "butter:6"}``). Names are as in
    :func:`check_degradation_names`. Low-pass specs take the phase (``zero_phase``) of the model's own
    degradation; every input has the band ratio of the model's own. ValueError for an unknown name or
    a repeated label.
    """
    own = _model_degradation(model)
    if int(model.ratio) != 1 and own.ratio != int(model.ratio):
        raise ValueError(f"model {model.name!r}: degradation ratio {own.ratio} != model ratio {model.ratio}")
    defaults = degradations is None
    if defaults:
        items = [(n, n) for n in default_degradations(model)]
    elif isinstance(degradations, Mapping):
        items = list(degradations.items())
    else:
        items = [(n, n) for n in check_degradation_names(degradations)]
    out, seen_labels = [], set()
    for label, name in items:
        label = str(label).strip()
        if label in seen_labels:
            raise ValueError(f"degradation label {label!r} appears twice")
        seen_labels.add(label)
        (key,) = check_degradation_names([name])
        if key == OWN:
            inp = _own_input(model, seed, label)
        elif key in DEGRADATION_SETS:
            inp = SuiteInput(label, key, own.ratio, dset=DEGRADATION_SETS[key], seed=int(seed))
        else:
            inp = SuiteInput.single(label, Degradation(own.ratio, key, own.zero_phase))
        out.append(inp)
    if defaults:
        keys = [_input_key(i) for i in out]
        out = [i for k, i in enumerate(out) if i.label == OWN or keys[k] not in keys[:k]]
    return out


def _same_rate(model) -> bool:
    return int(model.ratio) == 1


def _baseline_names(baselines) -> tuple[str, ...]:
    names = (baselines,) if isinstance(baselines, str) else tuple(baselines or ())
    for n in names:
        get_baseline(n)  # ValueError listing the valid names
    if {"model", "input"} & set(names):
        raise ValueError("'model' and 'input' are not baseline names")
    return tuple(dict.fromkeys(names))


def _signal_degradation(model, filter=None, degradation=None) -> Degradation:
    """The degradation that makes one input: ``degradation`` (a Degradation or a spec at the model's
    band ratio), else the model's recorded one with ``filter`` as its spec when given."""
    own = _model_degradation(model)
    if filter is not None and degradation is not None:
        raise ValueError("give filter or degradation, not both")
    if degradation is None and filter is not None:
        degradation = filter
    if degradation is None:
        deg = own
    elif isinstance(degradation, Degradation):
        deg = degradation
    else:
        deg = Degradation(own.ratio, degradation, own.zero_phase)
    if deg.ratio != model.ratio and model.ratio != 1:
        raise ValueError(f"model {model.name!r}: degradation ratio {deg.ratio} != model ratio {model.ratio}")
    return deg


def evaluate_signal(model, reference, rate=None, *, baselines=("spline",), with_pesq=None, chunk: int = 16384,
                    overlap: int = 1024, return_signals: bool = False, name: str = "<array>", filter=None,
                    systems=None, relative_to: str | None = None, degradation=None) -> dict:
    """Metrics of ``model`` and each baseline on one high-rate mono ``reference``.

    ``reference`` is ``[time]`` (or ``[time, 1]``) at ``rate`` Hz (default ``model.hr_rate``); a
    higher rate is resampled down to ``model.hr_rate``, a lower one is an error (it lacks the band
    the model must restore). The reference is trimmed to a multiple of the ratio, degraded as in
    training (or by ``degradation``), upsampled, and scored. Returns ``{"model": {snr, lsd, lsd_hf[, pesq]}, "<baseline>":
    {...}, ..., "seconds": duration scored}`` (plus ``"input"`` for a same-rate model), and
    ``"signals"`` (``reference``, ``low``, each baseline and ``model`` arrays) when
    ``return_signals``. ``name`` labels errors. ``degradation`` (a :class:`~keras_audiosr.degrade.Degradation`
    or a spec string such as ``"resample"``) makes the input instead of the model's recorded
    degradation; ``filter`` replaces only the recorded degradation's spec (both: an error).

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
    deg = _signal_degradation(model, filter, degradation)
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


def _means(files: list[dict], systems) -> tuple[dict, dict]:
    """``(mean, excluded)``: per system and metric, the finite mean over ``files`` and how many were left out."""
    means = {s: {m: finite_mean(f[s].get(m) for f in files) for m in files[0][s]} for s in systems}
    return ({s: {m: v for m, (v, _) in ms.items()} for s, ms in means.items()},
            {s: {m: n for m, (_, n) in ms.items()} for s, ms in means.items()})


def _as_input(model, degradation, filter, seed) -> SuiteInput:
    """What :func:`evaluate_files` takes as ``degradation`` (with ``filter``), as a :class:`SuiteInput`."""
    if isinstance(degradation, SuiteInput) and filter is None:
        return degradation
    if isinstance(degradation, DegradationSet) and filter is None:
        return SuiteInput(degradation.name, degradation.name, _model_degradation(model).ratio, dset=degradation,
                          seed=int(seed))
    if filter is None and (degradation is None or isinstance(degradation, str)):
        return resolve_degradations(model, [OWN if degradation is None else degradation], seed=seed)[0]
    deg = _signal_degradation(model, filter, degradation)
    return SuiteInput.single(deg.filter, deg)


def evaluate_files(model, paths, *, baselines=("spline",), with_pesq=None, plot_dir=None, progress: bool = True,
                   chunk: int = 16384, overlap: int = 1024, filter=None, degradation=None, seed: int = 0,
                   systems=None, relative_to: str | None = None, max_seconds: float | None = None,
                   desc: str = "evaluate") -> dict:
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
    :func:`evaluate_signal` (extra upsamplers on the same inputs).

    Returns ``{"files": [{"path", "seconds", ["degradation": spec drawn for it,] "model": {...},
    "<baseline>": {...}[, "plot"]}, ...], "mean": {"model": {...}, "<baseline>": {...}},
    "mean_excluded": {"model": {"snr": 0, ...}, ...}, "systems", "n_files", "ratio", "band_ratio",
    "lr_rate", "hr_rate", "degradation", "degradation_text"[, "draws"]}``; ``degradation`` is
    ``Degradation.to_dict()`` (a set: ``{"ratio", "set", "seed"}``, and ``draws`` counts the specs
    drawn). Means are over files and leave out ``None`` (failed PESQ) and non-finite values (the
    ``-inf`` SNR of a silent file), counted per system and metric in ``mean_excluded``. A same-rate
    model (``ratio == 1``) also gets the system ``"input"``.
    """
    from keras_audiosr.audio import read_at_rate as prepare_signal

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("evaluate_files: no files given")
    names = _baseline_names(baselines)
    inp = _as_input(model, degradation, filter, seed)
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
            raise AudioError(f"{path}: sample rate {rate} Hz is below the model's high rate {hr} Hz, so it cannot "
                             f"serve as a reference")
        ref = prepare_signal(path, hr)
        if max_seconds:
            ref = ref[:max(1, int(max_seconds * hr))]
        deg = inp.for_file(path)
        res = evaluate_signal(model, ref, hr, baselines=names, with_pesq=with_pesq, chunk=chunk, overlap=overlap,
                              return_signals=plot_dir is not None, name=str(path), degradation=deg,
                              systems=systems, relative_to=relative_to)
        entry = {"path": str(path), "seconds": res["seconds"], **({"degradation": deg.filter} if inp.drawn else {}),
                 **{s: res[s] for s in systems_all}}
        if plot_dir is not None:
            from keras_audiosr.plots import plot_spectrograms

            sig = res["signals"]
            rates = {k: (model.lr_rate if k == "low" else hr) for k in sig}
            png = _unique_png(plot_dir, path.stem, used)
            entry["plot"] = str(plot_spectrograms(sig, rates, png, title=f"{path.name}: {deg.describe(hr)}"))
        files.append(entry)
    mean, excluded = _means(files, systems_all)
    report = {"files": files, "mean": mean, "mean_excluded": excluded, "systems": list(systems_all),
              "n_files": len(files), "ratio": int(model.ratio), "band_ratio": inp.ratio, "lr_rate": int(model.lr_rate),
              "hr_rate": hr, "degradation": inp.to_dict(), "degradation_text": inp.text(hr)}
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


def evaluate_suite(model, paths, *, degradations=None, baselines=SUITE_BASELINES, with_pesq=None,
                   progress: bool = True, seed: int = 0, chunk: int = 16384, overlap: int = 1024, plot_dir=None,
                   systems=None, relative_to: str | None = None, max_seconds: float | None = None) -> dict:
    """:func:`evaluate_files` of ``model`` under each input degradation of a suite, every system on the same inputs.

    ``paths``: sound files, or ``{group: [files]}`` (e.g. ``{"vctk-mini": [...], "ljspeech-mini":
    [...]}``) for per-group means beside the pooled ones. ``degradations``: see
    :func:`resolve_degradations` (default :func:`default_degradations`). ``seed`` fixes the per-file
    draws of a set. ``plot_dir`` gets a subfolder per degradation. ``with_pesq=None``: PESQ-WB when
    the package is installed (decided once for the whole suite). ``systems``, ``relative_to`` and
    ``max_seconds`` are passed to :func:`evaluate_files`.

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
        rep = evaluate_files(model, flat, baselines=names, with_pesq=with_pesq, progress=progress, chunk=chunk,
                             overlap=overlap, degradation=inp, systems=systems, relative_to=relative_to,
                             max_seconds=max_seconds, desc=f"evaluate {i + 1}/{len(inputs)} {inp.label}",
                             plot_dir=None if plot_dir is None else Path(plot_dir) / _safe_name(inp.label))
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
        "model": {"name": getattr(model, "name", None), "class": type(model).__name__, "ratio": int(model.ratio),
                  "lr_rate": int(model.lr_rate), "hr_rate": hr, "degradation": dict(model.degradation),
                  "training_degradations": training_degradations(model)},
        "ratio": int(model.ratio), "lr_rate": int(model.lr_rate), "hr_rate": hr,
        "systems": first["systems"], "metrics": [m for m in SUITE_METRICS if m in first["mean"]["model"]],
        "pesq": bool(with_pesq), "seed": int(seed), "n_files": len(flat),
        "groups": groups, "order": list(results), "degradations": results,
    }


def _note(inp: SuiteInput, report: dict) -> str | None:
    if inp.drawn:
        kinds = {Degradation(inp.ratio, s).kind for s in report.get("draws", {})}
        return (f"drawn per file ({', '.join(f'{s} x{n}' for s, n in report['draws'].items())})"
                + ("; files given the telephone channel are phase-shifted by its causal band-pass, which lowers "
                   "every system's SNR alike" if "telephone" in kinds else ""))
    if inp.degradation.kind == "telephone":
        return _TELEPHONE_NOTE
    return None


def suite_summary(report: dict) -> dict:
    """The compact form of an :func:`evaluate_suite` report that ``metrics.json`` keeps:
    ``{label: {"degradation": spec, "text", "n_files", "mean": {system: {metric: value}},
    ["draws": {spec: count}], ["note"], ["by_corpus": {group: {"n_files", "mean"}}]}}``."""
    out = {}
    for label in report["order"]:
        rep = report["degradations"][label]
        entry = {"degradation": rep["spec"], "text": rep["degradation_text"], "n_files": rep["n_files"], "mean": rep["mean"]}
        if rep.get("draws"):
            entry["draws"] = rep["draws"]
        if rep.get("note"):
            entry["note"] = rep["note"]
        if rep.get("groups"):
            entry["by_corpus"] = {g: {"n_files": v["n_files"], "mean": v["mean"]} for g, v in rep["groups"].items()}
        out[label] = entry
    return out


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
    names = [n + (f" [{f['degradation']}]" if f.get("degradation") else "")
             for n, f in zip(_short_names([f["path"] for f in report["files"]]), report["files"])]
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
    if report.get("note"):
        lines.append(f"note: {report['note']}")
    return "\n".join(lines)


def _rate_line(report: dict) -> str:
    n = report["n_files"]
    files = f"{n} file{'s' if n != 1 else ''}"
    if report["ratio"] == 1:
        return f"same rate {report['hr_rate']} Hz (bandwidth extension), {files}"
    return f"{report['lr_rate']} Hz -> {report['hr_rate']} Hz (ratio {report['ratio']}), {files}"


def _group_rows(rep: dict) -> list[tuple[str, dict, dict]]:
    """``(label, mean, excluded)`` rows: each group, then the pooled means (alone when there are no groups)."""
    rows = [(f"{g} ({v['n_files']})", v["mean"], v["mean_excluded"]) for g, v in (rep.get("groups") or {}).items()]
    if rows:
        rows.append((f"pooled ({rep['n_files']})", rep["mean"], rep["mean_excluded"]))
    else:
        rows.append(("", rep["mean"], rep["mean_excluded"]))
    return rows


def format_suite(report: dict, per_file: bool = False) -> str:
    """A text table of an :func:`evaluate_suite` report: one block per input degradation (its label and
    description), the systems as rows and SNR, LB-SNR, LSD, LSD-HF and PESQ-WB as columns; per-corpus
    rows and a pooled row when the files were grouped; each block's notes below it. ``per_file`` puts
    each degradation's per-file table (:func:`format_table`) first."""
    metrics = [m for m in report["metrics"]]
    systems = report["systems"]
    w = max([len(_SUITE_LABELS[m]) for m in metrics] + [8])
    lines = [f"evaluation: {_rate_line(report)}; baselines on the same inputs as the model"
             + ("" if report.get("pesq") else "; PESQ-WB not computed")]
    if per_file:
        for label in report["order"]:
            lines += ["", f"[{label}] per file", format_table(report["degradations"][label])]
        lines.append("")
    for label in report["order"]:
        rep = report["degradations"][label]
        rows = _group_rows(rep)
        gw = max(len(r[0]) for r in rows)
        gw = max(gw, len("corpus (files)")) if gw else 0
        sw = max(len(s) for s in systems + ["system"])
        lines.append("")
        lines.append(f"[{label}] {rep['degradation_text']}")
        head = ((("corpus (files)".ljust(gw) + "  ") if gw else "") + "system".ljust(sw) + " |"
                + "".join(f" {_SUITE_LABELS[m]:>{w}}" for m in metrics))
        lines += [head, "-" * len(head)]
        for glabel, mean, _ in rows:
            for k, sname in enumerate(systems):
                prefix = ((glabel if k == 0 else "").ljust(gw) + "  ") if gw else ""
                lines.append(prefix + sname.ljust(sw) + " |"
                             + "".join(" " + _fmt(mean.get(sname, {}).get(m), w, _DIGITS[m]) for m in metrics))
        left_out = [f"{s} {_LABELS[m]} ({n} file{'s' if n != 1 else ''})"
                    for s in systems for m, n in rep["mean_excluded"].get(s, {}).items() if n and m in metrics]
        if left_out:
            lines.append(f"note: means leave out non-finite or missing values: {', '.join(left_out)}")
        if rep.get("note"):
            lines.append(f"note: {rep['note']}")
    return "\n".join(lines)


def format_suite_markdown(report: dict, per_corpus: bool = False, systems=None, metrics=None) -> str:
    """A markdown summary of an :func:`evaluate_suite` report for READMEs and model cards: one row per
    input degradation and system (means over files), a column per metric, then a list that describes
    each degradation with its notes. ``per_corpus`` adds a corpus column with each group's rows before
    the pooled ones. ``systems`` / ``metrics`` choose and order the rows and columns (default: all)."""
    systems = list(systems or report["systems"])
    metrics = [m for m in (metrics or report["metrics"])]
    grouped = per_corpus and any(report["degradations"][lb].get("groups") for lb in report["order"])
    head = ["input", *(["corpus"] if grouped else []), "system", *(_SUITE_LABELS.get(m, m) for m in metrics)]
    lines = [f"{_rate_line(report)}; means over files; the baselines get the model's inputs.", "",
             "| " + " | ".join(head) + " |",
             "|" + "---|" * (len(head) - len(metrics)) + "---:|" * len(metrics)]
    notes = []
    for label in report["order"]:
        rep = report["degradations"][label]
        rows = _group_rows(rep) if grouped else [("", rep["mean"], rep["mean_excluded"])]
        first = True
        for glabel, mean, _ in rows:
            for k, sname in enumerate(systems):
                cells = [(label if label == rep["spec"] else f"{label} (`{rep['spec']}`)") if first else "", *([glabel or "pooled" if k == 0 else ""] if grouped else []),
                         sname, *(_fmt(mean.get(sname, {}).get(m), 0, _DIGITS.get(m, 2)).strip() for m in metrics)]
                lines.append("| " + " | ".join(cells) + " |")
                first = False
        spec = f"`{rep['spec']}`"
        notes.append(f"- **{label}** ({spec}): {rep['degradation_text']}"
                     + (f". Note: {rep['note']}" if rep.get("note") else ""))
    return "\n".join(lines + [""] + notes)


def high_band_trim_rule(model) -> tuple[tuple[str, ...], str]:
    """``(degradations, objective)`` for :func:`choose_high_band_trim` of ``model``: PESQ-WB (to 8 kHz) hears
    the band an 8 kHz-input model adds, so it is the objective there, under the resampler and the telephone
    channel; above that input rate the band is out of PESQ-WB's reach and LSD is the objective."""
    if int(model.lr_rate) <= 8000:
        return ("resample", "telephone:mulaw"), "pesq"
    return ("resample", "butter:4"), "lsd"


def choose_high_band_trim(model, paths, *, degradations=("resample",),
                          candidates_db=(0, -3, -6, -9, -12, -15, -18, -21, -24, -27, -30),
                          lsd_ratio: float = 0.6, max_seconds: float | None = 8.0, progress: bool = False,
                          objective: str = "pesq", log=print) -> tuple[float, list[dict]]:
    """The level of the band a model adds that scores best on ``paths`` (use TRAINING files, never the test split).

    For each trim in ``candidates_db`` (applied with ``model.trim_high_band``, e.g. a
    :class:`~keras_audiosr.models.StreamingBWE`) the model and sinc are scored under ``degradations``;
    PESQ-WB counts an invented high band as noise and LSD rewards it, so this sets the operating
    point between the two. ``objective="pesq"`` (a model whose added band PESQ-WB hears, e.g. 8 ->
    16 kHz): the trim with the highest mean PESQ-WB among those whose LSD stays at most ``lsd_ratio``
    x sinc's under every degradation (the loudest trim when none does). ``objective="lsd"`` (a band
    PESQ-WB does not hear, e.g. above 8 kHz for 16 -> 48 kHz, where a quieter band always scores
    closer to sinc): the loudest trim, i.e. the lowest LSD, whose SNR stays within 1 dB of sinc's
    under every degradation and whose mean PESQ-WB within 0.05 of sinc's (the one with the best SNR
    margin when none does). The model is left with the chosen trim applied. Returns ``(chosen trim
    in dB, [{"trim_db", "pesq", "lsd", "snr", "sinc_pesq", "sinc_lsd", "sinc_snr",
    "lsd_ratio_worst", "snr_margin_worst"}, ...])``: means over the degradations, the worst model/sinc
    LSD ratio and the worst model - sinc SNR among them.
    """
    if objective not in ("pesq", "lsd"):
        raise ValueError(f"choose_high_band_trim: objective must be 'pesq' or 'lsd', got {objective!r}")
    if not callable(getattr(model, "trim_high_band", None)):
        raise ValueError(f"choose_high_band_trim: {type(model).__name__} has no trim_high_band")
    if not pesq_available():
        raise ImportError("choose_high_band_trim needs PESQ-WB: pip install pesq")
    from keras_audiosr.inference import upsample_array

    start = float(model.high_band_trim_db)

    def at(db):  # one system per candidate, all on the same inputs in one pass (sinc is scored once)
        def run(x):
            model.trim_high_band(start + db - model.high_band_trim_db)
            return upsample_array(model, x)
        return run

    names = {float(db): f"trim{float(db):+g}" for db in candidates_db}
    rep = evaluate_suite(model, list(paths), degradations=list(degradations), baselines=("sinc",), with_pesq=True,
                         progress=progress, max_seconds=max_seconds,
                         systems={name: at(db) for db, name in names.items()})
    means = [rep["degradations"][lb]["mean"] for lb in rep["order"]]
    rows = []
    for db, name in names.items():
        row = {"trim_db": db}
        for system, prefix in ((name, ""), ("sinc", "sinc_")):
            for m in ("pesq", "lsd", "snr"):
                row[prefix + m] = float(np.mean([mean[system][m] for mean in means]))
        row["lsd_ratio_worst"] = float(max(mean[name]["lsd"] / mean["sinc"]["lsd"] for mean in means))
        row["snr_margin_worst"] = float(min(mean[name]["snr"] - mean["sinc"]["snr"] for mean in means))
        rows.append(row)
        if log:
            log(f"high-band trim {db:+.0f} dB: PESQ-WB {row['pesq']:.3f} (sinc {row['sinc_pesq']:.3f}), "
                f"LSD {row['lsd']:.3f} (sinc {row['sinc_lsd']:.3f}), SNR {row['snr']:.2f} dB")
    if objective == "pesq":
        allowed = [r for r in rows if r["lsd_ratio_worst"] <= lsd_ratio] or [max(rows, key=lambda r: r["trim_db"])]
        best = max(allowed, key=lambda r: r["pesq"])["trim_db"]
    else:
        allowed = [r for r in rows if r["snr_margin_worst"] >= -1.0 and r["pesq"] >= r["sinc_pesq"] - 0.05]
        best = (max(allowed, key=lambda r: r["trim_db"]) if allowed
                else max(rows, key=lambda r: r["snr_margin_worst"]))["trim_db"]
    model.trim_high_band(start + best - model.high_band_trim_db)
    return best, rows
