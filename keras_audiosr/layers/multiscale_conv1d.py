"""MultiscaleConv1D: parallel convolutions of several kernel sizes (MU-GAN, Kim & Sathe 2019)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_audiosr")
class MultiscaleConv1D(keras.layers.Layer):
    """Parallel ``Conv1D`` branches with different kernel sizes, concatenated on channels.

    ``filters`` is the TOTAL number of output channels: it is split evenly across the branches
    (``filters // len(kernel_sizes)`` each, so it must be divisible by the branch count). Output
    channels ``[i*f, (i+1)*f)`` come from the branch with kernel ``kernel_sizes[i]``. Every
    branch uses ``"same"`` padding and the layer's stride, so the length becomes
    ``ceil(T / strides)`` (unchanged with the default stride 1); with the default kernels
    (3, 9, 27, 81) one layer sees fine detail and ~80-sample context at once. With ``strides=2``
    and an even length, every branch of odd kernel >= 3 centres its output ``t`` on input sample
    ``2t + 1``, so the branches stay aligned (MU-GAN's strided-convolution down-sampling,
    ``MUGANGenerator(downsample="strided")``).

    Args:
        filters: Total output channels (divisible by ``len(kernel_sizes)``).
        kernel_sizes: Kernel size of each branch.
        use_bias: Whether the branch convolutions have biases.
        kernel_initializer: Initializer of every branch kernel.
        strides: Stride of every branch (a positive integer).
    """

    def __init__(
        self,
        filters,
        kernel_sizes=(3, 9, 27, 81),
        use_bias=True,
        kernel_initializer="glorot_uniform",
        strides=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        kernel_sizes = tuple(int(k) for k in kernel_sizes)
        filters = int(filters)
        if not kernel_sizes or min(kernel_sizes) < 1:
            raise ValueError(f"MultiscaleConv1D kernel_sizes must be non-empty positive integers, got {kernel_sizes}")
        if filters < 1 or filters % len(kernel_sizes):
            raise ValueError(
                f"MultiscaleConv1D filters ({filters}) must be a positive multiple of the number of "
                f"branches ({len(kernel_sizes)}, kernel_sizes={kernel_sizes})"
            )
        strides = int(strides)
        if strides < 1:
            raise ValueError(f"MultiscaleConv1D strides must be a positive integer, got {strides}")
        self.filters = filters
        self.strides = strides
        self.kernel_sizes = kernel_sizes
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        per_branch = filters // len(kernel_sizes)
        self.branches = [
            keras.layers.Conv1D(
                per_branch,
                k,
                strides=strides,
                padding="same",
                use_bias=self.use_bias,
                kernel_initializer=keras.initializers.get(keras.initializers.serialize(self.kernel_initializer)),
                dtype=self.dtype_policy,
                name=f"branch{i}_k{k}",
            )
            for i, k in enumerate(kernel_sizes)
        ]

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"MultiscaleConv1D needs a known channel count, got input shape {tuple(input_shape)}")
        for branch in self.branches:
            branch.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        return ops.concatenate([branch(inputs) for branch in self.branches], axis=-1)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        steps = None if steps is None else -(-steps // self.strides)
        return (input_shape[0], steps, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_sizes": list(self.kernel_sizes),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "strides": self.strides,
            }
        )
        return config
