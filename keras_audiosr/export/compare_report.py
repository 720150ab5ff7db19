"""The report of ``python -m edge.compare`` (:mod:`keras_audiosr.export.compare`) as markdown: one row per
model and variant with its cost and quality columns, the baselines, then each model's quality under every
input degradation."""

from __future__ import annotations

__all__ = ["format_markdown"]

_METRIC_ORDER = ("pesq", "lsd", "lsd_hf", "snr")
_LABELS = {"pesq": "PESQ-WB", "lsd": "LSD", "lsd_hf": "LSD-HF", "snr": "SNR (dB)", "snr_lb": "low-band SNR (dB)"}
_DIGITS = {"pesq": 2, "lsd": 3, "lsd_hf": 3}


def _f(v, digits):
    return "-" if v is None else f"{v:.{digits}f}"


def _metric_columns(report) -> list[str]:
    keys = []
    for row in report["variants"]:
        for k in row:
            if k not in keys and (k in _METRIC_ORDER or k in _extra_metric_keys(report)):
                keys.append(k)
    return [k for k in _METRIC_ORDER if k in keys] + [k for k in keys if k not in _METRIC_ORDER]


def _extra_metric_keys(report) -> set:
    """Metric names evaluate_pair returned beyond the known ones (e.g. a low-band SNR): they get columns too."""
    out = set()
    for m in report.get("models", []):
        for b in m.get("baselines", {}).values():
            out |= set(b)
    return out - set(_METRIC_ORDER)


def format_markdown(report: dict) -> str:
    """The comparison as a markdown table: one row per model and variant, then the baselines (quality
    under the first input degradation); then, per model, the quality of every variant and baseline
    under each input degradation (:func:`keras_audiosr.evaluation.format_suite_markdown`)."""
    from keras_audiosr.evaluation import format_suite_markdown

    metrics = _metric_columns(report)
    head = (
        [
            "model / variant",
            "mode",
            "params",
            "MMAC/s",
            "size (KiB)",
            "latency (ms)",
            "per 10 ms (ms)",
            "RTF",
            "frame (ms)",
            "algorithmic latency (ms)",
        ]
        + [_LABELS.get(k, k) for k in metrics]
        + ["SNR vs Keras (dB)"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in report["variants"]:
        size = v.get("size_bytes")
        lines.append(
            "| "
            + " | ".join(
                [
                    v.get("label", v["name"]),
                    str(v.get("mode") or "-"),
                    str(v.get("parameters") or "-"),
                    _f(v.get("mmac_per_second"), 1),
                    _f(None if size is None else size / 1024, 1),
                    _f(v.get("latency_ms"), 3),
                    _f(v.get("latency_per_10ms_ms"), 3),
                    _f(v.get("rtf"), 4),
                    _f(v.get("frame_ms"), 0),
                    _f(v.get("algorithmic_latency_ms"), 1),
                ]
                + [_f(v.get(k), _DIGITS.get(k, 2)) for k in metrics]
                + [_f(v.get("snr_vs_float"), 1)]
            )
            + " |"
        )
    for m in report.get("models", []):
        for b, scores in m.get("baselines", {}).items():
            label = f"{m['label']}/{b}" if m.get("label") else b
            lines.append(
                "| "
                + " | ".join(
                    [f"{label} (baseline)"]
                    + ["-"] * 9
                    + [_f(scores.get(k), _DIGITS.get(k, 2)) for k in metrics]
                    + ["-"]
                )
                + " |"
            )
    for m in report.get("models", []):
        if m.get("suite"):
            title = f"Quality of {m['label'] or m['name']} by input degradation"
            lines += [
                "",
                f"**{title}** (rows above: `{m.get('quality_degradation')}`)",
                "",
                format_suite_markdown(m["suite"]),
            ]
    return "\n".join(lines)
