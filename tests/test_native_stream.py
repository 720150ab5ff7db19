"""edge/native/bwe_stream: built with make against Debian's Arm NN, it streams a shipped int8-pcm16 model
as the Python streams do (tools/native_stream_check.py), reads everything from the model's metadata,
and refuses bad models and inputs with one clear line. Skips without a compiler or the Arm NN dev packages."""

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NATIVE = ROOT / "edge" / "native"
MODEL = ROOT / "keras_audiosr" / "pretrained" / "telephony-8k-16k" / "streaming_bwe_stream_int8-pcm16.tflite"
HEADERS = (Path("/usr/include/armnn/ArmNN.hpp"), Path("/usr/include/armnnTfLiteParser/ITfLiteParser.hpp"))


def _missing_toolchain(cxx: str, libdir: str) -> str | None:
    if not shutil.which(cxx) or not shutil.which("make"):
        return f"{cxx} or make not installed"
    for h in HEADERS:
        if not h.is_file():
            return f"{h} missing (apt-get install libarmnn-dev libarmnntfliteparser-dev)"
    for lib in ("libarmnn.so", "libarmnnTfLiteParser.so"):
        if not (Path(libdir) / lib).exists():
            return f"{libdir}/{lib} missing"
    return None


def _make(target: str) -> Path:
    r = subprocess.run(["make", "-C", str(NATIVE), target], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return NATIVE / target


@pytest.fixture(scope="module")
def binary():
    import sysconfig

    libdir = f"/usr/lib/{sysconfig.get_config_var('MULTIARCH') or 'x86_64-linux-gnu'}"
    why = _missing_toolchain("g++", libdir)
    if why:
        pytest.skip(why)
    return _make("bwe_stream")


def _wav(path: Path, pcm: np.ndarray, rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return path


def _speechlike(seconds: float, rate: int = 8000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(t.size)
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def _run(binary, *args, stdin: bytes | None = None):
    return subprocess.run([str(binary), *map(str, args)], input=stdin, capture_output=True, check=False, timeout=300)


def _read(path: Path):
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate(), w.getnchannels()


def _with_document(tmp_path, name, document=None, strip_standard=False) -> Path:
    """The shipped model with its description replaced (or the standard entry removed)."""
    import flatbuffers

    from keras_audiosr.export.metadata import add_metadata
    from keras_audiosr.streaming.metadata import STANDARD_METADATA_NAME, parse_model

    data = MODEL.read_bytes()
    if document is not None:
        data = add_metadata(data, document)
    if strip_standard:
        model = parse_model(data)
        model.metadata = [e for e in model.metadata if e.name.decode() != STANDARD_METADATA_NAME]
        b = flatbuffers.Builder(len(data))
        b.Finish(model.Pack(b), file_identifier=b"TFL3")
        data = bytes(b.Output())
    out = tmp_path / name
    out.write_bytes(data)
    return out


def test_streams_wav_and_raw_pcm_alike(binary, tmp_path):
    """A WAV in and out, and the same PCM through stdin/stdout, give the same aligned samples; timing reported."""
    pcm = _speechlike(0.43)  # not a whole number of 10 ms frames: the last one is padded
    src = _wav(tmp_path / "in.wav", pcm, 8000)
    stats = tmp_path / "stats.json"
    r = _run(binary, "--stats", stats, MODEL, src, tmp_path / "out.wav")
    assert r.returncode == 0, r.stderr.decode()
    out, rate, ch = _read(tmp_path / "out.wav")
    assert (rate, ch, len(out)) == (16000, 1, 2 * len(pcm))
    s = json.loads(stats.read_text())
    assert s["frame_length"] == 80 and s["states"] == 11 and s["frame_ms_mean"] > 0 and s["peak_rss_kib"] > 0
    assert s["frames"] == -(-(len(pcm) + s["lookahead"]) // 80)
    assert b"per frame mean" in r.stderr
    piped = _run(binary, "--quiet", MODEL, "-", "-", stdin=pcm.astype("<i2").tobytes())
    assert piped.returncode == 0 and piped.stderr == b""
    np.testing.assert_array_equal(np.frombuffer(piped.stdout, "<i2"), out)
    raw = _run(binary, "--quiet", "--raw", MODEL, "-", "-", stdin=pcm.astype("<i2").tobytes())
    skip = s["lookahead"] * 2
    np.testing.assert_array_equal(np.frombuffer(raw.stdout, "<i2")[skip:], out[: len(raw.stdout) // 2 - skip])


def test_bad_models_and_inputs_are_one_line_errors(binary, tmp_path):
    from keras_audiosr.streaming.metadata import read_metadata

    pcm = _speechlike(0.1)
    good = _wav(tmp_path / "ok.wav", pcm, 8000)
    cases = {
        "no standard metadata": (
            (_with_document(tmp_path, "legacy.tflite", strip_standard=True), good),
            "no TFLITE_METADATA entry",
        ),
        "window model": (
            (_with_document(tmp_path, "window.tflite", {"model": "x", "stateful": False}), good),
            "not a stateful streaming one",
        ),
        "metadata frame != tensor": (
            (
                _with_document(
                    tmp_path, "frame.tflite", {**read_metadata(MODEL), "frame_length": 160, "output_length": 320}
                ),
                good,
            ),
            "frame-size mismatch: the metadata says 160",
        ),
        "not a model": ((good, good), "no 'TFL3' flatbuffer identifier"),
        "truncated model": ((_write(tmp_path / "cut.tflite", MODEL.read_bytes()[:5000]), good), "truncated or corrupt"),
        "wrong rate": ((MODEL, _wav(tmp_path / "16k.wav", pcm, 16000)), "16000 Hz; the model takes 8000 Hz"),
        "stereo": ((MODEL, _wav(tmp_path / "st.wav", np.repeat(pcm, 2), 8000, channels=2)), "2 channels"),
        "truncated wav": ((MODEL, _write(tmp_path / "cut.wav", good.read_bytes()[:-101])), "truncated"),
        "not a wav": ((MODEL, _write(tmp_path / "x.wav", b"hello")), "not a RIFF/WAVE file"),
        "missing wav": ((MODEL, tmp_path / "absent.wav"), "cannot open"),
    }
    for label, ((model, wav), message) in cases.items():
        r = _run(binary, model, wav, tmp_path / "o.wav")
        err = r.stderr.decode()
        assert r.returncode == 2 and message in err and err.count("\n") == 1, (label, r.returncode, err)
        assert not (tmp_path / "o.wav").exists(), label
    r = _run(binary, "--frame", "160", MODEL, good, tmp_path / "o.wav")
    assert r.returncode == 2 and b"frame-size mismatch: the caller delivers 160-sample frames" in r.stderr
    r = _run(binary, MODEL, "-", "-", stdin=b"\x01\x02\x03")
    assert r.returncode == 2 and b"ends in the middle of a 16-bit sample" in r.stderr
    r = _run(binary, MODEL, good)
    assert r.returncode == 2 and b"usage:" in r.stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _data_files():
    sys.path.insert(0, str(ROOT))
    from tools.native_stream_check import held_out_files

    files = held_out_files()
    if not files:
        pytest.skip("the held-out utterances (../shared/data/vctk-mini) are not here")
    return files


def _check(args) -> dict:
    from tools.native_stream_check import main

    assert main(args) == 0
    return json.loads(Path(args[args.index("--json") + 1]).read_text())


def test_matches_python_streams_on_a_held_out_utterance(binary, tmp_path):
    """The first 6 s of a held-out utterance (600 frames; the slow test runs them whole): bit-identical to the
    pyarmnn stream (when installed) and within the measured bound of the LiteRT stream (tools/native_stream_check.py
    explains it)."""
    files = _data_files()
    report = _check(["--files", str(files[0]), "--max-seconds", "6", "--json", str(tmp_path / "c.json")])
    row = report["files"][0]
    assert row["seconds"] == 6.0
    assert row["native_vs_litert_xnnpack"]["snr_db"] >= 50
    if row["native_vs_pyarmnn"] is not None:
        assert row["native_vs_pyarmnn"]["max_lsb"] <= 1


@pytest.mark.slow
def test_matches_python_streams_on_every_held_out_utterance(binary, tmp_path):
    report = _check(["--files", *map(str, _data_files()), "--json", str(tmp_path / "c.json")])
    assert len(report["files"]) == 3 and not report["failures"]


@pytest.mark.slow
def test_aarch64_build_under_qemu(tmp_path):
    """Cross-built for aarch64 and run under qemu with the NEON (CpuAcc) backend: the same bounds vs LiteRT."""
    why = _missing_toolchain("aarch64-linux-gnu-g++", "/usr/lib/aarch64-linux-gnu")
    if why or not shutil.which("qemu-aarch64"):
        pytest.skip(why or "qemu-aarch64 not installed (apt-get install qemu-user)")
    if not Path("/usr/lib/aarch64-linux-gnu/armnn22/Arm_CpuAcc_backend.so").exists():
        pytest.skip("libarmnn-cpuacc-backend22:arm64 not installed")
    cross = _make("bwe_stream-aarch64")
    report = _check(
        [
            "--binary",
            str(cross),
            "--runner",
            "qemu-aarch64",
            "--backend",
            "CpuAcc",
            "--files",
            str(_data_files()[0]),
            "--json",
            str(tmp_path / "q.json"),
        ]
    )
    assert "CpuAcc" in report["files"][0]["bwe_stream"]["backends"]
