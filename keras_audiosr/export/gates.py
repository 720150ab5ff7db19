"""Conversion as an explicit, ordered list of gates.

A :class:`Gate` is a named check with a one-line summary. :func:`run_gates` runs a list of them in
order on one conversion, records a :class:`GateResult` for each (``passed``, ``failed``,
``warning``, ``skipped``; message, seconds, details), and stops at the first failure by raising
:class:`GateFailed` (carrying every result so far). A gate that is not blocking for the conversion
at hand records ``warning`` instead of ``failed`` and the list goes on.

The gates of an export are :data:`keras_audiosr.export.conversion.CONVERSION_GATES`. The checks that work on any
converted ``.tflite`` -- any number of inputs and outputs, so also a stateful streaming model
(frame + state in, frame + state out) -- are here for other gate lists to reuse:
:func:`builtin_ops_outcome`, :func:`static_graph_outcome`, :func:`golden_outputs` and
:func:`second_runtime_outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FAILED",
    "PASSED",
    "SKIPPED",
    "WARNING",
    "Gate",
    "GateFailed",
    "GateResult",
    "Outcome",
    "builtin_ops_outcome",
    "describe_gates",
    "format_result",
    "golden_outputs",
    "run_gates",
    "second_runtime_outcome",
    "static_graph_outcome",
]

PASSED, FAILED, WARNING, SKIPPED = "passed", "failed", "warning", "skipped"


@dataclass
class Outcome:
    """What a gate's check returns: ``ok`` True (passed), False (failed) or None (skipped), a message, details."""

    ok: bool | None
    message: str
    details: dict = field(default_factory=dict)

    @classmethod
    def passed(cls, message: str, **details) -> Outcome:
        return cls(True, message, details)

    @classmethod
    def failed(cls, message: str, **details) -> Outcome:
        return cls(False, message, details)

    @classmethod
    def skipped(cls, message: str, **details) -> Outcome:
        return cls(None, message, details)


@dataclass
class GateResult:
    name: str
    status: str
    message: str
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "gate": self.name,
            "status": self.status,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "details": self.details,
        }


class GateFailed(RuntimeError):
    """A blocking gate failed; ``.result`` is its result, ``.results`` every result up to it."""

    def __init__(self, result: GateResult, results: list[GateResult], label: str = ""):
        super().__init__(f"{label + ': ' if label else ''}gate '{result.name}' failed: {result.message}")
        self.result, self.results, self.label = result, list(results), label

    @property
    def gate(self) -> str:
        return self.result.name


@dataclass(frozen=True)
class Gate:
    """One named step: ``check(ctx) -> Outcome``; ``blocking`` (bool or ``ctx -> bool``) says whether a
    failure stops the conversion (else it is recorded as a warning); ``error`` is the exception raised."""

    name: str
    summary: str
    check: Callable[[Any], Outcome]
    blocking: bool | Callable[[Any], bool] = True
    error: type = GateFailed

    def is_blocking(self, ctx) -> bool:
        return bool(self.blocking(ctx) if callable(self.blocking) else self.blocking)


def describe_gates(gates) -> str:
    """The numbered gate list (for ``--help`` and docs)."""
    return "\n".join(f"  {i}. {g.name}: {g.summary}" for i, g in enumerate(gates, 1))


def format_result(result: GateResult, index: int | None = None, total: int | None = None) -> str:
    where = f"{index}/{total} " if index is not None and total else ""
    return f"{where}{result.name}: {result.status}: {result.message} ({result.seconds:.1f} s)"


def run_gates(
    gates, ctx, *, label: str = "", log: Callable[[str], None] | None = print, reuse: dict | None = None
) -> list[GateResult]:
    """Run ``gates`` in order on ``ctx``; returns every :class:`GateResult`, or raises ``gate.error`` (a
    :class:`GateFailed`) at the first blocking failure.

    ``reuse`` maps gate names to results already obtained for ``ctx`` (work shared between modes):
    those gates are not run again and their results are recorded as they were. ``ctx.results``, when
    the attribute exists, is kept up to date so that a gate can see what came before it.
    """
    results: list[GateResult] = []
    total = len(gates)
    for i, gate in enumerate(gates, 1):
        reused = bool(reuse and gate.name in reuse)
        if reused:
            result = reuse[gate.name]
        else:
            t = time.monotonic()
            outcome = gate.check(ctx)
            if outcome.ok is None:
                status = SKIPPED
            elif outcome.ok:
                status = PASSED
            else:
                status = FAILED if gate.is_blocking(ctx) else WARNING
            result = GateResult(gate.name, status, outcome.message, time.monotonic() - t, dict(outcome.details))
        results.append(result)
        if hasattr(ctx, "results"):
            ctx.results = list(results)
        if log:
            log(
                f"[edge] {label + ' ' if label else ''}gate {format_result(result, i, total)}"
                + (" [shared with an earlier export]" if reused else "")
            )
        if result.status == FAILED:
            raise gate.error(result, results, label)
    return results


# ---- checks that work on any .tflite ------------------------------------------------------------------


def builtin_ops_outcome(data, what: str) -> Outcome:
    """Passed when every operator is a TFLite builtin; failed naming the Flex/custom operators."""
    from keras_audiosr.export.opcheck import NonBuiltinOpError, check_builtin_ops

    try:
        counts = check_builtin_ops(data, what)
    except NonBuiltinOpError as e:
        return Outcome.failed(str(e), non_builtin_ops=e.ops)
    return Outcome.passed(f"{sum(counts.values())} operators, all TFLite builtins", ops=dict(counts))


def static_graph_outcome(data, what: str, allowed=None) -> Outcome:
    """Passed when every operator is in the allowlist and every tensor has a static shape; failed naming each
    offender."""
    from keras_audiosr.export.opcheck import static_graph_report

    report = static_graph_report(data, what, allowed)
    if report.ok:
        return Outcome.passed(
            f"static shapes; operators all in the embedded-runtime allowlist ({', '.join(sorted(report.ops))})",
            **report.to_dict(),
        )
    return Outcome.failed(report.describe(), **report.to_dict())


def golden_outputs(data, inputs):
    """LiteRT outputs of ``data`` for raw ``inputs`` (model dtypes), with a tolerance per output.

    ``inputs`` is a dict ``{input tensor name: array}`` (then the outputs, tolerances and differences
    are dicts by output tensor name) or a list in subgraph input order (then lists). The tolerance
    is twice the largest difference between running with and without the XNNPACK delegate: for a
    float output its own difference, at least 1e-5 of its scale; for the integer outputs the largest
    difference of any integer output, at least one step (rounding compounds through an integer core
    alike for every output it feeds, state tensors included). Returns ``(outputs, atol, diffs)``.
    """
    fast = _invoke(data, inputs, xnnpack=True)
    slow = _invoke(data, inputs, xnnpack=False)
    names = list(fast)
    diffs = {}
    for n in names:
        a, b = fast[n], slow[n]
        diffs[n] = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    integer = [n for n in names if fast[n].dtype.kind in "iu"]
    int_diff = max((diffs[n] for n in integer), default=0.0)
    atol = {}
    for n in names:
        a = fast[n]
        if n in integer:
            atol[n] = max(1.0, 2.0 * int_diff)
        else:
            atol[n] = max(1e-5 * max(1.0, float(np.max(np.abs(a))) if a.size else 1.0), 2.0 * diffs[n])
    if isinstance(inputs, dict):
        return fast, atol, diffs
    return [fast[n] for n in names], [atol[n] for n in names], [diffs[n] for n in names]


def _invoke(data, inputs, xnnpack: bool) -> dict:
    from keras_audiosr.utils import filtered_stderr

    with filtered_stderr():  # LiteRT announces its XNNPACK delegate on fd 2
        return _invoke_loud(data, inputs, xnnpack)


def _invoke_loud(data, inputs, xnnpack: bool) -> dict:
    """``{output tensor name: array}`` in subgraph output order."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_content=bytes(data), num_threads=1, experimental_op_resolver_type=resolver)
    details = interp.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"the model has {len(details)} inputs; {len(inputs)} arrays given")
    if isinstance(inputs, dict):
        by_name = {d["name"]: d for d in details}
        missing = sorted(set(by_name) - set(inputs))
        if missing:
            raise ValueError(f"no arrays for the model's inputs {missing} (given: {sorted(inputs)})")
        pairs = [(by_name[n], inputs[n]) for n in by_name]
    else:
        pairs = list(zip(details, inputs))
    for d, x in pairs:
        x = np.asarray(x)
        if tuple(x.shape) != tuple(d["shape"]):
            interp.resize_tensor_input(d["index"], x.shape, strict=False)
    interp.allocate_tensors()
    for d, x in pairs:
        interp.set_tensor(d["index"], np.asarray(x, d["dtype"]))
    interp.invoke()
    return {d["name"]: interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()}


def second_runtime_outcome(data, inputs, expected, atol, operators: bool = True) -> Outcome:
    """Arm NN (CpuRef) on ``inputs`` against LiteRT's ``expected`` outputs within ``atol`` (raw units, per output).

    ``inputs``/``expected``/``atol`` are dicts by tensor name (inputs bound by name, every output
    compared, state tensors included) or lists in subgraph order. With ``operators``, each operator
    that reads or writes an integer tensor is also run alone on the inputs LiteRT gave it and must
    match within one quantization step (:func:`keras_audiosr.export.armnn.check_operators`), which names the
    operator where the runtimes part. Skipped, with the reason, where Arm NN is not installed;
    failed when it refuses the model (its message names the operator), crashes, or departs from LiteRT.
    """
    from keras_audiosr.export.armnn import (
        ArmNNError,
        ArmNNRefused,
        armnn_status,
        check_operators,
        compare_outputs,
        run_armnn,
    )

    ok, about = armnn_status()
    if not ok:
        return Outcome.skipped(f"{about}; second runtime not checked", runtime=None)
    try:
        got = run_armnn(data, inputs)
        cmp = compare_outputs(got, expected, atol)
    except ArmNNRefused as e:
        return Outcome.failed(f"{about} refused the model: {e.detail}", runtime=about, refused=True)
    except ArmNNError as e:
        return Outcome.failed(str(e), runtime=about)
    names = cmp.get("outputs") or [str(i) for i in range(len(cmp["max_abs_diff"]))]
    integer = [
        np.asarray(e).dtype.kind in "iu" for e in (expected.values() if isinstance(expected, dict) else expected)
    ]

    def show(i):
        unit = " steps" if integer[i] else ""
        return f"{names[i]} {cmp['max_abs_diff'][i]:.3g}{unit} (tolerance {cmp['atol'][i]:.3g})"

    over = [i for i, (d, a) in enumerate(zip(cmp["max_abs_diff"], cmp["atol"])) if d > a]
    if len(names) == 1:
        text = f"max abs difference from LiteRT {show(0)}"
    else:
        worst = max(range(len(names)), key=lambda i: cmp["max_abs_diff"][i] / max(cmp["atol"][i], 1e-30))
        text = f"all {len(names)} outputs compared by name, closest to its tolerance: {show(worst)}"
    details = dict(runtime=about, **cmp)
    problems = []
    if over:
        problems.append("outputs depart from LiteRT beyond the fixture tolerance: " + "; ".join(show(i) for i in over))
    if operators:
        try:
            ops = check_operators(data, inputs if isinstance(inputs, dict) else _by_name(data, inputs))
        except ArmNNError as e:
            return Outcome.failed(f"{about}: operator-by-operator check: {e}", **details)
        details["operators"] = ops
        if ops["checked"] and not ops["ok"]:
            bad = "; ".join(
                f"#{f['index']} {f['op']} -> {f['tensor']}: "
                + (
                    f"{f['max_diff']:.3g} from LiteRT (tolerance {f['tolerance']:.3g})"
                    if "max_diff" in f
                    else f"{f['status']}: {f['message']}"
                )
                for f in ops["failed"][:5]
            )
            more = f" (+{len(ops['failed']) - 5} more)" if len(ops["failed"]) > 5 else ""
            problems.append(f"operators that depart from LiteRT alone, on the same inputs: {bad}{more}")
        elif ops["checked"]:
            text += (
                f"; each of {ops['checked']} integer operators alone within one quantization step of LiteRT "
                f"(reference kernels) on the same inputs ({ops['values_one_step_off']} of {ops['values']} "
                f"values one step off)"
            )
    if problems:
        return Outcome.failed(f"{about}: " + "; ".join(problems), **details)
    return Outcome.passed(f"{about}: {text}", **details)


def _by_name(data, inputs) -> dict:
    from keras_audiosr.streaming.metadata import parse_model

    sg = parse_model(data).subgraphs[0]
    names = [
        sg.tensors[i].name.decode() if isinstance(sg.tensors[i].name, bytes) else str(sg.tensors[i].name)
        for i in sg.inputs
    ]
    return dict(zip(names, inputs))
