"""AudioUNet under a mixed_float16 policy: float16 body, float32 interpolation, band merge and output."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import json, keras, numpy as np
keras.mixed_precision.set_global_policy("mixed_float16")
from keras_audiosr.layers import BAND_SINC_ZEROS, Interpolation1D
from keras_audiosr.models import AudioUNet
model = AudioUNet.from_size("tiny", ratio=2)  # band-preserving: the kept band is the sinc interpolation
x = np.random.default_rng(0).standard_normal((2, 300, 1)).astype("float32")
y0 = model.predict(x, verbose=0)  # the last convolution starts at zero: output = the interpolation
ref = Interpolation1D(2, "sinc", sinc_zeros=BAND_SINC_ZEROS, dtype="float32")(x).numpy()
model.compile(keras.optimizers.Adam(1e-3), loss="mse")
hist = model.fit(x, np.repeat(x, 2, axis=1), epochs=2, verbose=0)
print("RESULT " + json.dumps({"out_dtype": str(model.outputs[0].dtype), "pred_dtype": str(y0.dtype),
      "conv_dtype": model.get_layer("down0_conv").compute_dtype, "max_err": float(np.max(np.abs(y0 - ref))),
      "loss": hist.history["loss"], "optimizer": type(model.optimizer).__name__}))
"""


def test_audio_unet_trains_under_mixed_float16(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, out.stderr[-3000:]
    r = json.loads(line[0][7:])
    assert r["out_dtype"] == "float32" and r["pred_dtype"] == "float32" and r["conv_dtype"] == "float16"
    assert r["max_err"] < 1e-6  # the input band went through in float32, not float16 (1e-3 steps)
    assert all(v == v and v > 0 for v in r["loss"]) and r["optimizer"] == "LossScaleOptimizer"
