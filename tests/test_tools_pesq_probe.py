"""tools/pesq_probe.py: the probe systems beside the model and the baselines, on the same inputs."""

import json

import pytest

pytest.importorskip("pesq")

from keras_audiosr.data import embedded_corpus_dir  # noqa: E402
from keras_audiosr.models import StreamingBWE  # noqa: E402
from keras_audiosr.models.saving import save_model  # noqa: E402
from tools import pesq_probe  # noqa: E402


def test_probe_reports_every_system_on_the_same_inputs(tmp_path, capsys):
    model = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    save_model(model, tmp_path / "m.keras")
    wav = sorted((embedded_corpus_dir() / "p273").glob("*.flac"))[0]
    rc = pesq_probe.main(
        [
            "--model",
            str(tmp_path / "m.keras"),
            "--files",
            str(wav),
            "--degradations",
            "resample",
            "--cut",
            "2000",
            "--mix",
            "0,1",
            "--zeros",
            "8",
            "--trim=-6",
            "--max-seconds",
            "2",
            "--out",
            str(tmp_path / "probe.json"),
        ]
    )
    assert rc == 0
    table = capsys.readouterr().out
    assert "| resample | model |" in table and "cut@2000" in table and "trim@-6" in table
    mean = json.loads((tmp_path / "probe.json").read_text())["degradations"]["resample"]["mean"]
    assert set(mean) == {"model", "sinc", "spline", "cut@2000", "mix@0", "mix@1", "zeros@8", "trim@-6"}
    assert mean["mix@0"]["snr"] == pytest.approx(mean["sinc"]["snr"], abs=1e-6)  # sinc + 0 (model - sinc)
    assert mean["mix@1"]["snr"] == pytest.approx(mean["model"]["snr"], abs=0.01)
    assert mean["cut@2000"]["lsd"] > mean["sinc"]["lsd"] and mean["cut@2000"]["snr_lb"] < mean["sinc"]["snr_lb"] - 3
    assert mean["zeros@8"]["snr_lb"] < mean["model"]["snr_lb"]  # the default kernel is longer than 8 zeros


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert pesq_probe.main(["--model", "no-such-model", "--files", __file__]) == 2
    assert "no-such-model" in capsys.readouterr().err
    assert pesq_probe.main(["--model", "telephony-8k-16k", "--files", str(tmp_path / "x.wav")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_choose_trim_on_sets_the_trim_the_ship_rule_picks(tmp_path, capsys):
    model = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    save_model(model, tmp_path / "m.keras")
    wav = sorted((embedded_corpus_dir() / "p273").glob("*.flac"))[0]
    rc = pesq_probe.main(
        [
            "--model",
            str(tmp_path / "m.keras"),
            "--files",
            str(wav),
            "--degradations",
            "resample",
            "--cut",
            "",
            "--mix",
            "",
            "--zeros",
            "",
            "--trim",
            "",
            "--sinc-zeros",
            "auto",
            "--choose-trim-on",
            str(wav),
            "--choose-among",
            "0,-12",
            "--max-seconds",
            "1",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "high-band trim chosen on 1 files:" in out
    assert "high-band trim +0 dB:" in out and "high-band trim -12 dB:" in out and "-3 dB:" not in out
    assert pesq_probe.main(["--model", "m", "--files", str(wav), "--choose-among", "0"]) == 2
    assert "--choose-among needs --choose-trim-on" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--zeros", "8,x"), ("--sinc-zeros", "many"), ("--trim", "loud")])
def test_bad_numbers_are_usage_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        pesq_probe.main(["--model", "telephony-8k-16k", "--files", __file__, flag, value])
    assert exc.value.code == 2 and value in capsys.readouterr().err


def test_upper_probes_set_the_band_above_their_frequency():
    import numpy as np

    model = StreamingBWE.from_size("tiny", ratio=6, hr_rate=48000, transition=(0.9, 1.0))
    systems = pesq_probe.probe_systems(model, upper=[(9000.0, -6.0)])
    assert list(systems) == ["upper@9000:-6"] and model.upper_band_hz is None  # a copy, the model untouched
    x = (0.1 * np.random.default_rng(0).standard_normal(800)).astype("float32")
    assert systems["upper@9000:-6"](x).shape == (4800,)
    with pytest.raises(SystemExit, match="does not fit between"):
        pesq_probe.probe_systems(model, upper=[(3000.0, -6.0)])
    with pytest.raises(SystemExit, match="HZ:DB pairs"):
        pesq_probe.probe_systems(model, upper=[(9000.0,)])


def test_upper_argument_parses_hz_db_pairs_and_refuses_anything_else(capsys):
    p = pesq_probe.build_parser()
    base = ["--model", "m", "--files", "a.wav"]
    assert p.parse_args(base + ["--upper", "9000:-6,10000:0"]).upper == [(9000.0, -6.0), (10000.0, 0.0)]
    assert p.parse_args(base + ["--cut", "2800,3400"]).cut == [2800.0, 3400.0]
    for bad in ("9000", "9000:-6:1", "x:-6"):
        with pytest.raises(SystemExit):
            p.parse_args(base + ["--upper", bad])
        assert "expected comma-separated HZ:DB values" in capsys.readouterr().err
