"""``python -m edge.convert``: a trained ``.keras`` model -> a checked ``.tflite`` with metadata and golden fixtures.

Conversion runs an explicit, ordered list of gates (:data:`keras_audiosr.export.conversion.CONVERSION_GATES`) and stops
at the first failure, naming the gate and the problem. Every gate's result (passed, failed, warning, skipped;
message, seconds, details) is recorded in ``<name>.json`` beside the model, or in
``<name>.failed.json`` when a gate stops the conversion (then no model file is written).

One gate list serves both exported forms; :class:`keras_audiosr.export.conversion.GatedExporter` runs it, and each form
supplies the conversions, the reference output and the fixture inputs:

* the fixed-window model (:class:`keras_audiosr.export.window.Exporter`; ``[context | frame | lookahead]`` low-rate
  samples -> the frame's high-rate samples, see :mod:`keras_audiosr.streaming.plan`;
  :mod:`keras_audiosr.export.window`), batch 1 and every shape fixed;
* ``--streaming``: the stateful streaming model of models that have one (one frame and the state
  tensors in, the output frame and the new states out; :class:`keras_audiosr.export.stateful.StreamingExporter`).

A model that claims edge-readiness (``model.edge_ready``) or a run with ``--strict`` must pass
``static_graph`` and ``second_runtime``; for the other (legacy) models their failure is recorded
as a warning and conversion goes on.
"""

from __future__ import annotations

import argparse
import sys

from keras_audiosr.args import (
    Parser,
    UsageError,
    invoked_as,
    positive_float,
    positive_int,
    require_dir,
    require_file,
    writable_dir,
)
from keras_audiosr.export.conversion import CONVERSION_GATES, MIN_SNR_DB, snr_text
from keras_audiosr.export.gates import GateFailed, describe_gates
from keras_audiosr.export.logs import import_tensorflow
from keras_audiosr.export.modes import MODES, check_mode, check_streaming_mode

__all__ = ["add_arguments", "build_parser", "description", "main", "run"]


def description() -> str:
    """The command's ``--help`` text: what it does and its gates, in order."""
    return __doc__.split("\n\n")[0] + "\n\nGates, in order:\n" + describe_gates(CONVERSION_GATES)


def build_parser(prog: str | None = None):
    """The command's parser (``prog``: how the user called it; by default ``python -m edge.convert`` or
    ``python -m keras_audiosr.export.convert``, whichever ran, else the installed ``keras-audiosr export``)."""
    prog = prog or invoked_as(("edge.convert", "keras_audiosr.export.convert"), "keras-audiosr export")
    p = Parser(prog=prog, description=description())
    add_arguments(p)
    return p


def add_arguments(p) -> None:
    """The command's arguments, added to ``p`` (its own parser, or the ``keras-audiosr export`` subcommand's)."""
    p.add_argument("--model", required=True, help="trained .keras model (an AudioSRModel); required")
    p.add_argument(
        "--mode",
        required=True,
        help=f"precision mode, one of: {', '.join(MODES)}; with --streaming one of: float, int8, int8-pcm16; required",
    )
    p.add_argument("--out", required=True, help="output folder (created if missing); required")
    p.add_argument(
        "--train-data",
        default=None,
        help="training audio folder for calibration, QAT and parity; never give evaluation audio here "
        "(default: the embedded default corpus)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--frame-ms",
        type=positive_float,
        default=None,
        help="frame length in ms at the low rate (default: 20; 10 with --streaming)",
    )
    g.add_argument(
        "--frame",
        type=positive_int,
        default=None,
        help="frame length in low-rate samples, instead of --frame-ms (default: from --frame-ms)",
    )
    p.add_argument(
        "--name",
        default=None,
        help="file stem (default: <model name>_<mode>; <model name>_stream_<mode> with --streaming)",
    )
    p.add_argument(
        "--calibration-windows",
        type=positive_int,
        default=None,
        help="training windows for int8/int16x8 calibration (default: 128; 256 with --streaming)",
    )
    p.add_argument(
        "--qat-steps", type=positive_int, default=200, help="QAT fine-tuning steps of the qat mode (default: 200)"
    )
    p.add_argument(
        "--qat-learning-rate", type=positive_float, default=1e-4, help="QAT fine-tuning learning rate (default: 0.0001)"
    )
    p.add_argument(
        "--min-snr",
        type=float,
        default=None,
        help="override the parity gate of this mode, in dB (default: the mode's bound: "
        + ", ".join(f"{k} {v:g}" for k, v in MIN_SNR_DB.items())
        + "; with --streaming int8 and int8-pcm16 30)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="make static_graph and second_runtime blocking for any model (default: off; always on "
        "for models that claim edge-readiness)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: off)")
    p.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's and LiteRT's start-up log lines (default: hidden)",
    )
    p.add_argument(
        "--streaming",
        action="store_true",
        help="stateful streaming export (frame + state tensors in and out) for models "
        "that have one; modes float, int8 (float I/O), int8-pcm16 (int16 PCM I/O); --frame-ms "
        "defaults to 10 (default: off)",
    )


def _validate(args) -> None:
    if args.streaming:
        check_streaming_mode(args.mode)
    else:
        check_mode(args.mode)
    require_file(args.model, "model", (".keras",))
    writable_dir(args.out, "output folder")
    if args.train_data is not None:
        require_dir(args.train_data, "training audio")


def main(argv=None) -> int:
    """``python -m edge.convert ARGS`` (or ``python -m keras_audiosr.export.convert ARGS``); returns the exit
    status."""
    from keras_audiosr.utils import sigterm_raises

    parser = build_parser()
    args = parser.parse_args(argv)
    with sigterm_raises():
        return run(args, parser.prog)


def run(args, prog: str) -> int:
    """The export the parsed ``args`` ask for; errors are one line ``prog: error: ...`` (status 2; a failed
    gate: status 1, naming the report with every gate's result). Ctrl-C (status 130) or SIGTERM (143, where
    the caller turned it into :class:`keras_audiosr.utils.Terminated`) is one line too: a model's files are
    written together at the end, so nothing of the stopped export is left and the command can be rerun."""
    from keras_audiosr.utils import Terminated

    try:
        return _run(args, prog)
    except KeyboardInterrupt as e:
        what, status = ("terminated", 143) if isinstance(e, Terminated) else ("interrupted", 130)
        print(
            f"{prog}: {what}; the export to {args.out} did not finish (a model's files are written together, at "
            f"the end): run the same command again",
            file=sys.stderr,
        )
        return status


def _run(args, prog: str) -> int:
    def fail(message) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

    try:
        _validate(args)
    except (UsageError, ValueError) as e:
        return fail(str(e))
    try:
        import_tensorflow()  # the work starts here: everything below needs TensorFlow
    except ImportError as e:
        return fail(str(e))
    from keras_audiosr.export.calibration import training_utterances
    from keras_audiosr.export.stateful import StreamingExporter
    from keras_audiosr.export.window import Exporter, check_window_form
    from keras_audiosr.models.saving import load_model
    from keras_audiosr.streaming.plan import make_plan, stateful_plan

    try:
        model = load_model(args.model)
        min_snr = None if args.min_snr is None else {args.mode: args.min_snr}
        if args.streaming:  # the stateful form: its own modes and geometry, the same gates
            plan = stateful_plan(model, frame=args.frame, frame_ms=args.frame_ms)
            exporter = StreamingExporter(
                model,
                plan.frame,
                training_utterances(args.train_data, model.hr_rate),
                calibration_windows=args.calibration_windows or 256,
                min_snr=min_snr,
                strict=args.strict,
                progress=not args.no_progress,
            )
        else:
            check_window_form(model)
            plan = make_plan(model, frame=args.frame, frame_ms=args.frame_ms)
            exporter = Exporter(
                model,
                plan,
                training_utterances(args.train_data, model.hr_rate),
                calibration_windows=args.calibration_windows or 128,
                qat_steps=args.qat_steps,
                qat_learning_rate=args.qat_learning_rate,
                min_snr=min_snr,
                strict=args.strict,
                progress=not args.no_progress,
            )
    except (OSError, ValueError) as e:  # corrupt model, no stateful form, a frame the model cannot take
        return fail(str(e))
    try:
        res = exporter.export(args.mode, args.out, name=args.name)
    except GateFailed as e:
        print(f"{prog}: error: {e} (every gate result: {getattr(e, 'report_path', '?')})", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:  # corrupt audio, no training audio
        return fail(str(e))
    _print_summary(res)
    return 0


def _print_summary(res) -> None:
    m = res.metadata
    counts = {}
    for g in res.gates:
        counts.setdefault(g["status"], []).append(g["gate"])
    fixtures = (
        "golden fixtures"
        if "inputs" not in res.files
        else f"golden fixtures ({res.files['inputs']}, {res.files['expected']})"
    )
    print(f"wrote {res.path} ({res.size_bytes / 1024:.1f} KiB), {res.json_path.name} and {fixtures}")
    print(
        f"  mode {res.mode}: input {m['input']['dtype']} [{m['input_length']}], output {m['output']['dtype']} "
        f"[{m['output_length']}], {m['lr_rate']} Hz -> {m['hr_rate']} Hz"
    )
    if m.get("stateful"):
        core = sum(1 for s in m["states"] if s["integer_core"] and s["dtype"] != "float32")
        print(
            f"  stateful: {len(m['states'])} state tensors handed back each call"
            + (f" ({core} of them int8, in the integer core)" if core else "")
        )
    print(
        f"  frame {m['frame_ms']:g} ms, algorithmic latency {m['algorithmic_latency_ms']:.1f} ms"
        f"{'' if m['exact_streaming'] else ' (window shorter than the receptive field: not exact)'}"
    )
    for key, label in (("vs_keras", "against Keras"), ("vs_float", "against the float .tflite")):
        p = res.parity.get(key)
        if p:
            print(f"  parity {label}: {snr_text(p)}, max abs error {p['max_abs_error']:.3g}")
    print(
        "  gates: "
        + "; ".join(f"{k} {len(v)}" + (f" ({', '.join(v)})" if k != "passed" else "") for k, v in counts.items())
    )


if __name__ == "__main__":
    sys.exit(main())
