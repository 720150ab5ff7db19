"""Compute cost of a model, counted from its Keras graph: multiply-accumulates per call and per second of audio."""

import math

import numpy as np

__all__ = ["count_macs", "macs_per_second"]


def _shape(t):
    return tuple(int(d) for d in t.shape)


def _prod(values):
    return int(math.prod(int(v) for v in values))


def layer_macs(layer, input_shapes, output_shapes) -> int:
    """Multiply-accumulates of one call of ``layer`` (batch included) from its concrete tensor shapes.

    Layers that know their cost say so with ``count_macs(input_shapes, output_shapes)`` (the
    package's fixed and stateful layers); Keras convolutions, dense layers and ``Multiply`` are
    counted here; everything else (reshapes, padding, activations, additions) counts zero.
    """
    import keras

    if hasattr(layer, "count_macs"):
        batch = output_shapes[0][0]
        return int(layer.count_macs(input_shapes, output_shapes)) * int(batch)
    out = output_shapes[0]
    if isinstance(layer, keras.layers.DepthwiseConv1D | keras.layers.DepthwiseConv2D):
        return _prod(out) * _prod(layer.kernel_size)
    if isinstance(layer, keras.layers.Conv1DTranspose | keras.layers.Conv2DTranspose):
        inp = input_shapes[0]
        return _prod(inp) * _prod(layer.kernel_size) * int(layer.filters)
    if isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D | keras.layers.Conv3D):
        channels_in = input_shapes[0][-1] // int(getattr(layer, "groups", 1))
        return _prod(out) * _prod(layer.kernel_size) * int(channels_in)
    if isinstance(layer, keras.layers.Dense):
        return _prod(out) * int(input_shapes[0][-1])
    if isinstance(layer, keras.layers.Multiply):
        return _prod(out) * (len(input_shapes) - 1)
    return 0


def count_macs(model, inputs) -> int:
    """Multiply-accumulates of ``model(inputs)``, summed over every layer of its functional graph (nested
    functional models included), from the shapes each layer actually sees on ``inputs`` (numpy arrays,
    batch first). Runs the model once, eagerly.
    """
    import keras

    total = [0]

    def walk(fn, args):
        def operation_fn(op):
            if isinstance(op, keras.Model) and hasattr(op, "_run_through_graph") and hasattr(op, "_nodes_by_depth"):
                return lambda *a, **k: walk(op, a[0] if len(a) == 1 else list(a))

            def call(*a, **k):
                out = op(*a, **k)
                if isinstance(op, keras.layers.Layer):
                    ins = [_shape(t) for t in keras.tree.flatten((a, k)) if hasattr(t, "shape") and hasattr(t, "dtype")]
                    outs = [_shape(t) for t in keras.tree.flatten(out)]
                    total[0] += layer_macs(op, ins, outs)
                return out

            return call

        return fn._run_through_graph(args, operation_fn=operation_fn)

    walk(model, inputs)
    return total[0]


def macs_per_second(model, seconds: float = 1.0) -> float:
    """Multiply-accumulates per second of (low-rate) input audio for an :class:`AudioSRModel`.

    A model with a streaming form (``streaming_model(frame)``) is counted on one 10 ms frame, its
    state tensors included (what a device runs); any other on ``seconds`` of input.
    """
    lr_rate = int(model.lr_rate)
    if hasattr(model, "streaming_model"):
        frame = model.frame_length(10.0)
        stream = model.streaming_model(frame)
        inputs = [np.zeros(tuple(t.shape), np.float32) for t in stream.inputs]
        return count_macs(stream, inputs) * lr_rate / frame
    length = max(1, int(round(seconds * lr_rate)))
    channels = int(model.input_shape[-1] or 1)
    return count_macs(model, np.zeros((1, length, channels), np.float32)) * lr_rate / length
