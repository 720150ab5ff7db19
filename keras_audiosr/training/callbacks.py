"""Callbacks the recipes share."""
import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stops training once ``minutes`` of wall-clock training time have passed (checked after each batch).

    Lets a recipe promise "at most N minutes on this machine" whatever the machine's speed. The
    clock covers this process only, so a resumed run gets a fresh budget.
    """

    def __init__(self, minutes):
        super().__init__()
        self.minutes = float(minutes)
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self._start > 60.0 * self.minutes:
            self.stopped_early = True
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` to each epoch's logs (so CSV and TensorBoard logs carry training time)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.monotonic() - self._start
