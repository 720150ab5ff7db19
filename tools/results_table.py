"""Builds the README's markdown results tables from recipe output folders.

Usage: python tools/results_table.py runs/table/unet runs/table/edsr ... [--md OUT.md]
       python tools/results_table.py --suite LABEL=RUN LABEL=RUN ... [--md OUT.md]
       python tools/results_table.py --filters LABEL=EVAL.json LABEL=EVAL.json ... [--md OUT.md]

Each folder holds the metrics.json and config.json a recipe wrote. The first form is one row per run
under its own training degradation, beside spline. ``--suite`` is the never-worse table: for every
input degradation of the runs' evaluation suites (``metrics["degradations"]``) the sinc and spline
rows, then each run's model, on the same inputs (the inputs made by the named degradations are the
same for every run; "own" is each run's training degradation, so each run brings its own baselines).
``--filters`` is Sulun & Davies' seen/unseen-filter table: ``keras-audiosr evaluate --json`` reports of
several models on the same files and degradations, one row per input filter, each model's score beside
sinc's with the difference, and which models saw that filter in training.
"""

import argparse
import json
from pathlib import Path


def _fmt(v, digits):
    return "n/a" if v is None else f"{v:.{digits}f}"


def _cells(scores):
    return (
        f"{_fmt(scores.get('snr'), 2)} | {_fmt(scores.get('lsd'), 3)} | {_fmt(scores.get('lsd_hf'), 3)} | "
        f"{_fmt(scores.get('pesq'), 2)}"
    )


def build(folders):
    """One row per run, each beside the spline baseline on the SAME inputs (recipes may use different filters)."""
    runs = [
        (Path(f), json.loads((Path(f) / "metrics.json").read_text()), json.loads((Path(f) / "config.json").read_text()))
        for f in folders
    ]
    first = runs[0][1]
    lines = [
        f"Test speakers {', '.join(first['test_speakers'])} ({first['n_test_files']} files); "
        f"{first['lr_rate']} Hz -> {first['hr_rate']} Hz.",
        "",
        "| recipe: system | input filter | SNR (dB) ↑ | LSD ↓ | LSD-HF ↓ | PESQ-WB ↑ | spline on the same input: SNR "
        "/ LSD / LSD-HF / PESQ | parameters | training (min) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    commands = []
    for _folder, metrics, config in runs:
        minutes = f"{metrics['train_seconds'] / 60:.1f}" if metrics.get("train_seconds") else ""
        spline = _cells(metrics["test"]["spline"]).replace(" | ", " / ")
        lines.append(
            f"| {metrics['recipe']}: {metrics['model']} ({metrics['model_size']}, {metrics['epochs_run']} "
            "epochs) | "
            f"{metrics['degradation']['filter']} | {_cells(metrics['test']['model'])} | {spline} | "
            f"{metrics['parameters']:,} | {minutes} |"
        )
        commands.append(f"python -m recipes.{metrics['recipe']} {' '.join(config['argv'])}")
    lines += [
        "",
        "Commands (all run by `bash tools/venv.sh bash tools/vctk_table.sh 5`):",
        "",
        "```bash",
        *commands,
        "```",
    ]
    return "\n".join(lines) + "\n"


_SUITE_METRICS = (
    ("snr", "SNR (dB)", 2),
    ("snr_lb", "LB-SNR (dB)", 2),
    ("lsd", "LSD", 3),
    ("lsd_hf", "LSD-HF", 3),
    ("pesq", "PESQ-WB", 2),
)


def _suite_cells(scores):
    return " | ".join(_fmt(scores.get(k), d) for k, _, d in _SUITE_METRICS)


def build_suite(runs):
    """``runs``: ``[(label, folder)]`` -> the markdown never-worse table (see the module docstring)."""
    loaded = [
        (
            label,
            Path(f),
            json.loads((Path(f) / "metrics.json").read_text()),
            json.loads((Path(f) / "config.json").read_text()),
        )
        for label, f in runs
    ]
    for _label, folder, metrics, _ in loaded:
        if "degradations" not in metrics:
            raise SystemExit(
                f"{folder / 'metrics.json'}: no evaluation suite (metrics['degradations']); "
                f"re-evaluate the run with the current version"
            )
    first = loaded[0][2]
    head = "| input | system | " + " | ".join(h for _, h, _ in _SUITE_METRICS) + " |"
    lines = [
        f"Held-out speakers {', '.join(first['test_speakers'])} ({first['n_test_files']} files); "
        f"{first['lr_rate']} Hz -> {first['hr_rate']} Hz; means over files.",
        "",
        head,
        "|---|---|" + "---:|" * len(_SUITE_METRICS),
    ]
    shared = [
        lb for lb in first["degradations"] if lb != "own" and all(lb in m["degradations"] for _, _, m, _ in loaded)
    ]
    for lb in shared:
        mean = first["degradations"][lb]["mean"]
        rows = [("sinc", mean.get("sinc", {})), ("spline", mean.get("spline", {}))]
        rows += [(label, m["degradations"][lb]["mean"]["model"]) for label, _, m, _ in loaded]
        for k, (name, scores) in enumerate(rows):
            lines.append(f"| {lb if k == 0 else ''} | {name} | {_suite_cells(scores)} |")
    for label, _, m, _ in loaded:
        own = m["degradations"].get("own")
        if own is None:
            continue
        for k, name in enumerate(("model", "sinc", "spline")):
            cell = f"own: `{own['degradation']}`" if k == 0 else ""
            lines.append(
                f"| {cell} | {label if name == 'model' else f'{name} ({label} inputs)'} | "
                f"{_suite_cells(own['mean'].get(name, {}))} |"
            )
    lines += ["", "| system | recipe | parameters | epochs | training (min) |", "|---|---|---:|---:|---:|"]
    for label, _, m, _ in loaded:
        minutes = f"{m['train_seconds'] / 60:.1f}" if m.get("train_seconds") else ""
        lines.append(
            f"| {label} | {m['recipe']}: {m['model']} {m['model_size']} | {m['parameters']:,} | "
            f"{m['epochs_run']} | {minutes} |"
        )
    lines += ["", "Commands:", "", "```bash"]
    lines += [f"python -m recipes.{m['recipe']} {' '.join(c['argv'])}" for _, _, m, c in loaded]
    lines += ["```"]
    return "\n".join(lines) + "\n"


def _trained_on(model_info: dict) -> str:
    """The degradation set (or single spec) an evaluate report's model was trained on."""
    return model_info.get("training_degradations") or model_info["degradation"]["filter"]


def _seen(model_info: dict, spec: str) -> bool:
    from keras_audiosr.degrade import canonical_spec, get_degradation_set

    try:
        members = get_degradation_set(_trained_on(model_info)).members
        return canonical_spec(spec) in {canonical_spec(m.spec) for m in members}
    except ValueError:
        return False


def build_filters(reports, metrics=(("snr", "SNR (dB)", 2), ("pesq", "PESQ-WB", 2), ("lsd", "LSD", 3))):
    """``reports``: ``[(label, evaluate JSON)]`` of the same files and degradations -> one markdown table
    per metric: input filter, who saw it in training, sinc, spline, each model (and its difference to sinc)."""
    first = reports[0][1]
    if "own" in first["order"]:
        raise SystemExit("--filters: 'own' differs per model; evaluate every model on the same named degradations")

    def inputs(rep):
        return (
            rep["order"],
            rep.get("seed"),
            {lb: sorted(f["path"] for f in rep["degradations"][lb].get("files", [])) for lb in rep["order"]},
        )

    for label, rep in reports[1:]:
        if rep["n_files"] != first["n_files"] or inputs(rep) != inputs(first):
            raise SystemExit(f"--filters: {label} was evaluated on other degradations or files than {reports[0][0]}")
    names = [label for label, _ in reports]
    lines = [
        f"{first['n_files']} held-out files; {first['lr_rate']} Hz -> {first['hr_rate']} Hz; means over files. "
        "Trained on: " + "; ".join(f"{label}: `{_trained_on(rep['model'])}`" for label, rep in reports) + "."
    ]
    for key, title, digits in metrics:
        if any(key not in first["degradations"][lb]["mean"]["sinc"] for lb in first["order"]):
            continue
        lines += [
            "",
            f"{title}; in brackets the difference to sinc on the same input:",
            "",
            "| input | seen in training by | sinc | spline | " + " | ".join(names) + " |",
            "|---|---|---:|---:|" + "---:|" * len(names),
        ]
        for lb in first["order"]:
            spec = first["degradations"][lb]["spec"]
            sinc = first["degradations"][lb]["mean"]["sinc"][key]
            spline = first["degradations"][lb]["mean"]["spline"][key]
            seen = [label for label, rep in reports if _seen(rep["model"], spec)] or ["none"]
            cells = []
            for _, rep in reports:
                v = rep["degradations"][lb]["mean"]["model"][key]
                cells.append(f"{_fmt(v, digits)} ({v - sinc:+.{digits}f})")
            lines.append(
                f"| `{lb}` | {', '.join(seen)} | {_fmt(sinc, digits)} | {_fmt(spline, digits)} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines) + "\n"


def _labelled(items, default_label):
    """``LABEL=PATH`` arguments -> ``[(label, path)]``; a bare path is labelled ``default_label(Path(path))``."""
    return [tuple(f.split("=", 1)) if "=" in f else (default_label(Path(f)), f) for f in items]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "folders",
        nargs="+",
        help="recipe output folders (metrics.json + config.json); "
        "with --suite, LABEL=FOLDER; with --filters, LABEL=EVAL.json",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--suite", action="store_true", help="the per-input-degradation table of the runs' suites")
    kind.add_argument(
        "--filters",
        action="store_true",
        help="the seen/unseen-filter table of LABEL=EVAL.json reports (keras-audiosr evaluate --json)",
    )
    parser.add_argument("--md", help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.filters:
        loaded = []
        for label, f in _labelled(args.folders, lambda p: p.stem):
            try:
                loaded.append((label, json.loads(Path(f).read_text())))
            except (OSError, ValueError) as e:
                raise SystemExit(f"--filters {label}={f}: not an evaluate --json report ({e})") from None
        table = build_filters(loaded)
    elif args.suite:
        table = build_suite(_labelled(args.folders, lambda p: p.name))
    else:
        table = build(args.folders)
    print(table)
    if args.md:
        from keras_audiosr.utils import write_text_atomic

        write_text_atomic(args.md, table)


if __name__ == "__main__":
    main()
