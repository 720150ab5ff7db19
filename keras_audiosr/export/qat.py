"""Quantization-aware fine-tuning for Keras 3 (tensorflow-model-optimization does not support Keras 3).

:func:`quantize_aware` clones a functional model, replacing every ``Conv1D`` by
:class:`keras_audiosr.layers.FakeQuantConv1D`
(int8 per-output-channel symmetric fake quantization of the kernel, as the TFLite int8 kernels use)
and following every layer's output with :class:`keras_audiosr.layers.FakeQuant` (int8 asymmetric fake quantization with
a range tracked by an exponential moving average during training), except layers that only move
values (reshapes). Gradients pass straight through the rounding. After fine-tuning, the converter reads the fake-quant
ranges and emits int8 kernels (its quantization-aware-training path): no calibration set is needed.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_audiosr.layers import FakeQuant, FakeQuantConv1D, SubPixel1D, SuperPixel1D

__all__ = ["qat_finetune", "quantize_aware"]


def _value_moving_layers() -> tuple:
    """Layers that only rearrange values (and dropout, the identity in inference): their output keeps their
    input's int8 grid.

    No fake quantization follows them. A second range there would ask the converter to requantize
    inside an operator that must keep its input's scale (RESHAPE, SLICE), which a static graph
    cannot do ("quantization parameters violate the same scale constraint" at the next concatenation).
    """
    L = keras.layers
    return (SubPixel1D, SuperPixel1D, L.Reshape, L.Permute, L.Flatten, L.Dropout, L.Identity)


def quantize_aware(model):
    """A fake-quantized functional clone of ``model`` carrying its weights (the original is untouched).

    Batch-normalisation layers are frozen (inference statistics), as is usual for quantization-aware fine-tuning.
    """

    def clone(layer):
        config = layer.get_config()
        if type(layer) is keras.layers.Conv1D:
            return FakeQuantConv1D.from_config(config)
        return layer.__class__.from_config(config)

    moves_values = _value_moving_layers()

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        if isinstance(layer, moves_values):
            return out
        return FakeQuant(name=f"{layer.name}_fq")(out)

    qmodel = keras.models.clone_model(model, clone_function=clone, call_function=call)
    by_name = {layer.name: layer for layer in qmodel.layers}
    for layer in model.layers:
        if layer.weights and layer.name in by_name:
            by_name[layer.name].set_weights(layer.get_weights())
        if isinstance(layer, keras.layers.BatchNormalization) and layer.name in by_name:
            by_name[layer.name].trainable = False
    return qmodel


class _StepProgress(keras.callbacks.Callback):
    """A tqdm bar over the fine-tuning steps with the running loss (Keras's own bar prints nothing until the
    end of the single epoch when the output is not a terminal)."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = int(steps)
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm import tqdm

        self.bar = tqdm(total=self.steps, desc="QAT fine-tune", unit="step", leave=False)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{float(logs['loss']):.3g}", refresh=False)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


def qat_finetune(
    model,
    lr: np.ndarray,
    hr: np.ndarray,
    steps: int = 200,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    seed: int = 0,
    progress: bool = False,
):
    """Clone ``model`` with :func:`quantize_aware` and fine-tune it for ``steps`` on training patches (L2 loss).

    The fake-quant ranges are first set by one pass over the data, then tracked during fine-tuning
    (``progress``: a bar over the steps). Returns ``(qat_model, history)``; ``qat_model`` takes any
    length, like ``model``.
    """
    import tensorflow as tf

    if len(lr) == 0:
        raise ValueError("qat_finetune: no training patches")
    qmodel = quantize_aware(model)
    for start in range(0, len(lr), batch_size):
        qmodel(lr[start : start + batch_size], training=True)  # range initialisation (no weight updates)
    history = {"loss": []}
    if steps > 0:
        ds = (
            tf.data.Dataset.from_tensor_slices((lr, hr))
            .shuffle(len(lr), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size, drop_remainder=len(lr) >= batch_size)
        )
        qmodel.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
        callbacks = [_StepProgress(steps)] if progress else []
        history = qmodel.fit(
            ds, steps_per_epoch=int(steps), epochs=1, verbose=0, shuffle=False, callbacks=callbacks
        ).history
    return qmodel, history
