"""Real training on real speech (slow, not in CI): the README's claim that AudioUNet beats spline."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_small_audiounet_beats_spline_on_held_out_vctk_speakers(shared_data, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "recipes.vctk_unet",
        "--data-dir",
        str(shared_data / "vctk-mini"),
        "--task",
        "multi",
        "--ratio",
        "2",
        "--hr-rate",
        "16000",
        "--model-size",
        "small",
        "--learning-rate",
        "1e-3",
        "--epochs",
        "400",
        "--max-minutes",
        "28",
        "--no-pesq",
        "--out",
        str(out),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert test["model"]["snr"] > test["spline"]["snr"]
    assert test["model"]["lsd"] < test["spline"]["lsd"]


HELD_OUT = ("p258", "p259", "p273")


def check_filter_generalization(out: Path):
    """Sulun & Davies on speech, from ``tools/filter_generalization.sh``'s reports in ``out``: the cheby1:8-only
    model gains on its own filter and loses more than 3 dB against sinc on unseen ones; the multi-filter
    model is no more than 1 dB below sinc on any input."""
    single = json.loads((out / "cheby1-8" / "filters.json").read_text())["degradations"]
    multi = json.loads((out / "multi-filter" / "filters.json").read_text())["degradations"]

    def gain(rep, label):
        mean = rep[label]["mean"]
        return mean["model"]["snr"] - mean["sinc"]["snr"]

    assert gain(single, "cheby1:8") > 0.5
    for label in ("butter:4", "butter:6", "resample", "bessel:6"):
        assert gain(single, label) < -3.0, label
    for label in single:
        assert gain(multi, label) > -1.0, label


@pytest.mark.slow
@pytest.mark.timeout(5400)
def test_single_filter_model_overfits_and_the_multi_filter_one_does_not(shared_data, tmp_path):
    """The README's filter over-fitting table, by its command (three 800-step runs side by side, ~40 min)."""
    env = dict(
        os.environ,
        DATA=str(shared_data),
        PYTHON=sys.executable,
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.run(
        ["bash", "tools/filter_generalization.sh", "8", str(tmp_path / "fg")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=5300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_filter_generalization(tmp_path / "fg")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_shipped_telephony_model_keeps_what_its_card_reports(shared_data):
    """The shipped 8 -> 16 kHz model on its held-out VCTK speakers (3 of its 17), as its card reports it: LSD at most
    0.4x sinc's (the target it meets), ViSQOL (audio mode, 48 kHz) above sinc's, SNR and low-band SNR within 1 dB of
    sinc's (the telephone channel's SNR excepted), under its own, the resampler, Butterworth-4 and telephone inputs.
    (Its ViSQOL is short of the sinc + 0.35 target and its PESQ-WB below sinc's under several inputs: the card says
    so, and this test does not pretend otherwise.)"""
    pytest.importorskip("pesq")
    pytest.importorskip("visqol")
    from keras_audiosr import pretrained
    from keras_audiosr.evaluation import evaluate_suite

    files = sorted(f for s in HELD_OUT for f in (shared_data / "vctk-mini" / "wav48" / s).glob("*.flac"))
    assert files
    model = pretrained.load("telephony-8k-16k")
    report = evaluate_suite(
        model,
        files,
        degradations=["own", "resample", "butter:4", "telephone:mulaw"],
        with_pesq=True,
        progress=False,
        perceptual=("visqol",),
        max_seconds=8.0,
    )
    for label, rep in report["degradations"].items():
        model_scores, sinc = rep["mean"]["model"], rep["mean"]["sinc"]
        assert model_scores["lsd"] <= 0.4 * sinc["lsd"], (label, model_scores, sinc)
        assert model_scores["visqol"] > sinc["visqol"], (label, model_scores, sinc)
        assert model_scores["snr_lb"] >= sinc["snr_lb"] - 1.0, (label, model_scores, sinc)
        if label != "telephone:mulaw":
            assert model_scores["snr"] >= sinc["snr"] - 1.0, (label, model_scores, sinc)
