"""Checks edge/native/bwe_stream against the Python streams on whole held-out utterances.

    python tools/native_stream_check.py                                   # the shipped telephony int8-pcm16 model
    python tools/native_stream_check.py --model M.tflite --files a.flac b.wav --json check.json
    python tools/native_stream_check.py --binary edge/native/bwe_stream-aarch64 --runner qemu-aarch64

Each utterance is read, resampled to the model's input rate, rounded to 16-bit PCM and written as a
WAV; ``bwe_stream`` streams it (Arm NN, frame by frame with its states, pre-roll dropped and flushed:
the output is aligned, ``ratio`` times as long). The same PCM is streamed in Python:

* **pyarmnn** (``tools/armnn_stream.py``, Debian's system Python): the same Arm NN kernels, so the C++
  program must agree to ``--max-lsb-armnn`` (default 1 LSB; measured: 0, bit-identical). This checks
  the program's frame loop, state wiring, reset values and alignment, where no kernel differs. (Only
  enforced for a native CpuRef run: under ``--runner qemu-aarch64`` with CpuAcc the kernels differ,
  and the figure is reported.)
* **LiteRT** (``StatefulTFLiteModel``, the package's Python stream) with its default XNNPACK kernels
  and with its builtin reference kernels. Arm NN 20.08 rounds int8 LEAKY_RELU differently from both
  (it dequantizes, computes in float and requantizes); one-step differences compound through the
  seven core layers and the recurrent state tensors, so the output differs by tens of LSB on some
  samples while agreeing on most. The bound checked is measured, not assumed: the C++ stream must be
  at least ``--min-snr`` dB (default 50) from LiteRT and no further from LiteRT (XNNPACK) than
  LiteRT's own two kernel sets are from each other, less ``--margin-db`` (default 6 dB).

Prints a table; ``--json`` writes every figure (and ``bwe_stream``'s timing and memory). Exit status
0 when every bound holds, 1 when one fails, 2 on bad arguments or missing tools.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_MODEL = ROOT / "keras_audiosr" / "pretrained" / "telephony-8k-16k" / "streaming_bwe_stream_int8-pcm16.tflite"
HELD_OUT = ("p258", "p259", "p273")  # the shipped models' held-out VCTK speakers
DATA = ROOT.parent / "shared" / "data"


def held_out_files(data: Path = DATA) -> list[Path]:
    """The shipped models' held-out utterances (``vctk-mini`` speakers p258, p259, p273)."""
    return sorted(p for s in HELD_OUT for p in (data / "vctk-mini" / "wav48" / s).glob("*.flac"))


def pcm16_input(path: Path, rate: int):
    """``path`` as mono int16 PCM at ``rate`` Hz (polyphase resampling, rounded and clipped)."""
    from math import gcd

    import numpy as np
    from scipy.signal import resample_poly

    from keras_audiosr.audio import read_audio

    x, sr = read_audio(path)
    x = np.asarray(x, np.float64)
    x = x.mean(axis=1) if x.ndim == 2 else x
    g = gcd(int(sr), int(rate))
    y = resample_poly(x, rate // g, int(sr) // g)
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def write_wav(path: Path, pcm, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


def read_wav(path: Path):
    import numpy as np

    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").copy(), w.getframerate()


def frames_of(pcm, desc: dict):
    """The padded int16 frames an aligned stream feeds: the signal, then ``lookahead`` zeros, in whole frames."""
    import numpy as np

    f, lookahead = int(desc["frame_length"]), int(desc["lookahead"])
    n = -(-(len(pcm) + lookahead) // f)
    padded = np.zeros(n * f, np.int16)
    padded[: len(pcm)] = pcm
    return padded.reshape(n, f)


def aligned(raw, desc: dict, n_in: int):
    """The raw stream without its pre-roll, ``ratio * n_in`` samples (what ``bwe_stream`` writes)."""
    skip = int(desc["lookahead"]) * int(desc["ratio"])
    return raw.reshape(-1)[skip : skip + n_in * int(desc["ratio"])]


def litert_stream(model: Path, frames, desc: dict, xnnpack: bool):
    import numpy as np

    from keras_audiosr.streaming.runtime import StatefulTFLiteModel

    m = StatefulTFLiteModel(model, xnnpack=xnnpack)
    if m.metadata["input"]["dtype"] != "int16":
        raise SystemExit(
            f"{model}: this check takes an int16 PCM model (mode int8-pcm16), not {m.metadata['input']['dtype']} audio"
        )
    out = []
    for frame in frames:
        o = m.invoke_raw(frame.reshape(desc["input"]["shape"]), m.states)
        for s in m.states_meta:
            m.states[s["input"]] = o[s["output"]]
        out.append(o[desc["output"]["name"]].reshape(-1))
    return np.concatenate(out)


def armnn_stream(model: Path, frames, desc: dict, tmp: Path):
    """The pyarmnn stream (system Python), or None when pyarmnn is not installed."""
    import numpy as np

    python = os.environ.get("KERAS_AUDIOSR_ARMNN_PYTHON", "/usr/bin/python3")
    if not Path(python).exists():
        return None
    np.save(tmp / "frames.npy", frames)
    (tmp / "desc.json").write_text(json.dumps(desc))
    r = subprocess.run(
        [
            python,
            "-I",
            str(ROOT / "tools" / "armnn_stream.py"),
            str(model),
            str(tmp / "frames.npy"),
            str(tmp / "armnn.npy"),
            str(tmp / "desc.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode == 5:
        return None
    if r.returncode:
        raise RuntimeError(f"tools/armnn_stream.py failed ({r.returncode}): {r.stderr.strip()}")
    return np.load(tmp / "armnn.npy").reshape(-1)


def compare(a, b) -> dict:
    import numpy as np

    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    power = float(np.sum(b.astype(np.float64) ** 2))
    err = float(np.sum(d.astype(np.float64) ** 2))
    return {
        "max_lsb": int(d.max()) if d.size else 0,
        "mean_lsb": float(d.mean()) if d.size else 0.0,
        "frac_over_1_lsb": float(np.mean(d > 1)) if d.size else 0.0,
        "snr_db": float("inf") if err == 0 else 10 * np.log10(max(power, 1e-12) / err),
    }


def check_file(
    path: Path, model: Path, binary: list[str], desc: dict, tmp: Path, backend: str | None, max_seconds=None
) -> dict:
    pcm = pcm16_input(path, int(desc["lr_rate"]))
    if max_seconds:  # the first seconds only (the reference backend runs slower than real time)
        pcm = pcm[: int(max_seconds * int(desc["lr_rate"]))]
    wav_in, wav_out, stats = tmp / "in.wav", tmp / "out.wav", tmp / "stats.json"
    write_wav(wav_in, pcm, int(desc["lr_rate"]))
    cmd = (
        binary
        + (["--backend", backend] if backend else [])
        + ["--stats", str(stats), str(model), str(wav_in), str(wav_out)]
    )
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    native, rate = read_wav(wav_out)
    if rate != int(desc["hr_rate"]) or len(native) != len(pcm) * int(desc["ratio"]):
        raise RuntimeError(f"bwe_stream wrote {len(native)} samples at {rate} Hz for {len(pcm)} at {desc['lr_rate']}")
    frames = frames_of(pcm, desc)
    xnn = aligned(litert_stream(model, frames, desc, True), desc, len(pcm))
    ref = aligned(litert_stream(model, frames, desc, False), desc, len(pcm))
    arm = armnn_stream(model, frames, desc, tmp)
    row = {
        "file": str(path),
        "seconds": len(pcm) / int(desc["lr_rate"]),
        "samples_out": len(native),
        "native_vs_litert_xnnpack": compare(native, xnn),
        "native_vs_litert_builtin": compare(native, ref),
        "litert_xnnpack_vs_builtin": compare(xnn, ref),
        "native_vs_pyarmnn": None if arm is None else compare(native, aligned(arm, desc, len(pcm))),
        "bwe_stream": json.loads(stats.read_text()),
        "bwe_stream_stderr": r.stderr.strip(),
    }
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="an int8-pcm16 stateful streaming .tflite")
    p.add_argument("--files", type=Path, nargs="+", default=None, help="utterances (default: the held-out speakers)")
    p.add_argument("--binary", type=Path, default=ROOT / "edge" / "native" / "bwe_stream")
    p.add_argument("--runner", default=None, help="a command to run the binary with, e.g. qemu-aarch64")
    p.add_argument("--backend", default=None, help="bwe_stream --backend (default: its own choice)")
    p.add_argument("--max-lsb-armnn", type=int, default=1)
    p.add_argument("--min-snr", type=float, default=50.0)
    p.add_argument("--margin-db", type=float, default=6.0)
    p.add_argument(
        "--max-seconds", type=float, default=None, help="check the first seconds of each file (default: all)"
    )
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    from keras_audiosr.streaming.metadata import TFLiteError, read_metadata

    try:
        desc = read_metadata(args.model)
    except TFLiteError as e:
        print(e, file=sys.stderr)
        return 2
    if not args.binary.is_file():
        print(f"{args.binary}: not built (make -C edge/native)", file=sys.stderr)
        return 2
    runner = args.runner.split() if args.runner else []
    if runner and not shutil.which(runner[0]):
        print(f"{runner[0]}: not installed", file=sys.stderr)
        return 2
    files = args.files or held_out_files()
    if not files:
        print(f"no held-out utterances under {DATA} (give --files)", file=sys.stderr)
        return 2
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            row = check_file(
                f, args.model, runner + [str(args.binary)], desc, Path(tmp), args.backend, args.max_seconds
            )
            rows.append(row)
            nx, own, arm = row["native_vs_litert_xnnpack"], row["litert_xnnpack_vs_builtin"], row["native_vs_pyarmnn"]
            if own["snr_db"] != float("inf") and nx["snr_db"] < own["snr_db"] - args.margin_db:
                failures.append(
                    f"{f.name}: native vs LiteRT {nx['snr_db']:.1f} dB, more than {args.margin_db} dB "
                    f"below LiteRT's own kernels vs each other ({own['snr_db']:.1f} dB)"
                )
            if nx["snr_db"] < args.min_snr:
                failures.append(f"{f.name}: native vs LiteRT {nx['snr_db']:.1f} dB < --min-snr {args.min_snr}")
            same_kernels = not runner and args.backend in (None, "CpuRef")  # pyarmnn here runs CpuRef natively
            if same_kernels and arm is not None and arm["max_lsb"] > args.max_lsb_armnn:
                failures.append(f"{f.name}: native vs pyarmnn differs by {arm['max_lsb']} LSB > {args.max_lsb_armnn}")
    print(
        "| file | s | vs pyarmnn max LSB | vs LiteRT XNNPACK: max LSB, >1 LSB, SNR | vs LiteRT builtin: max LSB, SNR "
        "| LiteRT XNNPACK vs builtin: max LSB, SNR | ms/frame: wall mean, p99; CPU mean | peak RSS (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        a, x, b, o, s = (
            r["native_vs_pyarmnn"],
            r["native_vs_litert_xnnpack"],
            r["native_vs_litert_builtin"],
            r["litert_xnnpack_vs_builtin"],
            r["bwe_stream"],
        )
        print(
            f"| {Path(r['file']).name} | {r['seconds']:.1f} | {'-' if a is None else a['max_lsb']} | "
            f"{x['max_lsb']}, {100 * x['frac_over_1_lsb']:.1f} %, {x['snr_db']:.1f} dB | {b['max_lsb']}, "
            f"{b['snr_db']:.1f} dB | {o['max_lsb']}, {o['snr_db']:.1f} dB | {s['frame_ms_mean']:.2f}, "
            f"{s['frame_ms_p99']:.2f}; {s.get('frame_cpu_ms_mean', float('nan')):.2f} | "
            f"{s['peak_rss_kib'] / 1024:.1f} |"
        )
    if args.json:
        from keras_audiosr.utils import write_json

        write_json(
            args.json,
            {
                "model": str(args.model),
                "binary": str(args.binary),
                "runner": args.runner,
                "bounds": {
                    "max_lsb_armnn": args.max_lsb_armnn,
                    "min_snr_db": args.min_snr,
                    "margin_db": args.margin_db,
                },
                "files": rows,
                "failures": failures,
            },
        )
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
