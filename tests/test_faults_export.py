"""A model's files (.tflite, JSON sidecar, fixtures) appear together or not at all; a conversion stopped by
SIGTERM or Ctrl-C says so in one line."""

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from keras_audiosr import utils
from tests.corpus_helpers import tiny_disk

REPO = Path(__file__).resolve().parents[1]


OLD = {
    "m.input.npy": b"old input",
    "m.expected.npy": b"old expected",
    "m.tflite": b"old model",
    "m.json": b'{"old": true}',
}


def _old_set(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in OLD.items():
        (folder / name).write_bytes(data)


def _listing(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_write_file_set_writes_every_file_and_the_manifest_last(tmp_path, monkeypatch):
    order = []
    real = os.replace
    monkeypatch.setattr(utils.os, "replace", lambda a, b: (order.append(Path(b).name), real(a, b)))
    new = {"m.tflite": b"new model", "m.json": b"{}", "m.input.npy": b"in"}
    paths = utils.write_file_set(tmp_path, new, manifest="m.json")
    assert [p.name for p in paths] == list(new) and _listing(tmp_path) == new
    assert [n for n in order if not n.startswith(".")][-1] == "m.json"


def test_a_kill_before_the_manifest_lands_leaves_no_old_manifest_beside_new_files(tmp_path, monkeypatch):
    _old_set(tmp_path)
    real = os.replace

    def killed_at_manifest(a, b):
        if Path(b) == tmp_path / "m.json":
            raise KeyboardInterrupt
        return real(a, b)

    monkeypatch.setattr(utils.os, "replace", killed_at_manifest)
    with pytest.raises(KeyboardInterrupt):
        utils.write_file_set(tmp_path, {"m.tflite": b"new model", "m.json": b"{}"}, manifest="m.json")
    left = _listing(tmp_path)
    assert "m.json" not in left and left["m.tflite"] == b"new model"  # incomplete, and nothing claims otherwise
    assert not [n for n in left if ".tmp-" in n]


def test_a_full_disk_keeps_the_old_set_whole(tmp_path):
    with tiny_disk(tmp_path) as disk:
        _old_set(disk / "edge")
        new = {"m.input.npy": b"x" * 1000, "m.expected.npy": b"y" * 200_000, "m.tflite": b"z" * 1000, "m.json": b"{}"}
        with pytest.raises(OSError) as e:
            utils.write_file_set(disk / "edge", new, manifest="m.json")
        assert e.value.errno == errno.ENOSPC and "m.expected.npy" in str(e.value)
        assert _listing(disk / "edge") == OLD


def test_a_dead_writers_staging_folder_is_removed(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    stale = tmp_path / f".m.tmp-{p.pid}-0a1b2c3d"
    stale.mkdir()
    (stale / "m.tflite").write_bytes(b"half")
    utils._swept.clear()
    utils.write_file_set(tmp_path, {"m.json": b"{}"}, manifest="m.json")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["m.json"]


# --- the conversion itself --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("ai_edge_litert")
    import keras
    import numpy as np

    from keras_audiosr.data import load_corpus, make_default_corpus
    from keras_audiosr.models import AudioUNet

    root = tmp_path_factory.mktemp("conv")
    train = make_default_corpus(root / "train", n_speakers=2, n_utterances=1, seconds=0.6, rate=16000)
    keras.utils.set_random_seed(0)
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    layer = model.get_layer("final_conv")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(0).normal(0, 0.05, kernel.shape).astype("float32"), bias])
    path = root / "tiny.keras"
    model.save(path)
    return model, path, train, load_corpus(train)


def _export(model, utts, out, frame):
    from keras_audiosr.export.window import Exporter
    from keras_audiosr.streaming import make_plan

    return Exporter(
        model, make_plan(model, frame=frame), utts, parity_files=1, parity_seconds=0.5, progress=False, log=None
    ).export("float", out, name="m")


def test_a_conversion_killed_before_its_sidecar_leaves_no_stale_sidecar(tiny, tmp_path, monkeypatch):
    model, _, _, utts = tiny
    out = tmp_path / "edge"
    first = _export(model, utts, out, frame=160)
    side = json.loads(first.json_path.read_text())
    tflite = out / "m.tflite"
    assert side["sha256"]["m.tflite"] == hashlib.sha256(tflite.read_bytes()).hexdigest()
    real = os.replace

    def killed_at_sidecar(a, b):
        if Path(b) == out / "m.json":
            raise KeyboardInterrupt
        return real(a, b)

    monkeypatch.setattr(os, "replace", killed_at_sidecar)
    with pytest.raises(KeyboardInterrupt):
        _export(model, utts, out, frame=80)
    monkeypatch.undo()
    sidecar = out / "m.json"
    if sidecar.exists():  # a sidecar beside the model must describe that model
        assert (
            json.loads(sidecar.read_text()).get("sha256", {}).get("m.tflite")
            == hashlib.sha256(tflite.read_bytes()).hexdigest()
        )
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize(
    "sig",
    [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT", marks=pytest.mark.slow)],
)
def test_a_signal_during_conversion_is_one_line_saying_to_rerun(tiny, tmp_path, sig):
    _, path, train, _ = tiny
    out = tmp_path / "edge"
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge.convert",
            "--model",
            str(path),
            "--mode",
            "int8",
            "--out",
            str(out),
            "--train-data",
            str(train),
            "--frame",
            "160",
            "--no-progress",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in p.stdout:
            if "gate" in line:  # the work has started
                break
        p.send_signal(sig)
        _, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == (143 if sig == signal.SIGTERM else 130), err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "run the same command again" in lines[0]
    assert not out.exists() or not [q for q in out.iterdir() if q.suffix in (".tflite", ".json", ".npy")]
