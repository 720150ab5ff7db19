"""keras_audiosr.utils: the one atomic writer (modes under the umask, cleanup, errors naming the target)."""

import errno
import json
import os
import stat
import tempfile

import numpy as np
import pytest

from keras_audiosr import utils
from keras_audiosr.export.files import json_bytes
from keras_audiosr.utils import (
    atomic_path,
    check_writable,
    save_model_atomic,
    save_npy_atomic,
    save_npz_atomic,
    write_bytes_atomic,
    write_json,
    write_text_atomic,
)


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def _write_everything(folder):
    """Every kind of file the package writes, through its writers."""
    import keras

    from keras_audiosr.audio import write_audio
    from keras_audiosr.plots import plot_spectrograms

    x = np.sin(np.arange(4000) / 10.0).astype(np.float32) * 0.5
    model = keras.Sequential([keras.Input((None, 1)), keras.layers.Dense(1)])
    return [
        write_bytes_atomic(folder / "a.bin", b"\x00\x01"),
        write_text_atomic(folder / "a.txt", "text"),
        write_json(folder / "metrics.json", {"snr": np.float32(3.5)}),
        save_npy_atomic(folder / "x.input.npy", x),
        save_npz_atomic(folder / "cache.npz", x=x),
        save_model_atomic(model, folder / "model.keras"),
        write_audio(folder / "out.wav", x, 8000),
        plot_spectrograms({"reference": x}, {"reference": 8000}, folder / "spec.png"),
    ]


def test_every_writer_honours_the_umask(tmp_path, umask):
    paths = _write_everything(tmp_path)
    expected = 0o666 & ~umask
    assert {p.name: _mode(p) for p in paths} == {p.name: expected for p in paths}
    with open(tmp_path / "plain", "w"):
        pass
    assert _mode(tmp_path / "plain") == expected  # what a plain open() gives
    assert _leftovers(tmp_path) == []


def test_round_trips(tmp_path):
    x = np.arange(12, dtype=np.int16).reshape(3, 4)
    p = save_npy_atomic(tmp_path / "fixture.expected.npy", x)
    assert p.name == "fixture.expected.npy"  # no second .npy appended
    np.testing.assert_array_equal(np.load(p), x)
    with np.load(save_npz_atomic(tmp_path / "c.npz", a=x, b=np.float32(2))) as z:
        np.testing.assert_array_equal(z["a"], x)
        assert float(z["b"]) == 2.0
    doc = {"a": np.float64("nan"), "b": float("-inf"), "c": np.int64(3), "d": np.arange(2), "e": tmp_path}
    doc["f"] = [np.float32("inf"), np.array([1.5, np.nan])]
    text = write_json(tmp_path / "d.json", doc).read_text()
    # Strict JSON (Python's reader would accept NaN/Infinity: no such token may appear); every non-finite is null.
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": None, "c": 3, "d": [0, 1], "e": str(tmp_path), "f": [None, [1.5, None]]}
    # The export's sidecar layout (indent 1, keys sorted) is the same encoding.
    assert json.loads(json_bytes({"z": np.float64("-inf"), "a": np.arange(2)})) == {"a": [0, 1], "z": None}
    assert json_bytes({"z": 1, "a": 2}) == b'{\n "a": 2,\n "z": 1\n}\n'
    assert write_text_atomic(tmp_path / "sub" / "t.txt", "héllo").read_text(encoding="utf-8") == "héllo"


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = write_text_atomic(tmp_path / "keep.txt", "old")
    for exc in (RuntimeError("boom"), KeyboardInterrupt(), SystemExit(143)):
        with pytest.raises(type(exc)):
            with atomic_path(target) as tmp:
                tmp.write_text("half")
                raise exc
        assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_temp_is_a_hidden_sibling_with_the_extension(tmp_path):
    with atomic_path(tmp_path / "model.keras") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.tmp-") and tmp.suffix == ".keras"
        assert tmp.exists() and tmp.stat().st_size == 0
        tmp.write_bytes(b"x")
    assert (tmp_path / "model.keras").read_bytes() == b"x"


def _read_only_os_open(monkeypatch, folder):
    """``os.open`` failing as on a read-only file system, for files created in ``folder``."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if os.path.dirname(os.fspath(path)) == str(folder) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


@pytest.mark.parametrize("writer", ["json", "bytes", "npy"])
def test_read_only_folder_error_names_target_and_reason(tmp_path, monkeypatch, writer):
    target = tmp_path / {"json": "eval.json", "bytes": "m.tflite", "npy": "x.npy"}[writer]
    _read_only_os_open(monkeypatch, tmp_path)
    with pytest.raises(OSError) as info:
        {
            "json": lambda: write_json(target, {"a": 1}),
            "bytes": lambda: write_bytes_atomic(target, b"1"),
            "npy": lambda: save_npy_atomic(target, np.zeros(2)),
        }[writer]()
    e = info.value
    assert e.errno == errno.EROFS and e.filename == str(target) and e.strerror == "Read-only file system"
    assert ".tmp" not in str(e) and "Read-only file system" in str(e)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_created_and_a_file_in_the_way_is_named(tmp_path):
    assert write_json(tmp_path / "a" / "b" / "r.json", {}).is_file()
    (tmp_path / "blocker").write_text("")
    target = tmp_path / "blocker" / "r.json"
    with pytest.raises(OSError) as info:
        write_json(target, {})
    assert info.value.filename == str(target) and info.value.strerror


def test_check_writable(tmp_path, monkeypatch):
    assert check_writable(tmp_path / "new" / "deeper" / "r.json") == tmp_path / "new" / "deeper" / "r.json"
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == []  # nothing created or left
    with pytest.raises(IsADirectoryError, match="is a folder"):
        check_writable(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError) as info:
        check_writable(tmp_path / "f" / "r.json")
    assert info.value.filename == str(tmp_path / "f" / "r.json")

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(OSError) as info:
        check_writable(tmp_path / "out" / "eval.json")
    assert (info.value.filename, info.value.strerror) == (str(tmp_path / "out" / "eval.json"), "Read-only file system")


def test_quiet_tensorflow_replays_output_when_import_fails(monkeypatch, capfd):
    import sys

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    real_import = __builtins__["__import__"] if isinstance(__builtins__, dict) else __builtins__.__import__

    def failing_import(name, *args, **kwargs):
        if name in ("keras", "tensorflow"):
            os.write(2, b"native loader: libfoo.so missing\n")
            raise ImportError("no tensorflow here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", failing_import)
    with pytest.raises(ImportError, match="no tensorflow here"):
        utils.quiet_tensorflow()
    assert "native loader: libfoo.so missing" in capfd.readouterr().err


def test_configured_backend_without_importing_keras(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_BACKEND", "JAX")
    assert utils.configured_backend() == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert utils.configured_backend() == "tensorflow"  # no keras.json: Keras's own default
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    assert utils.configured_backend() == "torch"
    (tmp_path / "keras.json").write_text("{not json")
    assert utils.configured_backend() == "tensorflow"
