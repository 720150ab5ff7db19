"""Shared checks that every layer and model of the package must pass (keras-hub style)."""
import os
import tempfile

import keras
import numpy as np


def _wrap(layer, input_shape):
    inputs = keras.Input(shape=input_shape[1:], batch_size=None)
    return keras.Model(inputs, layer(inputs))


def check_config_round_trip(obj):
    """``from_config(get_config())`` rebuilds an object with an identical config."""
    config = obj.get_config()
    clone = type(obj).from_config(config)
    assert clone.get_config() == config
    return clone


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
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if before:
        after = [np.array(w) for w in model.trainable_weights]
        assert any(not np.allclose(b, a) for b, a in zip(before, after)), "fit did not change any weight"


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


def check_layer(layer, input_shape, expected_output_shape, tflite=True, trainable=True):
    """Config round trip, output shape, ``.keras`` save/load equality, one fit step and TFLite parity."""
    check_config_round_trip(layer)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(input_shape).astype("float32")
    model = _wrap(layer, input_shape)
    out = np.asarray(model(x))
    assert out.shape == tuple(expected_output_shape)
    assert tuple(layer.compute_output_shape(input_shape)) == tuple(expected_output_shape)
    check_save_load(model, x)
    if trainable:
        head = keras.Sequential([keras.Input(shape=input_shape[1:]), keras.layers.Conv1D(input_shape[-1], 3, padding="same"), layer])
        check_fit_step(head, x, rng.standard_normal(expected_output_shape).astype("float32"))
    if tflite:
        check_tflite(model, x)


def check_model(model, x, y, tflite=False):
    """Config round trip, ``.keras`` save/load equality, one fit step (and optionally TFLite parity)."""
    clone = check_config_round_trip(model)
    assert clone.count_params() == model.count_params()
    assert np.asarray(model(x)).shape == y.shape
    check_save_load(model, x)
    if tflite:
        check_tflite(model, x, atol=1e-4)
    check_fit_step(model, x, y)
