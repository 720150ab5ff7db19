"""The gates that work on any .tflite: static graph (allowlist + static shapes), second runtime (Arm NN),
the gate runner, the MAC counter, and the export details that make a graph static."""

import os

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import keras

from keras_audiosr.export.armnn import (
    ARMNN_PYTHON_ENV,
    armnn_status,
    compare_outputs,
    run_armnn,
)
from keras_audiosr.export.gates import (
    FAILED,
    PASSED,
    SKIPPED,
    WARNING,
    Gate,
    GateFailed,
    Outcome,
    golden_outputs,
    run_gates,
    second_runtime_outcome,
    static_graph_outcome,
)
from keras_audiosr.export.graphstats import graph_stats
from keras_audiosr.export.opcheck import (
    EMBEDDED_OPS,
    StaticGraphError,
    check_static_graph,
    op_counts,
    static_graph_report,
)
from keras_audiosr.export.tflite import convert_keras
from keras_audiosr.streaming.runtime import quantize

T = 64


def static_model():
    """A tiny static graph of the kind the edge models use: Conv2D over [B, T, 1, C], LeakyReLU, Concatenate."""
    keras.utils.set_random_seed(0)
    x = keras.Input(batch_shape=(1, T, 1, 1), name="frame")
    h = keras.layers.Conv2D(4, (5, 1), padding="same", name="conv_a")(x)
    h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Concatenate()([h, x])
    y = keras.layers.Conv2D(1, (3, 1), padding="same", name="conv_b")(h)
    return keras.Model(x, y, name="static_tiny")


def shape_model():
    """A dynamic-batch model whose Reshape computes its target shape at run time (SHAPE, PACK)."""
    x = keras.Input(shape=(T, 2))
    h = keras.layers.Reshape((2 * T, 1, 1))(x)
    return keras.Model(x, keras.layers.Conv2D(2, (3, 1), padding="same")(h), name="shape_model")


def windows(n, seed=1):
    return (0.3 * np.random.default_rng(seed).standard_normal((n, 1, T, 1, 1))).astype(np.float32)


@pytest.fixture(scope="module")
def converted():
    model = static_model()
    calib = windows(16)

    def rep():
        for w in calib:
            yield [w]

    return {
        "float": convert_keras(model, "float"),
        "int8": convert_keras(model, "int8", representative=rep),
        "shape": convert_keras(shape_model(), "float"),
    }


def raw_input(data, seed=2):
    """One window in the model's input dtype (quantized with the input tensor's scale and zero point)."""
    from ai_edge_litert.interpreter import Interpreter

    d = Interpreter(model_content=data).get_input_details()[0]
    scale, zero = d["quantization"]
    return quantize(windows(1, seed)[0], scale, zero, d["dtype"])


def test_static_model_passes_the_static_graph_gate(converted):
    for mode in ("float", "int8"):
        report = static_graph_report(converted[mode], mode)
        assert report.ok, report.describe()
        assert set(report.ops) <= set(EMBEDDED_OPS)
        assert {"CONV_2D", "CONCATENATION"} <= set(report.ops)
        assert static_graph_outcome(converted[mode], mode).ok is True
    assert "LEAKY_RELU" in op_counts(converted["float"])


def test_shape_op_fails_the_static_graph_gate_naming_it(converted):
    data = converted["shape"]
    report = static_graph_report(data, "shape_model.tflite")
    assert not report.ok and "SHAPE" in report.disallowed
    assert any(-1 in sig for _, sig in report.dynamic)
    with pytest.raises(StaticGraphError, match=r"shape_model\.tflite: not a static graph: .*SHAPE \(x\d+: "):
        check_static_graph(data, "shape_model.tflite")
    outcome = static_graph_outcome(data, "shape_model.tflite")
    assert outcome.ok is False and "SHAPE" in outcome.message and "dynamic shape" in outcome.message
    assert outcome.details["disallowed_ops"]["SHAPE"]


def test_golden_outputs_tolerance(converted):
    for mode in ("float", "int8"):
        x = raw_input(converted[mode])
        outs, atol, diffs = golden_outputs(converted[mode], [x])
        assert len(outs) == 1 and outs[0].shape == (1, T, 1, 1)
        assert atol[0] >= 2 * diffs[0]
        assert atol[0] >= (1.0 if mode == "int8" else 1e-5)


armnn_ok, armnn_about = armnn_status()
needs_armnn = pytest.mark.skipif(not armnn_ok, reason=f"second runtime absent: {armnn_about}")


@needs_armnn
def test_static_model_runs_on_armnn_like_litert(converted):
    for mode in ("float", "int8"):
        x = raw_input(converted[mode])
        expected, atol, _ = golden_outputs(converted[mode], [x])
        got = run_armnn(converted[mode], [x])
        cmp = compare_outputs(got, expected, atol)
        assert cmp["ok"], (mode, cmp)
        if mode == "int8":
            assert got[0].dtype == np.int8 and cmp["max_abs_diff"][0] <= 1.0  # within one quantization step
        else:
            assert cmp["max_abs_diff"][0] <= 1e-5
        outcome = second_runtime_outcome(converted[mode], [x], expected, atol)
        assert outcome.ok is True and "Arm NN" in outcome.message


def stateful_model():
    """Two inputs and two outputs bound by name, as a stateful stream has: a frame and a state in, the output
    and the new state (the last frames of state + frame) out."""
    keras.utils.set_random_seed(0)
    x = keras.Input(batch_shape=(1, T, 1, 1), name="frame")
    state = keras.Input(batch_shape=(1, 4, 1, 1), name="conv_state")
    joined = keras.layers.Concatenate(axis=1)([state, x])
    h = keras.layers.Conv2D(3, (5, 1), padding="valid")(joined)
    h = keras.layers.LeakyReLU(0.2)(h)
    y = keras.layers.Conv2D(1, (1, 1))(h)
    return keras.Model({"frame": x, "conv_state": state}, {"output": y, "state_out": joined[:, -4:]})


@needs_armnn
def test_second_runtime_binds_inputs_and_compares_outputs_by_name():
    model = stateful_model()
    rng = np.random.default_rng(3)
    calib = [
        {
            "frame": (0.3 * rng.standard_normal((1, T, 1, 1))).astype(np.float32),
            "conv_state": (0.3 * rng.standard_normal((1, 4, 1, 1))).astype(np.float32),
        }
        for _ in range(16)
    ]
    for mode in ("float", "int8"):
        data = convert_keras(
            model,
            mode,
            representative=(lambda: iter([[c["conv_state"], c["frame"]] for c in calib])) if mode == "int8" else None,
        )
        from ai_edge_litert.interpreter import Interpreter

        details = Interpreter(model_content=data).get_input_details()
        inputs = {
            d["name"]: quantize(
                calib[0]["frame" if d["shape"][1] == T else "conv_state"], *d["quantization"], d["dtype"]
            )
            for d in details
        }
        expected, atol, _ = golden_outputs(data, inputs)
        assert isinstance(expected, dict) and len(expected) == 2
        outcome = second_runtime_outcome(data, inputs, expected, atol)
        assert outcome.ok is True, outcome.message
        assert sorted(outcome.details["outputs"]) == sorted(expected)
        assert (outcome.details["operators"]["checked"] > 0) == (mode == "int8")
        # one output off by more than its tolerance: the gate fails naming it
        name = next(iter(expected))
        wrong = {**expected, name: expected[name].astype(np.float64) + atol[name] + 1.0}
        bad = second_runtime_outcome(data, inputs, wrong, atol)
        assert bad.ok is False and name in bad.message and "beyond the fixture tolerance" in bad.message


@needs_armnn
def test_operator_check_pins_arm_nn_int8_pad_to_the_operator():
    """Arm NN 20.08 pads int8 tensors with 0 instead of their zero point: the check names the PAD."""
    keras.utils.set_random_seed(0)
    x = keras.Input(batch_shape=(1, T, 1, 1), name="frame")
    h = keras.layers.ZeroPadding2D(((4, 4), (0, 0)))(x)
    model = keras.Model(x, keras.layers.Conv2D(2, (5, 1))(h))
    calib = [np.random.default_rng(i).uniform(0.5, 2.0, (1, T, 1, 1)).astype(np.float32) for i in range(16)]
    data = convert_keras(model, "int8", representative=lambda: iter([[c] for c in calib]))
    assert "PAD" in op_counts(data)
    xq = raw_input(data)
    expected, atol, _ = golden_outputs(data, [xq])
    outcome = second_runtime_outcome(data, [xq], expected, atol)
    assert outcome.ok is False, outcome.message
    failed = outcome.details["operators"]["failed"]
    assert [f["op"] for f in failed] == ["PAD"] and "#0 PAD" in outcome.message


@needs_armnn
def test_armnn_refuses_the_shape_model_naming_shape(converted):
    data = converted["shape"]
    x = np.zeros((1, T, 2), np.float32)
    expected, atol, _ = golden_outputs(data, [x])
    outcome = second_runtime_outcome(data, [x], expected, atol)
    assert outcome.ok is False and "SHAPE" in outcome.message and outcome.details["refused"]


def test_second_runtime_skips_with_a_notice_where_armnn_is_absent(converted, monkeypatch):
    monkeypatch.setenv(ARMNN_PYTHON_ENV, "/nonexistent/python3")
    ok, about = armnn_status()
    assert not ok and "Arm NN not available" in about and "apt-get install python3-pyarmnn" in about
    x = raw_input(converted["float"])
    expected, atol, _ = golden_outputs(converted["float"], [x])
    outcome = second_runtime_outcome(converted["float"], [x], expected, atol)
    assert outcome.ok is None and "Arm NN not available" in outcome.message


def test_run_gates_in_order_stopping_at_the_first_failure():
    class Ctx:
        results = []
        edge_ready = False

    seen = []

    def step(name, ok):
        def check(ctx):
            seen.append(name)
            return Outcome(ok, f"{name} said so", {"n": len(seen)})

        return check

    gates = [
        Gate("a", "first", step("a", True)),
        Gate("b", "second", step("b", None)),
        Gate("c", "legacy-only warning", step("c", False), blocking=lambda ctx: ctx.edge_ready),
        Gate("d", "blocking", step("d", False)),
        Gate("e", "never reached", step("e", True)),
    ]
    lines = []
    with pytest.raises(GateFailed, match=r"m: gate 'd' failed: d said so") as info:
        run_gates(gates, Ctx(), label="m", log=lines.append)
    assert seen == ["a", "b", "c", "d"]
    assert [r.status for r in info.value.results] == [PASSED, SKIPPED, WARNING, FAILED]
    assert info.value.gate == "d" and len(lines) == 4 and lines[2].startswith("[edge] m gate 3/5 c: warning")
    ctx = Ctx()
    ctx.edge_ready = True
    seen.clear()
    with pytest.raises(GateFailed, match="gate 'c' failed"):
        run_gates(gates, ctx, log=None)
    # Results handed in through ``reuse`` are recorded without running the gate again.
    seen.clear()
    first = run_gates(gates[:2], Ctx(), log=None)
    again = run_gates(gates[:2], Ctx(), log=None, reuse={"a": first[0]})
    assert seen == ["a", "b", "b"] and again[0] is first[0]


def test_graph_stats_counts_macs_from_the_graph():
    x = keras.Input(batch_shape=(1, 64, 1, 2))
    h = keras.layers.Conv2D(3, (5, 1), padding="same", bias_initializer="ones")(x)  # 64*3 outputs x 5*1*2
    h = keras.layers.DepthwiseConv2D((3, 1), padding="same", bias_initializer="ones")(h)  # 64*3 outputs x 3
    y = keras.layers.Conv2D(2, (1, 1), strides=(2, 1), bias_initializer="ones")(h)  # 32*2 outputs x 3
    stats = graph_stats(convert_keras(keras.Model(x, y), "float"))
    assert stats["macs_by_op"] == {"CONV_2D": 64 * 3 * 10 + 32 * 2 * 3, "DEPTHWISE_CONV_2D": 64 * 3 * 3}
    assert stats["macs"] == 64 * 3 * 10 + 32 * 2 * 3 + 64 * 3 * 3
    assert stats["parameters"] == (3 * 5 * 2 + 3) + (3 * 3 + 3) + (2 * 3 + 2)
    x = keras.Input(batch_shape=(1, 8))
    dense = graph_stats(convert_keras(keras.Model(x, keras.layers.Dense(5, bias_initializer="ones")(x)), "float"))
    assert dense["macs"] == 5 * 8 and dense["parameters"] == 5 * 8 + 5


def test_dynamic_graph_macs_use_resolved_shapes(converted):
    # The shape model's conv maps [1, 128, 1, 1] -> [1, 128, 1, 2] with a 3-tap kernel: 128 * 2 * 3 MACs.
    assert graph_stats(converted["shape"])["macs"] == 2 * T * 2 * 3


def test_residual_add_of_mono_waveforms_converts_statically():
    """Keras lowers [1, T, 1] + [1, T, 1] to an NCHW BiasAdd the converter rejects; the export uses a plain add."""
    x = keras.Input(batch_shape=(1, 32, 2))
    r = keras.ops.reshape(keras.layers.Conv1D(2, 3, padding="same")(x), (1, 64, 1))
    y = keras.layers.Add()([r, keras.layers.Conv1D(1, 3, padding="same")(r)])
    data = convert_keras(keras.Model(x, y), "float")
    report = static_graph_report(data)
    assert report.ok, report.describe()
    assert op_counts(data)["ADD"] == 1


def test_converter_chatter_is_filtered_and_errors_kept(capfd):
    from keras_audiosr.utils import filtered_stderr

    model = static_model()
    calib = windows(4)
    convert_keras(model, "int8", representative=lambda: ([w] for w in calib))
    err = capfd.readouterr().err
    assert "fully_quantize" not in err and "inference_type" not in err
    with filtered_stderr():
        os.write(2, b"I0000 00:00:1.0 1 x.cc:1] chatter\nfully_quantize: 0, inference_type: 6\nreal problem\n")
    assert capfd.readouterr().err == "real problem\n"
    # A failing block: its errors reach the terminal, the chatter stays hidden, the exception propagates.
    with pytest.raises(RuntimeError, match="boom"), filtered_stderr():
        os.write(2, b"fully_quantize: 0\nE0000 00:00:1.0 1 x.cc:1] conversion failed\n")
        raise RuntimeError("boom")
    assert capfd.readouterr().err == "E0000 00:00:1.0 1 x.cc:1] conversion failed\n"


def test_library_layers_export_as_a_static_graph():
    """PadToMultiple (with real padding), Interpolation1D and SubPixel1D at fixed shapes: no TILE, SHAPE or PACK."""
    from keras_audiosr.layers import Interpolation1D, PadToMultiple, SubPixel1D

    keras.utils.set_random_seed(0)
    x = keras.Input(batch_shape=(1, 30, 1))
    h = Interpolation1D(2, "sinc")(PadToMultiple(8)(x))  # 30 -> 32 -> 64
    y = SubPixel1D(2)(keras.layers.Conv1D(2, 3, padding="same")(h))  # 64 -> 128
    model = keras.Model(x, y)
    data = convert_keras(model, "float")
    report = static_graph_report(data)
    assert report.ok, report.describe()
    from keras_audiosr.streaming.runtime import TFLiteModel

    signal = np.sin(np.linspace(0, 20, 30)).astype(np.float32)
    got = TFLiteModel(data)(signal)
    assert np.allclose(got, np.asarray(model(signal[None, :, None]))[0, :, 0], atol=1e-5)
