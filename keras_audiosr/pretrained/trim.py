"""The ship-time high-band trim: the level of the band a model adds, chosen on training files.

A listener hears the band a model adds; PESQ-WB counts an invented band as noise and LSD rewards any
band, so neither may choose the level alone. The objective is ViSQOL's audio mode at 48 kHz (what the
papers report, and a metric that hears the band), under guards that keep the rest of the signal as good
as a sinc resampler's: PESQ-WB not below sinc's, SNR within 1 dB of sinc's (not for telephone or codec
inputs, whose channel shifts every system's phase alike) and low-band SNR within 1 dB of sinc's, under
every degradation. :func:`high_band_trim_rule` names the degradations a model is tuned under and
:func:`choose_high_band_trim` scores each candidate trim beside sinc and applies the best.
"""

from __future__ import annotations

import numpy as np

from keras_audiosr.degrade import parse_spec
from keras_audiosr.degrade.codecs import codec_available
from keras_audiosr.evaluation.suite import evaluate_suite
from keras_audiosr.inference import upsample_array
from keras_audiosr.metrics import pesq_available, visqol_available
from keras_audiosr.pretrained.card import pesq_guarded

__all__ = [
    "GUARD_DB",
    "OBJECTIVES",
    "PESQ_MARGIN",
    "CALIBRATION_FILES",
    "UPPER_BAND_HZ",
    "apply_high_band_trim",
    "calibration_files",
    "choose_high_band_trim",
    "guard_gap",
    "high_band_trim_rule",
    "upper_band_split_hz",
]

#: SNR and low-band SNR may fall this many dB below sinc's at the chosen trim.
GUARD_DB = 1.0
#: PESQ-WB must beat sinc's by this much on the calibration (training) files, since a level chosen there scores lower
#: on speakers the model never heard: shipped telephony-8k-16k v2 and narrowband-8k-48k v2 (levels chosen without a
#: margin) were 0.194 and 0.212 PESQ-WB further below sinc on their held-out speakers than on their calibration
#: files, int8, worst condition of the same three against worst (``python -m tools.guard_gap``). The larger gap.
PESQ_MARGIN = 0.21
#: The objectives a trim can be chosen by (``visqol`` is the package's; the others reproduce older cards).
OBJECTIVES = ("visqol", "pesq", "lsd")


def high_band_trim_rule(model) -> tuple[tuple[str, ...], str]:
    """``(degradations, objective)`` for :func:`choose_high_band_trim` of ``model``: ViSQOL (audio mode at
    48 kHz) is the objective for every model; an 8 kHz-input model is tuned under the resampler, the telephone
    channel and a real codec (GSM, when ffmpeg has it), a wider-band one under the resampler and Butterworth 4."""
    if int(model.lr_rate) <= 8000:
        return ("resample", "telephone:mulaw") + (("codec:gsm",) if codec_available("gsm") else ()), "visqol"
    return ("resample", "butter:4"), "visqol"


#: Training files the ship-time level is chosen on.
CALIBRATION_FILES = 12


def calibration_files(train_utts, n: int = CALIBRATION_FILES) -> list:
    """Up to ``n`` training files spread over the corpora first, then their speakers: one file (the middle
    one) per speaker, taken in turn from each corpus (the speaker id's namespace: ``speech16k/librispeech``
    of ``speech16k/librispeech/libri201``, as a multi-corpus run names its speakers). Spread over speakers
    alone, a corpus of many speakers (200 LibriSpeech readers beside 13 VCTK ones) fills the set."""
    by_speaker = {}
    for u in train_utts:
        by_speaker.setdefault(str(getattr(u, "speaker", "")), []).append(u.path)
    groups = {}
    for speaker, paths in sorted(by_speaker.items()):
        paths = sorted(paths, key=str)
        groups.setdefault(speaker.rpartition("/")[0], []).append(paths[len(paths) // 2])
    quota = -(-n // max(1, len(groups)))  # files a corpus gives when all give alike
    for key, files in groups.items():  # each corpus's speakers evenly spaced, so that its first ones are spread
        step = max(1, len(files) // quota)
        groups[key] = files[::step] + [f for i, f in enumerate(files) if i % step]
    out, k = [], 0
    while len(out) < n and any(k < len(files) for files in groups.values()):
        out += [files[k] for _, files in sorted(groups.items()) if k < len(files)][: n - len(out)]
        k += 1
    return out


#: Where the upper band of an 8 kHz-input, wider-output model starts: PESQ-WB is computed on signals resampled to
#: 16 kHz (:func:`keras_audiosr.audio.resample`, whose filter lets about 1 kHz above 8 kHz fold back below it),
#: so a louder band from 8 kHz on costs PESQ-WB (0.03 at 8 kHz, 0.02 at 8.2 kHz, none from 9 kHz:
#: docs/evaluation.md has the probe).
UPPER_BAND_HZ = 9000.0


def upper_band_split_hz(model) -> float | None:
    """Where the part of the added band that PESQ-WB does not hear starts (:data:`UPPER_BAND_HZ`), for a model
    whose input is below 16 kHz and whose output is above it (e.g. 8 -> 48 kHz), else None. PESQ-WB is the guard
    that holds the band down, so that part and the rest get levels of their own."""
    if not callable(getattr(model, "set_upper_band", None)):
        return None
    return UPPER_BAND_HZ if int(model.lr_rate) < 16000 < int(model.hr_rate) else None


def _guards(
    row: dict, per_deg: list[tuple[str, dict, dict]], pesq_guard: bool = True, pesq_margin: float = 0.0
) -> dict:
    """Each guard's worst margin over the degradations (>= 0 passes; None: the guard does not apply); PESQ-WB's
    is counted from sinc's + ``pesq_margin``."""
    pesq = min(m["pesq"] - s["pesq"] - pesq_margin for _, m, s in per_deg) if pesq_guard else None
    snr = [m["snr"] - s["snr"] + GUARD_DB for spec, m, s in per_deg if parse_spec(spec).keeps_waveform]
    lb = min(m["snr_lb"] - s["snr_lb"] + GUARD_DB for _, m, s in per_deg)
    return {
        "pesq_margin": None if pesq is None else float(pesq),
        "snr_margin": float(min(snr)) if snr else None,
        "lb_snr_margin": float(lb),
    }


def _passes(row: dict) -> bool:
    return (
        (row["pesq_margin"] is None or row["pesq_margin"] >= 0)
        and row["lb_snr_margin"] >= 0
        and (row["snr_margin"] is None or row["snr_margin"] >= 0)
    )


def choose_high_band_trim(
    model,
    paths,
    *,
    degradations=("resample",),
    candidates_db=(0, -3, -6, -9, -12, -15, -18, -21, -24),
    lsd_ratio: float = 0.6,
    max_seconds: float | None = 6.0,
    progress: bool = False,
    objective: str = "visqol",
    upper_band_hz: float | None = None,
    pesq_margin: float = PESQ_MARGIN,
    log=print,
) -> tuple[float, list[dict]]:
    """The level of the band a model adds that scores best on ``paths`` (use TRAINING files, never the test split).

    For each trim in ``candidates_db`` (applied with ``model.trim_high_band``, e.g. a
    :class:`~keras_audiosr.models.StreamingBWE`) the model and sinc are scored under ``degradations``, every
    candidate on the same inputs. ``objective="visqol"``: the trim with the highest mean ViSQOL (audio mode,
    48 kHz) among those that pass every guard under every degradation (PESQ-WB >= sinc's + ``pesq_margin``,
    :data:`PESQ_MARGIN`, for inputs below 16 kHz, :func:`~keras_audiosr.pretrained.card.pesq_guarded`; SNR >=
    sinc's - 1 dB except for telephone and codec inputs; low-band SNR >= sinc's - 1 dB); when none passes, the one
    whose worst guard margin is largest.
    ``"pesq"`` (older cards): the best PESQ-WB with LSD at most ``lsd_ratio`` x sinc's; ``"lsd"`` (older
    cards): the loudest trim within 1 dB of sinc's SNR and 0.05 of its PESQ-WB. The model is left
    with the chosen trim applied. Returns ``(chosen trim in dB, rows)``, a row per candidate: ``{"trim_db",
    "visqol", "pesq", "lsd", "snr", "snr_lb", "sinc_<same>"..., "lsd_ratio_worst", "snr_margin_worst",
    "pesq_margin", "snr_margin", "lb_snr_margin", "passes"}`` (means over the degradations; margins the worst).

    ``upper_band_hz``: the candidates are levels (from the trained level) of the band above it instead
    (``model.set_upper_band``), the rest of the added band kept where it is.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"choose_high_band_trim: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not callable(getattr(model, "trim_high_band", None)):
        raise ValueError(f"choose_high_band_trim: {type(model).__name__} has no trim_high_band")
    if not pesq_available():
        raise ImportError("choose_high_band_trim needs PESQ-WB: pip install 'keras-audiosr[eval]'")
    if objective == "visqol" and not visqol_available():
        raise ImportError("choose_high_band_trim by ViSQOL needs visqol-python: pip install 'keras-audiosr[eval]'")
    start = float(model.high_band_trim_db)

    def set_level(db):  # called per file and input: set only on a change (each set drops the traced functions)
        if upper_band_hz is None:
            if abs(start + db - model.high_band_trim_db) > 1e-9:
                model.trim_high_band(start + db - model.high_band_trim_db)
        elif (model.upper_band_hz, model.upper_band_trim_db) != (upper_band_hz, db):
            model.set_upper_band(upper_band_hz, db)

    def at(db):  # one system per candidate, all on the same inputs in one pass (sinc is scored once)
        def run(x):
            set_level(db)
            return upsample_array(model, x)

        return run

    names = {float(db): f"trim{float(db):+g}" for db in candidates_db}
    rep = evaluate_suite(
        model,
        list(paths),
        degradations=list(degradations),
        baselines=("sinc",),
        with_pesq=True,
        progress=progress,
        max_seconds=max_seconds,
        perceptual=("visqol",) if objective == "visqol" else False,
        systems={name: at(db) for db, name in names.items()},
    )
    per = [(rep["degradations"][lb]["spec"], rep["degradations"][lb]["mean"]) for lb in rep["order"]]
    metrics = ("visqol", "pesq", "lsd", "snr", "snr_lb") if objective == "visqol" else ("pesq", "lsd", "snr", "snr_lb")
    rows = []
    for db, name in names.items():
        row = {"trim_db": db}
        for system, prefix in ((name, ""), ("sinc", "sinc_")):
            for m in metrics:
                row[prefix + m] = float(np.mean([mean[system][m] for _, mean in per]))
        row["lsd_ratio_worst"] = float(max(mean[name]["lsd"] / mean["sinc"]["lsd"] for _, mean in per))
        row["snr_margin_worst"] = float(min(mean[name]["snr"] - mean["sinc"]["snr"] for _, mean in per))
        row.update(
            _guards(
                row, [(spec, mean[name], mean["sinc"]) for spec, mean in per], pesq_guarded(model.lr_rate), pesq_margin
            )
        )
        row["passes"] = _passes(row)
        rows.append(row)
        if log:
            vq = f"ViSQOL {row['visqol']:.3f} (sinc {row['sinc_visqol']:.3f}), " if "visqol" in row else ""
            log(
                f"high-band trim {db:+.0f} dB: {vq}PESQ-WB {row['pesq']:.3f} (sinc {row['sinc_pesq']:.3f}), "
                f"LSD {row['lsd']:.3f} (sinc {row['sinc_lsd']:.3f}), SNR {row['snr']:.2f} dB"
                + ("" if objective != "visqol" else f", guards {'pass' if row['passes'] else 'fail'}")
            )
    if objective == "visqol":
        allowed = [r for r in rows if r["passes"]]
        worst = lambda r: min(v for v in (r["pesq_margin"], r["snr_margin"], r["lb_snr_margin"]) if v is not None)  # noqa: E731
        best = (max(allowed, key=lambda r: r["visqol"]) if allowed else max(rows, key=worst))["trim_db"]
    elif objective == "pesq":
        allowed = [r for r in rows if r["lsd_ratio_worst"] <= lsd_ratio] or [max(rows, key=lambda r: r["trim_db"])]
        best = max(allowed, key=lambda r: r["pesq"])["trim_db"]
    else:
        allowed = [r for r in rows if r["snr_margin_worst"] >= -1.0 and r["pesq"] >= r["sinc_pesq"] - 0.05]
        best = (
            max(allowed, key=lambda r: r["trim_db"]) if allowed else max(rows, key=lambda r: r["snr_margin_worst"])
        )["trim_db"]
    set_level(best)
    return best, rows


def apply_high_band_trim(model, train_utts, how: str, with_pesq: bool, log=print) -> dict:
    """Applies a high-band trim ``how`` (``"auto"``, ``"none"`` or a number of dB) to ``model``; returns
    ``{"trim_db", "how", ["objective", "degradations", "files", "calibration": rows]}``.

    ``auto`` and a number are levels from the network's trained level (a trim carried by ``--init-from`` is
    replaced, not added to); ``none`` keeps the model's own. ``auto`` scores trims on up to 12 training files
    (:func:`calibration_files`, 6 s each) under :func:`high_band_trim_rule`'s degradations, never on
    held-out audio."""
    how = str(how).strip().lower()
    if not callable(getattr(model, "trim_high_band", None)):
        return {"trim_db": 0.0, "how": "none"}
    kept = float(model.high_band_trim_db)  # e.g. carried by --init-from a shipped model
    kept_upper = (getattr(model, "upper_band_hz", None), getattr(model, "upper_band_trim_db", None))
    carried = {}  # what a kept upper band adds to the returned record
    if kept_upper[0] is not None:
        carried["upper_band"] = {"hz": kept_upper[0], "trim_db": kept_upper[1], "how": "kept", "applied": True}
    if how == "none":
        return {"trim_db": kept, "how": "none" if not kept else "kept (carried from the source model)", **carried}
    model.trim_high_band(-kept)  # "auto" and a number are levels from the network's trained level
    if kept_upper[0] is not None:
        model.set_upper_band(None)  # one level, unless "auto" frees the upper band below
    if how != "auto":
        model.trim_high_band(float(how))
        return {"trim_db": float(how), "how": "given"}
    if not with_pesq or not visqol_available():
        model.trim_high_band(kept)
        log(
            "[ship] high-band level kept: choosing it needs PESQ-WB and ViSQOL (--no-pesq, or the eval "
            "extra not installed)"
        )
        if carried:
            model.set_upper_band(*kept_upper)
        return {"trim_db": kept, "how": "none (no PESQ-WB/ViSQOL)", **carried}
    files = calibration_files(train_utts)
    degradations, objective = high_band_trim_rule(model)
    log(
        f"[ship] choosing the high-band level on {len(files)} training files under {', '.join(degradations)} "
        f"(objective: {objective})"
    )
    best, rows = choose_high_band_trim(
        model, files, degradations=degradations, objective=objective, log=lambda t: log(f"[ship] {t}")
    )
    log(f"[ship] high-band trim {best:+.0f} dB")
    trim = {
        "trim_db": best,
        "how": "auto",
        "objective": objective,
        "pesq_guard": pesq_guarded(model.lr_rate),
        "pesq_guard_margin": PESQ_MARGIN if pesq_guarded(model.lr_rate) else None,
        "degradations": list(degradations),
        "files": [str(f) for f in files],
        "calibration": rows,
    }
    upper = _choose_upper_band(model, files, degradations, objective, best, rows, log)
    if upper:
        trim["upper_band"] = upper
    return trim


def _choose_upper_band(model, files, degradations, objective, best, rows, log) -> dict | None:
    """The level of the band above :func:`upper_band_split_hz`, chosen as the whole band's was (the same
    candidates) with the band below kept at ``best``; None when the model has no such band or no whole-band
    level passed its guards (the upper band cannot mend a failed guard below 8 kHz). ``applied`` is False
    when the sweep kept ``best`` (one level: no upper band is set)."""
    hz = upper_band_split_hz(model)
    chosen = next(r for r in rows if r["trim_db"] == best)
    if hz is None or objective != "visqol" or not chosen["passes"]:
        return None
    log(f"[ship] choosing the level above {hz / 1000:g} kHz (PESQ-WB does not hear it), {best:+.0f} dB below")
    level, upper_rows = choose_high_band_trim(
        model,
        files,
        degradations=degradations,
        objective=objective,
        candidates_db=[float(r["trim_db"]) for r in rows],
        upper_band_hz=hz,
        log=lambda t: log(f"[ship] above {hz / 1000:g} kHz: {t}"),
    )
    applied = level != best
    if not applied:
        model.set_upper_band(None)
    log(f"[ship] above {hz / 1000:g} kHz: {level:+.0f} dB" + ("" if applied else " (the level below: one level)"))
    return {"hz": hz, "trim_db": level, "how": "auto", "applied": applied, "calibration": upper_rows}


def guard_gap(card: dict, system: str = "int8") -> dict:
    """How much lower a shipped model's PESQ-WB margin over sinc is on its held-out speakers than on the files its
    level was chosen on, at the chosen level, over the calibration's conditions: ``{"trim_db", "conditions",
    "calibration_margin", "held_out_margin", "held_out": {condition: margin}, "gap"}``. Margins are PESQ-WB minus
    sinc's (a recorded guard margin added back), the worst condition of each; ``system`` is the card's ``int8`` or
    ``model`` (Keras) row. Raises ValueError when the card has no automatic level or no held-out PESQ-WB."""
    name = card.get("name", "the card")
    trim = card.get("high_band_trim") or {}
    rows = trim.get("calibration") or []
    chosen = next((r for r in rows if r.get("trim_db") == trim.get("trim_db")), None)
    if trim.get("how") != "auto" or chosen is None or chosen.get("pesq_margin") is None:
        raise ValueError(f"{name}: no PESQ-WB-guarded level chosen on calibration files to compare")
    metrics = card.get("metrics") or {}
    conditions = [d for d in trim.get("degradations", []) if d in metrics]
    held = {}
    for d in conditions:
        row = metrics[d]
        if "pesq" not in row.get(system, {}) or "pesq" not in row.get("sinc", {}):
            raise ValueError(f"{name}: no held-out PESQ-WB for {system!r} under {d}")
        held[d] = float(row[system]["pesq"] - row["sinc"]["pesq"])
    if not held:
        raise ValueError(
            f"{name}: none of the calibration's conditions ({', '.join(trim.get('degradations', []))}) "
            "has held-out metrics"
        )
    calibration = float(chosen["pesq_margin"]) + float(trim.get("pesq_guard_margin") or 0.0)
    return {
        "trim_db": float(trim["trim_db"]),
        "conditions": conditions,
        "calibration_margin": calibration,
        "held_out_margin": min(held.values()),
        "held_out": held,
        "gap": calibration - min(held.values()),
    }
