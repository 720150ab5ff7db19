"""``python -m edge.benchmark DIR``: size, latency per frame, real-time factor and peak memory of exported models.

For every ``.tflite`` in ``DIR`` (or each file given): the file size; the wall time of one
``invoke`` on a window of audio-like input with 1 and 2 interpreter threads (the default CPU path,
which delegates float, float16-weight, dynamic and int8 graphs to XNNPACK; int16x8 runs on the
builtin kernels), as median, interquartile range and min/max over ``--repeats`` runs after
``--warmup``; the real-time factor (latency / frame duration, < 1 is faster than real time); and
the peak resident memory of a fresh process that loads the model and runs it (``VmHWM`` from
``/proc/self/status``, with the same figure for a process that only imports the runtime, so their
difference is the model's own cost).
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

__all__ = ["benchmark_model", "benchmark_paths", "peak_memory", "format_markdown", "main"]


def _vmhwm_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # kB on Linux


def _probe(path: str | None, threads: int) -> dict:
    """Runs inside the child process: peak RSS after importing the runtime, and after loading + invoking."""
    from edge.runtime import TFLiteModel  # noqa: F401  (the baseline includes the runtime itself)

    base = _vmhwm_kb()
    if path is None:
        return {"vmhwm_kb": base}
    model = TFLiteModel(path, num_threads=threads)
    x = np.zeros(model.input_length, np.float32)
    for _ in range(3):
        model(x)
    return {"vmhwm_kb": _vmhwm_kb(), "baseline_kb": base}


def peak_memory(path, threads: int = 1) -> dict:
    """``{"peak_rss_mb", "runtime_rss_mb", "model_rss_mb"}`` measured in fresh subprocesses (native memory included)."""
    def run(arg):
        cmd = [sys.executable, "-m", "edge.benchmark", "--_probe", arg, "--threads", str(threads)]
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


def _timings(model, x, repeats: int, warmup: int) -> np.ndarray:
    q = model.quantize_input(x)
    for _ in range(warmup):
        model.invoke_raw(q)
    t = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        model.invoke_raw(q)
        t[i] = time.perf_counter() - start
    return t * 1000.0


def _stats(ms: np.ndarray, frame_ms: float | None) -> dict:
    q1, med, q3 = np.percentile(ms, [25, 50, 75])
    return {"latency_ms": float(med), "latency_ms_q1": float(q1), "latency_ms_q3": float(q3),
            "latency_ms_min": float(ms.min()), "latency_ms_max": float(ms.max()),
            "rtf": float(med / frame_ms) if frame_ms else None}


def benchmark_model(path, threads=(1, 2), repeats: int = 50, warmup: int = 5, memory: bool = True, seed: int = 0) -> dict:
    """Benchmark one ``.tflite`` (see the module docstring); returns a JSON-ready dict."""
    from edge.runtime import TFLiteModel

    path = Path(path)
    first = TFLiteModel(path)
    meta = first.metadata or {}
    frame_ms = meta.get("frame_ms")
    x = (0.1 * np.random.default_rng(seed).standard_normal(first.input_length)).astype(np.float32)
    out = {"name": path.stem, "path": str(path), "size_bytes": path.stat().st_size, "mode": meta.get("mode"),
           "frame_ms": frame_ms, "input_length": first.input_length, "output_length": first.output_length,
           "algorithmic_latency_ms": meta.get("algorithmic_latency_ms"), "repeats": int(repeats), "threads": {}}
    for n in threads:
        out["threads"][str(int(n))] = _stats(_timings(TFLiteModel(path, num_threads=int(n)), x, repeats, warmup), frame_ms)
    if memory:
        out.update(peak_memory(path))
    return out


def benchmark_paths(paths, progress: bool = True, **kwargs) -> list[dict]:
    """:func:`benchmark_model` for each ``.tflite`` in the given files and folders (sorted)."""
    from tqdm import tqdm

    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.glob("*.tflite")))
        else:
            files.append(p)
    if not files:
        raise FileNotFoundError(f"no .tflite files in {', '.join(map(str, paths))}")
    return [benchmark_model(f, **kwargs) for f in tqdm(files, desc="benchmark", unit="model", disable=not progress)]


def _f(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def format_markdown(results: list[dict]) -> str:
    """One markdown table row per model: size, latency median [IQR] and RTF per thread count, peak memory."""
    thread_keys = sorted({k for r in results for k in r["threads"]}, key=int)
    head = ["model", "mode", "size (KiB)", "frame (ms)"]
    for k in thread_keys:
        head += [f"latency {k}T (ms) median [IQR]", f"RTF {k}T"]
    head += ["peak RSS (MiB)", "model RSS (MiB)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [r["name"], r.get("mode") or "-", _f(r["size_bytes"] / 1024, 1), _f(r.get("frame_ms"), 1)]
        for k in thread_keys:
            s = r["threads"].get(k)
            row += [f"{s['latency_ms']:.3f} [{s['latency_ms_q1']:.3f}, {s['latency_ms_q3']:.3f}]" if s else "-",
                    _f(s and s["rtf"], 4)]
        row += [_f(r.get("peak_rss_mb"), 1), _f(r.get("model_rss_mb"), 1)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", help=".tflite files or folders holding them")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--md", default=None, help="write a markdown table here")
    p.add_argument("--_probe", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._probe is not None:
        print(json.dumps(_probe(None if args._probe == "-" else args._probe, args.threads[0])))
        return 0
    if not args.paths:
        p.error("give .tflite files or a folder")
    results = benchmark_paths(args.paths, threads=args.threads, repeats=args.repeats, warmup=args.warmup,
                              memory=not args.no_memory)
    table = format_markdown(results)
    print(table)
    from edge.metadata import write_bytes_atomic, write_json_atomic

    if args.json:
        write_json_atomic(args.json, {"models": results})
    if args.md:
        write_bytes_atomic(args.md, (table + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
