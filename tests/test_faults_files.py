"""Files under faults: a full disk, an output that is its own input, modes kept on --overwrite, and the
temporaries a killed writer leaves behind."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import audio, cli, utils
from tests.corpus_helpers import tiny_disk

REPO = Path(__file__).resolve().parents[1]


def _tone(seconds, rate, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    return (np.stack([x] * channels, axis=1) if channels > 1 else x).astype(np.float32)


def _write(path, x, rate, subtype="PCM_16"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype=subtype)
    return path


def _run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if ".tmp-" in p.name)


# --- a full disk -------------------------------------------------------------------------------------------------


def _full_device_temp(monkeypatch):
    """Make the atomic writer's temporary a link to /dev/full, where every write fails with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    real = utils._create_temp

    def fake(path, suffix):
        tmp, _ = real(path, suffix)
        tmp.unlink()
        tmp.symlink_to("/dev/full")
        return tmp, os.stat(tmp).st_mode & 0o7777  # the device's own mode: nothing is chmod-ed

    monkeypatch.setattr(utils, "_create_temp", fake)


def test_write_audio_on_a_full_device_says_no_space_and_keeps_the_old_file(tmp_path, monkeypatch):
    out = _write(tmp_path / "out.wav", _tone(0.1, 8000), 8000)
    before = out.read_bytes()
    _full_device_temp(monkeypatch)
    with pytest.raises(OSError) as e:
        audio.write_audio(out, _tone(0.5, 16000), 16000)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(out)
    assert out.read_bytes() == before and _temporaries(tmp_path) == []


def test_a_system_error_midway_names_the_reason(tmp_path, monkeypatch):
    """libsndfile says only "System error." for a failed write; the reason comes from the disk's free space."""
    out = tmp_path / "out.wav"

    def failing_write(self, data):
        raise sf.LibsndfileError(2)

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    monkeypatch.setattr(audio, "_free_bytes", lambda folder: 0)
    with pytest.raises(OSError) as e:
        audio.write_audio(out, _tone(0.5, 16000), 16000)
    assert e.value.errno == errno.ENOSPC and str(out) in str(e.value)
    assert not out.exists() and _temporaries(tmp_path) == []


@pytest.mark.parametrize("command", ["resample", "degrade"])
def test_cli_full_disk_is_one_line_and_keeps_what_was_there(tmp_path, capsys, command):
    src = _write(tmp_path / "in.wav", _tone(4.0, 16000), 16000, subtype="FLOAT")
    with tiny_disk(tmp_path) as disk:
        old = _write(disk / "out.wav", _tone(0.05, 8000), 8000)
        before = old.read_bytes()
        extra = ["--rate", 8000] if command == "resample" else ["--ratio", 2]
        rc, _, err = _run(capsys, command, src, old, *extra, "--subtype", "FLOAT", "--overwrite")
        assert rc == 2
        assert err.strip().splitlines() == [f"keras-audiosr: error: {old}: No space left on device"]
        assert old.read_bytes() == before and _temporaries(disk) == []


def test_upsample_full_disk_is_one_line_and_keeps_what_was_there(tmp_path):
    """The real thing: the shipped model's stream (LiteRT) into a 64 KiB file system, in a subprocess."""
    pytest.importorskip("ai_edge_litert")
    from keras_audiosr import pretrained

    try:
        pretrained.tflite_path("telephony-8k-16k", "int8")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"shipped telephony stream not available: {e}")
    src = _write(tmp_path / "in.wav", _tone(3.0, 8000), 8000)
    with tiny_disk(tmp_path) as disk:
        old = _write(disk / "out.wav", _tone(0.05, 16000), 16000)
        before = old.read_bytes()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "keras_audiosr",
                "upsample",
                str(src),
                str(old),
                "--model",
                "telephony-8k-16k",
                "--tflite",
                "--overwrite",
                "-q",
            ],
            check=False,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().splitlines()[-1] == f"keras-audiosr: error: {old}: No space left on device"
        assert "Traceback" not in r.stderr
        assert old.read_bytes() == before and _temporaries(disk) == []


# --- --overwrite keeps the mode; temporaries of dead writers go --------------------------------------------------


def test_overwrite_keeps_the_mode_of_the_file_it_replaces(tmp_path, capsys):
    src = _write(tmp_path / "in.wav", _tone(0.2, 16000), 16000)
    out = _write(tmp_path / "out.wav", _tone(0.1, 8000), 8000)
    os.chmod(out, 0o600)
    rc, _, err = _run(capsys, "resample", src, out, "--rate", 8000, "--overwrite")
    assert rc == 0, err
    assert out.stat().st_mode & 0o777 == 0o600
    utils.write_text_atomic(tmp_path / "note.txt", "a")
    os.chmod(tmp_path / "note.txt", 0o640)
    utils.write_text_atomic(tmp_path / "note.txt", "b")
    assert (tmp_path / "note.txt").stat().st_mode & 0o777 == 0o640


def test_a_new_file_still_follows_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        utils.write_text_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o600


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_temporaries_of_dead_writers_are_removed_by_a_later_write(tmp_path):
    utils._swept.clear()
    dead = tmp_path / f".out.tmp-{_dead_pid()}-0a1b2c3d.wav"
    dead.write_bytes(b"RIFF")
    alive = tmp_path / f".out.tmp-{os.getpid()}-0a1b2c3e.wav"
    alive.write_bytes(b"RIFF")
    foreign = tmp_path / ".notes.tmp-xyz.txt"  # not a name this writer makes: left alone
    foreign.write_bytes(b"")
    audio.write_audio(tmp_path / "out.wav", _tone(0.1, 8000), 8000)
    names = _temporaries(tmp_path)
    assert dead.name not in names and alive.name in names and foreign.name in names


def test_a_sigkilled_upsample_leaves_a_temporary_the_next_run_removes(tmp_path):
    """Kill a writer mid-file with SIGKILL: its temporary stays; the next write into that folder removes it."""
    out = tmp_path / "out.wav"
    code = (
        "import numpy as np, time, sys\n"
        "from keras_audiosr.audio import open_writer\n"
        "with open_writer(sys.argv[1], 16000, 1) as f:\n"
        "    f.write(np.zeros(1600, np.float32)); print('writing', flush=True); time.sleep(60)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert p.stdout.readline().strip() == "writing"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    left = _temporaries(tmp_path)
    assert len(left) == 1 and str(p.pid) in left[0]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_audiosr",
            "resample",
            str(_write(tmp_path / "in.wav", _tone(0.2, 16000), 16000)),
            str(out),
            "--rate",
            "8000",
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert _temporaries(tmp_path) == []


# --- an output that is its own input -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["resample", "degrade"])
@pytest.mark.parametrize("spelling", ["same", "dot", "symlink"])
def test_resample_and_degrade_refuse_to_overwrite_their_input(tmp_path, capsys, monkeypatch, command, spelling):
    src = _write(tmp_path / "in.wav", _tone(0.2, 16000), 16000)
    before = src.read_bytes()
    monkeypatch.chdir(tmp_path)
    out = {"same": "in.wav", "dot": "./in.wav", "symlink": "link.wav"}[spelling]
    if spelling == "symlink":
        (tmp_path / "link.wav").symlink_to(src)
    extra = ["--rate", 8000] if command == "resample" else ["--ratio", 2]
    rc, _, err = _run(capsys, command, "in.wav", out, *extra, "--overwrite")
    assert rc == 2
    assert err.strip().splitlines() == [
        f"keras-audiosr: error: {Path(out)}: output would replace the input file in.wav"
    ]
    assert src.read_bytes() == before


def test_dead_pid_helper_is_sane():
    pid = _dead_pid()
    deadline = time.monotonic() + 5
    while not utils.process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert utils.process_gone(pid) and not utils.process_gone(os.getpid())


# --- output formats checked before any work --------------------------------------------------------------------


def _mp3(path, rate, seconds=0.5):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=f=440:d={seconds}:r={rate}",
            "-ac",
            "1",
            str(path),
        ],
        check=True,
    )
    if sf.info(str(path)).subtype != "MPEG_LAYER_III":
        pytest.skip("this libsndfile does not read MP3")
    return path


def test_a_subtype_libsndfile_cannot_encode_is_not_kept():
    """WAV "can hold" MP3 frames by libsndfile's format table, but libsndfile cannot write them."""
    assert audio.output_subtype("a.wav", "MPEG_LAYER_III") is None
    assert audio.output_subtype("a.wav", "FLOAT") == "FLOAT"
    with pytest.raises(audio.AudioError, match="cannot be written"):
        audio.check_output_format("a.wav", "MPEG_LAYER_III")
    with pytest.raises(audio.AudioError, match="cannot be stored in FLAC"):
        audio.check_output_format("a.flac", "FLOAT")
    assert audio.check_output_format("a.flac") == ("FLAC", "PCM_16")


@pytest.mark.parametrize("command", ["resample", "degrade"])
def test_mp3_input_to_a_wav_output(tmp_path, capsys, command):
    src = _mp3(tmp_path / "in.mp3", 16000)
    extra = ["--rate", 8000] if command == "resample" else ["--ratio", 2]
    rc, _, err = _run(capsys, command, src, tmp_path / "out.wav", *extra)
    assert rc == 0, err
    info = sf.info(str(tmp_path / "out.wav"))
    assert info.samplerate == 8000 and info.subtype == "PCM_16"


def test_upsample_mp3_to_wav_and_a_bad_subtype_fails_before_the_model_runs(tmp_path, monkeypatch):
    from keras_audiosr import inference

    class Doubler:  # a frame streamer that repeats each sample: no TensorFlow needed
        class plan:
            lr_rate, ratio, frame = 8000, 2, 80

        fn = None

        def fork(self):
            return self

        def feed(self, x):
            return np.repeat(x, 2)

        def finish(self):
            return np.zeros(0, np.float32)

    src = _mp3(tmp_path / "in.mp3", 8000)
    [r] = inference.upsample_files(Doubler(), [(src, tmp_path / "out.wav")], progress=False)
    assert r["subtype"] == "PCM_16" and sf.info(str(tmp_path / "out.wav")).samplerate == 16000
    ran = []
    monkeypatch.setattr(inference, "upsample_file", lambda *a, **k: ran.append(a))
    good = _write(tmp_path / "good.wav", _tone(0.2, 8000), 8000)
    with pytest.raises(audio.AudioError, match="b.flac: subtype 'FLOAT' cannot be stored in FLAC"):
        inference.upsample_files(
            Doubler(), [(good, tmp_path / "a.wav"), (good, tmp_path / "b.flac")], subtype="FLOAT", progress=False
        )
    assert ran == []


def test_upsample_checks_the_subtype_before_loading_a_model(tmp_path, capsys, monkeypatch):
    from keras_audiosr.models import saving

    loaded = []
    monkeypatch.setattr(saving, "load_model", lambda *a, **k: loaded.append(a))
    src = _write(tmp_path / "in.wav", _tone(0.2, 8000), 8000)
    model = tmp_path / "m.keras"
    model.write_bytes(b"never loaded")
    rc, _, err = _run(capsys, "upsample", src, tmp_path / "out.flac", "--model", model, "--subtype", "FLOAT")
    assert rc == 2 and "out.flac: subtype 'FLOAT' cannot be stored in FLAC" in err and loaded == []
