"""CausalConv2D: a dilated causal convolution over ``[B, T, 1, C]`` with explicit streaming state and an int8 form."""

import keras
from keras import ops

from keras_audiosr.layers import _fake_quant as fq
from keras_audiosr.layers._stateful import causal_conv, split_inputs, state_length

ACTIVATIONS = (None, "leaky_relu")


@keras.saving.register_keras_serializable(package="keras_audiosr")
class CausalConv2D(keras.layers.Layer):
    """Causal convolution along time: ``y[t]`` depends on ``x[t - (K-1) d .. t]`` only.

    Works on ``[B, T, 1, C]`` (time as height, a width of one) so that it exports to one CONV_2D
    (dilation included) and, with ``activation="leaky_relu"``, one LEAKY_RELU.

    * Offline: ``layer(x)`` pads ``(K-1) d`` zeros in front.
    * Streaming: ``layer([x, state])`` returns ``[y, new_state]``; ``state`` is ``[B, (K-1) d, 1, Cin]``,
      the last input frames (:attr:`state_length`; zeros at the start of a stream). Fed frame by
      frame the outputs equal the offline ones exactly, for any frame length.
    * ``quantize`` (a call argument, see ``keras_audiosr.layers._fake_quant``): ``"fake"`` applies int8
      fake quantization to the input (the same range for ``x`` and ``state``, so their concatenation
      needs no requantization and the state round-trips exactly through an int8 tensor), the kernel
      (per output channel) and the convolution's output (before the activation); ``"calibrate"``
      records those ranges. The activation's output is left to the next layer's input range.

    Args:
        filters: Output channels.
        kernel_size: Taps along time.
        dilation_rate: Dilation along time.
        activation: ``None`` or ``"leaky_relu"``.
        negative_slope: Slope of the leaky ReLU for negative inputs.
        use_bias: Add a bias.
        kernel_initializer, bias_initializer: Keras initializers.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        dilation_rate=1,
        activation=None,
        negative_slope=0.2,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"CausalConv2D: unknown activation {activation!r}; choose one of {ACTIVATIONS}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.dilation_rate = int(dilation_rate)
        if self.filters < 1 or self.kernel_size < 1 or self.dilation_rate < 1:
            raise ValueError(
                f"CausalConv2D: filters, kernel_size and dilation_rate must be positive integers, got "
                f"{filters!r}, {kernel_size!r}, {dilation_rate!r}"
            )
        self.activation = activation
        self.negative_slope = float(negative_slope)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def state_length(self):
        """Past input frames kept between calls: ``(kernel_size - 1) * dilation_rate``."""
        return state_length(self.kernel_size, self.dilation_rate)

    def state_shape(self, batch=1):
        """Shape of the streaming state tensor."""
        return (batch, self.state_length, 1, self.input_channels)

    def build(self, input_shape):
        streaming = isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple))
        x_shape = input_shape[0] if streaming else input_shape
        if len(x_shape) != 4 or x_shape[2] != 1 or x_shape[-1] is None:
            raise ValueError(f"CausalConv2D takes [B, T, 1, C] with a known C, got {tuple(x_shape)}")
        self.input_channels = int(x_shape[-1])
        self.kernel = self.add_weight(
            shape=(self.kernel_size, 1, self.input_channels, self.filters),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )
        self.input_range = fq.add_range(self, "input")
        self.output_range = fq.add_range(self, "output")

    def reset_quantization_ranges(self):
        fq.reset_range(self.input_range)
        fq.reset_range(self.output_range)

    def call(self, inputs, quantize=None, training=False):
        fq.check_quantize(quantize, self.name)
        x, state = split_inputs(inputs, "CausalConv2D")
        x = fq.quantize_tensor(x, self.input_range, quantize, training)
        if state is not None:
            state = fq.quantize_tensor(
                ops.cast(state, x.dtype), self.input_range, "fake" if quantize == "fake" else None, False
            )
        kernel = fq.quantize_kernel(ops.cast(self.kernel, x.dtype), quantize)
        out = causal_conv(x, kernel, self.dilation_rate, state)
        y, new_state = (out, None) if state is None else out
        if self.use_bias:
            y = y + ops.cast(self.bias, y.dtype)
        y = fq.quantize_tensor(y, self.output_range, quantize, training)
        if self.activation == "leaky_relu":
            y = ops.leaky_relu(y, negative_slope=self.negative_slope)
        return y if state is None else [y, new_state]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            x_shape, state_shape = input_shape
            return [tuple(x_shape[:-1]) + (self.filters,), tuple(state_shape)]
        return tuple(input_shape[:-1]) + (self.filters,)

    def count_macs(self, input_shapes, output_shapes):
        """Multiply-accumulates of one call: output samples x taps x input channels x filters."""
        steps = output_shapes[0][1]
        return int(steps) * self.kernel_size * self.input_channels * self.filters

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate,
                "activation": self.activation,
                "negative_slope": self.negative_slope,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
