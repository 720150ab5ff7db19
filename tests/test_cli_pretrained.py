"""The command line on shipped models: `models`, `upsample` choosing a model by the input's rate, `--model NAME`,
`--tflite` (the int8 stateful stream through LiteRT), `info --model NAME`, one-line errors.

The shipped models here are fakes built once per session in a temporary folder that
``KERAS_AUDIOSR_PRETRAINED_DIR`` points at: untrained tiny StreamingBWE models (8 -> 16 kHz with its
int8 streaming .tflite exported by edge's gates; 8 -> 24 kHz and 16 -> 48 kHz as Keras only).

Tolerance of --tflite (int8 stream, LiteRT) against the Keras output of the same untrained model, per
channel of a 0.6 s two-tone stereo file: SNR >= 35 dB (measured 44.7 and 44.8 dB, max abs difference
0.007; untrained int8 models go lower on other signals, tests/test_edge_stateful.py allows 25 dB).
"""

import json

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import cli

TFLITE_SNR_DB = 35.0


def _tone(seconds, rate, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1900 * t + 1)
    x = x + 0.02 * np.random.default_rng(0).standard_normal(t.size)
    if channels > 1:
        x = np.stack([x * (1 - 0.4 * c) + 0.05 * c * np.sin(2 * np.pi * 700 * t) for c in range(channels)], axis=1)
    return x.astype(np.float32)


def _write(path, x, rate):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype="FLOAT")
    return path


def _snr_db(est, ref):
    ref = np.asarray(ref, np.float64)
    return 10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2))


@pytest.fixture(scope="session")
def shipped_dir(tmp_path_factory):
    """A folder of fake shipped models, as keras_audiosr/pretrained/ will hold them (card.json and files)."""
    pytest.importorskip("ai_edge_litert")
    import keras

    from keras_audiosr.data import load_corpus, make_default_corpus
    from keras_audiosr.export.stateful import StreamingExporter
    from keras_audiosr.models import StreamingBWE

    root = tmp_path_factory.mktemp("shipped")
    train = make_default_corpus(tmp_path_factory.mktemp("train"), n_speakers=2, n_utterances=2, seconds=1.0, rate=16000)
    metrics = {
        "resample": {"model": {"pesq": 3.456, "snr": 18.25}, "sinc": {"pesq": 3.012, "snr": 17.5}},
        "own": {"model": {"pesq": 3.9, "snr": 20.0}, "sinc": {"pesq": 3.1, "snr": 18.0}},
    }
    for name, lr, hr, with_tflite in (
        ("demo-8k-16k", 8000, 16000, True),
        ("demo-8k-24k", 8000, 24000, False),
        ("demo-16k-48k", 16000, 48000, False),
    ):
        keras.utils.set_random_seed(0)
        model = StreamingBWE.from_size("tiny", ratio=hr // lr, hr_rate=hr)
        folder = root / name
        folder.mkdir()
        model.save(folder / "model.keras")
        card = {
            "name": name,
            "lr_rate": lr,
            "hr_rate": hr,
            "description": f"test model {lr} -> {hr} Hz",
            "keras": "model.keras",
            "tflite": {},
            "metrics": metrics,
            "parameters": int(model.count_params()),
        }
        if with_tflite:
            exporter = StreamingExporter(
                model,
                None,
                load_corpus(train),
                calibration_windows=16,
                calibration_length=1024,
                parity_files=1,
                parity_seconds=1.0,
                progress=False,
                log=None,
            )
            card["tflite"]["int8"] = exporter.export("int8", folder).path.name
        (folder / "card.json").write_text(json.dumps(card))
    return root


@pytest.fixture
def shipped(shipped_dir, monkeypatch):
    monkeypatch.setenv("KERAS_AUDIOSR_PRETRAINED_DIR", str(shipped_dir))
    return shipped_dir


def _run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_models_lists_rates_size_parameters_and_headline_metrics(shipped, capsys):
    rc, out, _ = _run(capsys, "models")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("3 shipped model(s)")
    row = next(line for line in lines if "demo-8k-16k" in line)
    size_mb = sum(p.stat().st_size for p in (shipped / "demo-8k-16k").iterdir()) / 1e6
    card = json.loads((shipped / "demo-8k-16k" / "card.json").read_text())
    assert "8000 -> 16000 Hz" in row and f"{size_mb:.1f} MB" in row and f"{card['parameters']:,} parameters" in row
    assert "PESQ-WB 3.46 (sinc 3.01), SNR 18.2 dB (sinc 17.5); resample input" in out
    assert "test model 16000 -> 48000 Hz" in out

    rc, out, _ = _run(capsys, "models", "--json")
    assert rc == 0
    listed = {m["name"]: m for m in json.loads(out)}
    assert sorted(listed) == ["demo-16k-48k", "demo-8k-16k", "demo-8k-24k"]
    m = listed["demo-8k-16k"]
    assert (m["lr_rate"], m["hr_rate"], m["ratio"]) == (8000, 16000, 2)
    assert m["size_bytes"] == round(size_mb * 1e6) and m["parameters"] == card["parameters"]
    assert m["tflite"]["int8"].endswith(".tflite") and m["metrics"]["resample"]["model"]["pesq"] == 3.456


def test_models_says_plainly_when_none_ships(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_AUDIOSR_PRETRAINED_DIR", str(tmp_path))
    rc, out, _ = _run(capsys, "models")
    assert rc == 0 and out.startswith("no models ship with this installation")
    rc, out, _ = _run(capsys, "models", "--json")
    assert rc == 0 and json.loads(out) == []


def test_upsample_without_model_picks_by_rate_and_to(shipped, tmp_path, capsys):
    src = _write(tmp_path / "in8k.wav", _tone(0.4, 8000), 8000)
    rc, out, err = _run(capsys, "upsample", src, tmp_path / "out.wav", "-q")
    assert rc == 0, err
    assert f"model: demo-8k-16k (8000 -> 16000 Hz, int8 streaming .tflite, LiteRT) for {src}" in err
    assert sf.info(str(tmp_path / "out.wav")).samplerate == 16000 and sf.info(str(tmp_path / "out.wav")).frames == 6400

    rc, out, err = _run(capsys, "upsample", src, tmp_path / "out24.wav", "--to", 24000, "-q")
    assert rc == 0, err
    assert "model: demo-8k-24k (8000 -> 24000 Hz, Keras)" in err
    assert sf.info(str(tmp_path / "out24.wav")).samplerate == 24000


def test_inputs_at_different_rates_each_get_their_model(shipped, tmp_path, capsys):
    a = _write(tmp_path / "in" / "a8.wav", _tone(0.2, 8000), 8000)
    b = _write(tmp_path / "in" / "b16.wav", _tone(0.2, 16000), 16000)
    rc, out, err = _run(capsys, "upsample", a, b, tmp_path / "out/", "-q")
    assert rc == 0, err
    assert "model: demo-8k-16k (8000 -> 16000 Hz, int8 streaming .tflite, LiteRT) for 1 file(s) at 8000 Hz" in err
    assert "model: demo-16k-48k (16000 -> 48000 Hz, Keras) for 1 file(s) at 16000 Hz" in err  # it has no stream
    assert sf.info(str(tmp_path / "out" / "a8.wav")).samplerate == 16000
    assert sf.info(str(tmp_path / "out" / "b16.wav")).samplerate == 48000
    assert "at 16000/48000 Hz" in out


def test_unsupported_rate_and_unknown_name_are_one_line_errors(shipped, tmp_path, capsys):
    ok = _write(tmp_path / "ok8k.wav", _tone(0.2, 8000), 8000)
    odd = _write(tmp_path / "odd.wav", _tone(0.2, 44100), 44100)
    rc, out, err = _run(capsys, "upsample", ok, odd, tmp_path / "out/", "-q")
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        f"keras-audiosr: error: {odd}: no shipped model for 44100 Hz input; shipped models: "
        "demo-16k-48k: 16000 -> 48000 Hz; demo-8k-16k: 8000 -> 16000 Hz; demo-8k-24k: 8000 -> "
        "24000 Hz"
    )
    assert "keras-audiosr resample" in err
    assert not (tmp_path / "out").exists()  # checked before any work

    rc, _, err = _run(capsys, "upsample", ok, tmp_path / "o.wav", "--to", 48000, "-q")
    assert rc == 2 and "no shipped model for 8000 Hz input to 48000 Hz" in err and err.count("\n") == 1

    for command in (["upsample", ok, tmp_path / "o.wav", "-q"], ["info"], ["evaluate", "--data", ok]):
        rc, _, err = _run(capsys, *command, "--model", "demo-8k-99k")
        assert rc == 2 and err.count("\n") == 1, command
        assert err.startswith(
            "keras-audiosr: error: demo-8k-99k: no such file and not the name of a shipped model "
            "(shipped models: demo-16k-48k, demo-8k-16k, demo-8k-24k)"
        ), command
    assert not (tmp_path / "o.wav").exists()

    rc, _, err = _run(capsys, "upsample", ok, tmp_path / "o.wav", "--model", "demo-8k-16k", "--to", 24000)
    assert rc == 2 and "--to 24000: shipped model 'demo-8k-16k' upsamples 8000 -> 16000 Hz" in err


def test_model_name_equals_its_keras_file_and_info_accepts_it(shipped, tmp_path, capsys):
    src = _write(tmp_path / "in.wav", _tone(0.3, 8000), 8000)
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "by_name.wav", "--model", "demo-8k-24k", "-q")
    assert rc == 0, err
    assert "model: demo-8k-24k (8000 -> 24000 Hz, Keras)" in err
    rc, _, err = _run(
        capsys, "upsample", src, tmp_path / "by_path.wav", "--model", shipped / "demo-8k-24k" / "model.keras", "-q"
    )
    assert rc == 0 and "model:" not in err  # a user's file: nothing chosen, nothing said
    by_name, rate = sf.read(str(tmp_path / "by_name.wav"))
    assert rate == 24000 and np.array_equal(by_name, sf.read(str(tmp_path / "by_path.wav"))[0])

    rc, out, _ = _run(capsys, "info", "--model", "demo-8k-16k", "--json")
    assert rc == 0
    facts = json.loads(out)
    assert (facts["class"], facts["lr_rate"], facts["hr_rate"]) == ("StreamingBWE", 8000, 16000)
    assert facts["model"] == str(shipped / "demo-8k-16k" / "model.keras")
    assert facts["shipped"]["name"] == "demo-8k-16k" and facts["shipped"]["tflite"]["int8"].endswith(".tflite")
    rc, out, _ = _run(capsys, "info", "--model", "demo-8k-16k")
    assert rc == 0 and "shipped model:" in out and "test model 8000 -> 16000 Hz" in out and "PESQ-WB 3.46" in out


def test_tflite_runs_the_int8_stream_close_to_keras(shipped, tmp_path, capsys):
    from keras_audiosr import pretrained
    from keras_audiosr.streaming import StreamingUpsampler

    x = _tone(0.6, 8000, channels=2)
    src = _write(tmp_path / "stereo.wav", x, 8000)
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "keras.wav", "--keras", "-q")
    assert rc == 0, err
    assert f"model: demo-8k-16k (8000 -> 16000 Hz, Keras) for {src}" in err
    rc, out, err = _run(capsys, "upsample", src, tmp_path / "int8.wav", "--tflite", "-q")
    assert rc == 0, err
    assert f"model: demo-8k-16k (8000 -> 16000 Hz, int8 streaming .tflite, LiteRT) for {src}" in err
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "default.wav", "-q")  # the stream is the default
    assert rc == 0 and "int8 streaming .tflite, LiteRT" in err, err
    assert np.array_equal(sf.read(str(tmp_path / "default.wav"))[0], sf.read(str(tmp_path / "int8.wav"))[0])
    y, rate = sf.read(str(tmp_path / "int8.wav"), dtype="float32")
    ref, _ = sf.read(str(tmp_path / "keras.wav"), dtype="float32")
    assert rate == 16000 and y.shape == ref.shape == (2 * len(x), 2)
    for c in range(2):
        assert _snr_db(y[:, c], ref[:, c]) >= TFLITE_SNR_DB
        # each channel is its own stream, block by block: the same as streaming that channel alone
        alone = StreamingUpsampler.from_tflite(pretrained.tflite_path("demo-8k-16k", "int8")).run(x[:, c])
        assert np.array_equal(y[:, c], alone)

    # a user's own .tflite through --model gives the same; --tflite needs a shipped model (or a .tflite)
    path = pretrained.tflite_path("demo-8k-16k", "int8")
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "own.wav", "--model", path, "-q")
    assert rc == 0, err
    assert np.array_equal(sf.read(str(tmp_path / "own.wav"), dtype="float32")[0], y)
    keras_file = shipped / "demo-8k-16k" / "model.keras"
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "x.wav", "--model", keras_file, "--tflite", "-q")
    assert rc == 2 and "--tflite runs a shipped model's int8 streaming .tflite" in err and err.count("\n") == 1
    rc, _, err = _run(
        capsys,
        "upsample",
        _write(tmp_path / "in16.wav", _tone(0.2, 16000), 16000),
        tmp_path / "x.wav",
        "--tflite",
        "-q",
    )
    assert rc == 2 and "shipped model 'demo-16k-48k' has no 'int8' .tflite" in err


def test_keras_form_without_tensorflow_is_one_line(shipped, tmp_path, capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else find_spec(name, *a)
    )
    src = _write(tmp_path / "in.wav", _tone(0.2, 8000), 8000)
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "k.wav", "--keras", "-q")
    assert rc == 2 and err.count("\n") == 2 and "Traceback" not in err, err  # the model line, then the error
    assert "the Keras model needs tensorflow: pip install 'keras-audiosr[train]'" in err
    assert not (tmp_path / "k.wav").exists()
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "k.wav", "--keras", "--tflite", "-q")
    assert rc == 2 and "not allowed with argument" in err


def test_tflite_needs_no_tensorflow_and_prints_one_clean_line(shipped, tmp_path):
    """The LiteRT path starts in about a second: no TensorFlow import, no runtime start-up line on stderr."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    src = _write(tmp_path / "in.wav", _tone(0.3, 8000), 8000)
    code = (
        "import sys\nfrom keras_audiosr.cli import main\n"
        f"rc = main(['upsample', {str(src)!r}, {str(tmp_path / 'out.wav')!r}, '--tflite', '-q'])\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras') if m in sys.modules], rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GLOG_", "ABSL_"))}
    env.update(PYTHONPATH=str(repo) + os.pathsep + env.get("PYTHONPATH", ""), KERAS_AUDIOSR_PRETRAINED_DIR=str(shipped))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY [] 0" in proc.stdout and "wrote" in proc.stdout
    assert proc.stderr == f"model: demo-8k-16k (8000 -> 16000 Hz, int8 streaming .tflite, LiteRT) for {src}\n"


def test_models_into_a_closed_pipe_is_quiet(tmp_path):
    """`keras-audiosr models | head -1`: the reader leaving early is not an error."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, KERAS_AUDIOSR_PRETRAINED_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "keras_audiosr.cli", "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    proc.stdout.close()  # before the command writes anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "Broken pipe" not in err and "BrokenPipeError" not in err, err


def test_headline_leads_with_visqol_and_lsd_and_names_the_cascade():
    from keras_audiosr.cli.common import headline

    systems = {
        "model": {"visqol": 2.33, "lsd": 1.61, "pesq": 3.82, "snr": 19.2},
        "int8": {"visqol": 2.328, "lsd": 1.554, "pesq": 3.80, "snr": 19.2},
        "sinc": {"visqol": 1.98, "lsd": 4.80, "pesq": 3.84, "snr": 19.4},
        "cascade": {"visqol": 2.57, "lsd": 1.20, "pesq": 3.71, "snr": 19.3},
    }
    line = headline({"own": systems, "resample": systems})
    assert line.startswith("ViSQOL 2.33 (int8 2.33, sinc 1.98, cascade 2.57), LSD 1.61 (int8 1.55, sinc 4.80, ")
    assert "PESQ-WB 3.82 (int8 3.80, sinc 3.84, cascade 3.71)" in line and line.endswith("; resample input")
