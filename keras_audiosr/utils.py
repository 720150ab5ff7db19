"""Helpers every part of the package shares: the one atomic writer, a writability check, quiet TensorFlow start-up.

Every file the package writes goes through :func:`atomic_path`: the content is written to a hidden
temporary sibling of the destination (``.NAME.tmp-PID-XXXXXXXX.EXT``), which is renamed onto the
destination only once it is complete. A crash, an exception, Ctrl-C or SIGTERM (turned into an
exception by the command line) leaves either the old file or the new one, never half of one, and
no temporary; the temporary of a process killed outright (SIGKILL, power loss) is removed by the next
write into that folder once its process is gone. New files get mode ``0o666 & ~umask``, as a plain
``open()`` gives them; a replaced file keeps its mode. An error names the destination and the
operating system's reason (``out/eval.json: Read-only file system``), not the temporary.

This module imports nothing heavy; numpy and TensorFlow are imported by the functions that need them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "check_writable",
    "configured_backend",
    "filtered_stderr",
    "json_text",
    "process_gone",
    "quiet_tensorflow",
    "save_model_atomic",
    "save_npy_atomic",
    "save_npz_atomic",
    "sigterm_raises",
    "Terminated",
    "write_bytes_atomic",
    "write_file_set",
    "write_json",
    "write_text_atomic",
]


def _target_error(e: OSError, path: Path) -> OSError:
    """``e`` re-addressed to the destination ``path`` (same errno and reason, so the same subclass)."""
    if e.errno is None:
        return OSError(f"{path}: {e}")
    return OSError(e.errno, e.strerror or os.strerror(e.errno), str(path))


def _unlink_quietly(p: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(p)


def process_gone(pid: int) -> bool:
    """Whether process ``pid`` no longer runs on this machine: absent, or a zombie (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].startswith("Z")


# The temporaries _create_temp makes: .NAME.tmp-PID-XXXXXXXX.EXT
_TEMP_NAME = re.compile(r"^\..*\.tmp-(\d+)-[0-9a-f]{8}(\.[^.]*)?$")
_swept: set = set()  # folders whose stale temporaries this process has already removed


def _sweep_stale_temporaries(folder: Path) -> None:
    """Remove, once per process and folder, the temporaries in ``folder`` whose writing process is gone."""
    key = os.path.realpath(folder)
    if key in _swept:
        return
    _swept.add(key)
    try:
        entries = [e.name for e in os.scandir(folder) if e.name.startswith(".") and ".tmp-" in e.name]
    except OSError:
        return
    for name in entries:
        m = _TEMP_NAME.match(name)
        if m and int(m.group(1)) != os.getpid() and process_gone(int(m.group(1))):
            stale = Path(folder) / name
            if stale.is_dir() and not stale.is_symlink():  # a staging folder of write_file_set
                shutil.rmtree(stale, ignore_errors=True)
            else:
                _unlink_quietly(stale)


def _create_temp(path: Path, suffix: str) -> tuple[Path, int]:
    """A new empty hidden sibling of ``path``, created like ``open(..., "w")`` would (so the umask applies);
    its name carries this process's id, so that a later run can tell a dead writer's leftover."""
    _sweep_stale_temporaries(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            mode = os.fstat(fd).st_mode & 0o7777  # 0o666 & ~umask, as the kernel applied it
        finally:
            os.close(fd)
        return tmp, mode
    raise FileExistsError(f"{path}: could not create a temporary file beside it")


@contextlib.contextmanager
def atomic_path(path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; it is renamed onto ``path`` when the block succeeds.

    The temporary sits in ``path``'s folder (created if missing) with ``suffix`` (default: ``path``'s
    own extension, which writers such as numpy, Keras and soundfile look at). It exists, empty, with
    mode ``0o666 & ~umask`` when the block starts; before the rename it gets the mode of the file it
    replaces (a 0600 output stays 0600), or that mode for a new file. On any exception (including
    ``KeyboardInterrupt`` and ``SystemExit``) the temporary is removed and an existing ``path`` is
    left as it was. An ``OSError`` about the folder or the temporary is re-raised naming ``path``
    with the system's reason; other errors pass through unchanged.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, mode = _create_temp(path, path.suffix if suffix is None else suffix)
    except OSError as e:
        raise _target_error(e, path) from e
    try:
        yield tmp
        with contextlib.suppress(OSError):
            if os.path.isfile(path):
                mode = os.stat(path).st_mode & 0o7777  # the replaced file's mode is kept
        if os.stat(tmp).st_mode & 0o7777 != mode:  # a replaced file's mode, or a writer replaced our temporary
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        if e.filename in (None, str(tmp), os.fspath(tmp)):
            raise _target_error(e, path) from e
        raise
    except BaseException:
        _unlink_quietly(tmp)
        raise


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return path


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``."""
    return write_bytes_atomic(path, text.encode(encoding))


def write_file_set(folder, files: dict, *, manifest: str) -> list[Path]:
    """Write ``files`` (file name -> bytes) into ``folder`` so that they appear together or not at all.

    Every file is first written to a hidden staging folder beside them (``.MANIFEST.tmp-PID-XXXXXXXX``;
    a full disk fails there, and the set already in ``folder`` is left whole). Then the old ``manifest``
    is removed, the other files are renamed into place, and ``manifest`` (one of ``files``: the file
    that describes the others, e.g. a model's JSON sidecar) is renamed last. A process killed part-way
    leaves the old set, or new files with no manifest (an incomplete set: readers require the manifest),
    never a manifest beside files it does not describe; the next write into ``folder`` removes the
    staging folder of a dead process. Modes follow :func:`atomic_path`. Returns the paths, in ``files``' order.
    """
    folder = Path(folder)
    if manifest not in files:
        raise ValueError(f"write_file_set: the manifest {manifest!r} is not among the files")
    if any(Path(n).name != n or n.startswith(".") for n in files):
        raise ValueError(f"write_file_set: plain file names only, got {sorted(files)}")
    target = folder / manifest
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _sweep_stale_temporaries(folder)
        for _ in range(100):
            staging = folder / f".{Path(manifest).stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                staging.mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"{target}: could not create a staging folder beside it")
    except OSError as e:
        raise _target_error(e, target) from e
    try:
        for name, data in files.items():
            path = folder / name
            try:
                with atomic_path(staging / name) as tmp, open(tmp, "wb") as f:
                    f.write(data)
                with contextlib.suppress(OSError):
                    if os.path.isfile(path):
                        os.chmod(staging / name, os.stat(path).st_mode & 0o7777)  # a replaced file keeps its mode
            except OSError as e:
                raise _target_error(e, path) from e
        try:
            _unlink_quietly(target)  # from here on the set in ``folder`` is incomplete until the manifest lands
            for name in [n for n in files if n != manifest] + [manifest]:
                os.replace(staging / name, folder / name)
        except OSError as e:
            raise _target_error(e, folder / name) from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / n for n in files]


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and callable(obj.tolist) and getattr(obj, "ndim", 0) > 0:  # numpy arrays
        return _jsonable(obj.tolist())
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj, *, indent: int = 2, sort_keys: bool = False) -> str:
    """``obj`` as strict JSON text ending in a newline: numpy scalars and arrays become numbers and lists, paths
    strings, every non-finite number (NaN, infinities) ``null``; any other object its ``str``."""
    return json.dumps(_jsonable(obj), indent=indent, sort_keys=sort_keys, allow_nan=False, default=str) + "\n"


def write_json(path, obj, *, indent: int = 2, sort_keys: bool = False) -> Path:
    """Write ``obj`` as JSON (:func:`json_text`: strict JSON, non-finite numbers ``null``) to ``path`` atomically;
    returns ``path``. The package's one JSON writer."""
    return write_text_atomic(path, json_text(obj, indent=indent, sort_keys=sort_keys))


def save_npy_atomic(path, array) -> Path:
    """``numpy.save`` of ``array`` to ``path`` (kept as named, no ``.npy`` appended), atomically."""
    import numpy as np

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    return path


def save_npz_atomic(path, **arrays) -> Path:
    """``numpy.savez`` of ``arrays`` to ``path`` (kept as named, no ``.npz`` appended), atomically."""
    import numpy as np

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def save_model_atomic(model, path) -> Path:
    """``model.save`` to a temporary ``.keras`` file beside ``path``, renamed onto it when complete."""
    path = Path(path)
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def check_writable(path) -> Path:
    """Check, before any work, that a file can be written at ``path`` (atomically, by :func:`atomic_path`).

    The nearest existing folder on the way to ``path`` must be a writable folder (missing folders
    below it would be created). Nothing is left behind. Raises ``OSError`` naming ``path`` with the
    system's reason (e.g. ``Read-only file system``, ``Permission denied``, ``Not a directory``),
    ``IsADirectoryError`` when ``path`` is a folder. Returns ``path``.
    """
    import errno

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file path", str(path))
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a folder", str(path))
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise _target_error(e, path) from e
    return path


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread (by :func:`sigterm_raises`) so that every writer's cleanup runs, as for
    Ctrl-C; entry points report it in one line with exit status 143."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """For the block, SIGTERM raises :class:`Terminated` in the main thread (a second one is ignored, so it cannot
    cut the cleanup short); elsewhere, or off the main thread, nothing changes."""
    import signal
    import threading

    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def configured_backend() -> str:
    """The Keras backend Keras will load, found without importing Keras: ``$KERAS_BACKEND``, else
    the ``backend`` of ``keras.json`` (``$KERAS_HOME`` or ``~/.keras``), else ``"tensorflow"``."""
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name.strip().lower()
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
            return str(json.load(f).get("backend", "tensorflow")).lower()
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def quiet_tensorflow(verbose: bool = False, *, init_runtime: bool = False) -> None:
    """Import TensorFlow and Keras for a command-line entry point, without their start-up log lines.

    Call it before anything imports TensorFlow. Unless ``verbose``: ``TF_CPP_MIN_LOG_LEVEL`` defaults
    to 2 (warnings and errors from the C++ runtime only); the lines the runtime writes while loading
    and probing devices (``cudart_stub``, ``failed call to cuInit``, the oneDNN and CPU-instruction
    notices), which no environment variable silences, are captured and dropped (and printed if the
    import fails); absl and the ``tensorflow`` Python logger show errors only. With ``verbose``
    nothing is hidden. ``init_runtime`` also creates the runtime's devices while the lines are
    captured (what a GPU logs at its first use), for entry points that configure no devices or
    distribution strategies afterwards, such as the command line. A library import of
    ``keras_audiosr`` never does any of this.
    """
    if verbose:
        import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        with _stderr_captured() as captured:
            try:
                import keras  # noqa: F401
                import tensorflow as tf

                tf.config.list_physical_devices()  # device probing logs its lines now, while captured
                if init_runtime:
                    tf.config.list_logical_devices()  # creates the devices (and logs their lines) now
            except BaseException:
                captured.replay()
                raise
    import logging

    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


@contextlib.contextmanager
def quiet_native_stderr(verbose: bool = False) -> Iterator[None]:
    """Drop what native libraries write to stderr (file descriptor 2) during the block, e.g. LiteRT's
    "Created TensorFlow Lite XNNPACK delegate" line; replayed if the block raises. ``verbose``: hide nothing."""
    if verbose:
        yield
        return
    with _stderr_captured() as captured:
        try:
            yield
        except BaseException:
            captured.replay()
            raise


# What TensorFlow, absl and LiteRT write at start-up and on first use, line by line, that says nothing to a user:
# glog-style INFO/WARNING records (I1206 12:00:00.0 ... oneDNN custom operations are on, cpu_feature_guard), the
# E-level records every CPU-only machine gets (no CUDA driver: cuInit; cuDNN/cuFFT/cuBLAS factories; an unknown
# NodeDef attribute), the CPU-instructions advice, absl's banner and Python-side warnings, the converter's settings
# dump, LiteRT's delegate notice. Anything else, errors included, passes.
NATIVE_NOISE = re.compile(
    r"^(?:[IW]\d{4} |WARNING: All log messages before absl::InitializeLog|WARNING:absl:|fully_quantize: |"
    r"INFO: Created TensorFlow Lite .*delegate|To enable the following instructions: |"
    r"E\d{4} .*(?:cuInit|cuda_|Unable to register cu|node_def_util\.cc))"
)


@contextlib.contextmanager
def filtered_stderr(verbose: bool = False, noise: re.Pattern = NATIVE_NOISE) -> Iterator[None]:
    """For the block, every line written to file descriptor 2 (Python and native code alike, child processes
    included) that matches ``noise`` is dropped; the rest reaches the terminal as it is written (a progress
    bar's ``\r`` updates too). For command-line entry points, around the whole command, so that TensorFlow's
    and LiteRT's start-up lines stay hidden whenever they come. ``verbose``: hide nothing.
    """
    if verbose or os.name == "nt":  # (select() cannot wait on a pipe on Windows: nothing is hidden there)
        yield
        return
    import select
    import threading

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a detached process)
        yield
        return
    read_end, write_end = os.pipe()
    record = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")

    def forward(data: bytes) -> None:
        with contextlib.suppress(OSError):  # the terminal went away, or a straggling child outlived the block
            while data:
                data = data[os.write(saved, data) :]

    def pump() -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([read_end], [], [], 0.05)
            if ready:
                chunk = os.read(read_end, 65536)
                if not chunk:
                    break
                pending += chunk
                end = 0
                for m in record.finditer(pending):
                    if not noise.match(m.group().decode("utf-8", "replace")):
                        forward(m.group())
                    end = m.end()
                pending = pending[end:]
            elif pending and not noise.match(pending.decode("utf-8", "replace")):
                forward(pending)  # a partial line that has waited: a prompt or a progress bar
                pending = b""
        if pending and not noise.match(pending.decode("utf-8", "replace")):
            forward(pending)
        os.close(read_end)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)  # closes our last write end: the pump sees the end (unless a child still holds one)
        thread.join(timeout=2.0)
        if not thread.is_alive():  # else a child still writes: keep the descriptor, or its number could be reused
            os.close(saved)


class _Capture:
    def __init__(self, file, saved_fd: int):
        self.file, self.saved_fd = file, saved_fd

    def replay(self) -> None:
        self.file.seek(0)
        text = self.file.read()
        if text:
            os.write(self.saved_fd, text)


@contextlib.contextmanager
def _stderr_captured() -> Iterator[_Capture]:
    """Redirect file descriptor 2 (where C++ libraries log) to a temporary file for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield _Capture(f, saved)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
