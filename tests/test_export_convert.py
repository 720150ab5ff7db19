"""Edge conversion through the gate list: every mode converts and runs under ai_edge_litert, gate results in
order in the JSON, a static graph, parity bounds, op check, metadata round trip, golden fixtures, corrupted files,
a legacy (non-static) model warned or refused, the convert CLI and the benchmark."""

import json

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import keras

from keras_audiosr.data import load_corpus, make_default_corpus
from keras_audiosr.export.armnn import armnn_status
from keras_audiosr.export.conversion import (
    CONVERSION_GATES,
    MAX_FLOAT_ABS_ERROR,
    MIN_SNR_DB,
    ParityError,
    parity,
)
from keras_audiosr.export.convert import main as convert_main
from keras_audiosr.export.gates import GateFailed
from keras_audiosr.export.metadata import add_metadata
from keras_audiosr.export.modes import MODES, check_mode
from keras_audiosr.export.opcheck import NonBuiltinOpError, check_builtin_ops, op_counts
from keras_audiosr.export.tflite import convert_keras
from keras_audiosr.export.window import Exporter
from keras_audiosr.models import AudioUNet
from keras_audiosr.streaming import TFLiteError, TFLiteModel, make_plan, read_metadata

# Parity bounds the tests hold the exports to (the Exporter's own gates are MIN_SNR_DB; these are the
# values stated in the README edge section for the tiny test model on the synthetic corpus).
SNR_VS_FLOAT_DB = {"dynamic": 40.0, "float16": 60.0, "int8": 20.0, "int16x8": 40.0, "qat": 20.0}


def tiny_model(seed=0):
    """The tiny U-Net with a non-zero last layer (its default zero init makes the output the bare interpolation)."""
    keras.utils.set_random_seed(seed)
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    layer = model.get_layer("final_conv")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(seed).normal(0, 0.05, kernel.shape).astype("float32"), bias])
    return model


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    return make_default_corpus(tmp_path_factory.mktemp("train"), n_speakers=2, n_utterances=2, seconds=1.0, rate=16000)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, train_dir):
    model = tiny_model()
    plan = make_plan(model, frame=160)
    out = tmp_path_factory.mktemp("edge")
    exporter = Exporter(
        model,
        plan,
        load_corpus(train_dir),
        calibration_windows=16,
        qat_steps=5,
        qat_batch_size=4,
        parity_files=1,
        parity_seconds=1.0,
        progress=False,
        log=None,
    )
    return model, plan, out, {mode: exporter.export(mode, out) for mode in MODES}, exporter


def test_every_mode_converts_and_runs(exports):
    model, plan, _, results, _ = exports
    x = (0.1 * np.random.default_rng(1).standard_normal(plan.window)).astype("float32")
    expected_io = {
        "float": "float32",
        "dynamic": "float32",
        "float16": "float32",
        "int8": "int8",
        "int16x8": "int16",
        "qat": "int8",
    }
    for mode, res in results.items():
        assert res.path.is_file() and res.path.name == f"{model.name}_{mode}.tflite"
        tfl = TFLiteModel(res.path)
        assert tfl.input_dtype.name == expected_io[mode] and tfl.output_dtype.name == expected_io[mode]
        assert (tfl.input_length, tfl.output_length) == (plan.window, plan.frame * 2)
        y = tfl(x)
        assert y.shape == (plan.frame * 2,) and np.all(np.isfinite(y))
        assert not non_builtin(res.path)


GATE_NAMES = [
    "export",
    "builtin_ops",
    "float_parity",
    "quantize",
    "static_graph",
    "parity",
    "fixtures",
    "second_runtime",
    "write",
]
# Arm NN 20.08 (CpuRef) runs float, int8 and qat models; it refuses hybrid (dynamic), float16-weight and int16x8 ones.
ARMNN_RUNS = {"float", "int8", "qat"}


def test_gates_recorded_in_order(exports):
    _, _, _, results, _ = exports
    assert [g.name for g in CONVERSION_GATES] == GATE_NAMES
    armnn_ok, _ = armnn_status()
    for mode, res in results.items():
        side = json.loads(res.json_path.read_text())
        assert [g["gate"] for g in side["gates"]] == GATE_NAMES == [g["gate"] for g in res.gates]
        status = {g["gate"]: g["status"] for g in side["gates"]}
        assert all(g["message"] and g["seconds"] >= 0 for g in side["gates"])
        assert side["edge_ready"] is False
        # The fixed-window AudioUNet export is a static graph of allowlisted operators in every mode.
        assert status["static_graph"] == "passed", side["gates"][4]["message"]
        assert not {"SHAPE", "PACK", "TILE", "EXPAND_DIMS", "SQUEEZE"} & set(side["ops"])
        assert (status["quantize"], status["parity"]) == (
            ("skipped", "skipped") if mode == "float" else ("passed", "passed")
        )
        if not armnn_ok:
            assert status["second_runtime"] == "skipped"
        elif mode in ARMNN_RUNS:
            assert status["second_runtime"] == "passed", side["gates"][7]["message"]
        else:  # a legacy model: Arm NN's refusal is recorded as a warning, the model is still written
            assert status["second_runtime"] == "warning" and "refused" in side["gates"][7]["message"]
        assert status["write"] == "passed" and not (res.path.parent / f"{res.name}.failed.json").exists()


def non_builtin(path):
    from keras_audiosr.export.opcheck import non_builtin_ops

    return non_builtin_ops(path)


def test_parity_bounds(exports):
    _, _, _, results, _ = exports
    p = results["float"].parity["vs_keras"]
    assert p["max_abs_error"] <= MAX_FLOAT_ABS_ERROR
    assert p["snr_db"] is None or p["snr_db"] >= MIN_SNR_DB["float"]
    for mode, bound in SNR_VS_FLOAT_DB.items():
        vs_float = results[mode].parity["vs_float"]
        assert vs_float["snr_db"] >= bound, (mode, vs_float)
        assert vs_float["snr_db"] >= MIN_SNR_DB[mode]
    # Finer weights and activations are closer to float: int16x8 beats int8, float16 beats dynamic.
    assert results["int16x8"].parity["vs_float"]["snr_db"] > results["int8"].parity["vs_float"]["snr_db"]
    assert results["float16"].parity["vs_float"]["snr_db"] > results["dynamic"].parity["vs_float"]["snr_db"]


def test_quantized_models_are_smaller_where_weights_shrink(exports):
    model, _, _, results, _ = exports
    weights = sum(int(np.prod(w.shape)) for w in model.weights)
    for mode in ("dynamic", "float16", "int8"):
        assert results[mode].size_bytes < results["float"].size_bytes
    # int8 weights save 3 bytes per weight against float32, less the per-channel scales and zero-points.
    assert results["float"].size_bytes - results["int8"].size_bytes > weights


def test_metadata_round_trip(exports):
    model, plan, out, results, _ = exports
    for mode, res in results.items():
        meta = read_metadata(res.path)
        side = json.loads(res.json_path.read_text())
        assert meta == {k: side[k] for k in meta}
        assert meta["mode"] == mode
        assert (meta["lr_rate"], meta["hr_rate"], meta["ratio"]) == (8000, 16000, 2)
        assert meta["frame_length"] == plan.frame and meta["input_length"] == plan.window
        assert meta["output_length"] == 2 * plan.frame
        assert meta["algorithmic_latency_ms"] == pytest.approx(1000.0 * (plan.frame + plan.lookahead) / 8000)
        assert meta["degradation"] == model.degradation
        tfl = TFLiteModel(res.path)
        if tfl.input_dtype.kind == "i":
            assert (meta["input"]["scale"], meta["input"]["zero_point"]) == pytest.approx(tfl.input_quant)
            assert (meta["output"]["scale"], meta["output"]["zero_point"]) == pytest.approx(tfl.output_quant)
        else:
            assert meta["input"]["scale"] is None
    # Re-adding replaces the entry instead of appending a second one.
    data = add_metadata(results["float"].path.read_bytes(), {"x": 1})
    assert read_metadata(data) == {"x": 1}
    assert read_metadata(add_metadata(data, {"x": 2})) == {"x": 2}
    assert TFLiteModel(data)(np.zeros(plan.window, np.float32)).shape == (2 * plan.frame,)


def test_golden_fixtures_reproduce(exports):
    _, _, out, results, _ = exports
    for _mode, res in results.items():
        q_in = np.load(out / res.files["input"])
        expected = np.load(out / res.files["expected"])
        tfl = TFLiteModel(res.path)
        assert q_in.dtype == tfl.input_dtype and expected.dtype == tfl.output_dtype
        assert np.any(q_in != 0)
        got = tfl.invoke_raw(q_in)
        assert np.max(np.abs(got.astype(np.float64) - expected)) <= res.files["atol"]
        no_xnnpack = TFLiteModel(res.path, xnnpack=False).invoke_raw(q_in)
        assert np.max(np.abs(no_xnnpack.astype(np.float64) - expected)) <= res.files["atol"]


def test_unknown_mode_lists_the_modes():
    with pytest.raises(ValueError, match="dynamic, float16, int8, int16x8, qat"):
        check_mode("int4")
    assert convert_main(["--model", "m.keras", "--mode", "int4", "--out", "x"]) == 2


def test_convert_cli_reports_bad_arguments_in_one_line_before_any_work(tmp_path, capsys):
    model = tmp_path / "m.keras"
    model.write_bytes(b"not used: validation fails first")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    out = tmp_path / "out"
    cases = [
        (["--model", str(tmp_path / "none.keras"), "--mode", "float", "--out", str(out)], "none.keras: no such file"),
        (["--model", str(model), "--mode", "int4", "--out", str(out)], "unknown quantization mode 'int4'"),
        (["--model", str(model), "--mode", "float", "--out", str(a_file)], "exists and is not a folder"),
        (
            ["--model", str(model), "--mode", "float", "--out", str(out), "--train-data", str(tmp_path / "nodata")],
            "nodata: no such folder",
        ),
        (
            ["--model", str(model), "--mode", "float", "--out", str(out), "--frame-ms", "-5"],
            "argument --frame-ms: expected a positive number, got '-5'",
        ),
    ]
    for argv, message in cases:
        rc, err = run_cli(convert_main, argv, capsys)
        assert rc == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert not out.exists()


def run_cli(main, argv, capsys):
    """``(exit status, stderr)`` of an edge tool's ``main`` (argparse errors exit through SystemExit)."""
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    return rc, capsys.readouterr().err


def test_edge_tools_help_every_option_with_its_default_and_no_markup():
    import argparse

    from keras_audiosr.export import benchmark, compare, convert

    for module in (convert, benchmark, compare):
        parser = module.build_parser()
        text = parser.format_help()
        assert "`" not in text and ":func:" not in text, module.__name__
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            assert action.help and ("default" in action.help or "required" in action.help), (
                module.__name__,
                action.dest,
            )
    help_text = convert.build_parser().format_help()
    positions = [help_text.index(f"{i}. {name}:") for i, name in enumerate(GATE_NAMES, 1)]
    assert positions == sorted(positions)


def test_op_check_names_non_builtin_ops(tmp_path):
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="test_edge")
    class Erf(keras.layers.Layer):
        def call(self, x):
            return x + 0.1 * tf.math.erf(x)

    inputs = keras.Input(batch_shape=(1, 64, 1))
    model = keras.Model(inputs, Erf()(inputs))
    with pytest.raises(NonBuiltinOpError, match="Erf") as info:
        convert_keras(model, "float")
    assert "Erf" in info.value.ops
    flex = convert_keras(model, "float", allow_flex=True)
    path = tmp_path / "flex.tflite"
    path.write_bytes(flex)
    with pytest.raises(NonBuiltinOpError, match=r"flex\.tflite.*FlexErf") as info:
        check_builtin_ops(path)
    assert info.value.ops == ["FlexErf"]
    assert op_counts(flex)["FlexErf"] == 1


def test_corrupted_tflite_names_the_file(exports, tmp_path):
    _, _, _, results, _ = exports
    good = results["int8"].path.read_bytes()
    cases = {
        "garbage.tflite": bytes(range(256)) * 8,
        "truncated.tflite": good[: len(good) // 2],
        "empty.tflite": b"",
        "damaged.tflite": good[:64] + bytes(b ^ 0xA5 for b in good[64:512]) + good[512:],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for load in (TFLiteModel, read_metadata, check_builtin_ops):
            with pytest.raises(TFLiteError, match=name.replace(".", r"\.")):
                load(path)
    with pytest.raises(TFLiteError, match="not found"):
        TFLiteModel(tmp_path / "missing.tflite")


def test_parity_gate_rejects_a_model_below_its_bound(exports, tmp_path):
    *_, exporter = exports
    saved = dict(exporter.min_snr)
    try:
        exporter.min_snr["dynamic"] = 200.0
        with pytest.raises(ParityError, match=r"gate 'parity' failed: dynamic model differs .*>= 200"):
            exporter.export("dynamic", tmp_path)
    finally:
        exporter.min_snr = saved
    assert not list(tmp_path.glob("*.tflite")) and not list(tmp_path.glob("*.npy"))
    report = json.loads((tmp_path / "audio_unet_dynamic.failed.json").read_text())
    assert report["failed_gate"] == "parity" and [g["gate"] for g in report["gates"]] == GATE_NAMES[:6]
    assert report["gates"][-1]["status"] == "failed"


def legacy_model():
    """An AudioSRModel whose up-sampling lowers to TILE (keras UpSampling1D): not a static, allowlisted graph."""
    from keras_audiosr.models import AudioSRModel

    keras.utils.set_random_seed(0)
    x = keras.Input(shape=(None, 1))
    y = keras.layers.Conv1D(1, 3, padding="same", name="smooth")(keras.layers.UpSampling1D(2)(x))
    return AudioSRModel(inputs=x, outputs=y, ratio=2, hr_rate=16000, name="legacy")


def test_static_graph_gate_warns_for_legacy_models_and_blocks_when_strict(train_dir, tmp_path):
    model = legacy_model()
    plan = make_plan(model, frame=80)
    kwargs = dict(parity_files=1, parity_seconds=0.5, progress=False, log=None)
    res = Exporter(model, plan, load_corpus(train_dir), **kwargs).export("float", tmp_path / "legacy")
    status = {g["gate"]: g for g in res.gates}
    assert status["static_graph"]["status"] == "warning" and "TILE" in status["static_graph"]["message"]
    assert status["second_runtime"]["status"] in ("warning", "skipped") and res.path.is_file()
    with pytest.raises(GateFailed, match=r"gate 'static_graph' failed: .*TILE") as info:
        Exporter(model, plan, load_corpus(train_dir), strict=True, **kwargs).export("float", tmp_path / "strict")
    assert info.value.gate == "static_graph"
    assert not list((tmp_path / "strict").glob("*.tflite"))
    assert json.loads((tmp_path / "strict" / "legacy_float.failed.json").read_text())["failed_gate"] == "static_graph"
    model.edge_ready = True  # a model that claims edge-readiness gets the strict gates without asking
    with pytest.raises(GateFailed, match="static_graph"):
        Exporter(model, plan, load_corpus(train_dir), **kwargs).export("float", tmp_path / "claims")


def test_parity_function():
    ref = np.array([1.0, -1.0, 2.0])
    assert parity(ref, ref) == {"max_abs_error": 0.0, "snr_db": None}
    p = parity(ref + [0.1, 0.0, 0.0], ref)
    assert p["max_abs_error"] == pytest.approx(0.1)
    assert p["snr_db"] == pytest.approx(10 * np.log10(6.0 / 0.01))


def test_convert_cli(tmp_path, train_dir):
    model = tiny_model(1)
    path = tmp_path / "tiny.keras"
    model.save(path)
    out = tmp_path / "out"
    rc = convert_main(
        [
            "--model",
            str(path),
            "--mode",
            "dynamic",
            "--out",
            str(out),
            "--train-data",
            str(train_dir),
            "--frame-ms",
            "10",
            "--no-progress",
        ]
    )
    assert rc == 0
    stem = f"{model.name}_dynamic"
    for suffix in (".tflite", ".json", ".input.npy", ".expected.npy"):
        assert (out / f"{stem}{suffix}").is_file()
    meta = read_metadata(out / f"{stem}.tflite")
    assert meta["frame_length"] == 80 and meta["frame_ms"] == 10.0 and meta["mode"] == "dynamic"


def test_benchmark(exports):
    from keras_audiosr.export.benchmark import benchmark_model, format_markdown

    _, plan, _, results, _ = exports
    r = benchmark_model(results["int8"].path, threads=(1, 2), repeats=5, warmup=1, memory=True)
    assert r["size_bytes"] == results["int8"].size_bytes and r["mode"] == "int8"
    for n in ("1", "2"):
        s = r["threads"][n]
        assert (
            0
            < s["latency_ms_min"]
            <= s["latency_ms_q1"]
            <= s["latency_ms"]
            <= s["latency_ms_q3"]
            <= s["latency_ms_max"]
        )
        assert s["rtf"] == pytest.approx(s["latency_ms"] / plan.frame_ms)
    assert r["peak_rss_mb"] > r["runtime_rss_mb"] > 0
    assert s["latency_per_10ms_ms"] == pytest.approx(s["latency_ms"] * 10 / plan.frame_ms)
    # MACs counted from the graph: the tiny U-Net's convolutions over one window, per second of audio.
    assert r["macs_per_call"] > 0 and r["mmac_per_second"] == pytest.approx(r["macs_per_call"] / plan.frame_ms / 1e3)
    assert r["parameters"] >= sum(int(np.prod(w.shape)) for w in exports[0].weights)
    assert r["algorithmic_latency_ms"] == pytest.approx(plan.latency_ms)
    table = format_markdown([r])
    assert "int8" in table and table.count("\n") == 2 and "MMAC/s" in table


def test_benchmark_cli_reports_a_bad_file_as_a_failed_row_and_goes_on(exports, tmp_path, capsys):
    from keras_audiosr.export.benchmark import main as bench_main

    _, _, _, results, _ = exports
    models = tmp_path / "models"
    models.mkdir()
    (models / "a_good.tflite").write_bytes(results["float"].path.read_bytes())
    (models / "b_broken.tflite").write_bytes(b"garbage" * 40)
    (models / "c_good.tflite").write_bytes(results["int8"].path.read_bytes())
    out = tmp_path / "bench.json"
    rc = bench_main(
        [
            str(models),
            "--repeats",
            "3",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--no-memory",
            "--no-progress",
            "--json",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert rc == 1 and "b_broken.tflite: not a TFLite model" in captured.err
    rows = json.loads(out.read_text())["models"]
    assert [r["name"] for r in rows] == ["a_good", "b_broken", "c_good"]
    assert "error" in rows[1] and "latency_ms" in rows[0]["threads"]["1"] and "latency_ms" in rows[2]["threads"]["1"]
    assert "| b_broken | FAILED: " in captured.out


def test_benchmark_cli_checks_paths_first(tmp_path, capsys):
    from keras_audiosr.export.benchmark import main as bench_main

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no models here")
    for argv, message in (
        ([str(empty)], "no .tflite files in this folder"),
        ([str(tmp_path / "missing")], "missing: no such file or folder"),
        ([str(empty / "notes.txt")], "not a .tflite file"),
        ([], "give .tflite files or folders"),
        ([str(empty), "--repeats", "0"], "argument --repeats: expected a positive integer, got '0'"),
    ):
        rc, err = run_cli(bench_main, argv, capsys)
        assert rc == 2 and message in err and err.count("\n") == 1, (argv, err)
    assert sorted(p.name for p in empty.iterdir()) == ["notes.txt"]


def test_window_exports_carry_the_standard_metadata(exports):
    """Fixed-window exports too: TFLITE_METADATA holds the JSON entry's document (name, version, licence, audio)."""
    from keras_audiosr.streaming.metadata import read_model_metadata

    model, _, _, results, _ = exports
    for mode, res in results.items():
        standard = read_model_metadata(res.path)
        meta = read_metadata(res.path)
        assert standard["document"] == meta and standard["name"] == meta["name"] == model.name, mode
        assert standard["license"] == meta["licence"] and meta["audio"]["output"]["sample_rate"] == model.hr_rate
        assert len(standard["subgraphs"][0]["inputs"]) == 1 and "signatures" not in meta
