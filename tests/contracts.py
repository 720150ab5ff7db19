"""The contract every layer and model of the package must meet (keras-hub's ``run_layer_test`` pattern).

Each check takes the class and its init arguments, so it can build fresh instances: from the
config, under a dtype policy, for a symbolic call. :func:`run_layer_test` and
:func:`run_model_test` run them all.
"""

import os
import tempfile

import keras
import numpy as np

DTYPE_POLICIES = ("mixed_float16", "mixed_bfloat16")
# Largest error of a low-precision forward pass relative to the float32 output's peak.
_POLICY_RTOL = {"float16": 2e-2, "bfloat16": 1e-1}


def preset_kwargs(cls, size="tiny", **overrides):
    """A model class's init arguments for a named size (``cls.presets[size]``) with ``overrides``."""
    return {**cls.presets[size], **overrides}


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _wrap(layer, input_shape):
    inputs = keras.Input(shape=input_shape[1:], batch_size=None)
    return keras.Model(inputs, layer(inputs))


def check_config_round_trip(obj):
    """``from_config(get_config())`` rebuilds an object with an identical config."""
    config = obj.get_config()
    clone = type(obj).from_config(config)
    assert clone.get_config() == config
    return clone


def check_symbolic_call(obj, input_shape, expected_output_shape):
    """A call on a ``keras.KerasTensor`` (no data) gives the output rank and every dimension the input fixes.

    ``input_shape``/``expected_output_shape`` use ``None`` for dimensions left open (batch, time).
    """
    out = obj(keras.KerasTensor(tuple(input_shape), dtype="float32"))
    assert isinstance(out, keras.KerasTensor), type(out)
    assert len(out.shape) == len(expected_output_shape), (out.shape, expected_output_shape)
    for got, want in zip(out.shape, expected_output_shape):
        assert want is None or got in (want, None), (out.shape, expected_output_shape)
    return out


def check_save_load(model, x, atol=1e-6):
    """A ``.keras`` file loads back (no custom_objects) and gives the same outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(loaded(x)), atol=atol)
    return loaded


def check_fit_step(model, x, y, loss="mse"):
    """One ``fit`` step runs, gives a finite loss and moves the trainable weights."""
    before = [np.array(w) for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    if before:
        after = [np.array(w) for w in model.trainable_weights]
        assert any(not np.allclose(b, a) for b, a in zip(before, after)), "fit did not change any weight"


def check_dtype_policy(make, x, reference, policy):
    """Built under ``policy``: float32 variables, every sub-layer computing in the policy's dtype, outputs
    in that dtype and close to the float32 ``reference`` model with the same weights.

    Exception: fixed layers a model pins to float32 on purpose (``dtype="float32"``: the kept band of a
    band-preserving model, the output the loss sees) may compute in float32, and then the output may
    be float32; at least one layer with weights must still compute in the policy's dtype.
    ``make(policy)`` builds a fresh instance under the policy.
    """
    policy = keras.dtype_policies.get(policy)
    obj = make(policy)
    if not obj.built:
        obj(x)
    if reference.weights:
        obj.set_weights(reference.get_weights())
    for weight in obj.weights:
        if "float" in str(weight.dtype):
            assert weight.dtype == policy.variable_dtype, (weight.path, weight.dtype)
    pinned, in_policy = [], []
    for sub in obj._flatten_layers(include_self=True):
        if isinstance(sub, keras.layers.InputLayer):
            continue
        if sub is not obj and sub.dtype_policy.name == "float32" and not sub.weights:
            pinned.append(sub.name)
            continue
        assert sub.compute_dtype == policy.compute_dtype, (sub.name, sub.compute_dtype)
        if sub is not obj and sub.weights:
            in_policy.append(sub.name)
    assert in_policy or not reference.weights, f"no layer with weights computes in {policy.compute_dtype}"
    y = obj(x)
    out_dtype = keras.backend.standardize_dtype(y.dtype)
    assert out_dtype == policy.compute_dtype or (pinned and out_dtype == "float32"), (y.dtype, pinned)
    y, want = np.asarray(keras.ops.cast(y, "float32")), np.asarray(reference(x))
    assert np.all(np.isfinite(y))
    scale = max(float(np.max(np.abs(want))), 1e-3)
    assert np.max(np.abs(y - want)) <= _POLICY_RTOL[policy.compute_dtype] * scale, (
        policy.name,
        float(np.max(np.abs(y - want))),
        scale,
    )


def check_tflite(model, x, atol=1e-5):
    """``model.export`` -> TFLiteConverter -> LiteRT interpreter matches Keras on a fixed-shape input."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    fixed = keras.Model(inputs := keras.Input(batch_shape=x.shape), model(inputs))
    with tempfile.TemporaryDirectory() as tmp:
        fixed.export(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    interpreter = Interpreter(model_content=flatbuffer)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, x.shape, strict=False)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, x)
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, np.asarray(model(x)), atol=atol)


def run_layer_test(
    cls, init_kwargs, input_shape, expected_output_shape, *, trainable=True, tflite=True, dtype_policies=DTYPE_POLICIES
):
    """The layer contract: config round trip, symbolic call, output shape (eager and ``compute_output_shape``),
    ``.keras`` save/load equality, one fit step, each dtype policy, and TFLite parity."""
    layer = cls(**init_kwargs)
    check_config_round_trip(layer)
    check_symbolic_call(cls(**init_kwargs), (None, *input_shape[1:]), (None, *expected_output_shape[1:]))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(input_shape).astype("float32")
    model = _wrap(layer, input_shape)
    out = np.asarray(model(x))
    assert out.shape == tuple(expected_output_shape)
    assert tuple(layer.compute_output_shape(input_shape)) == tuple(expected_output_shape)
    check_save_load(model, x)
    for policy in dtype_policies:
        check_dtype_policy(lambda p: cls(**init_kwargs, dtype=p), x, layer, policy)
    if trainable:
        head = keras.Sequential(
            [
                keras.Input(shape=input_shape[1:]),
                keras.layers.Conv1D(input_shape[-1], 3, padding="same"),
                cls(**init_kwargs),
            ]
        )
        check_fit_step(head, x, rng.standard_normal(expected_output_shape).astype("float32"))
    if tflite:
        check_tflite(model, x)
    return layer


def _build_under(cls, init_kwargs, policy):
    """A functional model's layers take the global policy when built, so build under it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        return cls(**init_kwargs)
    finally:
        keras.config.set_dtype_policy(previous)


def run_model_test(cls, init_kwargs, input_data, target, *, tflite=False, dtype_policies=DTYPE_POLICIES):
    """The model contract: config round trip, symbolic call (open batch and time), output shape, ``.keras``
    save/load equality, each dtype policy, optionally TFLite parity, and one fit step (last: it moves weights).
    Returns the model."""
    model = cls(**init_kwargs)
    clone = check_config_round_trip(model)
    assert clone.count_params() == model.count_params()
    channels = input_data.shape[-1]
    check_symbolic_call(model, (None, None, channels), (None,) * (target.ndim - 1) + (target.shape[-1],))
    assert np.asarray(model(input_data)).shape == target.shape
    check_save_load(model, input_data)
    for policy in dtype_policies:
        check_dtype_policy(lambda p: _build_under(cls, init_kwargs, p), input_data, model, policy)
    if tflite:
        check_tflite(model, input_data, atol=1e-4)
    check_fit_step(model, input_data, target)
    return model


def build_without_weights(cls, init_kwargs):
    """``cls(**init_kwargs)`` with its variables created but never initialised: shapes, ``count_params()`` and
    attributes for the price of building the graph (the paper AudioUNet takes 0.1 s instead of 25 s, its
    orthogonal initialiser's QR decompositions skipped). The variables cannot be read."""
    from keras.src.backend.common import global_state  # the list Keras initialises deferred variables from

    pending = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            return cls(**init_kwargs)
    finally:  # never initialise them later (the next StatelessScope exit would, e.g. in a symbolic call)
        global_state.set_global_attribute("uninitialized_variables", pending)
