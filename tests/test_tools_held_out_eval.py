"""tools/held_out_eval.py: models side by side on a run's held-out speakers, under the quality conditions."""

import json

import pytest

pytest.importorskip("ai_edge_litert")

from tests.test_ship_model import make_run  # noqa: E402
from tools import held_out_eval  # noqa: E402


def test_scores_a_shipped_stream_and_a_keras_model_on_the_same_files(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    out = tmp_path / "eval"
    rc = held_out_eval.main(
        [
            "--run",
            str(run),
            "--model",
            "telephony-8k-16k",
            "--model",
            str(run / "model.keras"),
            "--out",
            str(out),
            "--per-speaker",
            "1",
            "--max-seconds",
            "1",
            "--degradations",
            "resample,codec:gsm",
            "--no-perceptual",
        ]
    )
    assert rc == 0
    stream = json.loads((out / "telephony-8k-16k-int8.json").read_text())
    keras_rep = json.loads((out / "run-model.json").read_text())
    for rep in (stream, keras_rep):
        assert rep["order"] == ["resample", "codec:gsm"] and rep["n_files"] == 1
        assert rep["targets"]["rule"]["visqol"].startswith("ViSQOL >= sinc + 0.35")
        assert rep["targets"]["by_degradation"]["codec:gsm"]["snr"]["applies"] is False
    # the same inputs: sinc scores the same for both models
    assert stream["degradations"]["resample"]["mean"]["sinc"] == keras_rep["degradations"]["resample"]["mean"]["sinc"]
    md = (out / "telephony-8k-16k-int8.md").read_text()
    assert "## Targets" in md and "resample" in md and "tools.held_out_eval" in md


def test_a_folder_that_is_not_a_run_is_one_line_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        held_out_eval.main(["--run", str(tmp_path), "--model", "telephony-8k-16k", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "no config.json or metrics.json" in err and not (tmp_path / "o").exists()
