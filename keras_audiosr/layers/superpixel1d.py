"""SuperPixel1D: time to channels, the exact inverse of SubPixel1D (MU-GAN's down-sampling)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class SuperPixel1D(keras.layers.Layer):
    """Folds groups of ``ratio`` time steps into channels: ``[B, r*T, C] -> [B, T, r*C]``.

    ``out[b, t, i*C + c] = in[b, t*r + i, c]``, so ``SubPixel1D(r)(SuperPixel1D(r)(x)) == x``.
    Used by MU-GAN in place of strided convolutions: it down-samples without discarding samples.

    Args:
        ratio: Down-sampling factor r (an integer >= 1). The input length must be divisible by it.
    """

    def __init__(self, ratio, **kwargs):
        super().__init__(**kwargs)
        ratio = int(ratio)
        if ratio < 1:
            raise ValueError(f"SuperPixel1D ratio must be a positive integer, got {ratio}")
        self.ratio = ratio

    def build(self, input_shape):
        steps = input_shape[1]
        if steps is not None and steps % self.ratio:
            raise ValueError(
                f"SuperPixel1D(ratio={self.ratio}) needs a length divisible by {self.ratio}, "
                f"got input shape {tuple(input_shape)}"
            )
        if input_shape[-1] is None:
            raise ValueError(f"SuperPixel1D needs a known channel count, got input shape {tuple(input_shape)}")
        super().build(input_shape)

    def call(self, inputs):
        channels = inputs.shape[-1] * self.ratio
        batch = ops.shape(inputs)[0]
        return ops.reshape(inputs, (batch, -1, channels))

    def compute_output_shape(self, input_shape):
        batch, steps, channels = input_shape
        steps = None if steps is None else steps // self.ratio
        return (batch, steps, channels * self.ratio)

    def get_config(self):
        config = super().get_config()
        config.update({"ratio": self.ratio})
        return config
