"""Model geometry: the shift period and the receptive field of a super-resolution model.

Both are in low-rate samples. Chunked inference (:mod:`keras_audiosr.inference`) and the edge
exports (:mod:`keras_audiosr.streaming`) need them: a model with strided convolutions is shift-equivariant
only by multiples of its shift period, and an output sample depends on the input only within the
receptive field around it.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["shift_period", "receptive_field"]

_ACTIVATION_LAYERS = ("ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Activation")


def shift_period(model) -> int:
    """Least common multiple of every ``PadToMultiple.multiple`` in ``model`` (low-rate samples; 1 if none)."""
    from keras_audiosr.layers import PadToMultiple

    period, stack, seen = 1, list(getattr(model, "layers", [])), set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, PadToMultiple):
            period = math.lcm(period, int(layer.multiple))
        stack.extend(getattr(layer, "layers", []) or [])
    return period


def receptive_field(
    model, trials: int = 4, seed: int = 0, max_length: int = 1 << 16, structural: bool = True
) -> tuple[int, int]:
    """``(context, lookahead)``: how many low-rate samples before and after an output's own sample affect it.

    Measured by impulse probing: a signal is perturbed at one sample for every phase of the shift
    period, and the span of high-rate outputs that change gives the reach in each direction; the
    maximum over phases is returned. The probe grows until the changes stay clear of its ends.

    The model itself is probed on ``trials`` random signals (changes above 1e-7 of the output scale
    count). A trained model can hide part of its structural reach (near-zero taps, units that do not
    fire on the probes), so with ``structural`` a linearised copy -- activations replaced by the
    identity, random kernels, zero biases -- is probed from silence as well, where any non-zero
    output is a dependency, and the larger reach is kept.
    """
    reach = _probe_reach(model, trials, seed, max_length, linear=False)
    if structural:
        clone = _linearized_copy(model, seed)
        if clone is not None:
            other = _probe_reach(clone, 1, seed, max_length, linear=True)
            reach = (max(reach[0], other[0]), max(reach[1], other[1]))
    return reach


def _linearized_copy(model, seed: int):
    """A functional copy of ``model`` with identity activations, random kernels and zero biases (None if not
    clonable)."""
    import keras

    def clone(layer):
        if type(layer).__name__ in _ACTIVATION_LAYERS:
            return keras.layers.Identity(name=layer.name)
        config = layer.get_config()
        if "activation" in config:
            config["activation"] = "linear"
        return layer.__class__.from_config(config)

    try:
        copy = keras.models.clone_model(model, clone_function=clone)
    except Exception:  # subclassed models without a functional graph
        return None
    copy.ratio = model.ratio
    rng = np.random.default_rng(seed + 1)
    for v in copy.weights:
        shape, name = tuple(v.shape), v.path.rsplit("/", 1)[-1]
        if name in ("gamma", "moving_variance", "variance"):
            value = np.ones(shape)
        elif len(shape) < 2:
            value = np.zeros(shape)
        else:
            value = rng.standard_normal(shape) / np.sqrt(max(1, int(np.prod(shape[:-1]))))
        v.assign(value.astype(v.dtype))
    return copy


def _probe_reach(model, trials: int, seed: int, max_length: int, linear: bool) -> tuple[int, int]:
    from keras import ops

    ratio = int(model.ratio)
    period = shift_period(model)
    rng = np.random.default_rng(seed)
    length = max(512, 64 * period)
    while True:
        length = -(-length // period) * period
        mid = length // 2 - (length // 2) % period
        positions = [mid + j for j in range(period)]
        if linear:
            base = np.zeros((trials, length, 1), np.float32)
        else:
            base = (0.1 * rng.standard_normal((trials, length, 1))).astype(np.float32)
        batch = [base]
        for p in positions:
            pert = base.copy()
            pert[:, p, 0] += 0.5
            batch.append(pert)
        y = ops.convert_to_numpy(model(np.concatenate(batch), training=False))[..., 0].astype(np.float64)
        y_base = y[:trials]
        thr = 0.0 if linear else 1e-7 * max(1.0, float(np.max(np.abs(y_base))))
        context = lookahead = 0
        touches_edge = False
        for i, p in enumerate(positions):
            changed = np.abs(y[(i + 1) * trials : (i + 2) * trials] - y_base) > thr
            idx = np.nonzero(changed.any(axis=0))[0]
            if idx.size == 0:
                continue
            first, last = int(idx[0]) // ratio, int(idx[-1]) // ratio
            touches_edge |= first <= 0 or last >= length - 1
            lookahead = max(lookahead, p - first)
            context = max(context, last - p)
        if not touches_edge:
            return context, lookahead
        if length * 2 > max_length:
            raise ValueError(
                f"receptive field of {model.name!r} exceeds {max_length // 2} low-rate samples; "
                f"cannot stream it with an overlap buffer"
            )
        length *= 2
