"""Score models side by side on a run's held-out speakers, under the quality conditions, against the targets.

``python -m tools.held_out_eval --run RUN --model telephony-8k-16k --model RUN/model.keras --out eval_v2``
scores every ``--model`` (a shipped model's name, a ``.keras`` file or a streaming ``.tflite``, run frame by
frame by LiteRT) on the same held-out files of ``RUN``'s split (up to ``--per-speaker`` files of each held-out
speaker, as the model cards do), under :func:`keras_audiosr.evaluation.quality_degradations` (own, resample,
Butterworth 4, Chebyshev 8, and for 8 kHz input the telephone channel and each real codec), beside sinc and
spline (and, for 8 -> 48 kHz, the shipped telephony-8k-16k -> wideband-16k-48k cascade it must beat, as system
``cascade``), with ViSQOL (audio mode, 48 kHz), ViSQOL speech mode and DNSMOS P.808. A shipped name is scored as its
int8 stream (``--keras`` scores its Keras model instead). Writes ``OUT/<label>.json`` and ``OUT/<label>.md``
(the suite table and the targets of :func:`keras_audiosr.pretrained.card.targets_for`) and prints a summary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from keras_audiosr.args import positive_float, positive_int  # noqa: E402

PROG = "python -m tools.held_out_eval"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--run", required=True, help="the recipe run whose held-out speakers are scored (config.json, metrics.json)"
    )
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="M",
        help="a shipped model's name, a .keras file or a streaming .tflite (repeat for several)",
    )
    p.add_argument(
        "--data",
        nargs="+",
        default=None,
        metavar="DIR",
        help="the run's corpus folders (default: as the run recorded them)",
    )
    p.add_argument("--out", required=True, help="folder for <label>.json and <label>.md")
    p.add_argument("--per-speaker", type=positive_int, default=2, help="held-out files per speaker (default: 2)")
    p.add_argument(
        "--max-seconds", type=positive_float, default=6.0, help="score the first seconds of each file (default: 6)"
    )
    p.add_argument(
        "--degradations",
        default=None,
        help="comma-separated conditions (default: the quality conditions of the model's rates)",
    )
    p.add_argument("--keras", action="store_true", help="score a shipped name's Keras model, not its int8 stream")
    p.add_argument("--no-perceptual", action="store_true", help="skip ViSQOL and DNSMOS P.808")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = [f for f in ("config.json", "metrics.json") if not (Path(args.run) / f).is_file()]
    if missing:
        parser.error(f"--run {args.run}: no {' or '.join(missing)} (a finished recipe run folder)")
    from keras_audiosr.evaluation import (
        check_degradation_names,
        evaluate_suite,
        format_suite,
        format_suite_markdown,
        quality_degradations,
    )
    from keras_audiosr.metrics import perceptual_available
    from keras_audiosr.pretrained.card import check_targets, reference_systems, targets_for
    from keras_audiosr.pretrained.provenance import read_json, recorded_dirs, run_split
    from keras_audiosr.pretrained.ship import held_out_files, held_out_paths
    from keras_audiosr.utils import write_json, write_text_atomic

    run = Path(args.run)
    config, metrics = read_json(run / "config.json"), read_json(run / "metrics.json")
    dirs = [Path(d) for d in args.data] if args.data else recorded_dirs(config, metrics)
    corpora = run_split(dirs, config, metrics)
    test = held_out_files(corpora, args.per_speaker)
    paths = held_out_paths(corpora, args.per_speaker)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    perceptual = not args.no_perceptual and perceptual_available()
    print(
        f"[held-out] {len(test)} files of {len({u.speaker for u in test})} speakers; perceptual metrics: "
        f"{'yes' if perceptual else 'no'}",
        flush=True,
    )
    from keras_audiosr.pretrained import load_system

    try:  # every model first: a bad --model stops here, before any scoring
        loaded = [load_system(spec, args.keras) for spec in args.model]
    except (OSError, ValueError, ImportError) as err:
        parser.error(f"--model: {err}")
    references = {}  # the shipped cascade's streams, loaded once per rate pair
    for spec, (label, model) in zip(args.model, loaded):
        rates = (model.lr_rate, model.hr_rate)
        if rates not in references:
            references[rates] = reference_systems(*rates)
        degs = check_degradation_names(args.degradations) if args.degradations else quality_degradations(model)
        report = evaluate_suite(
            model,
            paths,
            degradations=degs,
            baselines=("sinc", "spline"),
            systems=references[rates],
            max_seconds=args.max_seconds,
            perceptual=perceptual,
            progress=True,
        )
        report["model_spec"] = spec
        verdict = check_targets(report, "model", targets_for(model.lr_rate, model.hr_rate))
        report["targets"] = verdict
        write_json(out / f"{label}.json", report)
        lines = [
            f"# {spec} on the held-out speakers of {run.name}",
            "",
            f"Command: `{PROG} {' '.join(sys.argv[1:] if argv is None else argv)}`",
            "",
            format_suite_markdown(report, per_corpus=False),
            "",
            "## Targets (system `model` = " + spec + ")",
            "",
        ]
        for deg, row in verdict["by_degradation"].items():
            cells = [
                f"{k} {row[k]['value']:.3f} vs {row[k]['bound']:.3f} {'ok' if row[k]['met'] else 'MISSED'}"
                for k in verdict["rule"]
                if row[k].get("bound") is not None and row[k]["value"] is not None
            ]
            lines.append(f"- {deg}: " + "; ".join(cells))
        write_text_atomic(out / f"{label}.md", "\n".join(lines) + "\n")
        print(format_suite(report), flush=True)
        print(
            f"[held-out] {label}: targets {'met' if verdict['met'] else 'not met'} -> {out / (label + '.md')}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
