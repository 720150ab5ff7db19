"""keras_audiosr.audio: round trips per format, every error path, atomic writes, resampling."""

import math
import warnings

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr import audio
from keras_audiosr.audio import AudioError, check_rate, open_writer, read_audio, resample, validate_audio, write_audio

RATE = 16000


def _signal(n=4000, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    chans = [0.5 * np.sin(2 * np.pi * (220 * (c + 1)) * t) + 0.1 * rng.uniform(-1, 1, n) for c in range(channels)]
    return np.stack(chans, axis=1).astype(np.float32)


def _tmp_leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize(
    "subtype,tol",
    [
        ("PCM_U8", 1 / 64),
        ("PCM_16", 1 / 2**14),
        ("PCM_24", 1 / 2**22),
        ("PCM_32", 1 / 2**30),
        ("FLOAT", 0.0),
    ],
)
def test_wav_round_trip(tmp_path, subtype, tol):
    x = _signal()
    p = write_audio(tmp_path / "x.wav", x, RATE, subtype=subtype)
    assert sf.info(str(p)).subtype == subtype
    y, rate = read_audio(p)
    assert rate == RATE and y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= tol
    assert np.max(np.abs(y)) <= 1.0


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_flac_round_trip(tmp_path, subtype):
    x = _signal(channels=3)
    p = write_audio(tmp_path / "x.flac", x, 22050, subtype=subtype)
    y, rate = read_audio(p)
    assert rate == 22050 and y.shape == (4000, 3)
    assert np.max(np.abs(y - x)) <= 2.0**-14


def test_flac_default_subtype_is_pcm16(tmp_path):
    p = write_audio(tmp_path / "x.flac", _signal(), RATE)
    assert sf.info(str(p)).subtype == "PCM_16"
    assert sf.info(str(write_audio(tmp_path / "x.wav", _signal(), RATE))).subtype == "PCM_16"


def test_ogg_vorbis_round_trip_loose(tmp_path):
    t = np.arange(RATE) / RATE
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    p = write_audio(tmp_path / "x.ogg", x, RATE)
    y, rate = read_audio(p)
    assert rate == RATE and y.shape == (RATE, 1)
    err = y[:, 0] - x
    snr = 10 * np.log10(np.sum(x**2) / np.sum(err**2))
    assert snr > 15.0


def test_mono_1d_is_read_as_time_by_one(tmp_path):
    x = _signal(channels=1)[:, 0]
    y, _ = read_audio(write_audio(tmp_path / "m.wav", x, RATE, subtype="FLOAT"))
    assert y.shape == (x.shape[0], 1)
    np.testing.assert_array_equal(y[:, 0], x)


def test_multichannel_and_mix_down(tmp_path):
    x = _signal(channels=4)
    p = write_audio(tmp_path / "m.wav", x, RATE, subtype="FLOAT")
    y, _ = read_audio(p)
    assert y.shape == (4000, 4)
    m, _ = read_audio(p, mix_down=True)
    assert m.shape == (4000, 1) and m.dtype == np.float32
    np.testing.assert_allclose(m[:, 0], x.mean(axis=1), atol=1e-6)


def test_read_float64(tmp_path):
    y, _ = read_audio(write_audio(tmp_path / "x.wav", _signal(), RATE), dtype="float64")
    assert y.dtype == np.float64


def test_missing_file(tmp_path):
    p = tmp_path / "nothere.wav"
    with pytest.raises(AudioError, match="nothere.wav.*not found"):
        read_audio(p)


def test_not_audio(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("this is a text file, not a WAV\n" * 20)
    with pytest.raises(AudioError, match="notes.wav.*not a readable audio file"):
        read_audio(p)


@pytest.mark.parametrize("ext,subtype", [("wav", "PCM_16"), ("wav", "FLOAT"), ("flac", "PCM_16"), ("aiff", "PCM_16")])
def test_truncated_file(tmp_path, ext, subtype):
    good = write_audio(tmp_path / f"good.{ext}", _signal(), RATE, subtype=subtype)
    cut = tmp_path / f"cut.{ext}"
    blob = good.read_bytes()
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(AudioError, match=rf"cut\.{ext}.*(truncated|corrupt)"):
        read_audio(cut)
    read_audio(good)  # the intact file still reads


def test_wav_header_only_is_truncated(tmp_path):
    good = write_audio(tmp_path / "good.wav", _signal(), RATE)
    cut = tmp_path / "hdr.wav"
    cut.write_bytes(good.read_bytes()[:44])
    with pytest.raises(AudioError, match="hdr.wav.*truncated"):
        read_audio(cut)


def test_zero_length_file(tmp_path):
    p = tmp_path / "empty.wav"
    sf.write(str(p), np.zeros((0, 1), np.float32), RATE)
    with pytest.raises(AudioError, match="empty.wav.*zero-length"):
        read_audio(p)


def test_nan_in_float_wav(tmp_path):
    x = _signal()
    x[100, 1] = np.nan
    x[200, 0] = np.inf
    p = tmp_path / "nan.wav"
    sf.write(str(p), x, RATE, subtype="FLOAT")  # bypass write_audio, which refuses NaN
    with pytest.raises(AudioError, match=r"nan.wav.*non-finite.*1 NaN, 1 Inf"):
        read_audio(p)


def test_validate_audio():
    validate_audio(np.zeros(3), 8000)
    with pytest.raises(AudioError, match="<array>.*zero-length"):
        validate_audio(np.zeros((0, 2)), 8000)
    with pytest.raises(AudioError, match="<array>.*non-finite"):
        validate_audio(np.array([0.0, np.nan]), 8000)
    with pytest.raises(AudioError, match="clip.*sample rate"):
        validate_audio(np.zeros(3), 0, name="clip")
    with pytest.raises(AudioError, match="sample rate"):
        validate_audio(np.zeros(3), -16000)


def test_check_rate():
    check_rate(16000, 16000, "a.wav")
    with pytest.raises(AudioError, match="a.wav: sample rate 22050 Hz, the model takes 16000 Hz"):
        check_rate(22050, 16000, "a.wav")


def test_write_rejects_nan_and_writes_nothing(tmp_path):
    x = _signal()
    x[5, 0] = np.nan
    out = tmp_path / "sub" / "o.wav"
    with pytest.raises(AudioError, match="o.wav.*non-finite"):
        write_audio(out, x, RATE)
    assert not out.exists()
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_write_clips_with_warning(tmp_path):
    x = np.array([0.0, 0.5, 1.5, -2.0], np.float32)
    with pytest.warns(audio.ClippingWarning, match=r"2 samples exceeded full scale \(peak 2\.000\).*PCM_16.*FLOAT"):
        p = write_audio(tmp_path / "c.wav", x, RATE)
    y, _ = read_audio(p)
    assert y[2, 0] == pytest.approx(1.0, abs=1e-4) and y[3, 0] == -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, _ = read_audio(write_audio(tmp_path / "f.wav", x, RATE, subtype="FLOAT"))
    np.testing.assert_array_equal(y[:, 0], x)


def test_write_creates_parents_and_rejects_bad_names(tmp_path):
    p = write_audio(tmp_path / "a" / "b" / "x.flac", _signal(), RATE)
    assert p.is_file()
    with pytest.raises(AudioError, match=r"x.mp3.*unsupported extension.*\.wav"):
        write_audio(tmp_path / "x.mp3", _signal(), RATE)
    with pytest.raises(AudioError, match="x.flac.*subtype 'FLOAT'"):
        write_audio(tmp_path / "x.flac", _signal(), RATE, subtype="FLOAT")
    assert _tmp_leftovers(tmp_path) == []


def test_atomic_write_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(self, data):
        raise RuntimeError("disk full (simulated)")

    out = tmp_path / "out.wav"
    monkeypatch.setattr(sf.SoundFile, "write", boom)
    with pytest.raises(RuntimeError, match="simulated"):
        write_audio(out, _signal(), RATE)
    assert not out.exists()
    assert _tmp_leftovers(tmp_path) == []


def test_atomic_write_failure_keeps_existing_output(tmp_path, monkeypatch):
    out = tmp_path / "out.wav"
    write_audio(out, _signal(seed=1), RATE)
    before = out.read_bytes()

    def boom(self, data):
        raise RuntimeError("simulated")

    monkeypatch.setattr(sf.SoundFile, "write", boom)
    with pytest.raises(RuntimeError):
        write_audio(out, _signal(seed=2), RATE)
    assert out.read_bytes() == before
    assert _tmp_leftovers(tmp_path) == []


def test_temp_file_sits_beside_output_with_same_extension(tmp_path, monkeypatch):
    seen = []
    real_init = sf.SoundFile.__init__

    def spy(self, file, *args, **kwargs):
        seen.append(str(file))
        real_init(self, file, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "__init__", spy)
    write_audio(tmp_path / "song.flac", _signal(), RATE)
    assert len(seen) == 1
    assert seen[0].startswith(str(tmp_path / ".song.tmp-")) and seen[0].endswith(".flac")


def test_open_writer_streams_and_renames(tmp_path):
    out = tmp_path / "s" / "stream.wav"
    x = _signal()
    with open_writer(out, RATE, 2, subtype="FLOAT") as f:
        assert not out.exists()
        for i in range(0, len(x), 1000):
            f.write(x[i : i + 1000])
    y, _ = read_audio(out)
    np.testing.assert_array_equal(y, x)
    assert _tmp_leftovers(out.parent) == []


def test_open_writer_error_removes_temp(tmp_path):
    out = tmp_path / "stream.wav"
    write_audio(out, _signal(seed=3), RATE)
    before = out.read_bytes()
    with pytest.raises(KeyError):
        with open_writer(out, RATE, 2) as f:
            f.write(_signal(seed=4)[:100])
            raise KeyError("mid-stream failure")
    assert out.read_bytes() == before
    assert _tmp_leftovers(tmp_path) == []


def test_resample_rates_and_lengths():
    n = 4800
    t = np.arange(n) / 48000
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = resample(x, 48000, 16000)
    assert y.dtype == np.float32 and y.shape == (1600,)
    t16 = np.arange(1600) / 16000
    ref = np.sin(2 * np.pi * 1000 * t16)
    np.testing.assert_allclose(y[100:-100], ref[100:-100], atol=1e-3)
    z = resample(x, 48000, 44100)
    assert z.shape == (math.ceil(n * 147 / 160),)
    two = np.stack([x, -x], axis=1)
    assert resample(two, 48000, 16000).shape == (1600, 2)
    assert resample(two.T, 48000, 16000, axis=1).shape == (2, 1600)


def test_resample_identity_is_copy():
    x = np.arange(10, dtype=np.float64)
    y = resample(x, 8000, 8000)
    assert y.dtype == np.float32 and y is not x
    np.testing.assert_array_equal(y, x)
    y[0] = 99
    assert x[0] == 0
    with pytest.raises(ValueError, match="orig_rate"):
        resample(x, 0, 8000)


def _tone_level_db(y, rate, freq):
    """Amplitude (dB) of the sinusoid at ``freq`` in ``y`` (least-squares fit, away from the edges)."""
    n = len(y)
    t = np.arange(n)[n // 8 : -n // 8] / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, np.asarray(y, np.float64)[n // 8 : -n // 8], rcond=None)
    return 20 * np.log10(np.hypot(*coef) + 1e-300)


@pytest.mark.parametrize("orig,target", [(48000, 16000), (44100, 16000), (16000, 44100), (22050, 48000)])
def test_resample_high_quality_is_flat_and_does_not_alias(orig, target):
    t = np.arange(orig) / orig
    low_nyq = min(orig, target) / 2
    ref = _tone_level_db(np.sin(2 * np.pi * 1000 * t), orig, 1000)
    for f in (1000.0, 0.88 * low_nyq):  # pass band: flat
        y = resample(np.sin(2 * np.pi * f * t), orig, target, quality="high")
        assert abs(_tone_level_db(y, target, f) - _tone_level_db(np.sin(2 * np.pi * f * t), orig, f)) < 0.01
    if orig > target:  # a tone just above the new Nyquist frequency must not fold back into the band
        f = 1.1 * low_nyq
        x = np.sin(2 * np.pi * f * t)
        alias = target - f
        assert _tone_level_db(resample(x, orig, target, quality="high"), target, alias) - ref < -95
        assert _tone_level_db(resample(x, orig, target), target, alias) - ref > -40  # what "standard" lets through
    with pytest.raises(ValueError, match="unknown quality 'best'"):
        resample(t, orig, target, quality="best")


def test_output_subtype():
    assert audio.output_subtype("a.flac", "FLOAT") is None  # FLAC cannot store floats: the format's default
    assert audio.output_subtype("a.wav", "FLOAT") == "FLOAT"
    assert audio.output_subtype("a.wav", "PCM_24", "pcm_16") == "PCM_16"
    assert audio.is_float_subtype("double") and not audio.is_float_subtype(None)


def test_extensions_are_lower_case():
    assert audio.AUDIO_EXTENSIONS == (".wav", ".flac", ".ogg", ".aif", ".aiff")


def test_read_at_rate_mixes_down_and_resamples(tmp_path):
    x = _signal(4800, channels=2, seed=2) * 0.5
    path = tmp_path / "st.wav"
    sf.write(str(path), x, 24000, subtype="FLOAT")
    y = audio.read_at_rate(path, 8000)
    assert y.shape == (1600,) and y.dtype == np.float32
    np.testing.assert_allclose(y, resample(x.mean(axis=1), 24000, 8000), atol=1e-6)
    assert audio.read_at_rate(path, 24000, mix_down=False).shape == (4800, 2)
