"""Causal convolution along time with explicit streaming state (shared by the stateful layers).

A causal convolution with ``K`` taps and dilation ``d`` needs the last ``S = (K - 1) d`` input frames
of the past. Offline (whole signal) they are zeros: the input is padded with ``S`` zeros in front.
Streaming, they are a state tensor: the layer takes ``[x, state]``, convolves ``concat(state, x)``
("valid") and returns ``[y, new_state]`` with ``new_state`` the last ``S`` frames of that
concatenation. Fed frame by frame from a zero state, the outputs equal the offline output exactly
(the same products in the same order), whatever the frame length.

Time is axis 1 of ``[B, T, C]`` (rank 3) or ``[B, T, 1, C]`` (rank 4, the Conv2D form that exports
to a plain CONV_2D; Keras Conv1D lowers to EXPAND_DIMS, which embedded runtimes reject).
"""

from keras import ops


def state_length(kernel_size, dilation=1):
    """Past input frames a causal convolution keeps: ``(kernel_size - 1) * dilation``."""
    return (int(kernel_size) - 1) * int(dilation)


def split_inputs(inputs, what):
    """``(x, state)`` from ``x`` (offline) or ``[x, state]`` (streaming); ``state`` is None offline."""
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != 2:
            raise ValueError(f"{what} takes x or [x, state], got {len(inputs)} tensors")
        return inputs[0], inputs[1]
    return inputs, None


def _pad_front(x, length):
    pads = [[0, 0]] * len(x.shape)
    pads[1] = [length, 0]
    return ops.pad(x, pads)


def causal_conv(x, kernel, dilation=1, state=None, depthwise=False):
    """Causal "valid" convolution of ``x`` along axis 1 with ``kernel`` (``[K, 1, Cin, Cout]`` for rank 4,
    ``[K, Cin, Cout]`` for rank 3; ``depthwise`` takes ``[K, 1, C, 1]`` / ``[K, C, 1]``).

    Returns ``y`` (offline, ``state`` None) or ``(y, new_state)``; ``y`` has the time length of ``x``.
    """
    size = int(kernel.shape[0])
    past = state_length(size, dilation)
    rank = len(x.shape)
    rate = (int(dilation), 1) if rank == 4 else int(dilation)
    if state is None:
        joined, new_state = (_pad_front(x, past) if past else x), None
    elif past:
        joined = ops.concatenate([ops.cast(state, x.dtype), x], axis=1)
        n = joined.shape[1]
        new_state = joined[:, n - past :] if n is not None else joined[:, -past:]
    else:
        joined, new_state = x, state
    if depthwise:
        y = ops.depthwise_conv(joined, kernel, strides=1, padding="valid", dilation_rate=rate)
    else:
        y = ops.conv(joined, kernel, strides=1, padding="valid", dilation_rate=rate)
    return y if state is None else (y, new_state)


def static_reshape(x, shape):
    """Reshape to ``shape`` (batch first; ``None`` = unknown) with every known dimension a constant.

    With at most one unknown dimension this is one ``ops.reshape`` (a RESHAPE with a constant shape
    in an exported graph: no SHAPE/PACK). With an unknown batch and time (a whole-signal functional
    graph) it is a ``keras.layers.Reshape`` of the per-example shape, computing in ``x``'s dtype (so a
    float32 tensor stays float32 under a mixed-precision policy).
    """
    import keras

    shape = list(shape)
    unknown = [i for i, d in enumerate(shape) if d is None]
    if len(unknown) <= 1:
        return ops.reshape(x, tuple(-1 if d is None else int(d) for d in shape))
    if unknown[0] != 0 or len(unknown) > 2:
        raise ValueError(f"static_reshape: at most the batch and one other dimension may be unknown, got {shape}")
    return keras.layers.Reshape(tuple(-1 if d is None else int(d) for d in shape[1:]), dtype=x.dtype)(x)


class StreamingStep:
    """Factory of one-off layers that call a built stateful layer on ``[inputs..., state]``.

    Keras checks a functional graph against each layer's first call; a layer built offline
    (one output) and then called with a state (two outputs) in another graph trips that check. The
    step layer is a fresh node for the streaming call, sharing the wrapped layer's weights.
    """

    @staticmethod
    def wrap(layer):
        import keras

        class _Step(keras.layers.Layer):
            def __init__(self, inner):
                super().__init__(name=f"{inner.name}_step", dtype=inner.dtype_policy)
                self.inner = inner

            def call(self, inputs, **kwargs):
                return self.inner.call(inputs, **kwargs)

            def count_macs(self, input_shapes, output_shapes):
                return self.inner.count_macs(input_shapes, output_shapes)

        return _Step(layer)
