"""The Python examples under docs/examples/ run end to end (tiny step counts)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_finetune_own_voice_example_runs_end_to_end(tmp_path):
    # Load the shipped model, upsample, fine-tune on a one-speaker folder, save, export int8, run the export.
    pytest.importorskip("ai_edge_litert")
    out = tmp_path / "run"
    env = {**os.environ, "KERAS_AUDIOSR_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "docs" / "examples" / "finetune_own_voice.py"),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--calibration-windows",
            "8",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "held out" in proc.stdout and "after fine-tuning" in proc.stdout
    assert "cuInit" not in proc.stderr  # TensorFlow's start-up lines are hidden
    assert (out / "mine.keras").is_file() and (out / "edge" / "streaming_bwe_stream_int8.tflite").is_file()
    from keras_audiosr.audio import read_audio

    y, rate = read_audio(out / "mine_int8.wav")
    assert rate == 16000 and len(y) > 16000 and np.isfinite(y).all() and np.abs(y).max() > 1e-3
    snr_line = next(line for line in proc.stdout.splitlines() if "SNR against the Keras model" in line)
    assert float(snr_line.split("SNR against the Keras model ")[1].split(" dB")[0]) > 20.0


def test_folder_dataset_gives_pairs_made_for_the_model(tmp_path):
    import shutil

    from keras_audiosr import pretrained
    from keras_audiosr.data import embedded_corpus_dir, folder_dataset

    folder = tmp_path / "me"
    folder.mkdir()
    for f in sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:3]:
        shutil.copy(f, folder / f.name)
    model = pretrained.load("telephony-8k-16k")
    lr, hr = next(iter(folder_dataset(folder, model, batch_size=2, patch_size=4096, cache_dir=tmp_path / "cache")))
    assert tuple(lr.shape) == (2, 4096 // model.ratio, 1) and tuple(hr.shape) == (2, 4096, 1)
    assert model(lr).shape == hr.shape
