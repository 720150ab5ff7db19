"""Patch extraction: alignment with the whole-signal degradation, silence, cache behaviour, errors."""
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.audio import read_audio, resample
from keras_audiosr.data import PatchConfig, Utterance, default_cache_dir, extract_patches, prepare_signal
from keras_audiosr.data import patches as patches_mod
from keras_audiosr.degrade import Degradation

RATE = 8000


def _write(path: Path, x: np.ndarray, rate: int = RATE) -> Utterance:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype="FLOAT")
    return Utterance(path, path.parent.name, path.stem)


def _speechy(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture
def corpus(tmp_path):
    return [_write(tmp_path / "c" / "a" / "a_1.wav", _speechy(2001, 0)),
            _write(tmp_path / "c" / "b" / "b_1.wav", _speechy(1500, 1))]


CFG = PatchConfig(hr_rate=RATE, ratio=2, patch_size=256, stride=128, silence_db=None)


def test_patch_config_validation_and_defaults():
    assert PatchConfig().stride == 4096 and PatchConfig().lr_patch_size == 4096
    assert PatchConfig(ratio=4, patch_size=24).stride == 12
    assert PatchConfig(ratio=4, patch_size=8).stride == 4
    with pytest.raises(ValueError, match="multiple of ratio"):
        PatchConfig(ratio=3, patch_size=8192)
    with pytest.raises(ValueError, match="stride"):
        PatchConfig(ratio=2, patch_size=64, stride=33)
    with pytest.raises(ValueError, match="unknown family"):
        PatchConfig(filter="gauss:3")
    assert PatchConfig.from_dict(CFG.to_dict()) == CFG


def test_patches_are_aligned_with_whole_signal_degradation(corpus):
    p = extract_patches(corpus, CFG, progress=False)
    deg = Degradation(2, "cheby1:8", zero_phase=True)
    exp_hr, exp_lr = [], []
    for u in corpus:
        x = read_audio(u.path)[0][:, 0]
        x = x[: len(x) // 2 * 2]
        y = deg(x)
        for s in range(0, len(x) - 256 + 1, 128):
            exp_hr.append(x[s:s + 256])
            exp_lr.append(y[s // 2:(s + 256) // 2])
    # a: 2000 samples -> 14 patches; b: 1500 -> 10 patches
    assert len(exp_hr) == 24 and len(p) == 24 and p.n_files == 2 and not p.from_cache
    assert p.hr.shape == (24, 256, 1) and p.lr.shape == (24, 128, 1)
    assert p.hr.dtype == np.float32 and p.lr.dtype == np.float32
    np.testing.assert_array_equal(p.hr[..., 0], np.stack(exp_hr))
    np.testing.assert_allclose(p.lr[..., 0], np.stack(exp_lr), atol=1e-6)
    # The whole-signal degradation differs from degrading each patch alone (edge effects).
    alone = deg(p.hr[3, :, 0])
    assert np.max(np.abs(alone - p.lr[3, :, 0])) > 1e-3


def test_prepare_signal_mixes_down_and_resamples(tmp_path):
    x = np.stack([_speechy(4800, 2), _speechy(4800, 3)], axis=1) * 0.5
    path = tmp_path / "st.wav"
    sf.write(str(path), x, 24000, subtype="FLOAT")
    y = prepare_signal(path, RATE)
    assert y.shape == (1600,) and y.dtype == np.float32
    np.testing.assert_allclose(y, resample(x.mean(axis=1), 24000, RATE), atol=1e-6)
    assert prepare_signal(path, 24000, mix_down=False).shape == (4800, 2)


def test_silent_patches_dropped(tmp_path):
    x = _speechy(2048, 4)
    x[1024:] = 0.0
    x[1024:1536] += 1e-4 * np.random.default_rng(5).standard_normal(512).astype(np.float32)  # -80 dBFS
    utts = [_write(tmp_path / "s" / "s_1.wav", x)]
    cfg = PatchConfig(hr_rate=RATE, ratio=2, patch_size=256, stride=256, silence_db=-50.0)
    kept = extract_patches(utts, cfg, progress=False)
    every = extract_patches(utts, PatchConfig(hr_rate=RATE, ratio=2, patch_size=256, stride=256, silence_db=None),
                            progress=False)
    assert len(every) == 8 and len(kept) == 4
    np.testing.assert_array_equal(kept.hr[..., 0], x[:1024].reshape(4, 256))
    rms_db = 10 * np.log10(np.mean(kept.hr.astype(np.float64) ** 2, axis=(1, 2)))
    assert np.all(rms_db >= -50.0)


def test_cache_hit_skips_work(corpus, tmp_path, monkeypatch):
    calls = []
    real_read = patches_mod.read_audio

    def counting_read(path, **kw):
        calls.append(Path(path))
        return real_read(path, **kw)

    monkeypatch.setattr(patches_mod, "read_audio", counting_read)
    cache = tmp_path / "cache"
    first = extract_patches(corpus, CFG, cache_dir=cache, progress=False)
    assert len(calls) == 2 and not first.from_cache
    files = list(cache.iterdir())
    assert [f.name for f in files] == [f"{CFG.key(corpus)}.npz"]  # no temporaries left behind
    second = extract_patches(corpus, CFG, cache_dir=cache, progress=False)
    assert len(calls) == 2 and second.from_cache and second.n_files == 2
    np.testing.assert_array_equal(second.hr, first.hr)
    np.testing.assert_array_equal(second.lr, first.lr)
    assert second.hr.dtype == np.float32
    # A corrupt cache entry is recomputed and replaced.
    files[0].write_bytes(b"garbage")
    third = extract_patches(corpus, CFG, cache_dir=cache, progress=False)
    assert len(calls) == 4 and not third.from_cache
    np.testing.assert_array_equal(third.hr, first.hr)
    assert extract_patches(corpus, CFG, cache_dir=cache, progress=False).from_cache


def test_cache_key_tracks_config_and_files(corpus):
    k = CFG.key(corpus)
    assert k == PatchConfig(hr_rate=RATE, ratio=2, patch_size=256, stride=128, silence_db=None).key(corpus)
    others = [PatchConfig(hr_rate=RATE, ratio=2, patch_size=256, stride=128, silence_db=-40.0),
              PatchConfig(hr_rate=RATE, ratio=2, patch_size=256, stride=64, silence_db=None),
              PatchConfig(hr_rate=RATE, ratio=2, filter="ellip:6", patch_size=256, stride=128, silence_db=None),
              PatchConfig(hr_rate=RATE, ratio=2, zero_phase=False, patch_size=256, stride=128, silence_db=None),
              PatchConfig(hr_rate=RATE // 2, ratio=2, patch_size=256, stride=128, silence_db=None),
              PatchConfig(hr_rate=RATE, ratio=4, patch_size=256, stride=128, silence_db=None)]
    keys = {o.key(corpus) for o in others}
    assert len(keys) == len(others) and k not in keys
    assert CFG.key(corpus[:1]) != k
    assert CFG.key(corpus, filters=["cheby1:8", "ellip:6"]) != k
    path = corpus[0].path
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    k2 = CFG.key(corpus)
    assert k2 != k
    sf.write(str(path), _speechy(2100, 0), RATE, subtype="FLOAT")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same mtime, new size
    assert CFG.key(corpus) not in (k, k2)


def test_changed_file_gives_new_patches(corpus, tmp_path):
    cache = tmp_path / "cache"
    first = extract_patches(corpus, CFG, cache_dir=cache, progress=False)
    path = corpus[1].path
    st = path.stat()
    sf.write(str(path), _speechy(1500, 9), RATE, subtype="FLOAT")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = extract_patches(corpus, CFG, cache_dir=cache, progress=False)
    assert not second.from_cache and len(list(cache.glob("*.npz"))) == 2
    np.testing.assert_array_equal(second.hr[:14], first.hr[:14])
    assert not np.array_equal(second.hr[14:], first.hr[14:])


def test_per_file_filters(corpus):
    base = extract_patches(corpus, CFG, progress=False)
    mixed = extract_patches(corpus, CFG, progress=False, filters=["cheby1:8", "bessel:6"])
    np.testing.assert_array_equal(mixed.hr, base.hr)
    np.testing.assert_array_equal(mixed.lr[:14], base.lr[:14])
    assert not np.allclose(mixed.lr[14:], base.lr[14:], atol=1e-3)
    with pytest.raises(ValueError, match="one filter spec per utterance"):
        extract_patches(corpus, CFG, progress=False, filters=["cheby1:8"])


def test_short_files_contribute_nothing_and_empty_result_errors(corpus, tmp_path):
    short = _write(tmp_path / "c" / "z" / "z_1.wav", _speechy(200, 7))
    p = extract_patches(corpus + [short], CFG, progress=False)
    assert len(p) == 24 and p.n_files == 3
    with pytest.raises(ValueError, match="z_1.wav"):
        extract_patches([short], CFG, progress=False)
    quiet = _write(tmp_path / "q" / "q_1.wav", 1e-4 * _speechy(1024, 8))
    with pytest.raises(ValueError, match="silence_db=-50"):
        extract_patches([quiet], PatchConfig(hr_rate=RATE, ratio=2, patch_size=256), progress=False)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_AUDIOSR_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KERAS_AUDIOSR_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "keras_audiosr"
