"""The second runtime: Arm NN (``pyarmnn``, CpuRef backend) runs an exported ``.tflite`` on given inputs.

Debian's ``python3-pyarmnn`` (Arm NN 20.08) installs for the system Python only, so the model runs in
a subprocess of that interpreter (:mod:`edge.armnn_runner`), exchanging ``.npz`` files. Install it with
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

__all__ = ["ARMNN_PYTHON_ENV", "ArmNNError", "ArmNNRefused", "armnn_status", "run_armnn", "compare_outputs"]

ARMNN_PYTHON_ENV = "KERAS_AUDIOSR_ARMNN_PYTHON"
_DEFAULT_PYTHON = "/usr/bin/python3"
_RUNNER = Path(__file__).with_name("armnn_runner.py")
_INSTALL = ("apt-get install python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22 python3-numpy")


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


@functools.lru_cache(maxsize=None)
def _status(python: str) -> tuple[bool, str]:
    if not Path(python).is_file():
        return False, f"Arm NN not available: no interpreter at {python} (install it with: {_INSTALL})"
    try:
        out = subprocess.run([python, "-I", str(_RUNNER), "--probe"], capture_output=True, text=True, env=_env(),
                             timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"Arm NN not available: {python} could not be run ({e})"
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        return False, f"Arm NN not available: {reason} (install it with: {_INSTALL})"
    version, _, backends = out.stdout.strip().partition(" ")
    if "CpuRef" not in backends.split(","):
        return False, f"Arm NN {version} has no CpuRef backend (backends: {backends or 'none'}; install libarmnn-cpuref-backend22)"
    return True, f"Arm NN {version} (pyarmnn under {python}, CpuRef backend)"


def armnn_status() -> tuple[bool, str]:
    """``(available, description)``: whether Arm NN with the CpuRef backend can run models here, and which, or why not."""
    return _status(_python())


def run_armnn(source, inputs, backend: str = "CpuRef", timeout: float = 600.0) -> list[np.ndarray]:
    """The outputs of the ``.tflite`` ``source`` (path or bytes) under Arm NN, for ``inputs`` in subgraph input order.

    Each input must already be in its tensor's dtype (integer models take integer inputs).
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
        np.savez(tmp / "in.npz", **{f"in{i}": np.asarray(a) for i, a in enumerate(inputs)})
        try:
            out = subprocess.run([_python(), "-I", str(_RUNNER), str(model_path), str(tmp / "in.npz"),
                                  str(tmp / "out.npz"), backend], capture_output=True, text=True, env=_env(),
                                 timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise ArmNNError(f"{label}: Arm NN did not finish within {timeout:.0f} s") from e
        message = " ".join(out.stderr.strip().split()) or f"exit status {out.returncode}"
        if out.returncode == 3:
            raise ArmNNRefused(f"Arm NN refused {label}: {message}", message)
        if out.returncode < 0:
            sig = -out.returncode
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            raise ArmNNError(f"{label}: Arm NN crashed ({name}) running the model{': ' + message if out.stderr.strip() else ''}")
        if out.returncode != 0:
            raise ArmNNError(f"{label}: Arm NN failed: {message}")
        with np.load(tmp / "out.npz") as data:
            n = sum(1 for k in data.files if k[:3] == "out" and k[3:].isdigit())
            return [np.array(data[f"out{i}"]) for i in range(n)]


def compare_outputs(got, expected, atol) -> dict:
    """``{"max_abs_diff": [...], "atol": [...], "ok"}`` of each Arm NN output against LiteRT's, in raw tensor units.

    ``atol`` is one bound or one per output; integer outputs differ in whole quantization steps.
    """
    got, expected = list(got), list(expected)
    if len(got) != len(expected):
        raise ArmNNError(f"Arm NN returned {len(got)} outputs; LiteRT {len(expected)}")
    atols = list(atol) if isinstance(atol, (list, tuple)) else [float(atol)] * len(expected)
    diffs = []
    for i, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e)
        if g.size != e.size:
            raise ArmNNError(f"output {i}: Arm NN gave {g.size} values of shape {g.shape}; LiteRT {e.shape}")
        diffs.append(float(np.max(np.abs(g.astype(np.float64).ravel() - e.astype(np.float64).ravel()))) if g.size else 0.0)
    return {"max_abs_diff": diffs, "atol": [float(a) for a in atols],
            "ok": all(d <= a for d, a in zip(diffs, atols))}
