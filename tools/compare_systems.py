"""Side-by-side markdown table of systems scored on the same inputs, one row per input condition.

``python -m tools.compare_systems v1=runs/eval_wb_v1/streaming_bwe_stream_int8.json:model
v2=keras_audiosr/pretrained/wideband-16k-48k/card.json:int8 --md table.md``

Each ``LABEL=PATH[:SYSTEM]`` names a report and the system in it (default ``model``): a ``card.json`` of a shipped
model (its ``metrics``) or an :func:`keras_audiosr.evaluation.evaluate_suite` report (``tools.held_out_eval``'s
JSON). The reference systems (``--reference``, default ``sinc``; e.g. ``sinc,cascade``) come from the first report
that has them. Reports must score the same files (the tool checks the file counts it can see). Columns per
``--metrics`` (default ViSQOL audio, LSD with its ratio to sinc's, PESQ-WB, low-band SNR, DNSMOS P.808, ViSQOL
speech); rows: the conditions every report has, in the first report's order.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROG = "python -m tools.compare_systems"
NAMES = {
    "visqol": "ViSQOL",
    "lsd": "LSD",
    "pesq": "PESQ-WB",
    "snr": "SNR dB",
    "snr_lb": "LB-SNR dB",
    "dnsmos": "DNSMOS P.808",
    "visqol_speech": "ViSQOL speech",
}
DEFAULT_METRICS = "visqol,lsd,pesq,snr_lb,dnsmos,visqol_speech"


def _table(path: Path) -> tuple[dict, list[str], int | None, dict]:
    """``({condition: {system: {metric: value}}}, order, n_files, {condition: spec})`` of a card.json or a suite
    report."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"{PROG}: {path}: not a readable JSON report ({err})") from None
    if "degradations" in data and "order" in data:
        table = {k: data["degradations"][k]["mean"] for k in data["order"]}
        specs = {k: data["degradations"][k].get("spec") for k in data["order"]}
        return table, list(data["order"]), data.get("n_files"), specs
    if isinstance(data.get("metrics"), dict) and "evaluation" in data:
        degs = data["evaluation"].get("degradations") or {}
        specs = {k: (v.get("spec") if isinstance(v, dict) else None) for k, v in degs.items()}
        return data["metrics"], list(data["metrics"]), data["evaluation"].get("n_files"), specs
    raise SystemExit(f"{PROG}: {path}: neither a model's card.json nor an evaluation suite report")


def _parse(entry: str) -> tuple[str, Path, str]:
    label, sep, rest = entry.partition("=")
    if not sep or not label or not rest:
        raise argparse.ArgumentTypeError(f"expected LABEL=PATH[:SYSTEM], got {entry!r}")
    path, _, system = rest.partition(":")
    return label, Path(path), system or "model"


def _cell(metric, value, ref_lsd):
    if value is None:
        return "-"
    if metric == "lsd" and ref_lsd:
        return f"{value:.3f} ({value / ref_lsd:.2f}x)"
    return f"{value:.3f}" if metric.startswith(("lsd", "visqol")) else f"{value:.2f}"


def _same_input(condition, loaded) -> bool:
    specs = {spec[condition] for *_, spec in loaded if spec.get(condition)}
    return len(specs) <= 1


def compare(sources, references=("sinc",), metrics=None) -> str:
    """The markdown table of ``sources`` (``[(label, path, system)]``) beside ``references``; a condition whose
    input differs between the reports (a model's ``own``) is left out."""
    metrics = list(metrics or DEFAULT_METRICS.split(","))
    loaded = []
    for label, path, system in sources:
        table, order, n_files, specs = _table(path)
        loaded.append((label, table, order, n_files, path, system, specs))
    counts = {n for _, _, _, n, *_ in loaded if n is not None}
    if len(counts) > 1:
        raise SystemExit(f"{PROG}: the reports score different numbers of files ({sorted(counts)}): not side by side")
    order = [c for c in loaded[0][2] if all(c in t for _, t, *_ in loaded) and _same_input(c, loaded)]
    columns = []  # (header, fn(condition) -> value)
    for ref in references:
        holder = next((t for _, t, *_ in loaded if any(ref in t[c] for c in order)), None)
        if holder is None:
            raise SystemExit(f"{PROG}: no report has the reference system {ref!r}")
        columns.append((ref, lambda c, t=holder, s=ref: t[c].get(s, {})))
    for label, table, _, _, path, system, _ in loaded:
        if not any(system in table[c] for c in order):
            raise SystemExit(f"{PROG}: {path} has no system {system!r}")
        columns.append((label, lambda c, t=table, s=system: t[c].get(s, {})))
    head = ["input"] + [f"{NAMES.get(m, m)} {name}" for m in metrics for name, _ in columns]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for c in order:
        sinc_lsd = columns[0][1](c).get("lsd")
        cells = [_cell(m, fn(c).get(m), sinc_lsd if name != "sinc" else None) for m in metrics for name, fn in columns]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("source", nargs="+", type=_parse, metavar="LABEL=PATH[:SYSTEM]")
    p.add_argument("--reference", default="sinc", help="reference systems, comma-separated (default: sinc)")
    p.add_argument("--metrics", default=DEFAULT_METRICS, help=f"columns (default: {DEFAULT_METRICS})")
    p.add_argument("--md", default=None, help="also write the table to this file")
    args = p.parse_args(argv)
    text = compare(args.source, tuple(args.reference.split(",")), args.metrics.split(","))
    if args.md:
        from keras_audiosr.utils import write_text_atomic

        write_text_atomic(args.md, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
