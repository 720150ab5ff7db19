"""``python -m edge.benchmark DIR``: exported models side by side -- compute, size, latency, real-time factor, memory.

For every ``.tflite`` in the given folders and files, in one run on this machine: the file size;
parameters and multiply-accumulates counted from the graph (:mod:`keras_audiosr.export.graphstats`; MMAC per second
of audio = MACs per call / frame duration); the wall time of one ``invoke`` with 1 and 2 interpreter
threads (the default CPU path, which delegates float, float16-weight, dynamic and int8 graphs to
XNNPACK; int16x8 runs on the builtin kernels), as median, interquartile range and min/max over
``--repeats`` runs after ``--warmup``; the latency per 10 ms of audio and the real-time factor
(latency / frame duration, < 1 is faster than real time); the algorithmic latency from the
model's metadata; and the peak resident memory of a fresh process that loads the model and runs
it (``VmHWM``, with the same figure for a process that only imports the runtime, so their
difference is the model's own cost). Every input tensor is fed (a stateful streaming model's
state tensors included). A file that cannot be loaded or run is reported as a failed row; the
others are still measured, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["benchmark_model", "benchmark_paths", "find_models", "format_markdown", "main", "peak_memory"]


def _vmhwm_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # kB on Linux


class _Invoker:
    """Any ``.tflite`` with every input set once to audio-like values in its dtype; ``invoke()`` runs it."""

    def __init__(self, data: bytes, name: str, num_threads: int = 1, seed: int = 0):
        from keras_audiosr.streaming.metadata import TFLiteError
        from keras_audiosr.utils import filtered_stderr

        try:
            with filtered_stderr():  # LiteRT announces its XNNPACK delegate on fd 2
                self._load(data, num_threads, seed)
        except Exception as e:  # the interpreter raises ValueError/RuntimeError for a damaged or unrunnable model
            raise TFLiteError(f"{name}: cannot run the TFLite model ({type(e).__name__}: {e})") from e
        self.inputs = self.interpreter.get_input_details()

    def _load(self, data: bytes, num_threads: int, seed: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=data, num_threads=int(num_threads))
        rng = np.random.default_rng(seed)
        for d in self.interpreter.get_input_details():
            shape = [1 if s < 0 else int(s) for s in d["shape_signature"]]
            self.interpreter.resize_tensor_input(d["index"], shape, strict=False)
        self.interpreter.allocate_tensors()
        for d in self.interpreter.get_input_details():
            dtype = np.dtype(d["dtype"])
            if dtype.kind == "f":
                x = 0.1 * rng.standard_normal(d["shape"])
            else:
                info = np.iinfo(dtype)
                x = rng.integers(max(info.min, -1000), min(info.max, 1000), size=d["shape"])
            self.interpreter.set_tensor(d["index"], np.asarray(x, dtype))
        self.interpreter.invoke()

    def invoke(self) -> None:
        self.interpreter.invoke()


def _probe(path: str | None, threads: int) -> dict:
    """Runs inside the child process: peak RSS after importing the runtime, and after loading + invoking."""
    from ai_edge_litert.interpreter import Interpreter  # noqa: F401  (the baseline includes the runtime itself)

    from keras_audiosr.streaming.metadata import load_flatbuffer

    base = _vmhwm_kb()
    if path is None:
        return {"vmhwm_kb": base}
    data, name = load_flatbuffer(path)
    inv = _Invoker(data, name, threads)
    for _ in range(3):
        inv.invoke()
    return {"vmhwm_kb": _vmhwm_kb(), "baseline_kb": base}


def peak_memory(path, threads: int = 1) -> dict:
    """``{"peak_rss_mb", "runtime_rss_mb", "model_rss_mb"}`` measured in fresh subprocesses (native memory included)."""

    def run(arg):
        cmd = [sys.executable, "-m", "keras_audiosr.export.benchmark", "--_probe", arg, "--threads", str(threads)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"memory probe of {arg} failed: {out.stderr.strip()[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    bare = run("-")["vmhwm_kb"]
    loaded = run(str(path))["vmhwm_kb"]
    return {"peak_rss_mb": loaded / 1024.0, "runtime_rss_mb": bare / 1024.0, "model_rss_mb": (loaded - bare) / 1024.0}


def _timings(inv: _Invoker, repeats: int, warmup: int) -> np.ndarray:
    for _ in range(warmup):
        inv.invoke()
    t = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        inv.invoke()
        t[i] = time.perf_counter() - start
    return t * 1000.0


def _stats(ms: np.ndarray, frame_ms: float | None) -> dict:
    q1, med, q3 = np.percentile(ms, [25, 50, 75])
    return {
        "latency_ms": float(med),
        "latency_ms_q1": float(q1),
        "latency_ms_q3": float(q3),
        "latency_ms_min": float(ms.min()),
        "latency_ms_max": float(ms.max()),
        "latency_per_10ms_ms": float(med * 10.0 / frame_ms) if frame_ms else None,
        "rtf": float(med / frame_ms) if frame_ms else None,
    }


def benchmark_model(
    path, threads=(1, 2), repeats: int = 50, warmup: int = 5, memory: bool = True, seed: int = 0
) -> dict:
    """Benchmark one ``.tflite`` (see the module docstring); returns a JSON-ready dict.

    Raises :class:`keras_audiosr.streaming.metadata.TFLiteError` naming the file when it cannot be loaded or run.
    """
    from keras_audiosr.export.graphstats import graph_stats
    from keras_audiosr.streaming.metadata import (
        TFLiteError,
        load_flatbuffer,
        read_metadata,
    )

    path = Path(path)
    data, name = load_flatbuffer(path)
    try:
        meta = read_metadata(data)
    except TFLiteError:
        meta = {}
    first = _Invoker(data, name, 1, seed)
    frame_ms = meta.get("frame_ms")
    stats = graph_stats(data)
    macs_per_s = stats["macs"] * 1000.0 / frame_ms if frame_ms else None
    out = {
        "name": path.stem,
        "path": str(path),
        "size_bytes": len(data),
        "mode": meta.get("mode"),
        "model": meta.get("model"),
        "frame_ms": frame_ms,
        "inputs": len(first.inputs),
        "input_length": meta.get("input_length"),
        "output_length": meta.get("output_length"),
        "algorithmic_latency_ms": meta.get("algorithmic_latency_ms"),
        "macs_per_call": stats["macs"],
        "mmac_per_second": None if macs_per_s is None else macs_per_s / 1e6,
        "parameters": stats["parameters"],
        "repeats": int(repeats),
        "threads": {},
    }
    for n in threads:
        inv = first if int(n) == 1 else _Invoker(data, name, int(n), seed)
        out["threads"][str(int(n))] = _stats(_timings(inv, repeats, warmup), frame_ms)
    if memory:
        out.update(peak_memory(path))
    return out


def find_models(paths) -> list[Path]:
    """The ``.tflite`` files among ``paths`` (files, and the ``.tflite`` files of folders, sorted).

    Raises :class:`keras_audiosr.args.UsageError` naming a path that does not exist, a folder without
    ``.tflite`` files, or a file that is not ``.tflite``.
    """
    from keras_audiosr.args import UsageError

    files = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.tflite"))
            if not found:
                raise UsageError(f"{p}: no .tflite files in this folder")
            files.extend(found)
        elif p.is_file():
            if p.suffix.lower() != ".tflite":
                raise UsageError(f"{p}: not a .tflite file")
            files.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    if not files:
        raise UsageError("no .tflite files given")
    return files


def benchmark_paths(paths, progress: bool = True, **kwargs) -> list[dict]:
    """:func:`benchmark_model` for each ``.tflite`` of :func:`find_models`; a model that fails is a row with
    ``"error"``."""
    from tqdm import tqdm

    from keras_audiosr.streaming.metadata import TFLiteError

    rows = []
    for f in tqdm(find_models(paths), desc="benchmark", unit="model", disable=not progress):
        try:
            rows.append(benchmark_model(f, **kwargs))
        except (TFLiteError, RuntimeError, ValueError, OSError) as e:
            rows.append({"name": f.stem, "path": str(f), "error": str(e)})
    return rows


def _f(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def format_markdown(results: list[dict]) -> str:
    """One markdown table row per model (failed ones say why)."""
    ok = [r for r in results if "error" not in r]
    thread_keys = sorted({k for r in ok for k in r["threads"]}, key=int)
    head = ["model", "mode", "size (KiB)", "params", "MMAC/s", "frame (ms)", "algorithmic latency (ms)"]
    for k in thread_keys:
        head += [f"latency {k}T (ms) median [IQR]", f"per 10 ms {k}T (ms)", f"RTF {k}T"]
    head += ["peak RSS (MiB)", "model RSS (MiB)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(
                "| "
                + " | ".join([r["name"], "FAILED: " + r["error"].replace("|", "/")] + [""] * (len(head) - 2))
                + " |"
            )
            continue
        row = [
            r["name"],
            r.get("mode") or "-",
            _f(r["size_bytes"] / 1024, 1),
            str(r.get("parameters", "-")),
            _f(r.get("mmac_per_second"), 1),
            _f(r.get("frame_ms"), 1),
            _f(r.get("algorithmic_latency_ms"), 1),
        ]
        for k in thread_keys:
            s = r["threads"].get(k)
            row += [
                f"{s['latency_ms']:.3f} [{s['latency_ms_q1']:.3f}, {s['latency_ms_q3']:.3f}]" if s else "-",
                _f(s and s.get("latency_per_10ms_ms"), 3),
                _f(s and s["rtf"], 4),
            ]
        row += [_f(r.get("peak_rss_mb"), 1), _f(r.get("model_rss_mb"), 1)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def build_parser():
    from keras_audiosr.args import Parser, invoked_as, non_negative_int, positive_int

    prog = invoked_as(("edge.benchmark", "keras_audiosr.export.benchmark"), "python -m keras_audiosr.export.benchmark")
    p = Parser(prog=prog, description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1])
    p.add_argument("paths", nargs="*", help=".tflite files or folders holding them; required")
    p.add_argument(
        "--threads",
        type=positive_int,
        nargs="+",
        default=[1, 2],
        help="interpreter thread counts to time (default: 1 2)",
    )
    p.add_argument("--repeats", type=positive_int, default=50, help="timed invokes per thread count (default: 50)")
    p.add_argument("--warmup", type=non_negative_int, default=5, help="untimed invokes first (default: 5)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses (default: off)")
    p.add_argument("--json", default=None, help="write the results here as JSON (default: not written)")
    p.add_argument("--md", default=None, help="write the markdown table here (default: not written)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: off)")
    p.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's and LiteRT's start-up log lines (default: hidden)",
    )
    p.add_argument("--_probe", default=None, help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    from keras_audiosr.args import UsageError, writable_file
    from keras_audiosr.export.files import write_text
    from keras_audiosr.utils import write_json

    parser = build_parser()
    args = parser.parse_args(argv)
    if args._probe is not None:
        print(json.dumps(_probe(None if args._probe == "-" else args._probe, args.threads[0])))
        return 0
    try:
        if not args.paths:
            raise UsageError("give .tflite files or folders holding them")
        files = find_models(args.paths)
        for opt in ("json", "md"):
            if getattr(args, opt):
                writable_file(getattr(args, opt), f"--{opt}")
    except UsageError as e:
        return parser.fail(str(e))
    results = benchmark_paths(
        files,
        progress=not args.no_progress,
        threads=args.threads,
        repeats=args.repeats,
        warmup=args.warmup,
        memory=not args.no_memory,
    )
    table = format_markdown(results)
    print(table)
    if args.json:
        write_json(args.json, {"models": results}, indent=1, sort_keys=True)
    if args.md:
        write_text(args.md, table + "\n")
    failed = [r for r in results if "error" in r]
    for r in failed:
        print(f"{parser.prog}: error: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
