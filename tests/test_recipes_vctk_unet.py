"""recipes.vctk_unet end to end on tiny settings, and resume after a real kill."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_AUDIOSR_CACHE=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _epochs(out):
    with open(out / "train_log.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_recipe_tiny_writes_everything(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "recipes.vctk_unet", "--model-size", "tiny", "--epochs", "1", "--steps-per-epoch", "2",
           "--batch-size", "4", "--no-pesq", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "embedded default corpus" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ratio"] == 2 and metrics["hr_rate"] == 16000 and metrics["embedded_default"] is True
    assert metrics["test_speakers"] and metrics["model_size"] == "tiny"
    for system in ("model", "spline", "sinc"):
        assert set(metrics["test"][system]) >= {"snr", "lsd", "lsd_hf"}
    assert (out / "model.keras").is_file() and (out / "config.json").is_file() and (out / "eval.json").is_file()
    assert any((out / "logs").rglob("*tfevents*"))
    config = json.loads((out / "config.json").read_text())
    assert config["model_size"] == "tiny" and config["epochs"] == 1
    # the same corpus and patches are reused from the cache on a second preparation
    proc2 = subprocess.run(cmd[:-1] + [str(tmp_path / "run2")], cwd=ROOT, env=_env(tmp_path), capture_output=True,
                           text=True, timeout=300)
    assert proc2.returncode == 0, proc2.stderr[-3000:]
    assert "loaded from cache" in proc2.stdout


def test_recipe_rejects_bad_flags(tmp_path):
    cmd = [sys.executable, "-m", "recipes.vctk_unet", "--ratio", "3", "--hr-rate", "16000", "--out", str(tmp_path / "x")]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not divisible" in proc.stderr
    proc = subprocess.run(cmd[:3] + ["--filter", "gauss:4"], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "gauss" in proc.stderr


def test_recipe_resumes_after_kill(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "recipes.vctk_unet", "--model-size", "small", "--epochs", "4", "--steps-per-epoch", "6",
           "--batch-size", "4", "--no-pesq", "--out", str(out)]
    first = subprocess.Popen(cmd, cwd=ROOT, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None:
        if (out / "train_log.csv").is_file() and _epochs(out):
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "training finished before it could be interrupted"
    done_before = _epochs(out)
    assert done_before and not (out / "metrics.json").exists()
    assert (out / "backup").is_dir()

    second = subprocess.run(cmd, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    epochs = _epochs(out)
    assert epochs == list(range(4)), f"epochs logged across the two runs: {epochs}"
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 4 - len(done_before)
