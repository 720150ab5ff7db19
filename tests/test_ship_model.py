"""keras_audiosr.pretrained.ship and its command line tools/ship_model.py: a run folder -> a shipped model
folder that keras_audiosr.pretrained lists, loads and runs.

The run is a tiny StreamingBWE saved by hand beside the config.json / metrics.json a recipe run writes
(the keys ship_model reads), on the embedded real-speech corpus (held-out speaker p273); the slow test
in test_pretrained_shipped.py ships a model trained by ``python -m recipes.streaming_bwe`` itself.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import keras  # noqa: E402

from keras_audiosr import pretrained  # noqa: E402
from keras_audiosr.data import embedded_corpus_dir  # noqa: E402
from keras_audiosr.models import StreamingBWE  # noqa: E402
from keras_audiosr.models.saving import save_model  # noqa: E402
from keras_audiosr.pretrained import ShipError  # noqa: E402
from keras_audiosr.pretrained.card import stages_markdown, training_stages  # noqa: E402
from keras_audiosr.pretrained.ship import ship, swap_in  # noqa: E402
from tests.corpus_helpers import make_vctk  # noqa: E402
from tests.pretrained_checks import check_card, check_fixtures, check_stream  # noqa: E402
from tools import ship_model  # noqa: E402

NAME = "tiny-8k-16k"
FAST = [
    "--modes",
    "float,int8",
    "--calibration-windows",
    "8",
    "--max-seconds",
    "1.5",
    "--no-progress",
    "--no-perceptual",
    "--high-band-trim",
    "-6",
]


def make_run(folder: Path, speakers=("speech16k/p273",), extra=None) -> Path:
    """A finished tiny StreamingBWE run on the embedded corpus (and the corpus folder ``extra``, when given):
    model.keras, config.json, metrics.json."""
    keras.utils.set_random_seed(0)
    model = StreamingBWE.from_size(
        "tiny",
        ratio=2,
        hr_rate=16000,
        degradation={"ratio": 2, "filter": "cheby1:8", "zero_phase": True},
        training_degradations="speech-robust",
    )
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, folder / "model.keras")
    argv = ["--model-size", "tiny", "--epochs", "1", "--out", str(folder)]
    (folder / "config.json").write_text(
        json.dumps(
            {
                "recipe": "streaming_bwe",
                "data_dir": None,
                "task": "multi",
                "test_speakers": None,
                "ratio": 2,
                "hr_rate": 16000,
                "degradations": "speech-robust",
                "model_size": "tiny",
                "loss": "l2+mrstft",
                "argv": argv,
            }
        )
    )
    (folder / "metrics.json").write_text(
        json.dumps(
            {
                "recipe": "streaming_bwe",
                "test_speakers": list(speakers),
                "model_size": "tiny",
                "epochs_run": 1,
                "train_seconds": 2.0,
                "stopped_by_time_budget": False,
                "data": {
                    "corpora": [{"name": "speech16k", "root": str(embedded_corpus_dir()), "train_hours": 0.089}]
                    + ([{"name": extra.name, "root": str(extra), "train_hours": 0.001}] if extra else [])
                },
            }
        )
    )
    return folder


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    root = tmp_path_factory.mktemp("ship")
    # The run trained on two corpora; the held-out files (and calibration audio) are read from the first only.
    extra = make_vctk(root / "extra", speakers=("p901", "p902"), per_speaker=1)
    make_vctk(extra, speakers=("p903",), per_speaker=1, rate=8000)  # below 16 kHz: the store skips it
    run = make_run(root / "run", extra=extra)
    out = root / "pretrained"
    assert (
        ship_model.main(
            ["--run", str(run), "--name", NAME, "--out", str(out), "--data", str(embedded_corpus_dir()), *FAST]
        )
        == 0
    )
    return run, out


@pytest.fixture
def registry(shipped, monkeypatch):
    monkeypatch.setenv("KERAS_AUDIOSR_PRETRAINED_DIR", str(shipped[1]))
    return shipped[1]


def test_folder_holds_the_model_its_streams_and_cards(shipped):
    _, out = shipped
    assert sorted(p.name for p in out.iterdir()) == [NAME]  # the temporary build folder is gone
    folder = out / NAME
    stems = [f"streaming_bwe_stream_{m}" for m in ("float", "int8")]
    want = {"model.keras", "card.json", "MODEL_CARD.md"} | {
        f"{s}{ext}" for s in stems for ext in (".tflite", ".json", ".inputs.npz", ".expected.npz")
    }
    assert {p.name for p in folder.iterdir()} == want
    assert sum(p.stat().st_size for p in folder.iterdir()) < 1_000_000
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_card_and_model_card(registry):
    info = pretrained.info(NAME)
    card = check_card(info)
    assert (card["lr_rate"], card["hr_rate"], card["ratio"]) == (8000, 16000, 2)
    assert card["test_speakers"] == ["speech16k/p273"] and "speech16k/p225" in card["train_speakers"]
    assert {"extra/p901", "extra/p902"} <= set(card["train_speakers"])  # the run's training data, not only --data
    assert "extra/p903" not in card["train_speakers"]
    assert [Path(f).name for f in card["not_trained_on"]["files"]] == ["p903_001.wav"]
    assert card["training_command"] == f"python -m recipes.streaming_bwe --model-size tiny --epochs 1 --out runs/{NAME}"
    assert card["training_stages"] == [{"command": card["training_command"], "train_seconds": 2.0, "epochs_run": 1}]
    # the ship command as given, every option that shapes the numbers kept (rerunning it gives this card)
    assert (
        card["ship_command"].startswith("python -m tools.ship_model --run ") and "--max-seconds" in card["ship_command"]
    )
    assert "--no-progress" not in card["ship_command"]
    assert card["algorithmic_latency_ms"] == pytest.approx(1000 * (80 + card["lookahead"]) / 8000)
    sources = {s["source"]: s for s in card["data_sources"]["sources"]}
    assert set(sources) == {"VCTK", "LJ Speech"} and sources["VCTK"]["test_files"] == 1
    assert sources["LJ Speech"]["test_files"] == 0
    assert sorted(Path(p).name for p in card["data_sources"]["unknown"]) == ["p901_001.wav", "p902_001.wav"]
    # The targets are judged against sinc on the same numbers the metrics report.
    # 8 -> 16 kHz: LSD <= 0.40 x sinc; SNR within 1 dB of sinc except under telephone and codec inputs (not
    # applicable there); ViSQOL not measured (--no-perceptual), so the verdict is "not measured" (None)
    for system in ("int8", "model"):
        for label, row in card["targets"][system]["by_degradation"].items():
            m, sinc = card["metrics"][label][system], card["metrics"][label]["sinc"]
            if label.startswith(("telephone", "codec")):
                assert row["snr"]["met"] is None and row["snr"]["applies"] is False
            else:
                assert row["snr"]["met"] == (m["snr"] >= sinc["snr"] - 1.0)
            assert row["snr_lb"]["met"] == (m["snr_lb"] >= sinc["snr_lb"] - 1.0)
            assert row["lsd"]["met"] == (m["lsd"] <= 0.4 * sinc["lsd"])
            assert row["visqol"]["met"] is None
    # An untrained model is far below sinc in PESQ-WB: the card says so, though ViSQOL was not measured.
    assert any(row["pesq"]["met"] is False for row in card["targets"]["int8"]["by_degradation"].values())
    assert card["targets"]["int8"]["met"] is False
    md = (info.folder / "MODEL_CARD.md").read_text()
    for needle in (
        "CC BY 4.0",
        "CSTR",
        "University of Edinburgh",
        "public domain",
        "| own (`speech-robust`) | model |",
        "| telephone:mulaw |",
        "does **not** meet the targets",
        "ViSQOL >= sinc + 0.35",
        "LSD <= 0.4 x sinc",
        "MMAC per second",
        "Algorithmic latency",
        "2 files have no licence in a manifest",
        "training audio (the training files of speech16k only)",
        "`extra`: 2 training files, 0 held-out files",
        "Not trained on: 1 file of the run's training split recorded below 16000 Hz",
    ):
        assert needle in md, needle


def test_the_library_step_checks_its_arguments_before_any_work(shipped, tmp_path):
    run, _ = shipped
    with pytest.raises(ShipError, match="--name 'Bad Name'"):
        ship(run, "Bad Name", tmp_path / "out")
    with pytest.raises(ShipError, match="--high-band-trim 'loud'"):
        ship(run, "x", tmp_path / "out", high_band_trim="loud")
    assert not (tmp_path / "out").exists()


def test_pretrained_functions_on_the_shipped_folder(registry):
    assert [m.name for m in pretrained.list()] == [NAME]
    assert pretrained.for_rate(8000) == NAME
    model = pretrained.load(NAME)
    assert (model.lr_rate, model.hr_rate) == (8000, 16000)
    y = np.asarray(model(np.zeros((1, 160, 1), "float32")))
    assert y.shape == (1, 320, 1)
    assert pretrained.tflite_path(NAME, "int8").name == "streaming_bwe_stream_int8.tflite"
    assert pretrained.card_path(NAME).is_file()


def test_tflite_files_match_their_fixtures_and_the_keras_model(registry):
    model = pretrained.load(NAME)
    for mode in ("float", "int8"):
        path = pretrained.tflite_path(NAME, mode)
        names = check_fixtures(path)
        assert "output" in names and len(names) > 1  # the audio frame and every state tensor
        check_stream(model, path)


def test_rerun_replaces_the_folder_and_a_failure_keeps_it(shipped, monkeypatch, capsys):
    run, out = shipped
    before = {p.name: p.read_bytes() for p in (out / NAME).iterdir()}

    def broken(*a, **k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("keras_audiosr.export.stateful.StreamingExporter", broken)  # fails after model.keras is copied
    assert ship_model.main(["--run", str(run), "--name", NAME, "--out", str(out), *FAST]) == 2
    assert "disk full (simulated)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [NAME]  # no partial folder left
    assert {p.name: p.read_bytes() for p in (out / NAME).iterdir()} == before

    # The swap itself: the new folder takes the name, the old one goes aside, nothing else is left.
    new = out / ".new"
    new.mkdir()
    (new / "card.json").write_text("{}")
    swap_in(new, out / NAME, out / ".aside")
    assert (out / NAME / "card.json").read_text() == "{}" and (out / ".aside" / "model.keras").is_file()
    import shutil

    shutil.rmtree(out / NAME)
    (out / ".aside").rename(out / NAME)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "{tmp}/nope", "--name", "x"], "--run {tmp}/nope: no such folder"),
        (["--run", "{tmp}/empty", "--name", "x"], "no config.json, metrics.json, model.keras (is the run finished?"),
        (["--run", "{run}", "--name", "Bad Name"], "--name 'Bad Name': use 1-64 lower-case letters"),
        (["--run", "{run}", "--name", "x", "--modes", "float"], "--modes float: must include int8"),
        (["--run", "{run}", "--name", "x", "--modes", "float,int4"], "unknown streaming mode 'int4'"),
        (["--run", "{run}", "--name", "x", "--data", "{tmp}/nope"], "--data {tmp}/nope: no such folder"),
        (
            ["--run", "{run}", "--name", "x", "--data", "{tmp}/empty"],
            "none of the run's held-out speakers (speech16k/p273) is in the corpus folders given",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    run = make_run(tmp_path / "run") if "{run}" in " ".join(args) else None
    fill = {"{tmp}": str(tmp_path), "{run}": str(run)}
    args = [next((a.replace(k, v) for k, v in fill.items() if k in a), a) for a in args]
    out = tmp_path / "out"
    assert ship_model.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m tools.ship_model: error: ")
    want = message
    for k, v in fill.items():
        want = want.replace(k, v)
    assert want in err, err
    assert not out.exists() or not any(out.iterdir())


def test_the_given_high_band_trim_is_in_the_shipped_model_and_its_card(registry):
    card = json.loads((registry / NAME / "card.json").read_text())
    assert card["high_band_trim"] == {"trim_db": -6.0, "how": "given"}
    assert pretrained.load(NAME).high_band_trim_db == pytest.approx(-6.0)
    assert "set -6.0 dB from its trained level" in (registry / NAME / "MODEL_CARD.md").read_text()


def test_a_bad_high_band_trim_is_refused_before_any_work(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    assert (
        ship_model.main(["--run", str(run), "--name", "x", "--out", str(tmp_path / "out"), "--high-band-trim", "loud"])
        == 2
    )
    assert "--high-band-trim 'loud'" in capsys.readouterr().err and not (tmp_path / "out" / "x").exists()


def test_a_warm_started_run_inherits_the_stages_of_the_shipped_model_it_started_from(tmp_path):
    out = tmp_path / "pretrained"
    (out / "base").mkdir(parents=True)
    (out / "base" / "card.json").write_text(
        json.dumps(
            {
                "training_command": "python -m recipes.streaming_bwe --epochs 9 --out runs/base",
                "train_seconds": 600.0,
                "epochs_run": 9,
                "high_band_trim": {"trim_db": -20.0},
            }
        )
    )
    config = {
        "recipe": "streaming_bwe",
        "init_from": "base",
        "argv": ["--init-from", "base", "--out", "/machine/runs/x", "--cache-dir=/machine/cache", "--epochs", "3"],
    }
    stages = training_stages(config, {"train_seconds": 60.0, "epochs_run": 3}, out, "base")
    assert [st["command"] for st in stages] == [
        "python -m recipes.streaming_bwe --epochs 9 --out runs/base-stage1",
        "python -m recipes.streaming_bwe --init-from runs/base-stage1/model.keras --out runs/base --epochs 3",
    ]
    assert "-20 dB high-band trim" in stages[0]["note"] and "note" not in stages[1]
    assert [st["train_seconds"] for st in stages] == [600.0, 60.0]
    text = "\n".join(stages_markdown({"training_stages": stages}))
    assert "2 stages, 11 minutes of training in all" in text and "/machine" not in text
    # A path (not a shipped name) or a name with no card: one stage.
    assert len(training_stages(dict(config, init_from="x/model.keras"), {}, out, "base")) == 1
    assert len(training_stages(dict(config, init_from="other"), {}, out, "base")) == 1
    # Another shipped model's layers (a new model for other rates): its own stage, the source named, not inherited.
    argv = ["--ratio", "6", "--init-from", "base", "--init-matching", "--out", "/machine/runs/nb"]
    (stage,) = training_stages(
        dict(config, init_matching=True, argv=argv), {"train_seconds": 60.0, "epochs_run": 3}, out, "narrow"
    )
    assert (
        stage["command"]
        == "python -m recipes.streaming_bwe --ratio 6 --init-from base --init-matching --out runs/narrow"
    )
    assert "shipped `base` as it was then (1 training stage, 10 minutes, trim -20 dB" in stage["note"]
    assert "--init-matching" in stage["note"]
    assert stage["note"] in "\n".join(stages_markdown({"training_stages": [stage]}))


def test_an_older_cards_verbatim_command_is_made_portable(tmp_path):
    out = tmp_path / "pretrained"
    (out / "base").mkdir(parents=True)
    (out / "base" / "card.json").write_text(
        json.dumps(
            {
                "training_command": "python -m recipes.streaming_bwe --epochs 9 --out /machine/runs/a --cache-dir /m/c",
                "train_seconds": 60.0,
                "epochs_run": 9,
            }
        )
    )
    stages = training_stages({"recipe": "streaming_bwe", "init_from": "base", "argv": []}, {}, out, "base")
    assert stages[0]["command"] == "python -m recipes.streaming_bwe --epochs 9 --out runs/base-stage1"


def test_a_run_warm_started_from_another_runs_model_inherits_that_runs_stages(tmp_path):
    """``--init-from runs/a/model.keras``: run a's stages (and the shipped model it started from) come first, each
    earlier stage in its own folder, and the next stage starts from the previous stage's model."""
    out = tmp_path / "pretrained"
    (out / "base").mkdir(parents=True)
    (out / "base" / "card.json").write_text(
        json.dumps({"training_command": "python -m recipes.streaming_bwe --out runs/base", "train_seconds": 600.0})
    )
    first = tmp_path / "runs" / "a"
    first.mkdir(parents=True)
    (first / "config.json").write_text(
        json.dumps({"recipe": "streaming_bwe", "init_from": "base", "argv": ["--init-from", "base", "--out", "x/a"]})
    )
    (first / "metrics.json").write_text(json.dumps({"train_seconds": 120.0, "epochs_run": 4}))
    source = str(first / "model.keras")
    config = {
        "recipe": "streaming_bwe",
        "init_from": source,
        "argv": ["--adversarial", "--init-from", source, "--out", "y"],
    }
    stages = training_stages(config, {"train_seconds": 60.0, "epochs_run": 2}, out, "base")
    assert [st["command"] for st in stages] == [
        "python -m recipes.streaming_bwe --out runs/base-stage1",
        "python -m recipes.streaming_bwe --init-from runs/base-stage1/model.keras --out runs/base-stage2",
        "python -m recipes.streaming_bwe --adversarial --init-from runs/base-stage2/model.keras --out runs/base",
    ]
    assert [st["train_seconds"] for st in stages] == [600.0, 120.0, 60.0] and stages[1]["epochs_run"] == 4


def test_stages_of_a_run_that_was_shipped_come_from_its_card(tmp_path, monkeypatch):
    """Once run a is shipped as ``base``, the name means a's model: a run started from a's model takes the stages
    a's card recorded (not ``base``'s stages again), and shipping a itself again keeps its card's stages."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "pretrained"
    (out / "base").mkdir(parents=True)
    recorded = [
        {"command": "python -m recipes.streaming_bwe --out runs/base-stage1", "train_seconds": 600.0},
        {"command": "python -m recipes.streaming_bwe --init-from runs/base-stage1/model.keras --out runs/base"},
    ]
    card = {"name": "base", "ship_command": "python -m tools.ship_model --run runs/a --name base"}
    (out / "base" / "card.json").write_text(json.dumps(dict(card, training_stages=recorded)))
    Path("runs/a").mkdir(parents=True)
    Path("runs/a/config.json").write_text(json.dumps({"init_from": "base", "argv": ["--init-from", "base"]}))
    argv = ["--init-from", "runs/a/model.keras", "--out", "runs/b"]
    config = {"recipe": "streaming_bwe", "init_from": "runs/a/model.keras", "argv": argv}
    stages = training_stages(config, {"train_seconds": 60.0}, out, "base")
    assert [st["command"] for st in stages] == [
        recorded[0]["command"],
        "python -m recipes.streaming_bwe --init-from runs/base-stage1/model.keras --out runs/base-stage2",
        "python -m recipes.streaming_bwe --init-from runs/base-stage2/model.keras --out runs/base",
    ]
    assert "shipped as `base`" in stages[1]["note"]
    again = training_stages({"out": "runs/a", "init_from": "base", "argv": []}, {}, out, "base")
    assert [st["command"] for st in again] == [st["command"] for st in recorded]
