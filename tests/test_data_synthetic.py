"""Embedded default corpus: determinism, layout, idempotence, and speech-like wide-band content."""

import json
import time

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from keras_audiosr.audio import read_audio, resample
from keras_audiosr.data import DEFAULT_CORPUS_NAME, find_vctk, make_default_corpus, make_split, synthesize_utterance
from keras_audiosr.data.synthetic import MARKER

TINY = dict(n_speakers=2, n_utterances=2, seconds=0.6, rate=16000)


@pytest.fixture(scope="module")
def default_corpus(tmp_path_factory):
    start = time.perf_counter()
    root = make_default_corpus(tmp_path_factory.mktemp("syn") / "corpus")
    return root, time.perf_counter() - start


def _band_stats(utts):
    """Energy share above 4 kHz at 16 kHz, and per active frame (low-band tilt, high/low ratio) in log10."""
    total = high = 0.0
    tilt, ratio = [], []
    for u in utts:
        x, rate = read_audio(u.path)
        y = resample(x[:, 0], rate, 16000)
        f, _, z = signal.stft(y, 16000, nperseg=320, noverlap=160)
        p = np.abs(z) ** 2
        total += p.sum()
        high += p[f > 4000].sum()
        frame = p.sum(0)
        act = frame > 1e-3 * frame.max()
        low = p[f <= 4000].sum(0)
        tilt.append(np.log10(p[(f > 2500) & (f <= 4000)].sum(0) / low)[act])
        ratio.append(np.log10(p[f > 4000].sum(0) / low)[act])
    return high / total, np.concatenate(tilt), np.concatenate(ratio)


def test_default_corpus_layout_and_speed(default_corpus):
    root, seconds = default_corpus
    assert seconds < 30.0  # about 4 s on 2 CPU cores
    utts = find_vctk(root)
    assert len(utts) == 60
    assert sorted({u.speaker for u in utts}) == [f"s{i:03d}" for i in range(1, 11)]
    assert utts[0].path == root / "wav48" / "s001" / "s001_001.flac" and utts[0].utt_id == "001"
    info = sf.info(str(utts[0].path))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == (
        "FLAC",
        "PCM_16",
        48000,
        1,
        96000,
    )
    readme = (root / "README.txt").read_text()
    assert DEFAULT_CORPUS_NAME in readme and "NOT recorded speech" in readme
    assert json.loads((root / MARKER).read_text())["seed"] == 1234
    split = make_split(utts, "multi")
    assert split.test_speakers == ["s009", "s010"] and "s009" in split.note


def test_default_corpus_is_wide_band_and_learnable(default_corpus):
    root, _ = default_corpus
    share, tilt, ratio = _band_stats(find_vctk(root))
    assert share > 0.05  # real high-band energy at 16 kHz
    # The high band's level follows the low band's upper spectrum: bandwidth extension is learnable.
    assert np.corrcoef(tilt, ratio)[0, 1] > 0.7


def test_utterance_is_speech_like():
    x = synthesize_utterance(1234, 3, 2)
    assert x.dtype == np.float32 and x.shape == (96000,)
    assert abs(20 * np.log10(np.max(np.abs(x))) + 3.0) < 0.1  # peak-normalised to -3 dBFS
    frames = x[: len(x) // 960 * 960].reshape(-1, 960).astype(np.float64)
    db = 10 * np.log10(np.mean(frames**2, axis=1))
    assert np.mean(db < -50) > 0.05 and np.mean(db > -30) > 0.4  # pauses between loud syllables
    loud = int(np.argmax(db)) * 960
    seg = x[loud : loud + 1920].astype(np.float64)  # 40 ms at the loudest point
    ac = np.correlate(seg, seg, "full")[len(seg) - 1 :]
    lags = np.arange(48000 // 400, 48000 // 60)
    period = lags[np.argmax(ac[lags])]
    assert ac[period] > 0.3 * ac[0]  # periodic (voiced) ...
    f0 = 48000 / period
    assert 60 < f0 < 300  # ... at a pitch in the voice range


def test_speakers_differ():
    a, b = synthesize_utterance(1234, 1, 1), synthesize_utterance(1234, 2, 1)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, synthesize_utterance(1234, 1, 1))
    assert not np.array_equal(a, synthesize_utterance(99, 1, 1))


def test_deterministic_bytes(tmp_path):
    r1 = make_default_corpus(tmp_path / "a", **TINY)
    r2 = make_default_corpus(tmp_path / "b", **TINY)
    files1 = sorted(p.relative_to(r1) for p in r1.rglob("*.flac"))
    assert len(files1) == 4 and files1 == sorted(p.relative_to(r2) for p in r2.rglob("*.flac"))
    for rel in files1:
        assert (r1 / rel).read_bytes() == (r2 / rel).read_bytes()
    # Utterances do not depend on how many others are generated.
    r3 = make_default_corpus(tmp_path / "c", **{**TINY, "n_speakers": 3, "n_utterances": 3})
    assert (r3 / files1[-1]).read_bytes() == (r1 / files1[-1]).read_bytes()


def test_idempotent_and_regenerates_on_new_parameters(tmp_path):
    root = make_default_corpus(tmp_path / "c", **TINY)
    f = root / "wav48" / "s002" / "s002_002.flac"
    mtime = f.stat().st_mtime_ns
    assert make_default_corpus(root, **TINY) == root
    assert f.stat().st_mtime_ns == mtime
    make_default_corpus(root, **{**TINY, "n_speakers": 1, "seed": 5})
    assert [u.speaker for u in find_vctk(root)] == ["s001", "s001"]
    assert json.loads((root / MARKER).read_text())["seed"] == 5
    first, second = root / "wav48" / "s001" / "s001_001.flac", root / "wav48" / "s001" / "s001_002.flac"
    data, kept_mtime = first.read_bytes(), second.stat().st_mtime_ns
    first.unlink()  # as after an interrupted run: the marker is there, a file is not
    make_default_corpus(root, **{**TINY, "n_speakers": 1, "seed": 5})
    assert first.read_bytes() == data and second.stat().st_mtime_ns == kept_mtime


def test_default_root_and_foreign_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_AUDIOSR_CACHE", str(tmp_path / "cache"))
    root = make_default_corpus(**TINY)
    assert root == tmp_path / "cache" / DEFAULT_CORPUS_NAME and (root / "README.txt").is_file()
    foreign = tmp_path / "vctk"
    (foreign / "wav48" / "p225").mkdir(parents=True)
    with pytest.raises(ValueError, match="not written by make_default_corpus"):
        make_default_corpus(foreign, **TINY)
    with pytest.raises(ValueError, match="n_speakers"):
        make_default_corpus(tmp_path / "x", n_speakers=0)
