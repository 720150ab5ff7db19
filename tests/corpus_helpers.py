"""Helpers the tests share: tiny generated corpora (noise-like tones, deterministic, written with
audio.write_audio), a small tmpfs for the full-disk tests, and tiny recipe runs in a subprocess (the training
fault and recipe tests)."""

import contextlib
import csv
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from keras_audiosr.audio import write_audio


def signal(seed: int, seconds: float, rate: int, channels: int = 1, level_db: float = -20.0) -> np.ndarray:
    """Band-limited noise plus a tone at ``level_db`` RMS dBFS: ``[time]`` or ``[time, channels]``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    cols = []
    for c in range(channels):
        x = rng.standard_normal(n) + 2 * np.sin(2 * np.pi * (200 + 50 * seed + 100 * c) * t)
        x *= 10 ** (level_db / 20) / np.sqrt(np.mean(x**2))
        cols.append(x)
    out = np.stack(cols, axis=1).astype(np.float32)
    return out[:, 0] if channels == 1 else out


def make_vctk(
    root: Path,
    speakers=("p001", "p002", "p003", "p004", "p005"),
    per_speaker: int = 2,
    seconds: float = 1.0,
    rate: int = 16000,
    ext: str = ".wav",
    seed: int = 0,
) -> Path:
    """A VCTK 0.80-layout corpus ``root/wav48/<spk>/<spk>_<nnn><ext>``; returns ``root``."""
    k = seed
    for spk in speakers:
        for u in range(1, per_speaker + 1):
            k += 1
            write_audio(root / "wav48" / spk / f"{spk}_{u:03d}{ext}", signal(k, seconds, rate), rate)
    return root


def make_folder(root: Path, layout: dict, seed: int = 100) -> Path:
    """Any folder: ``layout`` maps relative file paths to ``(seconds, rate, channels)``."""
    for k, (rel, (sec, rate, channels)) in enumerate(sorted(layout.items())):
        write_audio(root / rel, signal(seed + k, sec, rate, channels), rate)
    return root


# --- a full disk -------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def tiny_disk(tmp_path, size="64k"):
    """A tmpfs of ``size`` under ``tmp_path`` (skips the test where mounting is not permitted)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=False, capture_output=True
    )
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip() or r.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


# --- tiny recipe runs ------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


def recipe_env(**extra):
    """The environment of a recipe subprocess: the repo importable, TensorFlow's C++ logs off, unbuffered."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def tiny_args(out, epochs, *extra):
    """A recipe's arguments for a tiny run: the tiny model, 2 steps of 4 per epoch, no PESQ, into ``out``."""
    return [
        "--model-size",
        "tiny",
        "--epochs",
        str(epochs),
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "4",
        "--no-pesq",
        "--out",
        str(out),
        *extra,
    ]


def recipe_cmd(args, kill_at=None, module="recipes.vctk_unet"):
    """``python -m module ARGS``, under tests/kill_at.py (killed at the named kill point) when ``kill_at``."""
    prefix = [str(ROOT / "tests" / "kill_at.py"), kill_at] if kill_at else []
    return [sys.executable, *prefix, "-m", module, *args]


def run_recipe(args, kill_at=None, module="recipes.vctk_unet", timeout=600):
    """:func:`recipe_cmd` run to its end from the repo root; the ``CompletedProcess`` (text output captured)."""
    return subprocess.run(
        recipe_cmd(args, kill_at, module), cwd=ROOT, env=recipe_env(), capture_output=True, text=True, timeout=timeout
    )


def logged_epochs(out):
    """The epochs ``out/train_log.csv`` has a row for."""
    with open(out / "train_log.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]
