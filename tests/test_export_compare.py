"""keras_audiosr.export.compare (python -m edge.compare): one row per model and variant in JSON and markdown, through
the library evaluation loop;
several models side by side; bad arguments refused before any work; training audio kept apart from evaluation audio."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import keras

from keras_audiosr.data import load_corpus, make_default_corpus
from keras_audiosr.export.calibration import separate_eval_and_train, training_windows
from keras_audiosr.export.compare import VARIANTS
from keras_audiosr.export.compare import main as compare_main
from keras_audiosr.models import AudioUNet


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_default_corpus(tmp_path_factory.mktemp("corpus"), n_speakers=3, n_utterances=2, seconds=1.0, rate=16000)


def test_eval_and_train_never_share_files(corpus, tmp_path):
    utts = load_corpus(corpus)
    ev, tr, note = separate_eval_and_train(utts, utts)
    assert ev and tr and "speaker split" in note
    assert not {u.path for u in ev} & {u.path for u in tr}
    assert not {u.speaker for u in ev} & {u.speaker for u in tr}
    ev2, tr2, _ = separate_eval_and_train(utts, utts, test_speakers=["s001"])
    assert {u.speaker for u in ev2} == {"s001"} and "s001" not in {u.speaker for u in tr2}
    disjoint_eval = [u for u in utts if u.speaker == "s003"]
    disjoint_train = [u for u in utts if u.speaker != "s003"]
    assert separate_eval_and_train(disjoint_eval, disjoint_train)[:2] == (disjoint_eval, disjoint_train)


def test_training_windows_are_aligned_with_the_degradation(corpus):
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    lr, hr = training_windows(model, load_corpus(corpus), 400, max_windows=5, progress=False, cache=False)
    assert lr.shape == (5, 400, 1) and hr.shape == (5, 800, 1)
    # The low-rate window is the degraded high-rate window, sample for sample (away from filter edges).
    assert np.corrcoef(lr[:, 50:350, 0].ravel(), hr[:, 100:700:2, 0].ravel())[0, 1] > 0.9


def tiny_model_file(path, seed=0):
    keras.utils.set_random_seed(seed)
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    layer = model.get_layer("final_conv")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(seed).normal(0, 0.05, kernel.shape).astype("float32"), bias])
    model.save(path)
    return path


@pytest.mark.slow  # ~30 s; kept out of the default run for time: every conversion mode is covered by test_edge_convert
# and the comparison loop by the stateful side-by-side test below (-m slow runs it)
def test_compare_writes_every_variant(corpus, tmp_path, capsys):
    path = tiny_model_file(tmp_path / "tiny.keras")
    out_json, out_md = tmp_path / "cmp.json", tmp_path / "cmp.md"
    rc = compare_main(
        [
            "--no-perceptual",
            "--model",
            str(path),
            "--data",
            str(corpus),
            "--train-data",
            str(corpus),
            "--json",
            str(out_json),
            "--md",
            str(out_md),
            "--block-ms",
            "100",
            "--frame-ms",
            "20",
            "--max-files",
            "1",
            "--qat-steps",
            "2",
            "--calibration-windows",
            "4",
            "--no-pesq",
            "--no-progress",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    # Progress for each stage, the QAT and calibration gates included.
    for stage in (
        "stage 1/3: export",
        "stage 2/3: evaluate",
        "stage 3/3: benchmark",
        "qat gate 4/9 quantize: passed",
        "int8 gate 4/9 quantize: passed",
    ):
        assert stage in out, stage
    report = json.loads(out_json.read_text())
    names = [v["name"] for v in report["variants"]]
    # a window model: its window variants; the stateful ones are for models with a stateful form
    assert (
        names == list(VARIANTS)[:8] == ["keras", "float", "dynamic", "float16", "int8", "int16x8", "qat", "streaming"]
    )
    assert VARIANTS[8:] == ("stream-float", "stream-int8", "stream-int8-pcm16") and "skipping stream-float" in out
    for v in report["variants"]:
        for key in (
            "snr",
            "lsd",
            "lsd_hf",
            "snr_vs_float",
            "size_bytes",
            "rtf",
            "latency_ms",
            "latency_per_10ms_ms",
            "parameters",
            "mmac_per_second",
            "algorithmic_latency_ms",
        ):
            assert key in v
        assert v["lsd"] > 0 and v["size_bytes"] > 0 and v["rtf"] > 0 and v["parameters"] > 0
        if v["name"] != "keras":
            assert Path(v["file"]).is_file() and v["mmac_per_second"] > 0
            assert v["gates"]["static_graph"] == "passed" and v["gates"]["write"] == "passed"
    by_name = {v["name"]: v for v in report["variants"]}
    # The float .tflite and the streaming model reproduce the Keras model; quantized ones depart from it.
    assert by_name["float"]["snr_vs_float"] > 60 and by_name["streaming"]["snr_vs_float"] > 40
    assert by_name["int8"]["snr_vs_float"] < by_name["float"]["snr_vs_float"]
    assert by_name["streaming"]["frame_ms"] == 20 and by_name["float"]["frame_ms"] == 100
    assert by_name["keras"]["snr_vs_float"] is None
    # Only held-out speakers were evaluated.
    test_speakers = {Path(f["path"]).parent.name for f in report["files"]}
    assert test_speakers == {"s003"} and "s003" in report["split_note"]
    # The block model recomputes its context for every frame: more MACs per second than the 20 ms stream.
    assert by_name["streaming"]["mmac_per_second"] > by_name["float"]["mmac_per_second"]
    assert set(report["baselines"]) == {"sinc", "spline"}
    table = out_md.read_text()
    assert all(f"| {n} |" in table for n in names) and "| sinc (baseline) |" in table
    # Every variant is scored under the model's own degradation (the rows) and a sinc resampler too.
    assert report["quality_degradation"] == "own" and list(report["degradations"]) == ["own", "resample"]
    for v in report["variants"]:
        assert list(v["by_degradation"]) == ["own", "resample"] and v["by_degradation"]["own"]["snr"] == v["snr"]
    assert report["degradations"]["resample"]["mean"]["sinc"]["snr"] != report["baselines"]["sinc"]["snr"]
    assert "| own (`cheby1:8`) | keras |" in table and "| resample | keras |" in table and "|  | int8 |" in table


def test_compare_puts_a_stateful_stream_beside_a_window_model(corpus, tmp_path):
    """StreamingBWE in its stateful form (float and int8 streams) beside two AudioUNets' block models (same
    name: their labels are told apart)."""
    from keras_audiosr.models import StreamingBWE

    a = tiny_model_file(tmp_path / "a.keras", 0)
    b = tiny_model_file(tmp_path / "b.keras", 1)
    keras.utils.set_random_seed(0)
    sbwe = tmp_path / "sbwe.keras"
    StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000).save(sbwe)
    out_json = tmp_path / "side.json"
    rc = compare_main(
        [
            "--no-perceptual",
            "--model",
            str(a),
            "--model",
            str(b),
            "--model",
            str(sbwe),
            "--data",
            str(corpus),
            "--train-data",
            str(corpus),
            "--json",
            str(out_json),
            "--variants",
            "keras,float,stream-float,stream-int8",
            "--block-ms",
            "100",
            "--frame-ms",
            "10",
            "--max-files",
            "1",
            "--max-seconds",
            "0.5",
            "--repeats",
            "3",
            "--no-pesq",
            "--no-progress",
        ]
    )
    assert rc == 0
    report = json.loads(out_json.read_text())
    rows = {v["label"]: v for v in report["variants"]}
    assert list(rows) == [
        "audio_unet_a/keras",
        "audio_unet_a/float",
        "audio_unet_b/keras",
        "audio_unet_b/float",
        "streaming_bwe/keras",
        "streaming_bwe/stream-float",
        "streaming_bwe/stream-int8",
    ]
    assert len(report["models"]) == 3 and set(report["files"]) == {"audio_unet_a", "audio_unet_b", "streaming_bwe"}
    assert rows["audio_unet_a/float"]["snr"] != rows["audio_unet_b/float"]["snr"]  # two different models
    assert (tmp_path / "side_models" / "audio_unet_a_float.tflite").is_file()
    for name in ("stream-float", "stream-int8"):
        row = rows[f"streaming_bwe/{name}"]
        assert row["frame_ms"] == 10 and row["algorithmic_latency_ms"] == pytest.approx(11.625)
        assert row["mmac_per_second"] == pytest.approx(5.4, abs=0.1) and row["rtf"] > 0
        assert row["gates"]["static_graph"] == "passed" and row["gates"]["second_runtime"] in ("passed", "skipped")
    # the float stream is the Keras model; the int8 one departs from it, by little
    assert rows["streaming_bwe/stream-float"]["snr_vs_float"] > 60
    assert 25 < rows["streaming_bwe/stream-int8"]["snr_vs_float"] < rows["streaming_bwe/stream-float"]["snr_vs_float"]
    assert report["models"][2]["streaming_plan"]["stateful"] is True


def test_compare_checks_arguments_before_any_work(corpus, tmp_path, capsys):
    model = tiny_model_file(tmp_path / "m.keras")
    no_audio = tmp_path / "no_audio"
    no_audio.mkdir()
    (no_audio / "readme.txt").write_text("nothing to hear")
    out_json = tmp_path / "report.json"
    base = ["--json", str(out_json), "--no-progress"]
    cases = [
        (["--model", str(model), "--data", str(no_audio)], "no audio files"),
        (["--model", str(tmp_path / "none.keras"), "--data", str(corpus)], "none.keras: no such file"),
        (["--model", str(model), "--data", str(tmp_path / "nowhere")], "nowhere: no such folder"),
        (["--model", str(model), "--data", str(corpus), "--variants", "float,int4"], "unknown variant(s) int4"),
        (
            ["--model", str(model), "--data", str(corpus), "--max-files", "0"],
            "argument --max-files: expected a positive integer, got '0'",
        ),
        (
            ["--model", str(model), "--data", str(corpus), "--degradations", "own,sox"],
            "--degradations: degradation 'sox'",
        ),
    ]
    for argv, message in cases:
        try:
            rc = compare_main(argv + base)
        except SystemExit as e:
            rc = e.code
        err = capsys.readouterr().err
        assert rc == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "no_audio"]


def test_evaluation_loop_scores_extra_systems_on_the_same_input():
    from keras_audiosr.baselines import spline_upsample
    from keras_audiosr.evaluation import evaluate_signal
    from keras_audiosr.metrics import evaluate_pair, snr

    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    ref = (0.1 * np.sin(np.arange(8000) * 0.05)).astype(np.float32)
    res = evaluate_signal(
        model,
        ref,
        with_pesq=False,
        return_signals=True,
        relative_to="model",
        systems={"hold": lambda low: np.repeat(low, 2), "spline2": lambda low: spline_upsample(low, 2)},
    )
    low, sig = res["signals"]["low"], res["signals"]
    assert res["hold"]["snr"] == pytest.approx(
        evaluate_pair(np.repeat(low, 2), sig["reference"], 2, 16000, with_pesq=False)["snr"]
    )
    assert res["spline2"]["snr"] == pytest.approx(res["spline"]["snr"])  # the same input as the baseline
    assert res["hold"]["snr_vs_model"] == pytest.approx(snr(np.repeat(low, 2), sig["model"]))
    assert "snr_vs_model" not in res["model"] and "snr_vs_model" not in res["spline"]
    with pytest.raises(ValueError, match="clash"):
        evaluate_signal(model, ref, with_pesq=False, systems={"spline": lambda low: low})
    with pytest.raises(ValueError, match="returned 3 samples"):
        evaluate_signal(model, ref, with_pesq=False, systems={"short": lambda low: low[:3]})
