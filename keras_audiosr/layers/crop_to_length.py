"""CropToLength: undoes PadToMultiple at the output, scaled by the model's ratio."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class CropToLength(keras.layers.Layer):
    """Crops ``x`` on the time axis to ``factor`` times the length of ``reference``.

    Called as ``CropToLength(factor)([x, reference])``; a super-resolution model passes its
    unpadded low-rate input as ``reference`` and its ratio as ``factor``.

    Args:
        factor: Integer scale from the reference length to the output length.
    """

    def __init__(self, factor=1, **kwargs):
        super().__init__(**kwargs)
        factor = int(factor)
        if factor < 1:
            raise ValueError(f"CropToLength factor must be a positive integer, got {factor}")
        self.factor = factor

    def call(self, inputs):
        x, reference = inputs
        steps = reference.shape[1]
        if steps is None:
            steps = ops.shape(reference)[1]
        return x[:, : steps * self.factor, :]

    def compute_output_shape(self, input_shape):
        x_shape, ref_shape = input_shape
        steps = None if ref_shape[1] is None else ref_shape[1] * self.factor
        return (x_shape[0], steps, x_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config
