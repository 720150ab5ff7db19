"""Evaluation reports as text and markdown tables, and the compact summary ``metrics.json`` keeps.

The metric columns are data: :data:`METRIC_COLUMNS` lists each metric a report may hold (the keys of
:func:`keras_audiosr.metrics.evaluate_pair`'s result), its short and long labels and its digits, in
table order. A new metric becomes a column by adding a row there; a metric a report lacks is left out.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["METRIC_COLUMNS", "MetricColumn", "format_suite", "format_suite_markdown", "format_table", "suite_summary"]


@dataclass(frozen=True)
class MetricColumn:
    """How reports show one metric: ``short`` (per-file tables), ``label`` (suite tables) and ``digits``."""

    name: str
    short: str
    label: str
    digits: int


METRIC_COLUMNS: dict[str, MetricColumn] = {
    c.name: c
    for c in (
        MetricColumn("snr", "SNR", "SNR (dB)", 2),
        MetricColumn("snr_lb", "LB-SNR", "LB-SNR (dB)", 2),
        MetricColumn("lsd", "LSD", "LSD", 3),
        MetricColumn("lsd_hf", "LSD-HF", "LSD-HF", 3),
        MetricColumn("pesq", "PESQ", "PESQ-WB", 2),
        MetricColumn("visqol", "ViSQOL", "ViSQOL (audio, 48k)", 2),
        MetricColumn("visqol_speech", "ViSQOL-S", "ViSQOL (speech)", 2),
        MetricColumn("dnsmos", "DNSMOS", "DNSMOS P.808", 2),
    )
}


def _column(name: str) -> MetricColumn:
    return METRIC_COLUMNS.get(name) or MetricColumn(name, name, name, 3)


def suite_summary(report: dict) -> dict:
    """The compact form of an :func:`evaluate_suite` report that ``metrics.json`` keeps:
    ``{label: {"degradation": spec, "text", "n_files", "mean": {system: {metric: value}},
    ["draws": {spec: count}], ["note"], ["by_corpus": {group: {"n_files", "mean"}}]}}``."""
    out = {}
    for label in report["order"]:
        rep = report["degradations"][label]
        entry = {
            "degradation": rep["spec"],
            "text": rep["degradation_text"],
            "n_files": rep["n_files"],
            "mean": rep["mean"],
        }
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
    metrics = [m for m in METRIC_COLUMNS if any(m in report["mean"][s] for s in systems)]
    w = 8
    names = [
        n + (f" [{f['degradation']}]" if f.get("degradation") else "")
        for n, f in zip(_short_names([f["path"] for f in report["files"]]), report["files"])
    ]
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
        lines.append(
            f"ratio {report['ratio']}: {report.get('lr_rate', '?')} Hz -> {report.get('hr_rate', '?')} Hz; {made}"
        )
    lines.append(" " * fw + " |" + " |".join(s.center(group_w) for s in systems))
    heads = "".join(f" {_column(m).short:>{w}}" for m in metrics)
    lines.append("file".ljust(fw) + " |" + " |".join(heads for _ in systems))
    lines.append("-" * len(lines[-1]))

    def row(label, results):
        label = label if len(label) <= fw else "..." + label[-(fw - 3) :]
        cells = ["".join(" " + _fmt(results.get(s, {}).get(m), w, _column(m).digits) for m in metrics) for s in systems]
        return label.ljust(fw) + " |" + " |".join(cells)

    for name, f in zip(names, report["files"]):
        lines.append(row(name, f))
    lines.append("-" * len(lines[-1]))
    lines.append(row(mean_label, report["mean"]))
    excluded = report.get("mean_excluded") or {}
    left_out = [
        f"{s} {_column(m).short} ({n} file{'s' if n != 1 else ''})"
        for s in systems
        for m, n in excluded.get(s, {}).items()
        if n and m in metrics
    ]
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
    w = max([len(_column(m).label) for m in metrics] + [8])
    lines = [
        f"evaluation: {_rate_line(report)}; baselines on the same inputs as the model"
        + ("" if report.get("pesq") else "; PESQ-WB not computed")
    ]
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
        head = (
            (("corpus (files)".ljust(gw) + "  ") if gw else "")
            + "system".ljust(sw)
            + " |"
            + "".join(f" {_column(m).label:>{w}}" for m in metrics)
        )
        lines += [head, "-" * len(head)]
        for glabel, mean, _ in rows:
            for k, sname in enumerate(systems):
                prefix = ((glabel if k == 0 else "").ljust(gw) + "  ") if gw else ""
                lines.append(
                    prefix
                    + sname.ljust(sw)
                    + " |"
                    + "".join(" " + _fmt(mean.get(sname, {}).get(m), w, _column(m).digits) for m in metrics)
                )
        left_out = [
            f"{s} {_column(m).short} ({n} file{'s' if n != 1 else ''})"
            for s in systems
            for m, n in rep["mean_excluded"].get(s, {}).items()
            if n and m in metrics
        ]
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
    head = ["input", *(["corpus"] if grouped else []), "system", *(_column(m).label for m in metrics)]
    lines = [
        f"{_rate_line(report)}; means over files; the baselines get the model's inputs.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * (len(head) - len(metrics)) + "---:|" * len(metrics),
    ]
    notes = []
    for label in report["order"]:
        rep = report["degradations"][label]
        rows = _group_rows(rep) if grouped else [("", rep["mean"], rep["mean_excluded"])]
        first = True
        for glabel, mean, _ in rows:
            for k, sname in enumerate(systems):
                name = label if label == rep["spec"] else f"{label} (`{rep['spec']}`)"
                values = (_fmt(mean.get(sname, {}).get(m), 0, _column(m).digits).strip() for m in metrics)
                cells = [
                    name if first else "",
                    *([glabel or "pooled" if k == 0 else ""] if grouped else []),
                    sname,
                    *values,
                ]
                lines.append("| " + " | ".join(cells) + " |")
                first = False
        spec = f"`{rep['spec']}`"
        notes.append(
            f"- **{label}** ({spec}): {rep['degradation_text']}" + (f". Note: {rep['note']}" if rep.get("note") else "")
        )
    return "\n".join(lines + [""] + notes)
