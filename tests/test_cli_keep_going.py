"""Folder upsampling that survives bad files (--keep-going) and resumes: a rerun skips complete outputs."""

import os

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import cli
from keras_audiosr.models import AudioUNet


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(path)
    return path


def _tone(seconds, rate, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _write(path, x, rate, subtype="PCM_16"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype=subtype)
    return path


def _run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _folder(tmp_path):
    src = tmp_path / "in"
    _write(src / "a.wav", _tone(0.3, 8000), 8000)
    (src / "b.wav").write_bytes(b"RIFF not really a wave file")  # refused by the checks before any work
    nan = _tone(0.3, 8000, seed=2)
    nan[1500] = np.nan
    _write(src / "c.wav", nan, 8000, subtype="FLOAT")  # a good header; the bad sample is found while upsampling
    _write(src / "d.wav", _tone(0.2, 8000, seed=3), 8000)
    return src


def test_without_keep_going_a_bad_file_stops_the_run(tmp_path, model_path, capsys):
    src, out = _folder(tmp_path), tmp_path / "out"
    rc, _, err = _run(capsys, "upsample", src, out, "--model", model_path, "-q")
    assert rc == 2 and "b.wav" in err and not out.exists()


def test_keep_going_reports_failures_at_the_end_and_exits_non_zero(tmp_path, model_path, capsys):
    src, out = _folder(tmp_path), tmp_path / "out"
    rc, stdout, err = _run(
        capsys, "upsample", src, out, "--model", model_path, "-q", "--keep-going", "--chunk", 1024, "--overlap", 128
    )
    assert rc == 1, err
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "d.wav"]
    assert sf.info(str(out / "a.wav")).frames == 2 * 2400
    lines = err.strip().splitlines()
    assert lines[-3] == "keras-audiosr: error: 2 of 4 file(s) failed:"
    assert lines[-2].startswith(f"  {src / 'b.wav'}: ") and lines[-1].startswith(f"  {src / 'c.wav'}: ")
    assert "non-finite" in lines[-1] and "Traceback" not in err
    assert "wrote 2 file(s)" in stdout


def test_a_rerun_skips_complete_outputs_and_overwrite_redoes_them(tmp_path, model_path, capsys):
    src = tmp_path / "in"
    for name, seed in (("a.wav", 0), ("sub/b.wav", 1), ("c.flac", 2)):
        _write(src / name, _tone(0.25, 8000, seed=seed), 8000)
    out = tmp_path / "out"
    args = ("upsample", src, out, "--model", model_path, "-q", "--chunk", 1024, "--overlap", 128)
    rc, stdout, err = _run(capsys, *args)
    assert rc == 0, err
    stamps = {p.name: p.stat().st_mtime_ns for p in out.rglob("*.*")}
    (out / "sub" / "b.wav").unlink()  # as if the first run had been killed before this file
    rc, stdout, err = _run(capsys, *args)
    assert rc == 0, err
    assert "skipped 2 complete output(s)" in stdout and "wrote 1 file(s)" in stdout
    assert (out / "a.wav").stat().st_mtime_ns == stamps["a.wav"] and (out / "sub" / "b.wav").exists()

    (out / "c.flac").write_bytes(b"something else")  # not a complete output: refused, nothing done
    rc, _, err = _run(capsys, *args)
    assert rc == 2 and str(out / "c.flac") in err and "--overwrite" in err
    assert (out / "c.flac").read_bytes() == b"something else"

    rc, stdout, err = _run(capsys, *args, "--overwrite")
    assert rc == 0, err
    assert "wrote 3 file(s)" in stdout and "skipped" not in stdout
    assert (out / "a.wav").stat().st_mtime_ns != stamps["a.wav"] and sf.info(str(out / "c.flac")).samplerate == 16000


def test_an_input_newer_than_its_output_is_redone_only_with_overwrite(tmp_path, model_path, capsys):
    src = tmp_path / "in"
    a = _write(src / "a.wav", _tone(0.25, 8000), 8000)
    out = tmp_path / "out"
    args = ("upsample", src, out, "--model", model_path, "-q")
    assert _run(capsys, *args)[0] == 0
    later = (out / "a.wav").stat().st_mtime + 10
    os.utime(a, (later, later))
    rc, _, err = _run(capsys, *args)
    assert rc == 2 and "older than its input" in err
