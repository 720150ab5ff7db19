"""Faults around a training run: a locked --out, bad held-out files, unloadable --init-from, full disks,
kills during writes, damaged backups and caches, Ctrl-C and SIGTERM; fine-tuning on a one-speaker folder."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.data import embedded_corpus_dir
from tests.corpus_helpers import logged_epochs, recipe_cmd, recipe_env, run_recipe, tiny_args

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m recipes.vctk_unet"


def _one_speaker(folder, n=6):
    """A plain folder of one speaker's recordings (LJ Speech files of the packaged corpus)."""
    folder.mkdir(parents=True)
    for f in sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:n]:
        shutil.copy(f, folder / f.name)
    return folder


def _last_line(proc):
    return proc.stderr.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------- fine-tuning on a folder
def test_finetune_a_shipped_model_on_a_one_speaker_folder(tmp_path):
    folder = _one_speaker(tmp_path / "my-voices", n=7)
    out = tmp_path / "mine"
    proc = run_recipe(
        [
            "--data-dir",
            str(folder),
            "--init-from",
            "telephony-8k-16k",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--batch-size",
            "2",
            "--no-pesq",
            "--out",
            str(out),
        ],
        module="recipes.streaming_bwe",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "generator initialised from" in proc.stdout and "telephony-8k-16k" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_test_files"] == 1 and "held out" in metrics["split_note"]
    assert metrics["test"]["model"]["snr"] > 0
    # one definition of an epoch's length in metrics.json
    assert metrics["examples_per_epoch"] == metrics["data"]["examples_per_epoch"]
    assert not (out / ".lock").exists()


# ------------------------------------------------------------------------------------- the lock on --out
_HOLD = """
import sys, time
from keras_audiosr.training.lock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(600)
"""


def test_second_run_on_the_same_out_is_refused_naming_the_holder(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out)], cwd=ROOT, env=recipe_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = run_recipe(tiny_args(out, 1))
        assert proc.returncode == 2, proc.stderr[-3000:]
        line = _last_line(proc)
        assert line.startswith(f"{PROG}: error: --out {out} is in use by another run (pid {holder.pid} on ")
        assert "started 20" in line and "choose another --out" in line and "Traceback" not in proc.stderr
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing of the refused run
    finally:
        holder.kill()
        holder.wait()
    # The holder died without releasing: its lock file stays, and the next run takes it over.
    from keras_audiosr.training.lock import RunLock

    assert str(holder.pid) in (out / ".lock").read_text()
    lock = RunLock(out).acquire()
    assert f"pid {holder.pid}" in lock.took_over and str(os.getpid()) in (out / ".lock").read_text()
    with pytest.raises(Exception, match=f"in use by another run \\(pid {os.getpid()}"):
        RunLock(out).acquire()  # a second lock, even in the same process, is refused
    lock.release()
    assert not (out / ".lock").exists()


# ------------------------------------------------------------------------------------- checks before any work
def test_unloadable_init_from_fails_before_anything_is_written(tmp_path):
    import keras_audiosr  # noqa: F401
    from keras_audiosr.models import AudioUNet

    good = tmp_path / "good.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(good)
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():  # the same config (so the rates check passes), damaged weights
            dst.writestr(item, b"not hdf5" if item.filename.endswith(".h5") else src.read(item))
    out = tmp_path / "run"
    proc = run_recipe(tiny_args(out, 1, "--init-from", str(bad)))
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = _last_line(proc)
    assert line.startswith(f"{PROG}: error: --init-from {bad}: ") and str(bad) in line
    assert "Traceback" not in proc.stderr
    assert not out.exists()  # no config.json, no checkpoints/


def test_bad_held_out_file_fails_before_training(tmp_path):
    folder = _one_speaker(tmp_path / "voices", n=6)
    (folder / "zz_broken.flac").write_bytes(b"fLaC" + os.urandom(300))  # sorts last: held out
    out = tmp_path / "run"
    proc = run_recipe(tiny_args(out, 1, "--data-dir", str(folder)))
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = _last_line(proc)
    assert "zz_broken.flac: held-out test file is not readable audio" in line and "Traceback" not in proc.stderr
    assert "Epoch 1/" not in proc.stdout and not (out / "config.json").exists()


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: sf.write(p, np.zeros((0, 1), np.float32), 16000), "is empty"),
        (lambda p: sf.write(p, np.zeros((8000, 1), np.float32), 8000), "is 8000 Hz, below the high rate 16000 Hz"),
        (lambda p: p.write_bytes(b"RIFF" + os.urandom(200)), "is not readable audio"),
        (
            lambda p: (
                sf.write(p, np.full((40000, 1), 0.1, np.float32), 16000, subtype="PCM_16"),
                p.write_bytes(p.read_bytes()[:30000]),
            ),
            "is truncated",
        ),
    ],
)
def test_check_test_files_names_the_bad_file(tmp_path, make, reason):
    from keras_audiosr.audio import AudioError
    from keras_audiosr.data import Utterance, check_test_files

    good = tmp_path / "good.wav"
    sf.write(good, np.full((16000, 1), 0.1, np.float32), 16000)
    bad = tmp_path / "bad.wav"
    make(bad)
    check_test_files([Utterance(good, "s", "good")], 16000)
    with pytest.raises(AudioError, match=f"bad.wav: held-out test file {reason}"):
        check_test_files([Utterance(good, "s", "good"), Utterance(bad, "s", "bad")], 16000)


# ------------------------------------------------------------------------------------- weights written atomically
def _dense():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


_KILLED_WRITE = """
import os, signal, sys
import keras
from keras_audiosr.training.callbacks import save_weights_atomic
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
original = keras.Model.save_weights
def half_then_die(self, path, *a, **k):
    original(self, path, *a, **k)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    os.kill(os.getpid(), signal.SIGKILL)
keras.Model.save_weights = half_then_die
save_weights_atomic(model, sys.argv[1])
"""


def test_checkpoint_killed_mid_write_keeps_the_previous_one(tmp_path):
    from keras_audiosr.training.callbacks import readable_weights, save_weights_atomic

    path = tmp_path / "checkpoints" / "last.weights.h5"
    model = _dense()
    save_weights_atomic(model, path)
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITE, str(path)], cwd=ROOT, env=recipe_env(), timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before and readable_weights(path)
    restored = _dense()
    restored.load_weights(path)
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_full_disk_writing_weights_keeps_the_previous_file(tmp_path, monkeypatch):
    import keras

    from keras_audiosr.training.callbacks import check_space, save_weights_atomic

    path = tmp_path / "last.weights.h5"
    model = _dense()
    save_weights_atomic(model, path)
    before = path.read_bytes()

    def no_space(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", str(filepath))

    monkeypatch.setattr(keras.Model, "save_weights", no_space)
    with pytest.raises(OSError) as err:
        save_weights_atomic(model, path)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["last.weights.h5"]
    # A disk too full for the next file is found before h5py starts writing (it may crash on a full disk).
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(OSError, match="No space left on device"):
        check_space(path, 10_000)


@pytest.mark.slow
def test_full_disk_during_training_is_one_line_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    first = run_recipe(tiny_args(out, 3), kill_at="nospace:2")
    assert first.returncode == 1, first.stderr[-3000:]
    line = _last_line(first)
    assert line == (
        f"{PROG}: error: no space left on device writing {out / 'checkpoints' / 'last.weights.h5'}; "
        f"run the same command again to resume (1 epoch(s) are saved in {out})"
    )
    assert "Traceback" not in first.stderr
    second = run_recipe(tiny_args(out, 3))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming at epoch 2" in second.stdout and logged_epochs(out) == [0, 1, 2]


def test_full_disk_during_data_preparation_names_the_store_not_the_source(tmp_path, monkeypatch):
    from keras_audiosr.data import store as store_module
    from keras_audiosr.data.store import prepare_store

    files = sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:3]
    real_save = np.save
    calls = []

    def save(f, arr, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(f, arr, *args, **kwargs)

    monkeypatch.setattr(store_module.np, "save", save)
    with pytest.raises(OSError) as err:
        prepare_store(files, 16000, cache_dir=tmp_path, workers=1, progress=False)
    assert err.value.errno == errno.ENOSPC and str(tmp_path) in err.value.filename
    assert "flac" not in str(err.value.filename)
    monkeypatch.setattr(store_module.np, "save", real_save)
    store = prepare_store(files, 16000, cache_dir=tmp_path, workers=1, progress=False)  # resumes: 2 left
    assert len(store) == 3 and not list(tmp_path.rglob("*.tmp.npy"))


# ------------------------------------------------------------------------------------- damaged backups and caches
@pytest.mark.slow
def test_fallback_to_the_older_backup_trims_its_log_row_and_stream(tmp_path):
    out = tmp_path / "run"
    # stops at epoch 3's checkpoint: epochs 1 and 2 backed up
    first = run_recipe(tiny_args(out, 4), kill_at="nospace:3")
    assert first.returncode == 1, first.stderr[-3000:]
    state = json.loads((out / "train_state.json").read_text())
    assert state["backup"]["current"]["epoch"] == 2 and state["backup"]["previous"]["epoch"] == 1
    assert logged_epochs(out) == [0, 1, 2]
    newest = out / "backup" / state["backup"]["current"]["file"]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])
    second = run_recipe(tiny_args(out, 4))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming at epoch 2" in second.stdout
    assert "the example stream continues at batch 2" in second.stdout  # epoch 1's end, not the discarded epoch 2's
    assert logged_epochs(out) == [0, 1, 2, 3], "each epoch once in train_log.csv"


def test_damaged_prepared_arrays_are_found_on_opening_and_prepared_again(tmp_path, capsys):
    from keras_audiosr.data.store import array_intact, prepare_store

    files = sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:3]
    store = prepare_store(files, 16000, cache_dir=tmp_path, workers=1, progress=False)
    reference = [store.read(i, 0, 0, store.files[i].length) for i in range(3)]
    cut = store.root / store.files[1].array
    cut.write_bytes(cut.read_bytes()[:1000])  # a truncated array
    garbled = store.root / store.files[2].array
    garbled.write_bytes(b"not an array")
    assert not array_intact(cut) and not array_intact(garbled)
    again = prepare_store(files, 16000, cache_dir=tmp_path, workers=1, progress=False)
    assert "2 prepared array(s)" in capsys.readouterr().err
    for i in range(3):
        assert array_intact(again.root / again.files[i].array, again.files[i].channels, again.files[i].length)
        np.testing.assert_array_equal(again.read(i, 0, 0, again.files[i].length), reference[i])


# ------------------------------------------------------------------------------------- Ctrl-C and SIGTERM
def _start(args, env=None):
    return subprocess.Popen(
        recipe_cmd(args),
        cwd=ROOT,
        env=env or recipe_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(proc, text, timeout=300):
    start, seen = time.monotonic(), []
    while time.monotonic() - start < timeout:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return
    proc.kill()
    raise AssertionError(f"{text!r} never printed: {''.join(seen)[-2000:]}")


@pytest.mark.parametrize(
    "sig, status, how",
    [pytest.param(signal.SIGINT, 130, "Ctrl-C", marks=pytest.mark.slow), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_interrupted_training_says_how_to_resume(tmp_path, sig, status, how):
    out = tmp_path / "run"
    proc = _start(tiny_args(out, 200))
    _wait_for(proc, "training 200 epoch(s)")
    time.sleep(3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1].startswith(f"{PROG}: stopped by {how}; run the same command again to resume")
    assert not (out / ".lock").exists()


@pytest.mark.parametrize(
    "sig, status, how, group",
    [(signal.SIGTERM, 143, "SIGTERM", False), pytest.param(signal.SIGINT, 130, "Ctrl-C", True, marks=pytest.mark.slow)],
)
def test_stop_during_data_preparation_is_one_line(tmp_path, sig, status, how, group):
    # SIGTERM to the run alone (a service manager), or Ctrl-C at a terminal (SIGINT to the run and its workers).
    corpus = tmp_path / "corpus"
    shutil.copytree(embedded_corpus_dir(), corpus)
    out = tmp_path / "run"
    proc = _start(tiny_args(out, 1, "--data-dir", str(corpus), "--cache-dir", str(tmp_path / "cache")))
    _wait_for(proc, "preparing")
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)  # returns only once the workers are gone too (they hold the pipes)
    assert proc.returncode == status, err[-3000:]
    assert "Traceback" not in err and "BrokenPipeError" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1].startswith(f"{PROG}: stopped by {how}; run the same command again")


def test_killed_preparation_leaves_no_workers_behind(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(embedded_corpus_dir(), corpus)
    proc = _start(tiny_args(tmp_path / "run", 1, "--data-dir", str(corpus), "--cache-dir", str(tmp_path / "cache")))
    _wait_for(proc, "preparing")
    proc.kill()
    _, err = proc.communicate(timeout=60)  # the workers die with their parent, closing the pipes
    assert "BrokenPipeError" not in err and "Traceback" not in err


# ------------------------------------------------------------------------------------- what a model says it saw
def test_info_names_the_training_set_not_its_representative(tmp_path, capsys):
    import keras_audiosr  # noqa: F401
    from keras_audiosr import cli
    from keras_audiosr.models import AudioUNet

    path = tmp_path / "robust.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000, training_degradations="speech-robust").save(path)
    assert cli.main(["info", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("trained on inputs made by:"))
    assert "speech-robust" in line and "telephone" in line and "cheby1 order 8" not in line
    assert cli.main(["info", "--model", "telephony-8k-16k"]) == 0  # the shipped model: trained on speech-robust
    assert "the set 'speech-robust'" in capsys.readouterr().out


# ------------------------------------------------------------------------------------- a real full disk (tmpfs)
@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs the right to mount: root in a container that allows it); skips otherwise."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_real_full_disk_in_preparation_and_weights_keeps_what_was_there(small_disk):
    import keras

    from keras_audiosr.data.store import prepare_store
    from keras_audiosr.training.callbacks import readable_weights, save_weights_atomic

    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (700 << 10))
    files = sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:4]  # about 1 MB of float16 arrays
    with pytest.raises(OSError) as err:
        prepare_store(files, 16000, cache_dir=small_disk / "cache", workers=1, progress=False)
    assert err.value.errno == errno.ENOSPC and str(small_disk) in str(err.value.filename)
    ballast.unlink()
    store = prepare_store(files, 16000, cache_dir=small_disk / "cache", workers=1, progress=False)  # resumes
    assert len(store) == 4 and not list(small_disk.rglob("*.tmp.npy"))
    shutil.rmtree(small_disk / "cache")

    path = small_disk / "checkpoints" / "last.weights.h5"
    small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    save_weights_atomic(small, path)
    before = path.read_bytes()
    big = keras.Sequential([keras.Input((512,)), keras.layers.Dense(1024)])  # 2 MB of weights: cannot fit
    with pytest.raises(OSError) as err:
        save_weights_atomic(big, path)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == before and readable_weights(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.weights.h5"]
