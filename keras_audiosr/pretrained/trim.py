"""The ship-time high-band trim: the level of the band a model adds, chosen on training files.

PESQ-WB counts an invented high band as noise and LSD rewards it, so a shipped model's operating point
lies between the two: :func:`high_band_trim_rule` says which degradations and objective a model is
tuned under, :func:`choose_high_band_trim` scores each candidate trim beside sinc and applies the best.
"""
from __future__ import annotations

import numpy as np

from keras_audiosr.evaluation.suite import evaluate_suite
from keras_audiosr.inference import upsample_array
from keras_audiosr.metrics import pesq_available

__all__ = ["apply_high_band_trim", "choose_high_band_trim", "high_band_trim_rule"]


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


def apply_high_band_trim(model, train_utts, how: str, with_pesq: bool, log=print) -> dict:
    """Applies a high-band trim ``how`` (``"auto"``, ``"none"`` or a number of dB) to ``model``; returns
    ``{"trim_db", "how", ["objective", "degradations", "files", "calibration": rows]}``.

    ``auto`` scores trims on up to 8 training files (spread over the training speakers, 8 s each)
    under :func:`high_band_trim_rule`'s degradations, never on held-out audio."""
    how = str(how).strip().lower()
    if how == "none" or not callable(getattr(model, "trim_high_band", None)):
        return {"trim_db": 0.0, "how": "none"}
    if how != "auto":
        model.trim_high_band(float(how))
        return {"trim_db": float(how), "how": "given"}
    if not with_pesq:
        log("[ship] high-band level kept as trained: choosing it needs PESQ-WB (--no-pesq, or pesq not installed)")
        return {"trim_db": 0.0, "how": "none (no PESQ-WB)"}
    by_speaker = {}
    for u in train_utts:
        by_speaker.setdefault(getattr(u, "speaker", ""), []).append(u.path)
    files = [paths[len(paths) // 2] for _, paths in sorted(by_speaker.items())]
    files = files[:: max(1, len(files) // 8)][:8]
    degradations, objective = high_band_trim_rule(model)
    log(f"[ship] choosing the high-band level on {len(files)} training files under {', '.join(degradations)} "
        f"(objective: {objective})")
    best, rows = choose_high_band_trim(model, files, degradations=degradations, objective=objective,
                                       log=lambda t: log(f"[ship] {t}"))
    log(f"[ship] high-band trim {best:+.0f} dB")
    return {"trim_db": best, "how": "auto", "objective": objective, "degradations": list(degradations),
            "files": [str(f) for f in files], "calibration": rows}
