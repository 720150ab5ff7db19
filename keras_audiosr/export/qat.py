"""Quantization-aware fine-tuning for Keras 3 (tensorflow-model-optimization does not support Keras 3).

:func:`quantize_aware` clones a functional model, replacing every ``Conv1D`` by :class:`FakeQuantConv1D`
(int8 per-output-channel symmetric fake quantization of the kernel, as the TFLite int8 kernels use)
and following every layer's output with :class:`FakeQuant` (int8 asymmetric fake quantization with
a range tracked by an exponential moving average during training), except layers that only move
values (reshapes). Gradients pass straight through the rounding. After fine-tuning, the converter reads the fake-quant ranges and emits int8 kernels
(its quantization-aware-training path): no calibration set is needed.
"""
from __future__ import annotations

import keras
import numpy as np

__all__ = ["FakeQuant", "FakeQuantConv1D", "quantize_aware", "qat_finetune"]


@keras.saving.register_keras_serializable(package="keras_audiosr_edge")
class FakeQuant(keras.layers.Layer):
    """Fake int8 quantization of a tensor with an EMA-tracked range (``tf.quantization.fake_quant_with_min_max_vars``).

    In training the range ``[min(x, 0), max(x, 0)]`` of each batch moves the stored range by
    ``1 - momentum`` (the first batch sets it); in inference the stored range is used.

    Args:
        momentum: EMA momentum of the range.
        num_bits: Quantization bits (8 for the int8 conversion).
    """

    def __init__(self, momentum: float = 0.99, num_bits: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.num_bits = int(num_bits)

    def build(self, input_shape):
        self.range_min = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_min")
        self.range_max = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_max")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized")
        super().build(input_shape)

    def call(self, x, training=False):
        import tensorflow as tf

        if training:
            batch_min = tf.minimum(tf.reduce_min(x), 0.0)
            batch_max = tf.maximum(tf.reduce_max(x), 0.0)
            first = tf.equal(self.initialized, 0.0)
            m = self.momentum
            self.range_min.assign(tf.where(first, batch_min, m * self.range_min + (1.0 - m) * batch_min))
            self.range_max.assign(tf.where(first, batch_max, m * self.range_max + (1.0 - m) * batch_max))
            self.initialized.assign(1.0)
        lo = tf.minimum(tf.convert_to_tensor(self.range_min), 0.0)
        hi = tf.maximum(tf.convert_to_tensor(self.range_max), lo + 1e-6)
        return tf.quantization.fake_quant_with_min_max_vars(x, lo, hi, num_bits=self.num_bits)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "num_bits": self.num_bits})
        return config


@keras.saving.register_keras_serializable(package="keras_audiosr_edge")
class FakeQuantConv1D(keras.layers.Conv1D):
    """``Conv1D`` whose kernel is fake-quantized to int8 per output channel, symmetric (narrow range), as TFLite does.

    The convolution is written as the ``Conv2D`` over ``[B, 1, T, C]`` that the converter emits for a
    ``Conv1D`` anyway, with the fake quantization on the 4-D kernel right before it, so that the
    converter recognises the pattern and folds it into an int8 ``CONV_2D``.
    """

    def call(self, inputs):
        import tensorflow as tf

        if self.padding not in ("same", "valid") or self.groups != 1 or self.data_format != "channels_last":
            raise ValueError(f"{self.name}: FakeQuantConv1D supports same/valid padding, groups=1, channels_last; "
                             f"got padding={self.padding!r}, groups={self.groups}, data_format={self.data_format!r}")
        kernel4 = tf.expand_dims(self.kernel, 0)
        reach = tf.maximum(tf.stop_gradient(tf.reduce_max(tf.abs(kernel4), axis=[0, 1, 2])), 1e-8)
        kernel4 = tf.quantization.fake_quant_with_min_max_vars_per_channel(kernel4, -reach, reach, num_bits=8,
                                                                          narrow_range=True)
        y = tf.nn.conv2d(tf.expand_dims(inputs, 1), kernel4, strides=[1, 1, self.strides[0], 1],
                         padding=self.padding.upper(), dilations=[1, 1, self.dilation_rate[0], 1])
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        y = tf.squeeze(y, 1)
        return y if self.activation is None else self.activation(y)


def _value_moving_layers() -> tuple:
    """Layers that only rearrange values (and dropout, the identity in inference): their output keeps their
    input's int8 grid.

    No fake quantization follows them. A second range there would ask the converter to requantize
    inside an operator that must keep its input's scale (RESHAPE, SLICE), which a static graph
    cannot do ("quantization parameters violate the same scale constraint" at the next concatenation).
    """
    from keras_audiosr.layers import SubPixel1D, SuperPixel1D

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


def qat_finetune(model, lr: np.ndarray, hr: np.ndarray, steps: int = 200, batch_size: int = 16,
                 learning_rate: float = 1e-4, seed: int = 0, progress: bool = False):
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
        qmodel(lr[start:start + batch_size], training=True)  # range initialisation (no weight updates)
    history = {"loss": []}
    if steps > 0:
        ds = (tf.data.Dataset.from_tensor_slices((lr, hr)).shuffle(len(lr), seed=seed, reshuffle_each_iteration=True)
              .repeat().batch(batch_size, drop_remainder=len(lr) >= batch_size))
        qmodel.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
        callbacks = [_StepProgress(steps)] if progress else []
        history = qmodel.fit(ds, steps_per_epoch=int(steps), epochs=1, verbose=0, shuffle=False,
                             callbacks=callbacks).history
    return qmodel, history
