"""Chunked overlap-add upsampling of arrays and files, and model loading."""

import math

import keras
import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.audio import AudioError
from keras_audiosr.inference import ModelError, load_model, upsample_array, upsample_file
from keras_audiosr.models import AudioUNet
from keras_audiosr.models.geometry import shift_period as _shift_period


class RepeatModel:
    """Stand-in generator: zero-order hold (each sample repeated ``ratio`` times), recording each call's shape.

    Pointwise, so chunked output must equal ``np.repeat`` exactly whatever the chunking.
    """

    def __init__(self, ratio=2, hr_rate=16000, fail_on_call=None):
        self.ratio, self.hr_rate, self.lr_rate = ratio, hr_rate, hr_rate // ratio
        self.name, self.layers, self.input_shape = "repeat", [], (None, None, 1)
        self.degradation = {"ratio": ratio, "filter": "cheby1:8", "zero_phase": True}
        self.calls, self.fail_on_call = [], fail_on_call

    def __call__(self, x, training=False):
        assert training is False
        self.calls.append(x.shape)
        if self.fail_on_call is not None and len(self.calls) >= self.fail_on_call:
            raise RuntimeError("simulated model failure")
        return np.repeat(np.asarray(x), self.ratio, axis=1)


def _signal(n, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 0.4 * np.sin(2 * np.pi * 0.013 * t) + 0.05 * rng.standard_normal(n)
    if channels:
        x = np.stack([x * (c + 1) / channels for c in range(channels)], axis=1) + 0.01 * rng.standard_normal(
            (n, channels)
        )
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def random_unet():
    """Tiny AudioUNet with random weights everywhere (the untrained one is a plain interpolator).

    Without band preservation: its receptive field (about 30 low-rate samples each way) fits the short
    overlaps below; the band merge's FIR would add about 90 (the default overlap, 1024, covers it).
    """
    keras.utils.set_random_seed(1)
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000, band_preserving=False)
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.standard_normal(w.shape).astype("float32") * (0.3 if w.ndim > 1 else 0.05) for w in model.get_weights()]
    )
    return model


@pytest.mark.parametrize("chunk, overlap, tol", [(256, 64, 1e-3), (270, 128, 1e-5), (512, 128, 1e-5)])
def test_chunked_equals_one_shot(random_unet, chunk, overlap, tol):
    x = _signal(3001)
    whole = np.asarray(random_unet(x[None, :, None], training=False))[0, :, 0]
    assert np.abs(whole).max() > 1.0  # a model that really transforms the signal
    y = upsample_array(random_unet, x, chunk=chunk, overlap=overlap, batch_size=3)
    assert y.shape == (2 * 3001,) and y.dtype == np.float32
    assert np.abs(y - whole).max() <= tol * np.abs(whole).max()


def test_shift_period_from_pad_layers(random_unet):
    # tiny: depth 2 -> total stride 8 high-rate samples = 4 low-rate samples at ratio 2
    assert _shift_period(random_unet) == 4
    assert _shift_period(RepeatModel()) == 1


@pytest.mark.parametrize("n", [1, 7, 63, 64, 65, 100, 191, 192, 193, 1000, 1001])
@pytest.mark.parametrize("fade", ["cosine", "linear"])
def test_identity_like_model_is_exact(n, fade):
    model = RepeatModel(ratio=3, hr_rate=24000)
    x = _signal(n)
    y = upsample_array(model, x, chunk=128, overlap=64, batch_size=2, fade=fade)
    np.testing.assert_array_equal(y, np.repeat(x, 3))


def test_calls_are_bounded_batched_chunks():
    model = RepeatModel()
    chunk, overlap, batch, n = 200, 40, 3, 5000
    upsample_array(model, _signal(n), chunk=chunk, overlap=overlap, batch_size=batch)
    n_chunks = 1 + math.ceil((n - chunk) / (chunk - overlap))
    assert sum(s[0] for s in model.calls) == n_chunks
    assert all(s[0] <= batch and s[1] <= chunk and s[2] == 1 for s in model.calls)
    assert len(model.calls) <= math.ceil(n_chunks / batch) + 1  # the short last chunk may need its own call


def test_short_signal_is_one_call():
    model = RepeatModel()
    upsample_array(model, _signal(900), chunk=1024, overlap=64)
    assert model.calls == [(1, 900, 1)]


def test_channels_are_independent(random_unet):
    x = _signal(700, channels=2)
    y = upsample_array(random_unet, x, chunk=256, overlap=128, batch_size=4)
    assert y.shape == (1400, 2)
    for c in range(2):
        np.testing.assert_allclose(y[:, c], upsample_array(random_unet, x[:, c], chunk=256, overlap=128), atol=1e-5)


def test_bad_arguments():
    model = RepeatModel()
    with pytest.raises(ValueError, match="chunk"):
        upsample_array(model, _signal(100), chunk=100, overlap=64)
    with pytest.raises(ValueError, match="fade"):
        upsample_array(model, _signal(100), fade="square")
    bad = _signal(100)
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        upsample_array(model, bad)


def test_load_model_round_trip_and_errors(tmp_path):
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert isinstance(loaded, AudioUNet) and loaded.ratio == 2 and loaded.lr_rate == 8000

    with pytest.raises(FileNotFoundError, match="missing.keras"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "junk.keras").write_bytes(b"not a zip at all")
    with pytest.raises(ModelError, match="junk.keras.*not a Keras"):
        load_model(tmp_path / "junk.keras")
    data = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2] + data[-200:])
    with pytest.raises(ModelError, match="cut.keras"):
        load_model(tmp_path / "cut.keras")
    plain = keras.Sequential([keras.Input((None, 1)), keras.layers.Dense(1)])
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ModelError, match="plain.keras.*AudioSRModel"):
        load_model(tmp_path / "plain.keras")


def _write(path, x, rate, subtype="FLOAT"):
    sf.write(str(path), x, rate, subtype=subtype)
    return path


def test_upsample_file_streams_blocks(tmp_path, random_unet):
    x = _signal(2500, channels=2)
    src = _write(tmp_path / "in.wav", x, 8000)
    info = upsample_file(
        random_unet, src, tmp_path / "out.wav", chunk=256, overlap=128, batch_size=2, progress=False, subtype="FLOAT"
    )
    y, rate = sf.read(str(tmp_path / "out.wav"), dtype="float32", always_2d=True)
    assert rate == 16000 and y.shape == (5000, 2)
    assert info["resampled"] is False and info["out_rate"] == 16000 and info["channels"] == 2
    assert info["seconds"] == pytest.approx(5000 / 16000)
    np.testing.assert_allclose(y, upsample_array(random_unet, x, chunk=256, overlap=128), atol=1e-5)


def test_upsample_file_resamples_other_rate_with_notice(tmp_path, capsys):
    model = RepeatModel()
    src = _write(tmp_path / "fast.wav", _signal(3201), 16000, subtype="PCM_16")
    info = upsample_file(model, src, tmp_path / "out.flac", progress=False)
    assert "resampling" in capsys.readouterr().err and str(src) in info["in"]
    assert info["resampled"] is True and info["in_rate"] == 16000
    y, rate = sf.read(str(tmp_path / "out.flac"))
    assert rate == 16000 and len(y) == 2 * 1601 and sf.info(str(tmp_path / "out.flac")).subtype == "PCM_16"


def test_upsample_file_is_atomic_on_model_failure(tmp_path):
    src = _write(tmp_path / "in.wav", _signal(4000), 8000)
    out = tmp_path / "out" / "up.wav"
    with pytest.raises(RuntimeError, match="simulated"):
        upsample_file(RepeatModel(fail_on_call=3), src, out, chunk=256, overlap=64, batch_size=1, progress=False)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_upsample_file_bad_block_names_file(tmp_path):
    x = _signal(4000)
    x[3500] = np.inf
    src = _write(tmp_path / "inf.wav", x, 8000)
    with pytest.raises(AudioError, match=r"inf\.wav.*non-finite"):
        upsample_file(RepeatModel(), src, tmp_path / "out.wav", chunk=256, overlap=64, batch_size=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inf.wav"]


def test_upsample_file_missing_and_non_audio(tmp_path):
    with pytest.raises(AudioError, match="nothere.wav.*not found"):
        upsample_file(RepeatModel(), tmp_path / "nothere.wav", tmp_path / "o.wav", progress=False)
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(AudioError, match="text.wav.*not a readable audio file"):
        upsample_file(RepeatModel(), tmp_path / "text.wav", tmp_path / "o.wav", progress=False)
    assert not (tmp_path / "o.wav").exists()
