"""The recipes on Keras's JAX backend, where TensorFlow may be missing: train, resume after a kill, evaluate;
the model loads under TensorFlow. Runs with a Python that has JAX: this one, or $KERAS_AUDIOSR_JAX_PYTHON
(e.g. a virtual environment with jax, keras, numpy, scipy, soundfile and no TensorFlow); skips otherwise."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _jax_python():
    for python in (os.environ.get("KERAS_AUDIOSR_JAX_PYTHON"), sys.executable):
        if (
            python
            and subprocess.run(
                [python, "-c", "import jax, keras, soundfile, scipy"],
                capture_output=True,
                env=dict(os.environ, KERAS_BACKEND="jax"),
            ).returncode
            == 0
        ):
            return python
    pytest.skip("no Python with JAX (set KERAS_AUDIOSR_JAX_PYTHON to one)")


def _run(python, args, kill_at=None, module="recipes.vctk_unet"):
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    prefix = [str(ROOT / "tests" / "kill_at.py"), kill_at] if kill_at else []
    return subprocess.run(
        [python, *prefix, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_recipe_on_jax_trains_resumes_evaluates_and_the_model_loads_in_tensorflow(tmp_path):
    python = _jax_python()
    out = tmp_path / "jaxrun"
    args = [
        "--model-size",
        "tiny",
        "--epochs",
        "3",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "4",
        "--no-pesq",
        "--data-processes",
        "2",
        "--out",
        str(out),
    ]
    first = _run(python, args, kill_at="backup:2")
    assert first.returncode == -9, first.stderr[-3000:]
    assert "on the jax backend" in first.stdout and "no TensorBoard logs on the jax backend" in first.stdout
    assert json.loads((out / "train_state.json").read_text())["epochs"] == 1

    second = _run(python, args)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming at epoch 2" in second.stdout and "the example stream continues at batch 2" in second.stdout
    assert "os.fork() was called" not in second.stderr  # batch processes forked before JAX started its threads
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and metrics["training_processes"] == 2
    assert all(np.isfinite(metrics["test"][s]["snr"]) for s in ("model", "sinc", "spline"))
    assert not (out / "logs").exists() and (out / "checkpoints" / "last.weights.h5").is_file()

    if (
        "tensorflow" in sys.modules
        or subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True).returncode == 0
    ):
        import keras_audiosr  # noqa: F401
        from keras_audiosr.models.saving import load_model

        model = load_model(out / "model.keras")
        assert model.training_degradations == "speech-robust" and model.band_preserving
        assert model.predict(np.zeros((1, 64, 1), np.float32), verbose=0).shape == (1, 128, 1)

    gan = _run(python, ["--out", str(tmp_path / "gan")], module="recipes.vctk_unet_gan")
    assert gan.returncode == 2 and "needs the tensorflow backend" in gan.stderr and "Traceback" not in gan.stderr
    assert not (tmp_path / "gan").exists()
