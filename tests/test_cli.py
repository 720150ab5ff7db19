"""The keras-audiosr command line, run in-process through cli.main (plus one real subprocess); its start-up,
import cost and help texts are in test_cli_startup.py."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import cli, inference, inference_engine
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
    rc, out, err = _run(
        capsys, "upsample", src, tmp_path / "out.flac", "--model", model_path, "--chunk", 2048, "--overlap", 256, "-q"
    )
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


@pytest.mark.parametrize(
    "case",
    [
        "missing model",
        "corrupt model",
        "not an audio model",
        "missing input",
        "non-audio input",
        "bad output extension",
    ],
)
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
    real_run, calls = inference_engine._run, []

    def failing_run(model, xs, joint):
        calls.append(len(xs))
        if len(calls) == 3:
            raise RuntimeError("model exploded")
        return real_run(model, xs, joint)

    monkeypatch.setattr(inference_engine, "_run", failing_run)
    out = tmp_path / "up" / "out.wav"
    with pytest.raises(RuntimeError, match="exploded"):
        cli.main(
            [
                "upsample",
                str(src),
                str(out),
                "--model",
                str(model_path),
                "--chunk",
                "512",
                "--overlap",
                "64",
                "--batch-size",
                "1",
                "-q",
            ]
        )
    assert len(calls) == 3 and not out.exists() and list(out.parent.iterdir()) == []


def test_degrade_matches_library(tmp_path, capsys):
    x = _tone(0.5, 16000, channels=2)[:7999]
    src = _write(tmp_path / "hi.wav", x, 16000)
    rc, out, err = _run(capsys, "degrade", src, tmp_path / "lo.wav", "--ratio", 2)
    assert rc == 0, err
    y, rate = sf.read(str(tmp_path / "lo.wav"), dtype="float32")
    assert rate == 8000 and y.shape == (3999, 2) and sf.info(str(tmp_path / "lo.wav")).subtype == "FLOAT"
    np.testing.assert_array_equal(y, degrade(trim_to_multiple(x, 2), 2, "cheby1:8"))

    rc, _, err = _run(
        capsys,
        "degrade",
        src,
        tmp_path / "causal.flac",
        "--ratio",
        4,
        "--filter",
        "butter:4",
        "--causal",
        "--subtype",
        "PCM_24",
    )
    assert rc == 0, err
    y, rate = sf.read(str(tmp_path / "causal.flac"), dtype="float32")
    assert rate == 4000
    np.testing.assert_allclose(y, degrade(trim_to_multiple(x, 4), 4, "butter:4", zero_phase=False), atol=2e-7)

    # Any degradation spec of the grammar, not only filters: the telephone channel with G.711.
    rc, out, err = _run(capsys, "degrade", src, tmp_path / "phone.wav", "--ratio", 2, "--filter", "telephone:mulaw")
    assert rc == 0 and "G.711 mu-law" in out, err
    y, rate = sf.read(str(tmp_path / "phone.wav"), dtype="float32")
    assert rate == 8000
    np.testing.assert_array_equal(y, degrade(trim_to_multiple(x, 2), 2, "telephone:mulaw"))


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
    rc, out, err = _run(
        capsys,
        "evaluate",
        "--model",
        model_path,
        "--data",
        data,
        extra,
        "--json",
        tmp_path / "eval.json",
        "--markdown",
        tmp_path / "eval.md",
        "--plot",
        tmp_path / "plots",
        "--no-pesq",
        "--no-perceptual",
        "--baselines",
        "spline,sinc",
        "--degradations",
        "own,Resample",
        "--per-file",
        "-q",
    )
    assert rc == 0, err
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["order"] == ["own", "resample"] and report["systems"] == ["model", "spline", "sinc"]
    for label in report["order"]:
        rep = report["degradations"][label]
        assert [Path(f["path"]).name for f in rep["files"]] == ["one.flac", "two.wav", "three.wav"]
        assert set(rep["mean"]) == {"model", "spline", "sinc"}
        for entry in rep["files"] + [rep["mean"]]:
            for system in ("model", "spline", "sinc"):
                assert set(entry[system]) == {"snr", "snr_lb", "lsd", "lsd_hf"}
                assert all(isinstance(v, float) and math.isfinite(v) for v in entry[system].values())
    assert report["degradations"]["resample"]["degradation"]["filter"] == "resample"
    assert report["ratio"] == 2 and report["hr_rate"] == 16000 and report["model_path"] == str(model_path)
    for label in ("own", "resample"):
        assert sorted(p.name for p in (tmp_path / "plots" / label).iterdir()) == ["one.png", "three.png", "two.png"]
    assert "mean (3 files)" in out and "LSD-HF" in out and "[resample] polyphase" in out
    md = (tmp_path / "eval.md").read_text()
    assert "| own (`cheby1:8`) | model |" in md and "| resample | model |" in md


def test_evaluate_default_degradations_and_names_checked_before_work(tmp_path, model_path, capsys, monkeypatch):
    from keras_audiosr import evaluation

    ref = _write(tmp_path / "ref.wav", _tone(0.3, 16000), 16000)
    rc, out, err = _run(capsys, "evaluate", "--model", model_path, "--data", ref, "--no-pesq", "--no-perceptual", "-q")
    assert rc == 0, err
    assert [ln.split("]")[0] + "]" for ln in out.splitlines() if ln.startswith("[")] == [
        "[own]",
        "[resample]",
        "[butter:4]",
        "[telephone:mulaw]",
    ]  # the tiny model's input is 8 kHz
    assert "SNR and LB-SNR say little" in out
    monkeypatch.setattr(inference, "load_model", lambda p: pytest.fail("model loaded before the check"))
    monkeypatch.setattr(evaluation, "evaluate_files", lambda *a, **k: pytest.fail("work before the check"))
    for bad in ("own,gauss:4", "telephone:ulaw", "cheby1:x", ","):
        rc, _, err = _run(
            capsys,
            "evaluate",
            "--model",
            model_path,
            "--data",
            tmp_path / "missing",
            "--degradations",
            bad,
            "--json",
            tmp_path / "e.json",
        )
        assert rc == 2 and err.startswith("keras-audiosr: error: --degradations: ") and err.count("\n") == 1, err
        if bad != ",":
            assert "speech-robust" in err and "resample" in err and "telephone[:mulaw|:alaw]" in err, err
    assert not (tmp_path / "e.json").exists()


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
    assert "{" not in out and "'" not in out  # readable lines, no dict dump
    assert "8000 Hz" in out and "16000 Hz (ratio 2)" in out and "cheby1 order 8 low-pass" in out


def test_evaluate_real_speech(tmp_path, model_path, capsys, shared_data):
    src = sorted((shared_data / "vctk-mini" / "wav48").rglob("*.flac"))[0]
    x, rate = sf.read(str(src), dtype="float32")
    excerpt = _write(tmp_path / src.name, x[: 3 * rate], rate, subtype="PCM_16")
    rc, out, err = _run(
        capsys, "evaluate", "--model", model_path, "--data", excerpt, "--json", tmp_path / "e.json", "--no-pesq", "-q"
    )
    assert rc == 0, err
    report = json.loads((tmp_path / "e.json").read_text())["degradations"]["own"]
    assert report["files"][0]["seconds"] == pytest.approx(min(len(x), 3 * rate) / rate, abs=1e-3)
    spline = report["mean"]["spline"]
    assert 5.0 < spline["snr"] < 60.0 and spline["lsd_hf"] > spline["lsd"] > 0


def _subprocess_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GLOG_", "ABSL_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**env, **extra}


def test_upsample_folder_and_files_into_folder_one_bar(tmp_path, model_path, capsys):
    src = tmp_path / "in"
    _write(src / "a.wav", _tone(0.3, 8000), 8000, subtype="PCM_16")
    _write(src / "sub" / "b.flac", _tone(0.2, 8000, channels=2), 8000, subtype="PCM_16")
    (src / "notes.txt").write_text("not audio")
    extra = _write(tmp_path / "c.wav", _tone(0.25, 8000), 8000)
    out = tmp_path / "out"
    rc, stdout, err = _run(
        capsys, "upsample", src, extra, out, "--model", model_path, "--chunk", 1024, "--overlap", 128
    )
    assert rc == 0, err
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["a.wav", "c.wav", "sub/b.flac"]
    assert sf.info(str(out / "sub" / "b.flac")).channels == 2 and sf.info(str(out / "a.wav")).samplerate == 16000
    assert sf.info(str(out / "a.wav")).frames == 2 * 2400
    assert "upsample 3 files" in err and "upsample a.wav" not in err  # one bar over all files
    assert "wrote 3 file(s) under" in stdout


def test_upsample_refuses_to_overwrite_before_any_work(tmp_path, model_path, capsys, monkeypatch):
    src = tmp_path / "in"
    _write(src / "a.wav", _tone(0.2, 8000), 8000)
    _write(src / "b.wav", _tone(0.2, 8000, seed=1), 8000)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "b.wav").write_bytes(b"precious")
    loaded = []
    monkeypatch.setattr(inference, "load_model", lambda p: loaded.append(p))
    rc, _, err = _run(capsys, "upsample", src, out, "--model", model_path, "-q")
    assert rc == 2 and str(out / "b.wav") in err and "--overwrite" in err and "Traceback" not in err
    assert loaded == [] and sorted(p.name for p in out.iterdir()) == ["b.wav"]  # a.wav was not written either
    assert (out / "b.wav").read_bytes() == b"precious"

    single = _write(tmp_path / "one.wav", _tone(0.2, 8000), 8000)
    (tmp_path / "one_up.wav").write_bytes(b"keep")
    rc, _, err = _run(capsys, "upsample", single, tmp_path / "one_up.wav", "--model", model_path, "-q")
    assert rc == 2 and "one_up.wav" in err and "--overwrite" in err and loaded == []

    monkeypatch.undo()
    rc, _, err = _run(capsys, "upsample", src, out, "--model", model_path, "-q", "--overwrite")
    assert rc == 0, err
    assert sf.info(str(out / "b.wav")).samplerate == 16000


def test_upsample_folder_argument_errors(tmp_path, model_path, capsys):
    a = _write(tmp_path / "x" / "a.wav", _tone(0.2, 8000), 8000)
    b = _write(tmp_path / "y" / "a.wav", _tone(0.2, 8000), 8000)
    rc, _, err = _run(capsys, "upsample", a, b, tmp_path / "out", "--model", model_path, "-q")
    assert rc == 2 and "output of both" in err
    rc, _, err = _run(capsys, "upsample", a, b, tmp_path / "out.wav", "--model", model_path, "-q")
    assert rc == 2 and "folder" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.wav").exists()


def test_clipping_is_reported_once_in_one_clean_line(tmp_path, model_path, capsys, monkeypatch):
    real_run = inference_engine._run
    monkeypatch.setattr(
        inference_engine, "_run", lambda model, xs, joint: [3.0 * y for y in real_run(model, xs, joint)]
    )
    src = tmp_path / "in"
    for i in range(2):
        _write(src / f"{i}.wav", 0.9 * np.sign(_tone(0.3, 8000, seed=i)), 8000, subtype="PCM_16")
    loud = _write(tmp_path / "loud.wav", 0.9 * np.sign(_tone(0.3, 8000)), 8000, subtype="PCM_16")
    rc, _, err = _run(capsys, "upsample", loud, tmp_path / "loud_up.wav", "--model", model_path, "-q")
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-audiosr: warning: ") and "--subtype FLOAT" in lines[0]
    assert "loud_up.wav" in lines[0] and "clipped" in lines[0] and "warnings.warn" not in err
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "out", "--model", model_path, "-q")
    assert rc == 0 and len(err.strip().splitlines()) == 1 and "2 of 2 files" in err and "--subtype FLOAT" in err
    rc, _, err = _run(
        capsys, "upsample", loud, tmp_path / "float.wav", "--model", model_path, "-q", "--subtype", "FLOAT"
    )
    assert rc == 0 and err == ""
    assert np.max(np.abs(sf.read(str(tmp_path / "float.wav"))[0])) > 1.0  # kept, not clipped


def test_resample_is_clean_and_keeps_channels(tmp_path, capsys):
    rate = 48000
    t = np.arange(rate) / rate
    inband = 0.5 * np.sin(2 * np.pi * 1000 * t)
    above = 0.3 * np.sin(2 * np.pi * 8800 * t)  # above 16 kHz's Nyquist: must not fold back to 7200 Hz
    x = np.stack([inband + above, 0.5 * inband], axis=1).astype(np.float32)
    src = _write(tmp_path / "in48.wav", x, rate)
    dst = tmp_path / "deep" / "out16.flac"
    rc, out, err = _run(capsys, "resample", src, dst, "--rate", 16000, "--subtype", "PCM_24")
    assert rc == 0, err
    y, r = sf.read(str(dst), dtype="float64")
    assert r == 16000 and y.shape == (16000, 2) and "wrote" in out and "high quality" in out
    mid = y[2000:-2000, 0]
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    freqs = np.fft.rfftfreq(len(mid), 1 / 16000)
    peak_1k = spectrum[np.argmin(np.abs(freqs - 1000))]
    alias = spectrum[np.argmin(np.abs(freqs - 7200))]
    assert 20 * np.log10(alias / peak_1k) < -90
    np.testing.assert_allclose(
        y[2000:-2000, 1], 0.25 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)[2000:-2000], atol=1e-4
    )
    rc, _, err = _run(capsys, "resample", src, dst, "--rate", 16000)
    assert rc == 2 and "--overwrite" in err
    rc, _, err = _run(capsys, "resample", src, tmp_path / "up.wav", "--rate", 44100)
    assert rc == 0 and sf.info(str(tmp_path / "up.wav")).frames == 44100
    assert sf.info(str(tmp_path / "up.wav")).subtype == "FLOAT"  # the input's subtype
    rc, _, err = _run(capsys, "resample", tmp_path / "missing.wav", tmp_path / "m.wav", "--rate", 8000)
    assert rc == 2 and "missing.wav" in err
    rc, _, err = _run(capsys, "resample", src, tmp_path / "z.wav", "--rate", 0)
    assert rc == 2 and "--rate" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "in48.wav", "up.wav"]


def test_evaluate_checks_json_before_any_work(tmp_path, model_path, capsys, monkeypatch):
    import tempfile

    from keras_audiosr import evaluation

    ref = _write(tmp_path / "ref.wav", _tone(0.3, 16000), 16000)
    (tmp_path / "afile").write_text("")
    monkeypatch.setattr(inference, "load_model", lambda p: pytest.fail("model loaded before the check"))
    monkeypatch.setattr(evaluation, "evaluate_files", lambda *a, **k: pytest.fail("work before the check"))
    rc, _, err = _run(capsys, "evaluate", "--model", model_path, "--data", ref, "--json", tmp_path / "afile" / "e.json")
    assert rc == 2 and f"{tmp_path / 'afile' / 'e.json'}:" in err

    def read_only(*args, dir=None, **kwargs):
        raise OSError(30, "Read-only file system", str(dir))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    rc, _, err = _run(capsys, "evaluate", "--model", model_path, "--data", ref, "--json", tmp_path / "ro" / "e.json")
    assert rc == 2 and err.strip() == f"keras-audiosr: error: {tmp_path / 'ro' / 'e.json'}: Read-only file system"


def test_sigterm_during_upsample_leaves_nothing(tmp_path, model_path):
    import signal
    import time

    src = _write(tmp_path / "long.wav", _tone(300.0, 8000), 8000, subtype="PCM_16")
    out = tmp_path / "out"
    out.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "keras_audiosr",
        "upsample",
        str(src),
        str(out / "long.wav"),
        "--model",
        str(model_path),
        "--chunk",
        "1024",
        "--overlap",
        "128",
        "--batch-size",
        "1",
        "-q",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=_subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while not any(".tmp-" in p.name for p in out.iterdir()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the temporary output never appeared"
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None, "finished before the signal: use a longer input"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().endswith("keras-audiosr: terminated") and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_evaluate_reports_visqol_and_dnsmos_by_default(tmp_path, model_path, capsys):
    pytest.importorskip("visqol")
    pytest.importorskip("speechmos")
    from keras_audiosr.metrics import perceptual_available

    if not perceptual_available():
        pytest.skip("the eval extra (ViSQOL, DNSMOS) is not installed")
    from keras_audiosr.data import embedded_corpus_dir

    ref = min((embedded_corpus_dir() / "p273").glob("*.flac"))
    clip = _write(tmp_path / "clip.wav", sf.read(ref, dtype="float32")[0][:16000], 16000)
    rc, out, err = _run(
        capsys,
        "evaluate",
        "--model",
        model_path,
        "--data",
        clip,
        "--degradations",
        "resample",
        "--baselines",
        "sinc",
        "--json",
        tmp_path / "e.json",
        "-q",
    )
    assert rc == 0, err
    mean = json.loads((tmp_path / "e.json").read_text())["degradations"]["resample"]["mean"]
    assert {"visqol", "visqol_speech", "dnsmos"} <= set(mean["sinc"]) and 1.0 <= mean["sinc"]["visqol"] <= 5.0
    assert "ViSQOL" in out and "DNSMOS" in out
