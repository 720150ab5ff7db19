"""The model card's account of a shipped model's band levels: the chosen level(s), the rule, and each sweep."""

from __future__ import annotations

__all__ = ["level_lines", "level_sweep_block", "trim_sweep_table"]


def level_lines(trim: dict) -> str:
    """The card's lines on the added band's level (and its upper band's, where it has one)."""
    return _trim_line(trim) + _upper_line(trim)


def _trim_line(trim: dict) -> str:
    db = float(trim.get("trim_db") or 0.0)
    if trim.get("how") == "auto":
        why = {
            "lsd": "as the lowest LSD with SNR within 1 dB of sinc's under each and PESQ-WB within 0.05 of sinc's",
            "pesq": "as the best PESQ-WB with LSD at most 0.6x sinc's under each (an older rule: PESQ-WB counts an "
            "invented high band as noise, so it picks a quiet band)",
        }.get(
            trim.get("objective"),
            "as the best ViSQOL (audio mode, 48 kHz) among the levels that keep "
            + (_pesq_guard_text(trim) if trim.get("pesq_guard", True) else "")
            + "SNR (not for telephone or codec inputs) and low-band SNR within 1 dB of sinc's, under each"
            + ("" if trim.get("pesq_guard", True) else " (PESQ-WB, which hears only the input band here, is reported)")
            + "; the sweep is below",
        )
        return (
            f"- High-band level: the band the network adds is set {db:+.0f} dB from its trained level "
            f"(`StreamingBWE.trim_high_band`: a fixed offset of its output gain, exact in every frame), "
            f"chosen on {len(trim.get('files', []))} training files under "
            f"{', '.join(trim.get('degradations', []))} {why} "
            f"(`keras_audiosr.pretrained.trim.choose_high_band_trim`)."
        )
    if db:
        return f"- High-band level: set {db:+.1f} dB from its trained level (`StreamingBWE.trim_high_band`)."
    return "- High-band level: as trained."


def _pesq_guard_text(trim: dict) -> str:
    margin = float(trim.get("pesq_guard_margin") or 0.0)
    if not margin:
        return "PESQ-WB at or above sinc's, and "
    return (
        f"PESQ-WB at least {margin:g} above sinc's (on these files; what a level loses on speakers the model never "
        "heard: `python -m tools.guard_gap`), and "
    )


def _upper_line(trim: dict) -> str:
    upper = trim.get("upper_band")
    if not upper:
        return ""
    khz = float(upper["hz"]) / 1000
    if not upper.get("applied", True):
        return f"\n- Above {khz:g} kHz: the same level; its own sweep (below) chose the level of the band under it."
    if upper.get("how") == "kept":
        return f"\n- Above {khz:g} kHz: {float(upper['trim_db']):+.0f} dB from its trained level, as the model had it."
    return (
        f"\n- Above {khz:g} kHz the added band is set {float(upper['trim_db']):+.0f} dB from its trained level "
        f"(`StreamingBWE.set_upper_band`: the band merge's fixed FIR, no weight, state or cost changed), chosen "
        f"the same way with the band below {khz:g} kHz kept at {float(trim.get('trim_db') or 0):+.0f} dB: PESQ-WB, "
        f"the guard that holds that part down, does not hear above {khz:g} kHz."
    )


def trim_sweep_table(trim: dict) -> str:
    """The whole trim sweep as a markdown table (empty when the trim was not chosen by ViSQOL); ``trim`` may
    be the ``upper_band`` part too."""
    rows = trim.get("calibration") or []
    if not rows or "visqol" not in rows[0]:
        return ""
    out = [
        "| trim (dB) | ViSQOL | PESQ-WB | LSD | SNR (dB) | LB-SNR (dB) | guards |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    first = rows[0]
    out.append(
        f"| sinc | {first['sinc_visqol']:.3f} | {first['sinc_pesq']:.3f} | {first['sinc_lsd']:.3f} | "
        f"{first['sinc_snr']:.2f} | {first['sinc_snr_lb']:.2f} | |"
    )
    for r in rows:
        mark = " **chosen**" if float(r["trim_db"]) == float(trim.get("trim_db") or 0.0) else ""
        out.append(
            f"| {r['trim_db']:+.0f}{mark} | {r['visqol']:.3f} | {r['pesq']:.3f} | {r['lsd']:.3f} | "
            f"{r['snr']:.2f} | {r['snr_lb']:.2f} | {'pass' if r['passes'] else 'fail'} |"
        )
    return "\n".join(out)


def level_sweep_block(trim: dict) -> str:
    """The sweeps of a card: the whole band's, then the upper band's where it had one (empty when not by ViSQOL)."""
    table = trim_sweep_table(trim)
    if not table:
        return ""
    block = (
        "The high-band level sweep on the training files (means over "
        f"{', '.join(trim.get('degradations', []))}; guards under each):\n\n{table}\n\n"
    )
    upper = trim.get("upper_band")
    if upper and trim_sweep_table(upper):
        khz = float(upper["hz"]) / 1000
        block += (
            f"Then the level above {khz:g} kHz, the band below it at {float(trim.get('trim_db') or 0):+.0f} dB "
            f"(same files and inputs):\n\n{trim_sweep_table(upper)}\n\n"
        )
    return block
