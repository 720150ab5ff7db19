"""keras_audiosr.streaming is the runtime of a plain install: a shipped int8 stream runs with numpy and LiteRT
alone, in a fresh process that never imports TensorFlow or Keras, and reproduces the export's golden fixture."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ai_edge_litert")

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
import numpy as np
from keras_audiosr import pretrained
from keras_audiosr.streaming import StatefulTFLiteModel, StreamingUpsampler

path = pretrained.tflite_path("telephony-8k-16k", "int8")
x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)).astype(np.float32)
up = StreamingUpsampler.from_tflite(path)
y = up.run(x)
blocks = np.concatenate([up.feed(x[:1234]), up.feed(x[1234:]), up.finish()])
model = StatefulTFLiteModel(path)
stem = path.with_suffix("")
inputs = dict(np.load(f"{stem}.inputs.npz"))
expected = dict(np.load(f"{stem}.expected.npz"))
frame = inputs.pop(model.metadata["input"]["name"])
got = model.invoke_raw(frame, inputs)
atol = json.loads(path.with_suffix(".json").read_text())["files"]["atol"]
worst = {k: float(np.max(np.abs(got[k].astype(np.float64) - v)) - atol[k]) for k, v in expected.items()}
print(json.dumps({"heavy": sorted(m for m in ("tensorflow", "keras") if m in sys.modules), "n_in": int(x.size),
                  "n_out": int(y.size), "finite": bool(np.isfinite(y).all()), "rms": float(np.sqrt(np.mean(y ** 2))),
                  "blocks_equal": bool(np.array_equal(blocks, y)), "over_tolerance": max(worst.values())}))
"""


def test_shipped_int8_stream_runs_without_tensorflow_or_keras():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("KERAS_AUDIOSR_PRETRAINED_DIR", None)  # the models inside the package
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["heavy"] == [], f"the runtime imported {facts['heavy']}"
    assert facts["n_out"] == 2 * facts["n_in"] and facts["finite"] and facts["rms"] > 0.01
    assert facts["blocks_equal"]  # fed in uneven blocks, the same output as the whole signal
    assert facts["over_tolerance"] <= 0, "the stream no longer reproduces its golden fixture"
