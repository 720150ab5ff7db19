"""The shipped-model registry: list, load, tflite paths, choice by rate, clear errors."""

import json

import numpy as np
import pytest

from keras_audiosr import pretrained
from keras_audiosr.models import AudioUNet


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    for name, lr, hr in (("demo-8k-16k", 8000, 16000), ("demo-16k-48k", 16000, 48000), ("demo-16k-32k", 16000, 32000)):
        folder = tmp_path / name
        folder.mkdir()
        AudioUNet.from_size("tiny", ratio=hr // lr, hr_rate=hr).save(folder / "model.keras")
        (folder / "int8.tflite").write_bytes(b"TFL3")
        (folder / "card.json").write_text(
            json.dumps(
                {
                    "name": name,
                    "lr_rate": lr,
                    "hr_rate": hr,
                    "description": "test",
                    "keras": "model.keras",
                    "tflite": {"int8": "int8.tflite", "float": "float.tflite"},
                    "metrics": {"pesq": 3.0},
                }
            )
        )
    monkeypatch.setenv("KERAS_AUDIOSR_PRETRAINED_DIR", str(tmp_path))
    return tmp_path


def test_list_and_load(fake_registry):
    names = [m.name for m in pretrained.list()]
    assert names == ["demo-16k-32k", "demo-16k-48k", "demo-8k-16k"]
    model = pretrained.load("demo-8k-16k")
    assert (model.lr_rate, model.hr_rate) == (8000, 16000)
    y = np.asarray(model(np.zeros((1, 64, 1), "float32")))
    assert y.shape == (1, 128, 1)


def test_choice_by_rate(fake_registry):
    assert pretrained.for_rate(8000) == "demo-8k-16k"
    assert pretrained.for_rate(16000) == "demo-16k-32k"  # lowest output rate without --to
    assert pretrained.for_rate(16000, to=48000) == "demo-16k-48k"
    with pytest.raises(pretrained.PretrainedError, match=r"no shipped model for 44100 Hz.*demo-8k-16k: 8000 -> 16000"):
        pretrained.for_rate(44100)


def test_errors_name_the_problem(fake_registry):
    with pytest.raises(pretrained.PretrainedError, match="unknown shipped model 'nope'; known: demo-16k-32k"):
        pretrained.info("nope")
    assert pretrained.tflite_path("demo-8k-16k", "int8").name == "int8.tflite"
    with pytest.raises(pretrained.PretrainedError, match="no 'int16' .tflite; it has: int8, float"):
        pretrained.tflite_path("demo-8k-16k", "int16")
    with pytest.raises(pretrained.PretrainedError, match="missing"):
        pretrained.tflite_path("demo-8k-16k", "float")
    (fake_registry / "demo-8k-16k" / "card.json").write_text("{not json")
    with pytest.raises(pretrained.PretrainedError, match="not a valid model card"):
        pretrained.list()


def test_resolve_a_model_argument(fake_registry, tmp_path_factory, monkeypatch):
    path, card = pretrained.resolve("demo-8k-16k")
    assert path == fake_registry / "demo-8k-16k" / "model.keras" and card.name == "demo-8k-16k"
    elsewhere = tmp_path_factory.mktemp("cwd")
    (elsewhere / "demo-8k-16k").write_bytes(b"a file of that name wins")
    monkeypatch.chdir(elsewhere)
    assert pretrained.resolve("demo-8k-16k") == (pretrained.Path("demo-8k-16k"), None)
    with pytest.raises(
        pretrained.PretrainedError,
        match=r"^nope.keras: no such file and not the name of a shipped "
        r"model \(shipped models: demo-16k-32k, demo-16k-48k, ",
    ):
        pretrained.resolve("nope.keras")
    with pytest.raises(pretrained.PretrainedError, match="not a file and not the name"):
        pretrained.resolve(str(elsewhere))
