"""The second runtime: Arm NN (``pyarmnn``, CpuRef backend) runs an exported ``.tflite`` on given inputs.

Two checks against LiteRT: :func:`run_armnn` + :func:`compare_outputs` run a whole model on its
inputs (bound by tensor name) and compare every output; :func:`check_operators` runs each operator
that touches an integer tensor alone under Arm NN on the exact inputs LiteRT's reference kernels gave
it, so a departure is pinned to one operator and integer rounding is held to one quantization step
per operator (end to end, those steps compound through a deep int8 core, for LiteRT's own two kernel
sets as much as for Arm NN).

Debian's ``python3-pyarmnn`` (Arm NN 20.08) installs for the system Python only, so the model runs in
a subprocess of that interpreter (:mod:`keras_audiosr.export.armnn_runner`), exchanging ``.npz`` files. Install it with
``apt-get install python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22 python3-numpy``;
the environment variable ``KERAS_AUDIOSR_ARMNN_PYTHON`` names another interpreter that has it. Where
it is absent, :func:`armnn_status` says so and the second-runtime gate is skipped with that notice.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "ARMNN_PYTHON_ENV",
    "ArmNNError",
    "ArmNNRefused",
    "armnn_status",
    "check_operators",
    "compare_outputs",
    "run_armnn",
    "run_armnn_batch",
]

ARMNN_PYTHON_ENV = "KERAS_AUDIOSR_ARMNN_PYTHON"
_DEFAULT_PYTHON = "/usr/bin/python3"
_RUNNER = Path(__file__).with_name("armnn_runner.py")
_INSTALL = "apt-get install python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22 python3-numpy"


class ArmNNError(RuntimeError):
    """Arm NN could not be run at all (not installed, crashed, bad inputs)."""


class ArmNNRefused(ArmNNError):
    """Arm NN refused the model (unsupported operator, data type or shape); ``.detail`` is Arm NN's own message,
    which names the operator."""

    def __init__(self, message: str, detail: str):
        super().__init__(message)
        self.detail = detail


def _python() -> str:
    return os.environ.get(ARMNN_PYTHON_ENV) or _DEFAULT_PYTHON


def _env() -> dict:
    # The system interpreter must not see this process's virtual environment.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


@functools.cache
def _status(python: str) -> tuple[bool, str]:
    if not Path(python).is_file():
        return False, f"Arm NN not available: no interpreter at {python} (install it with: {_INSTALL})"
    try:
        out = subprocess.run(
            [python, "-I", str(_RUNNER), "--probe"],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"Arm NN not available: {python} could not be run ({e})"
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        return False, f"Arm NN not available: {reason} (install it with: {_INSTALL})"
    version, _, backends = out.stdout.strip().partition(" ")
    if "CpuRef" not in backends.split(","):
        return (
            False,
            f"Arm NN {version} has no CpuRef backend (backends: {backends or 'none'}; install "
            "libarmnn-cpuref-backend22)",
        )
    return True, f"Arm NN {version} (pyarmnn under {python}, CpuRef backend)"


def armnn_status() -> tuple[bool, str]:
    """``(available, description)``: whether Arm NN with the CpuRef backend can run models here, and which, or why
    not."""
    return _status(_python())


def _run_subprocess(args, label: str, timeout: float):
    try:
        return subprocess.run(
            [_python(), "-I", str(_RUNNER), *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise ArmNNError(f"{label}: Arm NN did not finish within {timeout:.0f} s") from e


def _crash_text(code: int) -> str:
    sig = -code
    return signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)


def _write_inputs(path: Path, inputs) -> None:
    if isinstance(inputs, dict):
        names = list(inputs)
        arrays = {f"in{i}": np.asarray(inputs[n]) for i, n in enumerate(names)}
        np.savez(path, input_names=np.array(names), **arrays)
    else:
        np.savez(path, **{f"in{i}": np.asarray(a) for i, a in enumerate(inputs)})


def _read_outputs(path: Path, by_name: bool):
    with np.load(path) as data:
        n = sum(1 for k in data.files if k[:3] == "out" and k[3:].isdigit())
        arrays = [np.array(data[f"out{i}"]) for i in range(n)]
        names = [str(x) for x in data["output_names"]]
    return dict(zip(names, arrays)) if by_name else arrays


def run_armnn(source, inputs, backend: str = "CpuRef", timeout: float = 600.0):
    """The outputs of the ``.tflite`` ``source`` (path or bytes) under Arm NN for ``inputs``.

    ``inputs`` is a dict ``{tensor name: array}`` (bound by name, as the TfLite parser binds them;
    returns ``{output tensor name: array}``) or a list in subgraph input order (returns a list in
    subgraph output order). Each input must already be in its tensor's dtype.
    Raises :class:`ArmNNRefused` when Arm NN does not accept the model, :class:`ArmNNError` otherwise.
    """
    ok, why = armnn_status()
    if not ok:
        raise ArmNNError(why)
    with tempfile.TemporaryDirectory(prefix="keras_audiosr_armnn_") as tmp:
        tmp = Path(tmp)
        if isinstance(source, (bytes, bytearray, memoryview)):
            model_path = tmp / "model.tflite"
            model_path.write_bytes(bytes(source))
            label = "<tflite bytes>"
        else:
            model_path = Path(source)
            label = str(model_path)
        _write_inputs(tmp / "in.npz", inputs)
        out = _run_subprocess([str(model_path), str(tmp / "in.npz"), str(tmp / "out.npz"), backend], label, timeout)
        message = " ".join(out.stderr.strip().split()) or f"exit status {out.returncode}"
        if out.returncode == 3:
            raise ArmNNRefused(f"Arm NN refused {label}: {message}", message)
        if out.returncode < 0:
            raise ArmNNError(
                f"{label}: Arm NN crashed ({_crash_text(out.returncode)}) running the model"
                f"{': ' + message if out.stderr.strip() else ''}"
            )
        if out.returncode != 0:
            raise ArmNNError(f"{label}: Arm NN failed: {message}")
        return _read_outputs(tmp / "out.npz", isinstance(inputs, dict))


def run_armnn_batch(items, backend: str = "CpuRef", timeout: float = 600.0) -> list[dict]:
    """Runs every ``(tflite bytes, {input name: array})`` of ``items`` in one Arm NN process.

    Returns one dict per item: ``status`` (``"ok"``, ``"refused"``, ``"bad_inputs"``, or ``"crashed"``
    for the item Arm NN died on and ``"not_run"`` for those after it), ``message`` and ``outputs``
    (``{output tensor name: array}`` when ``ok``).
    """
    ok, why = armnn_status()
    if not ok:
        raise ArmNNError(why)
    import json

    items = list(items)
    with tempfile.TemporaryDirectory(prefix="keras_audiosr_armnn_") as tmp:
        tmp = Path(tmp)
        manifest = []
        for i, (data, inputs) in enumerate(items):
            (tmp / f"m{i}.tflite").write_bytes(bytes(data))
            _write_inputs(tmp / f"in{i}.npz", inputs)
            manifest.append([str(tmp / f"m{i}.tflite"), str(tmp / f"in{i}.npz"), str(tmp / f"out{i}.npz")])
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        results = tmp / "results.jsonl"
        out = _run_subprocess(
            ["--batch", str(tmp / "manifest.json"), str(results), backend], f"{len(items)} models", timeout
        )
        done = {}
        if results.is_file():
            for line in results.read_text().splitlines():
                r = json.loads(line)
                done[r["index"]] = r
        report = []
        for i in range(len(items)):
            r = done.get(i)
            if r is None:
                crashed = out.returncode < 0 and i == len(done)
                status = "crashed" if crashed else "not_run"
                detail = (
                    f"Arm NN crashed ({_crash_text(out.returncode)})"
                    if crashed
                    else " ".join(out.stderr.strip().split()) or f"exit status {out.returncode}"
                )
                report.append({"status": status, "message": detail, "outputs": None})
            elif r["status"] == "ok":
                report.append({"status": "ok", "message": "", "outputs": _read_outputs(Path(manifest[i][2]), True)})
            else:
                report.append({"status": r["status"], "message": r["message"], "outputs": None})
        return report


def compare_outputs(got, expected, atol) -> dict:
    """``{"max_abs_diff", "atol", "ok"}`` of each Arm NN output against LiteRT's, in raw tensor units.

    ``got`` and ``expected`` are lists in the same order, or dicts by output name (then
    ``"outputs"`` lists the names in the order of the other lists); ``atol`` is one bound, one per
    output (a list, or a dict by name). Integer outputs differ in whole quantization steps.
    """
    names = None
    if isinstance(expected, dict):
        names = list(expected)
        if not isinstance(got, dict) or set(got) != set(names):
            raise ArmNNError(
                f"Arm NN returned outputs {sorted(got) if isinstance(got, dict) else len(got)}; LiteRT {sorted(names)}"
            )
        got, expected = [got[n] for n in names], [expected[n] for n in names]
        if isinstance(atol, dict):
            atol = [atol[n] for n in names]
    got, expected = list(got), list(expected)
    if len(got) != len(expected):
        raise ArmNNError(f"Arm NN returned {len(got)} outputs; LiteRT {len(expected)}")
    atols = list(atol) if isinstance(atol, (list, tuple)) else [float(atol)] * len(expected)
    diffs = []
    for i, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e)
        if g.size != e.size:
            raise ArmNNError(
                f"output {names[i] if names else i}: Arm NN gave {g.size} values of shape {g.shape}; LiteRT {e.shape}"
            )
        diffs.append(
            float(np.max(np.abs(g.astype(np.float64).ravel() - e.astype(np.float64).ravel()))) if g.size else 0.0
        )
    out = {"max_abs_diff": diffs, "atol": [float(a) for a in atols], "ok": all(d <= a for d, a in zip(diffs, atols))}
    if names is not None:
        out["outputs"] = names
    return out


# ---- operator by operator ------------------------------------------------------------------------------
def _litert_tensors(data: bytes, inputs: dict) -> dict:
    """Every tensor's value (by index) after one invocation with LiteRT's reference kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from keras_audiosr.utils import filtered_stderr

    with filtered_stderr():
        it = Interpreter(
            model_content=bytes(data),
            num_threads=1,
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        it.allocate_tensors()
        details = {d["name"]: d for d in it.get_input_details()}
        for name, value in inputs.items():
            if name not in details:
                raise ArmNNError(f"no input tensor named {name!r} (inputs: {sorted(details)})")
            it.set_tensor(details[name]["index"], np.asarray(value, details[name]["dtype"]))
        it.invoke()
        values = {}
        for d in it.get_tensor_details():
            try:
                values[d["index"]] = it.get_tensor(d["index"]).copy()
            except ValueError:  # tensors LiteRT never allocated (e.g. folded constants)
                pass
    return values


def _single_operator_models(data: bytes) -> list[tuple[int, str, list[int], list[int], bytes]]:
    """``(index, op name, variable inputs, outputs, model)`` for each operator that reads or writes an integer
    tensor: a one-operator ``.tflite`` whose inputs are that operator's non-constant inputs (``x0, x1, ...``)
    and whose outputs are its outputs (``y0, ...``)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from keras_audiosr.export.opcheck import operators

    base = schema.ModelT.InitFromPackedBuf(bytes(data), 0)
    sg = base.subgraphs[0]
    float_types = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16, schema.TensorType.FLOAT64)

    def constant(t):
        b = base.buffers[sg.tensors[t].buffer] if sg.tensors[t].buffer < len(base.buffers) else None
        return b is not None and b.data is not None and len(b.data) > 0

    out = []
    for g, i, name, ins, outs in operators(data):
        if g != 0:
            continue
        variable = list(dict.fromkeys(t for t in ins if t >= 0 and not constant(t)))
        if all(sg.tensors[t].type in float_types for t in variable + outs):
            continue
        model = schema.ModelT.InitFromPackedBuf(bytes(data), 0)
        s = model.subgraphs[0]
        s.operators = [s.operators[i]]
        s.inputs = np.asarray(variable, np.int32)
        s.outputs = np.asarray(outs, np.int32)
        for k, t in enumerate(variable):
            s.tensors[t].name = f"x{k}"
        for k, t in enumerate(outs):
            s.tensors[t].name = f"y{k}"
        model.signatureDefs = []
        builder = flatbuffers.Builder(len(data) + 1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        out.append((i, name, variable, list(outs), bytes(builder.Output())))
    return out


def check_operators(data, inputs: dict, timeout: float = 600.0) -> dict:
    """Each operator that reads or writes an integer tensor, alone, under Arm NN and LiteRT on the same inputs.

    The inputs of every operator are the values LiteRT's reference kernels computed for them on the
    model's ``inputs`` (``{input tensor name: array}``); integer outputs must agree within one
    quantization step, float ones (DEQUANTIZE) within 1e-5 of their scale. Returns ``{"ok",
    "checked", "failed": [{"index", "op", "tensor", "max_diff", "tolerance" | "status", "message"}],
    "max_step_diff", "values", "values_one_step_off"}``.
    """
    from ai_edge_litert import schema_py_generated as schema

    data = bytes(data)
    values = _litert_tensors(data, inputs)
    sg = schema.ModelT.InitFromPackedBuf(data, 0).subgraphs[0]
    name_of = lambda t: (
        sg.tensors[t].name.decode() if isinstance(sg.tensors[t].name, bytes) else str(sg.tensors[t].name)
    )
    ops = _single_operator_models(data)
    runs = (
        run_armnn_batch(
            [(m, {f"x{k}": values[t] for k, t in enumerate(var)}) for _, _, var, _, m in ops], timeout=timeout
        )
        if ops
        else []
    )
    failed, worst, n_values, n_off = [], 0.0, 0, 0
    for (index, op, _, outs, _), run in zip(ops, runs):
        if run["status"] != "ok":
            failed.append(
                {
                    "index": index,
                    "op": op,
                    "tensor": name_of(outs[0]),
                    "status": run["status"],
                    "message": run["message"],
                }
            )
            continue
        for k, t in enumerate(outs):
            want, got = values[t], np.asarray(run["outputs"][f"y{k}"])
            diff = np.abs(got.astype(np.float64).ravel() - want.astype(np.float64).ravel())
            integer = want.dtype.kind in "iu"
            tol = 1.0 if integer else 1e-5 * max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
            d = float(diff.max()) if diff.size else 0.0
            if integer:
                worst = max(worst, d)
                n_values += diff.size
                n_off += int(np.sum(diff >= 1))
            if d > tol:
                failed.append({"index": index, "op": op, "tensor": name_of(t), "max_diff": d, "tolerance": tol})
    return {
        "ok": not failed,
        "checked": len(ops),
        "failed": failed,
        "max_step_diff": worst,
        "values": n_values,
        "values_one_step_off": n_off,
    }
