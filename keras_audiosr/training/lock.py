"""One process at a time in a run folder: :class:`RunLock` on ``OUT/.lock``.

Two trainings on the same ``--out`` would mix ``config.json``, ``model.keras``, ``train_log.csv``
and ``backup/``. The run holds an exclusive ``fcntl.flock`` on ``OUT/.lock`` for its whole life; the
file says who holds it (pid, host, start time, command), so a second run fails at once with one
line naming the holder. The kernel drops the lock when its process dies however it dies, so the
lock of a killed run (the file left behind) is simply taken over by the next one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

__all__ = ["LOCK_FILE", "RunLock", "RunLockError"]

LOCK_FILE = ".lock"


class RunLockError(RuntimeError):
    """Another live process holds the run folder's lock."""


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}: {info.get('command')}"
    except (OSError, ValueError, AttributeError):
        return "a process that has not yet written its details"


class RunLock:
    """An exclusive lock on ``folder`` (``folder/.lock``): ``with RunLock(out): ...`` or ``acquire`` / ``release``.

    ``acquire`` creates the folder when missing and raises :class:`RunLockError` naming the holder
    when another live process holds the lock; the lock file of a dead process is taken over
    (``took_over`` then names it). ``release`` removes the file, and the folder when the lock made
    it and nothing else was written into it.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.fd = None
        self.took_over = None
        self._made_folder = False

    def acquire(self) -> RunLock:
        import fcntl

        if self.fd is not None:
            return self
        if not self.folder.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._made_folder = True
        for _ in range(100):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise RunLockError(
                    f"{self.folder} is in use by another run ({_holder_text(self.path)}); wait for it "
                    f"to finish or choose another --out"
                ) from None
            try:  # the holder may have removed the file just before we locked it: lock the new one
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = os.read(fd, 65536)
            if previous.strip():
                self.took_over = _holder_text(self.path)
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
            self.fd = fd
            return self
        raise RunLockError(f"{self.path}: could not lock it (it keeps being replaced)")

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still locked, so no other process holds a lock on a removed file
        os.close(self.fd)
        self.fd = None
        if self._made_folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty: the run wrote nothing

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
