"""Callbacks the recipes share, and the run state that makes training resumable at every kill point.

A run folder holds ``train_state.json`` (:class:`TrainState`, rewritten atomically after every
epoch) and ``backup/`` (the newest two full training states, written by :class:`ResumableBackup`).
A state file is either the old one or the new one, and it names only weight files that were
completely written and renamed into place before it, so a kill at any instant leaves a
consistent pair to resume from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import keras

from keras_audiosr.utils import atomic_path, write_json

STATE_FILE = "train_state.json"
BACKUP_DIR = "backup"
CHECKPOINT = "checkpoints/last.weights.h5"


def _weights_bytes(model) -> int:
    """Bytes of the model's and its optimizer's variables (what a weights file about holds)."""
    variables = list(model.weights) + list(getattr(getattr(model, "optimizer", None), "variables", None) or [])
    total = 0
    for v in variables:
        size = 8  # float64 at most
        for d in v.shape:
            size *= int(d or 1)
        total += size
    return total


def check_space(path, nbytes: int) -> None:
    """Raises ``OSError(ENOSPC)`` naming ``path`` when its file system has less than ``nbytes`` plus 1 MiB free.

    Checked before every weights write: h5py may crash the process on a full disk instead of raising."""
    import errno
    import shutil

    folder = Path(path).parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < int(nbytes) + (1 << 20):
        raise OSError(
            errno.ENOSPC, f"No space left on device ({free:,} bytes free, about {int(nbytes):,} needed)", str(path)
        )


def save_weights_atomic(model, path) -> Path:
    """``model.save_weights`` to ``path`` atomically: a temporary file in the same folder, flushed to disk and
    renamed, so a kill during the write keeps the previous file whole (and leaves no half file at ``path``)."""
    path = Path(path)
    check_space(path, 2 * _weights_bytes(model))
    with atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp, overwrite=True)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    return path


class LastWeights(keras.callbacks.Callback):
    """Writes the weights to ``path`` (``checkpoints/last.weights.h5``) after every epoch with
    :func:`save_weights_atomic`; temporaries of a killed write are removed at the start."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_train_begin(self, logs=None):
        for stray in self.path.parent.glob(f".{self.path.stem}.tmp-*"):
            stray.unlink(missing_ok=True)  # the run holds its folder's lock: no other writer is alive

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomic(self.model, self.path)


def readable_weights(path) -> bool:
    """Whether the HDF5 weights file at ``path`` opens and every dataset in it reads (a cheap check before resuming)."""
    try:
        import h5py

        def read(name, obj):
            if isinstance(obj, h5py.Dataset):
                obj[()]

        with h5py.File(path, "r") as f:
            f.visititems(read)
        return True
    except Exception:  # h5py raises many types for a damaged file
        return False


class BackupError(RuntimeError):
    """A run's backup cannot be used to resume (both saved states unreadable, or an unreadable state file)."""


@dataclass
class TrainState:
    """What a run folder says about its training, summed over every process that trained it.

    Attributes:
        status: ``"training"`` (resumable from ``backup``) or ``"trained"`` (``model.keras`` is final).
        epochs: Finished epochs; the next process starts at this epoch.
        train_seconds: Training time of all processes together (an epoch cut short by a kill is not counted).
        stopped_by_time_budget: Whether ``--max-minutes`` ended training.
        runs: How many processes have trained this run.
        backup: ``{"current": {"epoch", "file"}, "previous": {...}}``: weight files in ``backup/``.
    """

    status: str = "training"
    epochs: int = 0
    train_seconds: float = 0.0
    stopped_by_time_budget: bool = False
    runs: int = 0
    backup: dict = field(default_factory=dict)

    @property
    def trained(self):
        return self.status == "trained"

    @classmethod
    def read(cls, folder):
        """The state in ``folder`` (a fresh one when there is none); a damaged file raises BackupError."""
        path = Path(folder) / STATE_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})
        except (ValueError, TypeError, OSError) as err:
            raise BackupError(
                f"{path}: unreadable run state ({err}); delete it and {BACKUP_DIR}/ to train again"
            ) from err

    def write(self, folder):
        write_json(Path(folder) / STATE_FILE, dataclasses.asdict(self))


class ResumableBackup(keras.callbacks.Callback):
    """Backs up the full training state (weights, optimizer, epoch) after each epoch and resumes from it.

    Unlike ``keras.callbacks.BackupAndRestore``, no file is ever overwritten in place: the weights go
    to a temporary file that is flushed to disk and renamed to ``backup/epoch-NNNNNN.weights.h5``, and
    only then does the state file (atomic) point at it. The previous epoch's file is kept too, so a
    newest file damaged afterwards (by a disk error or by hand) falls back to the one before it.
    ``on_train_begin`` restores the newest readable state and sets the epoch ``fit`` continues at.

    ``write=False`` (non-chief multi-worker replicas) restores but never writes. ``prior`` is the
    :class:`TrainState` read before ``fit``; :attr:`state` is the one after.
    """

    def __init__(self, folder, prior=None, write=True):
        super().__init__()
        self.folder = Path(folder)
        self.backup_dir = self.folder / BACKUP_DIR
        self.state = dataclasses.replace(prior) if prior is not None else TrainState.read(folder)
        self.write = write

    @staticmethod
    def resume_entry(folder, state):
        """The backup entry (``{"epoch", "file"}``) a new process will resume from: the newest whose file reads
        (:func:`readable_weights`), else None. Known before ``fit`` so that the log is trimmed and the example
        stream continued at that epoch, not at a newer one that turns out damaged."""
        for key in ("current", "previous"):
            entry = state.backup.get(key)
            if entry and readable_weights(Path(folder) / BACKUP_DIR / entry["file"]):
                return entry
        return None

    def _build_optimizer(self):
        """Creates the optimizer's variables so that ``load_weights`` restores them (as BackupAndRestore does)."""
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and not opt.built:
            strategy = getattr(self.model, "distribute_strategy", None)  # TensorFlow only
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                opt.build(self.model.trainable_variables)

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        self._seconds_before = self.state.train_seconds
        self.state.runs += 1
        entries = [self.state.backup.get(k) for k in ("current", "previous")]
        entries = [e for e in entries if e]
        if self.write:
            self._remove_strays(keep={e["file"] for e in entries})
        if not entries:
            return
        self._build_optimizer()
        errors = []
        for entry in entries:
            path = self.backup_dir / entry["file"]
            try:
                self.model.load_weights(path)
            except Exception as err:  # h5py and Keras raise many types for a damaged file
                errors.append(f"{path}: {type(err).__name__}: {err}")
                warnings.warn(
                    f"cannot restore the backup {path} ({type(err).__name__}); trying an older one", stacklevel=2
                )
                continue
            self.model._initial_epoch = int(entry["epoch"])
            self.state.epochs = int(entry["epoch"])
            print(f"[keras_audiosr] resuming at epoch {self.state.epochs + 1} from {path}")
            return
        raise BackupError(
            f"no readable backup in {self.backup_dir} ({'; '.join(errors)}); "
            f"delete {self.backup_dir} and {self.folder / STATE_FILE} to train again"
        )

    def _remove_strays(self, keep):
        """Deletes what a killed process left in ``backup/``: temporary files and states no longer referenced."""
        if self.backup_dir.is_dir():
            for p in self.backup_dir.iterdir():
                if p.name not in keep and p.is_file():
                    p.unlink()

    def elapsed(self):
        return self._seconds_before + time.monotonic() - self._start

    def on_epoch_end(self, epoch, logs=None):
        self.state.epochs = epoch + 1
        if not self.write:
            return
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        current, previous = self.state.backup.get("current"), self.state.backup.get("previous")
        if previous:  # keep at most two states on disk: drop the older one before writing the next
            self.state.backup = {"current": current}
            self.state.write(self.folder)
            (self.backup_dir / previous["file"]).unlink(missing_ok=True)
        tmp = self.backup_dir / f".tmp-{os.getpid()}.weights.h5"
        check_space(tmp, 2 * _weights_bytes(self.model))
        try:
            self.model.save_weights(tmp, overwrite=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        name = f"epoch-{epoch + 1:06d}.weights.h5"
        os.replace(tmp, self.backup_dir / name)
        self.state.backup = {
            "current": {"epoch": epoch + 1, "file": name},
            **({"previous": current} if current else {}),
        }
        self.state.train_seconds = round(self.elapsed(), 3)
        self.state.write(self.folder)


class TimeBudget(keras.callbacks.Callback):
    """Stops training once ``minutes`` of training time have passed (checked after each batch).

    Lets a recipe promise "at most N minutes on this machine" whatever the machine's speed.
    ``spent_seconds`` is what earlier processes of the same run used, so a resumed run keeps to
    the same total.
    """

    def __init__(self, minutes, spent_seconds=0.0):
        super().__init__()
        self.minutes = float(minutes)
        self.spent_seconds = float(spent_seconds)
        self.stopped_early = False

    @property
    def exhausted(self):
        return self.spent_seconds >= 60.0 * self.minutes

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self.spent_seconds + time.monotonic() - self._start > 60.0 * self.minutes:
            self.stopped_early = True
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` to each epoch's logs (so CSV and TensorBoard logs carry training time)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.monotonic() - self._start
