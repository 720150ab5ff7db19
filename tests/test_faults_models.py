"""A model is taken the same way everywhere: shipped names, .keras files and exported .tflite streams; the advice
for running a model of one's own as a .tflite works for that model."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import cli, pretrained

REPO = Path(__file__).resolve().parents[1]


def _run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _tone(path, seconds, rate):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)
    sf.write(str(path), x.astype(np.float32), rate, subtype="FLOAT")
    return path


def _shipped_stream(name="telephony-8k-16k"):
    pytest.importorskip("ai_edge_litert")
    try:
        return pretrained.tflite_path(name, "int8")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"shipped {name} stream not available: {e}")


@pytest.fixture(scope="module")
def own_models(tmp_path_factory):
    from keras_audiosr.models import AudioUNet, StreamingBWE

    root = tmp_path_factory.mktemp("own")
    unet = root / "unet.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(unet)
    bwe = root / "bwe.keras"
    StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000).save(bwe)
    return {"unet": unet, "bwe": bwe}


def _advice(capsys, tmp_path, model):
    src = _tone(tmp_path / "in.wav", 0.2, 8000)
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "out.wav", "--model", model, "--tflite")
    assert rc == 2 and not (tmp_path / "out.wav").exists()
    line = err.strip().splitlines()[-1]
    return line, re.search(r"\('(.+?)'\)", line).group(1)  # the command, quoted in brackets


def test_tflite_advice_fits_the_model_at_hand(own_models, tmp_path, capsys):
    line, command = _advice(capsys, tmp_path, own_models["unet"])
    assert command.startswith("keras-audiosr export ") and "--streaming" not in command, line
    line, command = _advice(capsys, tmp_path, own_models["bwe"])
    assert command.startswith("keras-audiosr export ") and "--streaming" in command, line


@pytest.mark.slow
def test_the_advice_for_an_audio_unet_works_end_to_end(own_models, tmp_path, capsys):
    pytest.importorskip("ai_edge_litert")
    from keras_audiosr.data import make_default_corpus

    line, command = _advice(capsys, tmp_path, own_models["unet"])
    out = tmp_path / "edge"
    train = make_default_corpus(tmp_path / "train", n_speakers=2, n_utterances=1, seconds=0.6, rate=16000)
    argv = shlex.split(command.replace("DIR", str(out)))[1:] + ["--train-data", str(train), "--no-progress"]
    r = subprocess.run(
        [sys.executable, "-m", "keras_audiosr", *argv],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    [tflite] = out.glob("*.tflite")
    assert f"DIR/{tflite.name}" in line  # the advice names the file the export writes
    src = _tone(tmp_path / "in.wav", 0.5, 8000)
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "up.wav", "--model", tflite, "-q")
    assert rc == 0, err
    assert sf.info(str(tmp_path / "up.wav")).samplerate == 16000


def test_evaluate_takes_a_streaming_tflite(tmp_path, capsys):
    stream = _shipped_stream()
    ref = _tone(tmp_path / "ref16.wav", 1.0, 16000)
    rc, out, err = _run(
        capsys,
        "evaluate",
        "--model",
        stream,
        "--data",
        ref,
        "--degradations",
        "resample",
        "--no-pesq",
        "--no-perceptual",
        "--baselines",
        "sinc",
        "-q",
        "--json",
        tmp_path / "eval.json",
    )
    assert rc == 0, err
    import json

    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["lr_rate"] == 8000 and report["hr_rate"] == 16000
    snr = report["degradations"]["resample"]["mean"]["model"]["snr"]
    assert np.isfinite(snr) and snr > 5.0  # the stream really ran (a silent output would score about 0 dB)


def test_edge_compare_takes_a_shipped_name(tmp_path):
    from keras_audiosr.export import compare

    try:
        card = pretrained.info("telephony-8k-16k")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"shipped model not available: {e}")
    data = tmp_path / "data"
    data.mkdir()
    _tone(data / "a.wav", 0.5, 16000)
    args = compare.build_parser().parse_args(
        ["--model", "telephony-8k-16k", "--data", str(data), "--json", str(tmp_path / "r.json")]
    )
    compare._validate(args)
    assert [Path(m) for m in args.model] == [card.folder / card.keras_file]
