"""Real narrow-band codecs (ffmpeg) and background noise as degradation specs."""

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.data import embedded_corpus_dir
from keras_audiosr.degrade import (
    CODECS,
    CodecUnavailable,
    Degradation,
    check_low_rate,
    codec_available,
    get_degradation_set,
    parse_spec,
)
from keras_audiosr.degrade import codecs as codecs_mod


@pytest.fixture(scope="module")
def speech():
    path = min((embedded_corpus_dir() / "p273").glob("*.flac"))
    x, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return x[: 2 * rate]


def _lag(y, x, max_lag=200):
    ref = x[max_lag : len(x) - max_lag]
    c = [np.dot(y[max_lag + k : len(y) - max_lag + k], ref) for k in range(-max_lag, max_lag + 1)]
    return int(np.argmax(c)) - max_lag


@pytest.mark.parametrize("name", list(CODECS))
def test_codec_is_aligned_lossy_and_close(speech, name):
    if not codec_available(name):
        pytest.skip(f"ffmpeg with the {CODECS[name].encoder} encoder is not installed")
    plain = Degradation(2, "resample")(speech)
    coded = Degradation(2, f"codec:{name}")(speech)
    assert coded.shape == plain.shape and coded.dtype == np.float32
    tolerance = 4 if name == "speex" else 0  # Speex's CELP waveform wanders by a few samples; the others are exact
    assert abs(_lag(coded, plain)) <= tolerance, f"codec:{name} output is not aligned with its input"
    err = coded - plain
    snr = 10 * np.log10(np.sum(plain**2) / np.sum(err**2))
    assert 0.0 < snr < 40.0, f"codec:{name}: SNR {snr:.1f} dB vs its input (not a codec, or a broken one)"
    assert np.corrcoef(coded, plain)[0, 1] > 0.6


def test_codec_spec_grammar_and_errors():
    assert str(parse_spec(" CODEC:GSM ")) == "codec:gsm"
    with pytest.raises(ValueError, match="expected codec:gsm"):
        parse_spec("codec:amr")
    check_low_rate(parse_spec("codec:opus"), 16000, 2)
    check_low_rate(parse_spec("codec:opus"), 48000, 6)
    with pytest.raises(ValueError, match="8000 Hz"):
        check_low_rate(parse_spec("codec:opus"), 48000, 3)
    check_low_rate(parse_spec("resample"), 48000, 3)  # other kinds pass


def test_codec_without_ffmpeg_says_what_to_install(monkeypatch, speech):
    monkeypatch.setattr(codecs_mod.shutil, "which", lambda name: None)
    codecs_mod._ffmpeg_encoders.cache_clear()
    try:
        with pytest.raises(CodecUnavailable, match="needs ffmpeg"):
            Degradation(2, "codec:gsm")(speech)
        assert not codec_available("gsm")
    finally:
        codecs_mod._ffmpeg_encoders.cache_clear()


def test_noise_sets_its_snr_and_is_deterministic(speech):
    plain = Degradation(2, "resample")(speech)
    for spec, snr in (("noise:20", 20.0), ("noise:5:white", 5.0)):
        noisy = Degradation(2, spec)(speech)
        measured = 10 * np.log10(np.sum(plain**2) / np.sum((noisy - plain) ** 2))
        assert measured == pytest.approx(snr, abs=0.05)
        assert np.array_equal(noisy, Degradation(2, spec)(speech))
    assert not np.array_equal(Degradation(2, "noise:20")(speech[:16000]), Degradation(2, "noise:20")(speech[16000:]))
    with pytest.raises(ValueError, match="noise:SNR_DB"):
        parse_spec("noise:loud")


def test_telephony_set_mixes_channel_codecs_and_filters():
    s = get_degradation_set("telephony")
    kinds = {parse_spec(m).kind for m in s.specs}
    assert {"telephone", "codec", "lowpass", "resample"} <= kinds
    assert {f"codec:{c}" for c in CODECS} <= set(s.specs)
    assert sum(s.probabilities().values()) == pytest.approx(1.0)


def test_recipe_refuses_codecs_at_a_wideband_low_rate_before_any_work(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "recipes.streaming_bwe",
            "--degradations",
            "telephony",
            "--ratio",
            "3",
            "--hr-rate",
            "48000",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "narrow-band codecs run at 8000 Hz" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not out.exists()
