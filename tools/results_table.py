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


def _cells(scores):
    return f"{_fmt(scores.get('snr'), 2)} | {_fmt(scores.get('lsd'), 3)} | {_fmt(scores.get('lsd_hf'), 3)} | {_fmt(scores.get('pesq'), 2)}"


def build(folders):
    """One row per run, each beside the spline baseline on the SAME inputs (recipes may use different filters)."""
    runs = [(Path(f), json.loads((Path(f) / "metrics.json").read_text()), json.loads((Path(f) / "config.json").read_text()))
            for f in folders]
    first = runs[0][1]
    lines = [
        f"Test speakers {', '.join(first['test_speakers'])} ({first['n_test_files']} files); "
        f"{first['lr_rate']} Hz -> {first['hr_rate']} Hz.",
        "",
        "| recipe: system | input filter | SNR (dB) ↑ | LSD ↓ | LSD-HF ↓ | PESQ-WB ↑ | spline on the same input: SNR / LSD / LSD-HF / PESQ | parameters | training (min) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    commands = []
    for folder, metrics, config in runs:
        minutes = f"{metrics['train_seconds'] / 60:.1f}" if metrics.get("train_seconds") else ""
        spline = _cells(metrics["test"]["spline"]).replace(" | ", " / ")
        lines.append(f"| {metrics['recipe']}: {metrics['model']} ({metrics['model_size']}, {metrics['epochs_run']} epochs) | "
                     f"{metrics['degradation']['filter']} | {_cells(metrics['test']['model'])} | {spline} | "
                     f"{metrics['parameters']:,} | {minutes} |")
        commands.append(f"python -m recipes.{metrics['recipe']} {' '.join(config['argv'])}")
    lines += ["", "Commands (all run by `bash tools/venv.sh bash tools/vctk_table.sh 5`):", "", "```bash", *commands, "```"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="recipe output folders (metrics.json + config.json)")
    parser.add_argument("--md", help="also write the table to this file")
    args = parser.parse_args(argv)
    table = build(args.folders)
    print(table)
    if args.md:
        from keras_audiosr.utils import write_text_atomic

        write_text_atomic(args.md, table)


if __name__ == "__main__":
    main()
