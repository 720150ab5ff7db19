"""PadToMultiple: lets fixed-stride models take inputs of any length."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class PadToMultiple(keras.layers.Layer):
    """Pads the time axis at the end to the next multiple of ``multiple`` by repeating the last sample.

    Models whose strides need a length divisible by ``2**depth`` pad with this on the way in and
    crop with :class:`CropToLength` on the way out, so any input length works. Repeating the last
    sample (rather than zeros) keeps the padded tail from ringing into the real signal.

    Args:
        multiple: The time length of the output is the smallest multiple of this >= the input length.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        multiple = int(multiple)
        if multiple < 1:
            raise ValueError(f"PadToMultiple multiple must be a positive integer, got {multiple}")
        self.multiple = multiple

    def call(self, inputs):
        if self.multiple == 1:
            return inputs
        steps = inputs.shape[1]
        if steps is not None:
            pad = (-steps) % self.multiple
            if pad == 0:
                return inputs
            # Copies of the last step joined in one concatenation (``ops.repeat`` lowers to TILE).
            return ops.concatenate([inputs] + [inputs[:, -1:, :]] * pad, axis=1)
        pad = (-ops.shape(inputs)[1]) % self.multiple
        shape = (ops.shape(inputs)[0], pad, inputs.shape[-1])
        tail = ops.broadcast_to(inputs[:, -1:, :], shape)
        return ops.concatenate([inputs, tail], axis=1)

    def compute_output_shape(self, input_shape):
        batch, steps, channels = input_shape
        if steps is not None:
            steps = steps + (-steps) % self.multiple
        return (batch, steps, channels)

    def get_config(self):
        config = super().get_config()
        config.update({"multiple": self.multiple})
        return config
