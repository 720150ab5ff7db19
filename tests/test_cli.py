"""The keras-audiosr command line, run in-process through cli.main (plus one real subprocess)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import cli, inference
from keras_audiosr.degrade import degrade, trim_to_multiple
from keras_audiosr.models import AudioUNet

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(path)
    return path


def _tone(seconds, rate, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1900 * t + 1) + 0.02 * rng.standard_normal(t.size)
    if channels > 1:
        x = np.stack([x * (1 - 0.3 * c) for c in range(channels)], axis=1)
    return x.astype(np.float32)


def _write(path, x, rate, subtype="FLOAT"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype=subtype)
    return path


def _run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_upsample_rate_and_length(tmp_path, model_path, capsys):
    src = _write(tmp_path / "in.wav", _tone(0.75, 8000), 8000, subtype="PCM_16")
    rc, out, err = _run(capsys, "upsample", src, tmp_path / "out.flac", "--model", model_path, "--chunk", 2048,
                        "--overlap", 256, "-q")
    assert rc == 0, err
    y, rate = sf.read(str(tmp_path / "out.flac"))
    assert rate == 16000 and len(y) == 2 * 6000
    assert "wrote" in out and "out.flac" in out


def test_upsample_other_rate_is_resampled_with_notice(tmp_path, model_path, capsys):
    src = _write(tmp_path / "in44.wav", _tone(0.5, 22050, channels=2), 22050)
    rc, out, err = _run(capsys, "upsample", src, tmp_path / "out.wav", "--model", model_path, "-q")
    assert rc == 0, err
    assert f"resampling {src} from 22050 Hz to 8000 Hz" in err
    info = sf.info(str(tmp_path / "out.wav"))
    assert info.samplerate == 16000 and info.channels == 2 and info.frames == 2 * math.ceil(11025 * 8000 / 22050)


@pytest.mark.parametrize("case", ["missing model", "corrupt model", "not an audio model", "missing input",
                                  "non-audio input", "bad output extension"])
def test_upsample_errors_name_the_file(tmp_path, model_path, capsys, case):
    import keras

    src = _write(tmp_path / "in.wav", _tone(0.2, 8000), 8000)
    model, out, named = model_path, tmp_path / "out.wav", None
    if case == "missing model":
        model = named = tmp_path / "nope.keras"
    elif case == "corrupt model":
        model = named = tmp_path / "corrupt.keras"
        model.write_bytes(model_path.read_bytes()[:3000])
    elif case == "not an audio model":
        model = named = tmp_path / "dense.keras"
        keras.Sequential([keras.Input((None, 1)), keras.layers.Dense(1)]).save(model)
    elif case == "missing input":
        src = named = tmp_path / "absent.wav"
    elif case == "non-audio input":
        src = named = tmp_path / "notes.wav"
        src.write_text("these are not samples")
    else:
        out = named = tmp_path / "out.mp3"
    rc, stdout, err = _run(capsys, "upsample", src, out, "--model", model, "-q")
    assert rc == 2
    assert err.startswith("keras-audiosr: error: ") and str(named) in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*"))


def test_upsample_failure_midway_leaves_nothing(tmp_path, model_path, capsys, monkeypatch):
    src = _write(tmp_path / "long.wav", _tone(1.0, 8000), 8000)
    real_run, calls = inference._run, []

    def failing_run(model, xs, joint):
        calls.append(len(xs))
        if len(calls) == 3:
            raise RuntimeError("model exploded")
        return real_run(model, xs, joint)

    monkeypatch.setattr(inference, "_run", failing_run)
    out = tmp_path / "up" / "out.wav"
    with pytest.raises(RuntimeError, match="exploded"):
        cli.main(["upsample", str(src), str(out), "--model", str(model_path), "--chunk", "512", "--overlap", "64",
                  "--batch-size", "1", "-q"])
    assert len(calls) == 3 and not out.exists() and list(out.parent.iterdir()) == []


def test_degrade_matches_library(tmp_path, capsys):
    x = _tone(0.5, 16000, channels=2)[:7999]
    src = _write(tmp_path / "hi.wav", x, 16000)
    rc, out, err = _run(capsys, "degrade", src, tmp_path / "lo.wav", "--ratio", 2)
    assert rc == 0, err
    y, rate = sf.read(str(tmp_path / "lo.wav"), dtype="float32")
    assert rate == 8000 and y.shape == (3999, 2) and sf.info(str(tmp_path / "lo.wav")).subtype == "FLOAT"
    np.testing.assert_array_equal(y, degrade(trim_to_multiple(x, 2), 2, "cheby1:8"))

    rc, _, err = _run(capsys, "degrade", src, tmp_path / "causal.flac", "--ratio", 4, "--filter", "butter:4",
                      "--causal", "--subtype", "PCM_24")
    assert rc == 0, err
    y, rate = sf.read(str(tmp_path / "causal.flac"), dtype="float32")
    assert rate == 4000
    np.testing.assert_allclose(y, degrade(trim_to_multiple(x, 4), 4, "butter:4", zero_phase=False), atol=2e-7)


def test_degrade_aliased_needs_consent_and_errors(tmp_path, capsys):
    x = _tone(0.25, 16000)
    src = _write(tmp_path / "hi.wav", x, 16000)
    rc, _, err = _run(capsys, "degrade", src, tmp_path / "a.wav", "--ratio", 2, "--filter", "aliased")
    assert rc == 2 and "--aliased-ok" in err and not (tmp_path / "a.wav").exists()
    rc, _, err = _run(capsys, "degrade", src, tmp_path / "a.wav", "--ratio", 2, "--filter", "aliased", "--aliased-ok")
    assert rc == 0, err
    np.testing.assert_array_equal(sf.read(str(tmp_path / "a.wav"), dtype="float32")[0], x[::2])

    rc, _, err = _run(capsys, "degrade", src, tmp_path / "b.wav", "--ratio", 3)
    assert rc == 2 and str(src) in err and "not divisible by ratio 3" in err
    rc, _, err = _run(capsys, "degrade", src, tmp_path / "b.wav", "--ratio", 2, "--filter", "cheby2:4")
    assert rc == 2 and "unknown family 'cheby2'" in err
    rc, _, err = _run(capsys, "degrade", tmp_path / "gone.wav", tmp_path / "b.wav", "--ratio", 2)
    assert rc == 2 and "gone.wav" in err
    rc, _, err = _run(capsys, "degrade", src, tmp_path / "b.wav")  # --ratio is required: usage error
    assert rc == 2 and "--ratio" in err
    assert not (tmp_path / "b.wav").exists()


def test_evaluate_json_and_plots(tmp_path, model_path, capsys):
    data = tmp_path / "refs"
    _write(data / "b" / "two.wav", _tone(0.6, 16000, seed=2), 16000)
    _write(data / "a" / "one.flac", _tone(0.5, 32000, seed=1), 32000, subtype="PCM_16")
    (data / "a" / "readme.txt").write_text("ignored")
    extra = _write(tmp_path / "three.wav", _tone(0.4, 16000, seed=3), 16000)
    rc, out, err = _run(capsys, "evaluate", "--model", model_path, "--data", data, extra, "--json",
                        tmp_path / "eval.json", "--plot", tmp_path / "plots", "--no-pesq", "--baselines", "spline,sinc",
                        "-q")
    assert rc == 0, err
    report = json.loads((tmp_path / "eval.json").read_text())
    assert [Path(f["path"]).name for f in report["files"]] == ["one.flac", "two.wav", "three.wav"]
    assert set(report["mean"]) == {"model", "spline", "sinc"}
    for entry in report["files"] + [report["mean"]]:
        for system in ("model", "spline", "sinc"):
            assert set(entry[system]) == {"snr", "snr_lb", "lsd", "lsd_hf"}
            assert all(isinstance(v, float) and math.isfinite(v) for v in entry[system].values())
    assert report["ratio"] == 2 and report["hr_rate"] == 16000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["one.png", "three.png", "two.png"]
    assert "mean (3 files)" in out and "LSD-HF" in out


def test_evaluate_errors(tmp_path, model_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = _run(capsys, "evaluate", "--model", model_path, "--data", empty)
    assert rc == 2 and str(empty) in err and "no audio files" in err
    rc, _, err = _run(capsys, "evaluate", "--model", model_path, "--data", tmp_path / "nowhere")
    assert rc == 2 and "nowhere" in err
    low = _write(tmp_path / "low.wav", _tone(0.3, 8000), 8000)
    rc, _, err = _run(capsys, "evaluate", "--model", model_path, "--data", low, "--json", tmp_path / "e.json")
    assert rc == 2 and "low.wav" in err and "below" in err and not (tmp_path / "e.json").exists()
    rc, _, err = _run(capsys, "evaluate", "--model", model_path, "--data", low, "--baselines", "cubic")
    assert rc == 2 and "unknown baseline 'cubic'" in err


def test_info(model_path, capsys):
    rc, out, _ = _run(capsys, "info", "--model", model_path, "--json")
    assert rc == 0
    facts = json.loads(out)
    model = inference.load_model(model_path)
    assert facts["parameters"] == model.count_params() > 0
    assert (facts["ratio"], facts["lr_rate"], facts["hr_rate"]) == (2, 8000, 16000)
    assert facts["degradation"] == {"ratio": 2, "filter": "cheby1:8", "zero_phase": True}
    rc, out, _ = _run(capsys, "info", "--model", model_path)
    assert rc == 0 and "AudioUNet" in out and f"{model.count_params():,}" in out


@pytest.mark.parametrize("command", ["upsample", "degrade", "evaluate", "info"])
def test_subcommand_help(capsys, command):
    rc, out, _ = _run(capsys, command, "--help")
    assert rc == 0 and f"usage: keras-audiosr {command}" in out
    assert ("--ratio" if command == "degrade" else "--model") in out
    if command in ("upsample", "evaluate"):
        assert "(default: 16384)" in out and "(default: 1024)" in out


def test_python_dash_m_help():
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "keras_audiosr", "--help"], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: keras-audiosr" in proc.stdout
    assert all(c in proc.stdout for c in ("upsample", "degrade", "evaluate", "info"))


def test_evaluate_real_speech(tmp_path, model_path, capsys, shared_data):
    src = sorted((shared_data / "vctk-mini" / "wav48").rglob("*.flac"))[0]
    x, rate = sf.read(str(src), dtype="float32")
    excerpt = _write(tmp_path / src.name, x[: 3 * rate], rate, subtype="PCM_16")
    rc, out, err = _run(capsys, "evaluate", "--model", model_path, "--data", excerpt, "--json", tmp_path / "e.json",
                        "--no-pesq", "-q")
    assert rc == 0, err
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["files"][0]["seconds"] == pytest.approx(min(len(x), 3 * rate) / rate, abs=1e-3)
    spline = report["mean"]["spline"]
    assert 5.0 < spline["snr"] < 60.0 and spline["lsd_hf"] > spline["lsd"] > 0
