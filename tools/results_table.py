"""Builds the README's markdown results table from recipe output folders.

Usage: python tools/results_table.py runs/table/unet runs/table/edsr ... [--md OUT.md]
Each folder holds the metrics.json and config.json a recipe wrote; the spline and sinc rows come
from the first folder (every recipe scores them on the same test files and degradation).
"""
import argparse
import json
from pathlib import Path


def _fmt(v, digits):
    return "n/a" if v is None else f"{v:.{digits}f}"


def _row(name, scores, params="", minutes="", command=""):
    return (f"| {name} | {_fmt(scores.get('snr'), 2)} | {_fmt(scores.get('lsd'), 3)} | {_fmt(scores.get('lsd_hf'), 3)} | "
            f"{_fmt(scores.get('pesq'), 2)} | {params} | {minutes} | {command} |")


def build(folders):
    runs = [(Path(f), json.loads((Path(f) / "metrics.json").read_text()), json.loads((Path(f) / "config.json").read_text()))
            for f in folders]
    first = runs[0][1]
    lines = [
        f"Test speakers {', '.join(first['test_speakers'])} ({first['n_test_files']} files); input made by "
        f"{first['degradation_text']}; {first['lr_rate']} Hz -> {first['hr_rate']} Hz.",
        "",
        "| system | SNR (dB) ↑ | LSD ↓ | LSD-HF ↓ | PESQ-WB ↑ | parameters | training (min) | command |",
        "|---|---|---|---|---|---|---|---|",
        _row("spline (baseline)", first["test"]["spline"]),
        _row("sinc (baseline)", first["test"]["sinc"]),
    ]
    for folder, metrics, config in runs:
        minutes = f"{metrics['train_seconds'] / 60:.1f}" if metrics.get("train_seconds") else ""
        command = f"`python -m recipes.{metrics['recipe']} {' '.join(config['argv'])}`"
        lines.append(_row(f"{metrics['model']} ({metrics['model_size']}, {metrics['epochs_run']} epochs)",
                          metrics["test"]["model"], f"{metrics['parameters']:,}", minutes, command))
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="recipe output folders (metrics.json + config.json)")
    parser.add_argument("--md", help="also write the table to this file")
    args = parser.parse_args(argv)
    table = build(args.folders)
    print(table)
    if args.md:
        Path(args.md).write_text(table)


if __name__ == "__main__":
    main()
