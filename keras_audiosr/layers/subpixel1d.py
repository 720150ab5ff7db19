"""SubPixel1D: channels to time (the 1-D pixel shuffle of Kuleshov et al. 2017)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class SubPixel1D(keras.layers.Layer):
    """Moves groups of ``ratio`` channels into time: ``[B, T, r*C] -> [B, r*T, C]``.

    ``out[b, t*r + i, c] = in[b, t, i*C + c]``. This is what Kuleshov et al.'s
    ``batch_to_space`` construction computes, written as a single reshape so it exports to
    TFLite as one RESHAPE. :class:`SuperPixel1D` is its exact inverse.

    Args:
        ratio: Up-sampling factor r (an integer >= 1). The input channel count must be divisible by it.
    """

    def __init__(self, ratio, **kwargs):
        super().__init__(**kwargs)
        ratio = int(ratio)
        if ratio < 1:
            raise ValueError(f"SubPixel1D ratio must be a positive integer, got {ratio}")
        self.ratio = ratio

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % self.ratio:
            raise ValueError(
                f"SubPixel1D(ratio={self.ratio}) needs a known channel count divisible by {self.ratio}, "
                f"got input shape {tuple(input_shape)}"
            )
        super().build(input_shape)

    def call(self, inputs):
        # Known dims go into the target shape as numbers, so a fixed-shape export is one static RESHAPE
        # (no SHAPE/PACK ops computing it at run time).
        channels = inputs.shape[-1] // self.ratio
        batch = inputs.shape[0] if inputs.shape[0] is not None else ops.shape(inputs)[0]
        steps = -1 if inputs.shape[1] is None else inputs.shape[1] * self.ratio
        return ops.reshape(inputs, (batch, steps, channels))

    def compute_output_shape(self, input_shape):
        batch, steps, channels = input_shape
        steps = None if steps is None else steps * self.ratio
        return (batch, steps, channels // self.ratio)

    def get_config(self):
        config = super().get_config()
        config.update({"ratio": self.ratio})
        return config
