"""The prepared signal store: every training file once, as its high-rate reference signal, on disk.

Preparation (:func:`prepare_store`) reads each audio file, mixes it to mono (``channels="mix"``) or
keeps its channels (``"separate"``: each channel later serves as its own signal), resamples it to
``hr_rate`` and writes it as a float16 ``.npy`` array ``[channels, time]`` (float16 keeps 11
significant bits at any level, about -70 dB relative error, and needs no clipping of resampler
overshoot). Reading memory-maps those arrays, so a training process holds only the pages it
touches, whatever the corpus size.

Layout under ``cache_dir`` (default ``default_cache_dir()``)::

    store-v<FORMAT>/<hr_rate>hz-<channels>/
        arrays/<kk>/<key>.npy      one per file, key = SHA-1 of (format, hr_rate, channels,
                                   absolute path, size, mtime_ns): a changed file gets a new key
        journal.jsonl              one line per finished (or skipped) file: its key, rate, length
        indexes/<list key>.json    the index of one list of files (paths, corpus, speakers,
                                   lengths, original rates, skipped files), written when complete

A file's array is written to a temporary name and renamed when complete, then journalled, so a
killed preparation leaves only whole arrays and continues where it stopped; arrays are shared by
every file list (split, corpus mix) that contains the file. A second call with the same files
finds the index and only loads it. Links count as separate files (the key uses the absolute path,
not the link target), so a corpus made of links is prepared file by file.

Files below ``hr_rate`` lack the band the model must learn: they are skipped with one warning line
naming them; if nothing is left, it is an error.
"""

from __future__ import annotations

import collections
import errno
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from keras_audiosr.audio import read_audio, resample
from keras_audiosr.utils import process_gone

__all__ = [
    "STORE_FORMAT",
    "CHANNEL_MODES",
    "StoredFile",
    "SignalStore",
    "array_intact",
    "prepare_store",
    "default_cache_dir",
]

STORE_FORMAT = 1
CHANNEL_MODES = ("mix", "separate")
_PREFIX = "[keras_audiosr]"


def default_cache_dir() -> Path:
    """``$KERAS_AUDIOSR_CACHE`` if set, else ``~/.cache/keras_audiosr`` (not created here)."""
    env = os.environ.get("KERAS_AUDIOSR_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "keras_audiosr"


@dataclass(frozen=True)
class StoredFile:
    """One prepared file: where it came from (``path``, ``corpus``, ``speaker``, ``utt_id``), its
    array (``array``, relative to the store root), its length in high-rate samples, its channel
    count as stored and its original sample ``rate``."""

    path: str
    corpus: str
    speaker: str
    utt_id: str
    array: str
    length: int
    channels: int
    rate: int


def _log(msg: str, stream=None) -> None:
    print(f"{_PREFIX} {msg}", file=stream or sys.stdout, flush=True)


class _Progress:
    """One tqdm bar on a terminal; otherwise a log line at every 10 % (never ``\\r`` updates in a log)."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.desc, self.done = total, desc, 0
        self.bar = None
        self.next_pct = 10
        self.start = time.monotonic()
        self.enabled = enabled and total > 0
        if self.enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="file", dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        pct = 100 * self.done // self.total
        if pct >= self.next_pct:
            _log(f"{self.desc}: {self.done}/{self.total} files ({pct}%, {time.monotonic() - self.start:.0f} s)")
            self.next_pct = (pct // 10 + 1) * 10

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _file_key(path: Path, hr_rate: int, channels: str) -> str:
    st = path.stat()
    ident = {
        "format": STORE_FORMAT,
        "hr_rate": hr_rate,
        "channels": channels,
        "path": os.path.abspath(path),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    return hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def _array_rel(key: str) -> str:
    return f"arrays/{key[:2]}/{key}.npy"


def _append_line(path: Path, record: dict) -> None:
    """Append one JSON line with a single ``write`` (atomic for concurrent appenders on a local disk)."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _read_journal(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if not path.is_file():
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
                out[rec["key"]] = rec
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill: that file is simply prepared again
    return out


def _prepare_file(path: str, key: str, root: str, hr_rate: int, channels: str) -> dict:
    """Read, mix or split, resample and store one file; journal it. Runs in a worker process."""
    data, rate = read_audio(path, mix_down=channels == "mix")
    if rate < hr_rate:
        rec = {"key": key, "status": "skipped", "rate": int(rate)}
    else:
        if rate != hr_rate:
            data = resample(data, rate, hr_rate, axis=0)
        arr = np.ascontiguousarray(data.T, dtype=np.float16)
        out = Path(root) / _array_rel(key)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{key}.{os.getpid()}.tmp.npy")
        try:
            with open(tmp, "wb") as f:
                np.save(f, arr, allow_pickle=False)
            os.replace(tmp, out)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            if e.errno is None and _free_bytes(out.parent) < arr.nbytes + 4096:  # numpy's short write on a full disk
                raise OSError(errno.ENOSPC, "No space left on device", str(out)) from e
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        rec = {
            "key": key,
            "status": "ok",
            "rate": int(rate),
            "length": int(arr.shape[1]),
            "channels": int(arr.shape[0]),
        }
    _append_line(Path(root) / "journal.jsonl", rec)
    return rec


def _free_bytes(folder) -> int:
    import shutil

    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62


def _worker(task):
    path, key, root, hr_rate, channels = task
    try:
        return _prepare_file(path, key, root, hr_rate, channels)
    except OSError as e:
        if e.errno == errno.ENOSPC or "No space left on device" in str(e):  # the store's disk, not the source file
            return {
                "key": key,
                "status": "nospace",
                "error": str(e),
                "path": path,
                "where": str(Path(root) / _array_rel(key)),
            }
        return {"key": key, "status": "error", "error": f"{type(e).__name__}: {e}", "path": path}
    except Exception as e:  # reported by the parent with the file named
        return {"key": key, "status": "error", "error": f"{type(e).__name__}: {e}", "path": path}


class _DeferredSignals:
    """From creation to :meth:`release`, SIGINT and SIGTERM are only recorded; ``release`` restores the handlers
    and raises the recorded signals again, so that their handlers run in ordinary code (main thread only)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.got, self.previous = [], {}
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, lambda signum, frame: self.got.append(signum)) for s in self.SIGNALS}

    def release(self) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        self.previous = {}
        for s in dict.fromkeys(self.got):
            signal.raise_signal(s)
        self.got = []


def _worker_init():
    """Pool workers leave Ctrl-C to the parent (which stops the pool) and die with it: no tracebacks from them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:  # Linux: SIGKILL this worker when its parent dies (a killed preparation leaves no orphans)
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def array_intact(path, channels: int | None = None, length: int | None = None) -> bool:
    """Whether the ``.npy`` array at ``path`` is whole: its header reads, and the file is exactly as long as the
    header's shape says (and that shape is ``(channels, length)`` when given). Reads the header only: cheap
    enough for every file of a corpus each time a store is opened."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
        size = os.stat(path).st_size
    except (OSError, ValueError, EOFError):
        return False
    if channels is not None and length is not None and tuple(shape) != (int(channels), int(length)):
        return False
    return size == offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def _clean_stale_temporaries(root: Path) -> None:
    """Remove ``.<key>.<pid>.tmp.npy`` files whose writer process is gone (a killed preparation)."""
    arrays = root / "arrays"
    if not arrays.is_dir():
        return
    for tmp in arrays.glob("*/.*.tmp.npy"):
        try:
            pid = int(tmp.name.split(".")[2])
        except (ValueError, IndexError):
            continue
        if process_gone(pid):
            tmp.unlink(missing_ok=True)


class SignalStore:
    """A prepared store: the index of one list of files and memory-mapped access to their signals.

    ``files`` are the prepared :class:`StoredFile` entries in the order given to
    :func:`prepare_store` (skipped files left out); ``skipped`` lists ``{"path", "rate", "reason"}``.
    :meth:`signal` returns a file's ``[channels, time]`` float16 :class:`numpy.memmap` (a bounded
    number stay open); :meth:`read` copies one window of one channel as float32.
    """

    def __init__(
        self,
        root,
        index_path,
        hr_rate: int,
        channels: str,
        files: Sequence[StoredFile],
        skipped=(),
        from_cache: bool = False,
        max_open: int = 64,
    ):
        self.root = Path(root)
        self.index_path = Path(index_path)
        self.hr_rate = int(hr_rate)
        self.channels = channels
        self.files = list(files)
        self.skipped = list(skipped)
        self.from_cache = from_cache
        self.max_open = int(max_open)
        self._open: collections.OrderedDict[int, np.memmap] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.files)

    def __getstate__(self):  # picklable (for worker processes): without open maps or the lock
        state = dict(self.__dict__)
        state["_open"] = collections.OrderedDict()
        state.pop("_lock")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def lengths(self) -> np.ndarray:
        return np.array([f.length for f in self.files], np.int64)

    @property
    def seconds(self) -> float:
        """Total duration (all channels of a ``separate`` store count) in seconds."""
        return float(sum(f.length * f.channels for f in self.files)) / self.hr_rate

    def disk_bytes(self) -> int:
        """Bytes of this store's arrays on disk (shared arrays counted once per store)."""
        return sum((self.root / f.array).stat().st_size for f in self.files)

    def signal(self, i: int) -> np.memmap:
        """File ``i``'s ``[channels, time]`` float16 array, memory-mapped read-only."""
        with self._lock:
            mm = self._open.get(i)
            if mm is not None:
                self._open.move_to_end(i)
                return mm
        path = self.root / self.files[i].array
        try:
            mm = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise OSError(
                f"prepared store {self.root}: array {path} of {self.files[i].path} is missing or "
                f"unreadable ({e}); prepare the store again"
            ) from e
        with self._lock:
            self._open[i] = mm
            while len(self._open) > self.max_open:
                self._open.popitem(last=False)
        return mm

    def read(self, i: int, channel: int, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of channel ``channel`` of file ``i`` as float32 (a copy)."""
        return np.asarray(self.signal(i)[channel, start:stop], dtype=np.float32)

    def summary(self) -> dict:
        """JSON-ready facts for run logs: counts, hours, rates, channel mode, index path."""
        rates = collections.Counter(f.rate for f in self.files)
        return {
            "format": STORE_FORMAT,
            "index": str(self.index_path),
            "hr_rate": self.hr_rate,
            "channels": self.channels,
            "files": len(self.files),
            "hours": round(self.seconds / 3600, 3),
            "source_rates": {str(k): v for k, v in sorted(rates.items())},
            "skipped": [dict(s) for s in self.skipped],
            "from_cache": self.from_cache,
        }

    @classmethod
    def load(cls, index_path, max_open: int = 64) -> SignalStore:
        """Open a store from its index file (written by :func:`prepare_store`)."""
        index_path = Path(index_path)
        with open(index_path, encoding="utf-8") as f:
            idx = json.load(f)
        if idx.get("format") != STORE_FORMAT:
            raise ValueError(f"{index_path}: store format {idx.get('format')!r}, this version reads {STORE_FORMAT}")
        return cls(
            index_path.parent.parent,
            index_path,
            idx["hr_rate"],
            idx["channels"],
            [StoredFile(**f) for f in idx["files"]],
            idx.get("skipped", []),
            from_cache=True,
            max_open=max_open,
        )


def _index_dict(hr_rate, channels, files, skipped) -> dict:
    return {
        "format": STORE_FORMAT,
        "hr_rate": hr_rate,
        "channels": channels,
        "files": [asdict(f) for f in files],
        "skipped": list(skipped),
    }


def _short(items: Sequence[str], n: int = 5) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f", ... ({len(items)} in all)" if len(items) > n else "")


def prepare_store(
    utts,
    hr_rate: int,
    *,
    channels: str = "mix",
    corpora=None,
    cache_dir=None,
    workers: int | None = None,
    progress: bool = True,
) -> SignalStore:
    """Prepare (or load) the store of ``utts`` at ``hr_rate`` (see the module docstring).

    ``utts`` are :class:`~keras_audiosr.data.Utterance` objects (or paths); ``corpora`` is one
    corpus name for all, or one per utterance (recorded in the index). ``workers`` processes
    prepare files in parallel (default: the CPUs this process may use; 1 = in this process).
    ``progress``: one tqdm bar on a terminal, else a log line per 10 %; False is silent.
    Raises :class:`~keras_audiosr.audio.AudioError` naming an unreadable file (the files prepared
    so far are kept) and ValueError when no file reaches ``hr_rate``.
    """
    from keras_audiosr.data.corpus import Utterance

    if channels not in CHANNEL_MODES:
        raise ValueError(f"unknown channels mode {channels!r}; valid: {', '.join(CHANNEL_MODES)}")
    if isinstance(hr_rate, bool) or int(hr_rate) != hr_rate or hr_rate < 1:
        raise ValueError(f"hr_rate must be a positive integer, got {hr_rate!r}")
    hr_rate = int(hr_rate)
    utts = [u if isinstance(u, Utterance) else Utterance(Path(u), Path(u).parent.name, Path(u).stem) for u in utts]
    if not utts:
        raise ValueError("prepare_store: no files given")
    if corpora is None or isinstance(corpora, str):
        corpora = [corpora or ""] * len(utts)
    corpora = [str(c) for c in corpora]
    if len(corpora) != len(utts):
        raise ValueError(f"prepare_store: {len(corpora)} corpus names for {len(utts)} files")
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    root = root / f"store-v{STORE_FORMAT}" / f"{hr_rate}hz-{channels}"
    keys = []
    for u in utts:
        try:
            keys.append(_file_key(Path(u.path), hr_rate, channels))
        except FileNotFoundError:
            raise FileNotFoundError(f"{u.path}: file not found (listed in the corpus but gone)") from None
    listing = hashlib.sha1(
        json.dumps([[k, c, u.speaker, u.utt_id] for k, c, u in zip(keys, corpora, utts)]).encode()
    ).hexdigest()
    index_path = root / "indexes" / f"{listing}.json"
    if index_path.is_file():
        try:
            store = SignalStore.load(index_path)
            damaged = [f for f in store.files if not array_intact(root / f.array, f.channels, f.length)]
            if not damaged:
                return store
            for f in damaged:  # cut short or overwritten on disk: prepared again below, the rest reused
                (root / f.array).unlink(missing_ok=True)
            _log(
                f"warning: {len(damaged)} prepared array(s) of {root} are damaged or missing "
                f"({_short([f.path for f in damaged])}); preparing them again",
                sys.stderr,
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged or foreign index: prepare again (finished arrays are reused)

    root.mkdir(parents=True, exist_ok=True)
    _clean_stale_temporaries(root)
    journal = _read_journal(root / "journal.jsonl")

    def done(key):
        rec = journal.get(key)
        if rec is None or rec["status"] == "skipped":
            return rec is not None
        if array_intact(root / _array_rel(key), rec.get("channels"), rec.get("length")):
            return True
        (root / _array_rel(key)).unlink(missing_ok=True)  # damaged: prepared again
        return False

    pending = [(str(u.path), k, str(root), hr_rate, channels) for u, k in zip(utts, keys) if not done(k)]
    if pending and progress:
        _log(f"preparing {len(pending)} of {len(utts)} files at {hr_rate} Hz ({channels}) into {root}")
    bar = _Progress(len(pending), "preparing", bool(progress))
    workers = len(os.sched_getaffinity(0)) if workers is None else max(1, int(workers))
    try:
        if workers == 1 or len(pending) <= 1:
            results = (_worker(t) for t in pending)
            _collect(results, journal, bar)
        else:
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            # Ctrl-C / SIGTERM while the workers are forked are held and raised inside the block (which stops the
            # pool): Python drops an exception raised by a handler that runs in its after-fork hooks.
            deferred = _DeferredSignals()
            try:
                pool = ctx.Pool(min(workers, len(pending)), initializer=_worker_init)
            except BaseException:
                deferred.release()
                raise
            with pool:
                deferred.release()
                chunksize = max(1, min(16, len(pending) // (8 * workers)))
                _collect(pool.imap_unordered(_worker, pending, chunksize=chunksize), journal, bar)
    finally:
        bar.close()

    files, skipped = [], []
    for u, k, corpus in zip(utts, keys, corpora):
        rec = journal[k]
        if rec["status"] == "skipped":
            skipped.append(
                {
                    "path": str(u.path),
                    "rate": rec["rate"],
                    "reason": f"{rec['rate']} Hz is below the high rate {hr_rate} Hz",
                }
            )
            continue
        files.append(
            StoredFile(
                path=str(u.path),
                corpus=corpus,
                speaker=u.speaker,
                utt_id=u.utt_id,
                array=_array_rel(k),
                length=rec["length"],
                channels=rec["channels"],
                rate=rec["rate"],
            )
        )
    if skipped:
        names = _short([f"{s['path']} ({s['rate']} Hz)" for s in skipped])
        _log(f"warning: skipped {len(skipped)} file(s) below {hr_rate} Hz: {names}", sys.stderr)
    if not files:
        raise ValueError(
            f"prepare_store: none of the {len(utts)} files reaches the high rate {hr_rate} Hz "
            f"({_short([s['path'] + ' (' + str(s['rate']) + ' Hz)' for s in skipped])}); "
            f"lower hr_rate or use higher-rate recordings"
        )
    from keras_audiosr.utils import write_json

    write_json(index_path, _index_dict(hr_rate, channels, files, skipped))
    store = SignalStore(root, index_path, hr_rate, channels, files, skipped, from_cache=not pending)
    if pending and progress:
        _log(f"prepared {len(files)} files, {store.seconds / 3600:.2f} hours at {hr_rate} Hz: {index_path}")
    return store


def _collect(results, journal: dict, bar: _Progress) -> None:
    for rec in results:
        if rec["status"] == "nospace":
            raise OSError(
                errno.ENOSPC,
                "No space left on device (preparing the training data; the files prepared so far are kept)",
                rec["where"],
            )
        if rec["status"] == "error":
            from keras_audiosr.audio import AudioError

            what = rec["error"].split(": ", 1)[1] if rec["error"].startswith("AudioError: ") else rec["error"]
            if not what.startswith(rec["path"]):
                what = f"{rec['path']}: cannot prepare ({what})"
            raise AudioError(f"{what}; fix or remove the file and run again (the files prepared so far are kept)")
        journal[rec["key"]] = rec
        bar.update()
