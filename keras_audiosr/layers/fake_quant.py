"""FakeQuant: fake int8 quantization of a tensor with a tracked range, for quantization-aware training of
fixed-window exports (:func:`keras_audiosr.export.qat.quantize_aware` inserts it after each layer)."""

import keras

__all__ = ["FakeQuant"]


@keras.saving.register_keras_serializable(package="keras_audiosr")
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
