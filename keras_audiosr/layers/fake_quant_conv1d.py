"""FakeQuantConv1D: a ``Conv1D`` with its kernel fake-quantized to int8 as TFLite's int8 kernels are, for
quantization-aware training of fixed-window exports (:func:`keras_audiosr.export.qat.quantize_aware`)."""

import keras

__all__ = ["FakeQuantConv1D"]


@keras.saving.register_keras_serializable(package="keras_audiosr")
class FakeQuantConv1D(keras.layers.Conv1D):
    """``Conv1D`` whose kernel is fake-quantized to int8 per output channel, symmetric (narrow range), as TFLite does.

    The convolution is written as the ``Conv2D`` over ``[B, 1, T, C]`` that the converter emits for a
    ``Conv1D`` anyway, with the fake quantization on the 4-D kernel right before it, so that the
    converter recognises the pattern and folds it into an int8 ``CONV_2D``.
    """

    def call(self, inputs):
        import tensorflow as tf

        if self.padding not in ("same", "valid") or self.groups != 1 or self.data_format != "channels_last":
            raise ValueError(
                f"{self.name}: FakeQuantConv1D supports same/valid padding, groups=1, channels_last; "
                f"got padding={self.padding!r}, groups={self.groups}, data_format={self.data_format!r}"
            )
        kernel4 = tf.expand_dims(self.kernel, 0)
        reach = tf.maximum(tf.stop_gradient(tf.reduce_max(tf.abs(kernel4), axis=[0, 1, 2])), 1e-8)
        kernel4 = tf.quantization.fake_quant_with_min_max_vars_per_channel(
            kernel4, -reach, reach, num_bits=8, narrow_range=True
        )
        y = tf.nn.conv2d(
            tf.expand_dims(inputs, 1),
            kernel4,
            strides=[1, 1, self.strides[0], 1],
            padding=self.padding.upper(),
            dilations=[1, 1, self.dilation_rate[0], 1],
        )
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        y = tf.squeeze(y, 1)
        return y if self.activation is None else self.activation(y)
