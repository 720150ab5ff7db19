"""Every entry point hides TensorFlow's and LiteRT's start-up lines unless --verbose: run as a user would, in a
subprocess, and read stderr."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
# What TensorFlow, absl and LiteRT print at start-up: glog-style records (E0000 00:00:... cuda_platform.cc:52]
# failed call to cuInit), the oneDNN and CPU-feature notices, absl's banner, the XNNPACK delegate line.
NOISE = re.compile(
    r"^[EWI]\d{4} |cuInit|oneDNN|cpu_feature_guard|This TensorFlow binary|absl::InitializeLog|"
    r"XNNPACK|Unable to register cu|computation placer|TF-TRT|cuda_",
    re.MULTILINE,
)


def _env():
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it: the tests' conftest sets it
    return env


def _run(*argv, timeout=600):
    return subprocess.run(
        [sys.executable, *map(str, argv)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from keras_audiosr.models import AudioUNet

    root = tmp_path_factory.mktemp("quiet")
    model = root / "tiny.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(model)
    data = root / "data"
    data.mkdir()
    t = np.arange(16000) / 16000
    sf.write(str(data / "a.wav"), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    return {"model": model, "data": data, "root": root}


def _evaluate(files, *extra):
    return _run(
        "-m",
        "keras_audiosr",
        "evaluate",
        "--model",
        files["model"],
        "--data",
        files["data"],
        "--no-pesq",
        "--degradations",
        "resample",
        "-q",
        *extra,
    )


def test_evaluate_is_quiet(files):
    r = _evaluate(files)
    assert r.returncode == 0, r.stderr
    assert not NOISE.search(r.stderr), r.stderr


@pytest.mark.slow
def test_evaluate_verbose_shows_what_the_filter_hides(files):
    r = _evaluate(files, "--verbose")
    assert r.returncode == 0 and NOISE.search(r.stderr), r.stderr


@pytest.mark.slow
def test_edge_compare_is_quiet(files):
    pytest.importorskip("ai_edge_litert")
    r = _run(
        "-m",
        "edge.compare",
        "--model",
        files["model"],
        "--data",
        files["data"],
        "--json",
        files["root"] / "cmp.json",
        "--variants",
        "keras,float",
        "--no-pesq",
        "--no-progress",
        "--max-files",
        1,
        "--max-seconds",
        0.5,
        "--repeats",
        2,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    assert not NOISE.search(r.stderr), r.stderr


def test_edge_convert_is_quiet(files):
    pytest.importorskip("ai_edge_litert")
    r = _run(
        "-m",
        "edge.convert",
        "--model",
        files["model"],
        "--mode",
        "float",
        "--out",
        files["root"] / "edge",
        "--train-data",
        files["data"],
        "--frame",
        "160",
        "--no-progress",
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    assert not NOISE.search(r.stderr), r.stderr
