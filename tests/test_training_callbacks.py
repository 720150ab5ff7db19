"""ResumableBackup and TrainState: atomic per-epoch backups, fallback to the older state, whole-run time budget."""

import json
import os

import keras
import numpy as np
import pytest

from keras_audiosr.training.callbacks import BackupError, ResumableBackup, TimeBudget, TrainState


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


X = np.random.default_rng(0).standard_normal((16, 8)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _fit(folder, epochs, model=None):
    model = model or _model()
    backup = ResumableBackup(folder)
    history = model.fit(X, Y, batch_size=8, epochs=epochs, verbose=0, shuffle=False, callbacks=[backup])
    return model, backup, history


def test_state_and_at_most_two_backups(tmp_path):
    model, backup, _ = _fit(tmp_path, 3)
    state = TrainState.read(tmp_path)
    assert (state.status, state.epochs, state.runs) == ("training", 3, 1)
    assert state.backup == {
        "current": {"epoch": 3, "file": "epoch-000003.weights.h5"},
        "previous": {"epoch": 2, "file": "epoch-000002.weights.h5"},
    }
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "epoch-000002.weights.h5",
        "epoch-000003.weights.h5",
    ]
    assert state.train_seconds > 0
    # a fresh process resumes at epoch 3 with the same weights and optimizer state, and runs the rest
    resumed, backup2, history = _fit(tmp_path, 5)
    assert len(history.history["loss"]) == 2 and backup2.state.epochs == 5 and backup2.state.runs == 2
    assert backup2.state.train_seconds > state.train_seconds


def test_restores_weights_and_optimizer_exactly(tmp_path):
    model, _, _ = _fit(tmp_path, 2)
    restored = _model()
    cb = ResumableBackup(tmp_path)
    cb.set_model(restored)
    cb.on_train_begin()
    for a, b in zip(model.weights + model.optimizer.variables, restored.weights + restored.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert restored._initial_epoch == 2


def test_damaged_newest_backup_falls_back_to_the_one_before(tmp_path):
    _fit(tmp_path, 2)
    newest = tmp_path / "backup" / "epoch-000002.weights.h5"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    with pytest.warns(UserWarning, match="epoch-000002.*trying an older one"):
        _, backup, history = _fit(tmp_path, 3)
    assert len(history.history["loss"]) == 2  # epochs 2 and 3 again, from the state after epoch 1
    assert backup.state.epochs == 3


def test_every_backup_damaged_is_a_clear_error(tmp_path):
    _fit(tmp_path, 2)
    for p in (tmp_path / "backup").iterdir():
        p.write_bytes(b"not hdf5")
    with pytest.warns(UserWarning), pytest.raises(BackupError, match="no readable backup.*delete"):
        _fit(tmp_path, 3)


def test_leftovers_of_a_killed_write_are_removed(tmp_path):
    _fit(tmp_path, 1)
    stray = tmp_path / "backup" / f".tmp-{os.getpid() + 1}.weights.h5"
    stray.write_bytes(b"half a file")
    orphan = tmp_path / "backup" / "epoch-000002.weights.h5"  # renamed, but the state never pointed at it
    orphan.write_bytes(b"x")
    _, backup, history = _fit(tmp_path, 2)
    assert len(history.history["loss"]) == 1
    assert not stray.exists()
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "epoch-000001.weights.h5",
        "epoch-000002.weights.h5",
    ]


def test_unreadable_state_file_is_a_clear_error(tmp_path):
    (tmp_path / "train_state.json").write_text("{half")
    with pytest.raises(BackupError, match="train_state.json: unreadable run state"):
        TrainState.read(tmp_path)
    assert TrainState.read(tmp_path / "none") == TrainState()


def test_state_file_is_json_and_round_trips(tmp_path):
    state = TrainState(status="trained", epochs=4, train_seconds=12.5, runs=2)
    state.write(tmp_path)
    assert json.loads((tmp_path / "train_state.json").read_text())["epochs"] == 4
    assert TrainState.read(tmp_path) == state


def test_time_budget_counts_earlier_processes():
    assert TimeBudget(1.0, spent_seconds=60.0).exhausted
    assert not TimeBudget(1.0, spent_seconds=59.0).exhausted
    model = _model()
    budget = TimeBudget(0.5, spent_seconds=29.999)
    history = model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[budget])
    assert budget.stopped_early and len(history.history["loss"]) == 1
