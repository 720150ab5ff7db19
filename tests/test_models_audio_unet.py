import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_audiosr.models import AudioUNet
from tests.contracts import build_without_weights, preset_kwargs, run_model_test


def test_audio_unet_contract():
    rng = np.random.default_rng(0)
    run_model_test(
        AudioUNet,
        preset_kwargs(AudioUNet, "tiny", ratio=2, hr_rate=16000),
        rng.standard_normal((2, 64, 1)).astype("float32"),
        rng.standard_normal((2, 128, 1)).astype("float32"),
        tflite=True,
    )


@pytest.mark.parametrize("ratio,length", [(2, 1), (2, 37), (3, 100), (4, 257), (6, 64), (8, 33)])
def test_any_length_and_ratio(ratio, length):
    model = AudioUNet.from_size("tiny", ratio=ratio, hr_rate=48000)
    y = model(np.random.default_rng(1).standard_normal((2, length, 1)).astype("float32"))
    assert tuple(y.shape) == (2, length * ratio, 1)


def test_untrained_model_is_the_interpolation():
    """The last convolution starts at zero, so training starts from the interpolated input."""
    model = AudioUNet.from_size("tiny", ratio=2)
    x = np.random.default_rng(2).standard_normal((1, 50, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x))[:, ::2], x, atol=1e-5)


def test_sizes_and_published_defaults():
    paper = build_without_weights(AudioUNet, preset_kwargs(AudioUNet, "paper", ratio=2))  # 71 M parameters
    assert paper.filters == (128, 384, 512, 512) and paper.kernel_sizes == (65, 33, 17, 9)
    assert paper.count_params() > 50_000_000
    assert AudioUNet.from_size("small").count_params() < 2_000_000
    with pytest.raises(ValueError, match="unknown model size"):
        AudioUNet.from_size("huge")


def test_saved_model_carries_rates_and_loads_in_fresh_process(tmp_path):
    degradation = {"ratio": 3, "filter": "butter:8", "zero_phase": True}
    model = AudioUNet.from_size("tiny", ratio=3, hr_rate=48000, degradation=degradation)
    path = tmp_path / "model.keras"
    model.save(path)
    x = np.random.default_rng(3).standard_normal((1, 30, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.asarray(model(x)))
    code = textwrap.dedent(f"""
        import numpy as np, keras, keras_audiosr
        keras_audiosr.register_serializables()
        m = keras.models.load_model({str(path)!r})
        assert (m.ratio, m.hr_rate, m.lr_rate) == (3, 48000, 16000), (m.ratio, m.hr_rate)
        assert m.degradation == {degradation!r}
        y = np.asarray(m(np.load({str(tmp_path / "x.npy")!r})))
        np.testing.assert_allclose(y, np.load({str(tmp_path / "y.npy")!r}), atol=1e-6)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ok" in out.stdout


def test_training_degradations_travel_with_the_model(tmp_path):
    """A model records the set it was trained on beside its single representative degradation; old files
    (no key) report their single degradation."""
    from keras_audiosr.degrade import get_degradation_set
    from keras_audiosr.models.saving import load_model

    model = AudioUNet.from_size(
        "tiny",
        ratio=2,
        degradation={"ratio": 2, "filter": "cheby1:8", "zero_phase": True},
        training_degradations="speech-robust",
    )
    assert (
        model.training_degradations == "speech-robust"
        and model.audio_config()["training_degradations"] == "speech-robust"
    )
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.training_degradations == "speech-robust" and loaded.degradation["filter"] == "cheby1:8"
    assert (
        AudioUNet.from_size("tiny", training_degradations=get_degradation_set("multi-filter")).training_degradations
        == "multi-filter"
    )
    config = model.get_config()
    del config["training_degradations"]  # as saved before the key existed
    old = AudioUNet.from_config(config)
    assert old.training_degradations == "cheby1:8" and "training_degradations" not in old.get_config()
    with pytest.raises(ValueError, match="training_degradations must be"):
        AudioUNet.from_size("tiny", training_degradations=3)
