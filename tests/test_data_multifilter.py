"""Multi-filter augmentation: per-example filters that change across examples and epochs, seen/unseen
evaluation filters, decimating and same-rate shapes, whole-file banks, determinism, throughput."""
import numpy as np
import pytest
import tensorflow as tf

from keras_audiosr.audio import read_audio, write_audio
from keras_audiosr.data import (MultiFilterAugment, PatchConfig, Utterance, evaluation_filters,
                                extract_multifilter_patches, extract_patches, filter_bank, make_dataset, make_input,
                                make_multifilter_dataset, pipeline_throughput, training_throughput)
from keras_audiosr.degrade import MULTI_FILTER_DEFAULTS, UNSEEN_FILTER_DEFAULT, lowpass

R, P, N, B = 2, 256, 24, 8


@pytest.fixture(scope="module")
def hr():
    return np.random.default_rng(0).standard_normal((N, P, 1)).astype(np.float32)


def _identify(x, y, hr, bank):
    """(example index, filter index) of every example of a batch, by exact match against hr and the bank."""
    idx = [int(np.argmin(np.abs(hr[:, :8, 0] - row[:8, 0]).sum(axis=1))) for row in y]
    for i, row in zip(idx, y):
        np.testing.assert_array_equal(row, hr[i])
    ks = []
    for i, row in zip(idx, x):
        err = np.abs(bank[:, i] - row).max(axis=(1, 2))
        assert np.sort(err)[0] < 1e-5 < np.sort(err)[1], err  # exactly one filter matches
        ks.append(int(np.argmin(err)))
    return idx, ks


def _epochs(ds, n_batches):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n_batches)]


def _power(x):
    """Hann-windowed power spectrum along the time axis of ``[..., P, 1]`` (window: no leakage floor)."""
    return np.abs(np.fft.rfft(x[..., 0] * np.hanning(x.shape[-2]), axis=-1)) ** 2


def test_bank_versions_have_distinct_attenuation(hr):
    bank = filter_bank(hr, R, same_rate=True)
    assert bank.shape == (len(MULTI_FILTER_DEFAULTS), N, P, 1)
    f = np.fft.rfftfreq(P)  # cycles/sample; the cutoff (low-rate Nyquist) is at 0.25
    band = (f > 0.25 * 1.1) & (f < 0.25 * 1.6)
    ref = _power(hr)[:, band].sum()
    atten = {s: 10 * np.log10(_power(bank[k])[:, band].sum() / ref) for k, s in enumerate(MULTI_FILTER_DEFAULTS)}
    assert atten["bessel:6"] > -25 and atten["bessel:12"] > -25  # gentle roll-off
    assert -45 < atten["ellip:6"] < atten["bessel:6"] - 10
    assert atten["ellip:12"] < atten["ellip:6"] - 20  # higher order, steeper
    assert atten["cheby1:6"] < -60 and atten["cheby1:12"] < atten["cheby1:6"] - 10
    passband = f < 0.15
    for k in range(len(MULTI_FILTER_DEFAULTS)):
        np.testing.assert_allclose(_power(bank[k])[:, passband].sum(), _power(hr)[:, passband].sum(), rtol=0.15)


@pytest.mark.parametrize("mode", ["precompute", "online"])
def test_filters_differ_across_examples_and_epochs(hr, mode):
    bank = filter_bank(hr, R)
    ds = make_multifilter_dataset(hr, R, B, mode=mode, seed=3)
    per_example = {}
    n_batches = 3 * (N // B)  # three epochs
    for x, y in _epochs(ds, n_batches):
        assert x.shape == (B, P // R, 1) and y.shape == (B, P, 1) and x.dtype == np.float32
        idx, ks = _identify(x, y, hr, bank)
        assert len(set(ks)) >= 3  # a batch mixes filters
        for i, k in zip(idx, ks):
            per_example.setdefault(i, []).append(k)
    assert sorted(per_example) == list(range(N)) and all(len(v) == 3 for v in per_example.values())
    changed = sum(len(set(v)) > 1 for v in per_example.values())
    assert changed >= N // 2  # re-drawn every epoch (chance of keeping it: 1/64 per example)
    used = {k for v in per_example.values() for k in v}
    assert len(used) == len(MULTI_FILTER_DEFAULTS)


def test_precompute_and_online_agree_and_are_deterministic(hr):
    a = _epochs(make_multifilter_dataset(hr, R, B, seed=5), 4)
    b = _epochs(make_multifilter_dataset(hr, R, B, seed=5), 4)
    c = _epochs(make_multifilter_dataset(hr, R, B, seed=5, mode="online"), 4)
    d = _epochs(make_multifilter_dataset(hr, R, B, seed=6), 4)
    for (xa, ya), (xb, yb), (xc, yc) in zip(a, b, c):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yc)
        np.testing.assert_allclose(xa, xc, atol=1e-6)
    assert not all(np.array_equal(xa, xd) for (xa, _), (xd, _) in zip(a, d))


def test_same_rate_keeps_length_and_removes_the_high_band(hr):
    x, y = next(iter(make_multifilter_dataset(hr, R, B, same_rate=True, filters=["ellip:12", "cheby1:8"])))
    assert x.shape == y.shape == (B, P, 1)
    X, Y = _power(x.numpy()), _power(y.numpy())
    f = np.fft.rfftfreq(P)
    hi, lo = f > 0.3, f < 0.15
    assert X[:, hi].sum() < 1e-4 * Y[:, hi].sum()
    np.testing.assert_allclose(X[:, lo].sum(), Y[:, lo].sum(), rtol=0.05)


def test_seen_and_unseen_filters():
    ev = evaluation_filters()
    assert ev == {"seen": "cheby1:8", "unseen": UNSEEN_FILTER_DEFAULT}
    assert ev["seen"] in MULTI_FILTER_DEFAULTS and ev["unseen"] not in MULTI_FILTER_DEFAULTS
    assert evaluation_filters(["bessel:6", "ellip:12"])["seen"] == "bessel:6"
    with pytest.raises(ValueError, match="not among the training filters"):
        evaluation_filters(seen="butter:3")
    with pytest.raises(ValueError, match="is one of the training filters"):
        evaluation_filters(unseen="ellip:6")
    x = np.random.default_rng(1).standard_normal(1000)
    np.testing.assert_array_equal(make_input(x, 2, "butter:6"), make_input(x, 2, "butter:6", same_rate=True)[::2])
    assert make_input(x, 4, "butter:6").shape == (250,)


def test_augment_hook_for_make_dataset_redraws_when_reshuffled(hr):
    aug = MultiFilterAugment(R, seed=0)
    bank = filter_bank(hr, R)
    ds = make_dataset(hr[:, ::R], hr, B, seed=1, repeat=True, augment=aug)
    per_example = {}
    first = _epochs(ds, 3 * (N // B))
    for x, y in first:
        for i, k in zip(*_identify(x, y, hr, bank)):
            per_example.setdefault(i, []).append(k)
    assert sum(len(set(v)) > 1 for v in per_example.values()) >= N // 2
    again = _epochs(make_dataset(hr[:, ::R], hr, B, seed=1, repeat=True, augment=MultiFilterAugment(R, seed=0)), 2)
    for (xa, _), (xb, _) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
    # map() over plain high-rate batches, same-rate
    aug = MultiFilterAugment(R, filters=["bessel:6"], same_rate=True)
    mapped = aug.map(tf.data.Dataset.from_tensor_slices(hr).batch(B))
    x, y = next(iter(mapped))
    np.testing.assert_allclose(x.numpy()[..., 0], lowpass(hr[:B, :, 0], R, "bessel:6", axis=1), atol=1e-6)


def _write_files(tmp_path, rate=16000):
    rng = np.random.default_rng(7)
    write_audio(tmp_path / "a.wav", 0.3 * rng.standard_normal(int(0.6 * rate)), rate, subtype="FLOAT")
    write_audio(tmp_path / "b.wav", 0.3 * rng.standard_normal((int(0.5 * rate), 2)), rate, subtype="FLOAT")
    return [Utterance(tmp_path / "a.wav", "s", "a"), Utterance(tmp_path / "b.wav", "s", "b")]


def test_bank_from_whole_files_matches_extract_patches_and_caches(tmp_path):
    utts = _write_files(tmp_path)
    cfg = PatchConfig(hr_rate=16000, ratio=R, patch_size=2048, silence_db=None)
    filters = ("cheby1:6", "ellip:12", "bessel:6")
    mf = extract_multifilter_patches(utts, cfg, filters, cache_dir=tmp_path / "cache", progress=False)
    assert mf.inputs.shape == (3, len(mf), 1024, 1) and not mf.from_cache
    for f in filters:
        single = extract_patches(utts, PatchConfig(hr_rate=16000, ratio=R, patch_size=2048, silence_db=None, filter=f),
                                 progress=False)
        np.testing.assert_array_equal(single.hr, mf.hr)
        np.testing.assert_allclose(single.lr, mf.for_filter(f).lr, atol=1e-6)
    again = extract_multifilter_patches(utts, cfg, filters, cache_dir=tmp_path / "cache", progress=False)
    assert again.from_cache and again.filters == mf.filters
    np.testing.assert_array_equal(again.inputs, mf.inputs)
    # same-rate, stereo channels as separate examples: each input is the whole channel low-passed, then cut
    sr = extract_multifilter_patches(utts, cfg, filters, same_rate=True, channels="separate", progress=False)
    assert sr.inputs.shape[2] == 2048 and len(sr) > len(mf)
    a = read_audio(utts[0].path)[0][:, 0]
    first = sr.for_filter("ellip:12").lr[0, :, 0]
    np.testing.assert_allclose(first, lowpass(a, R, "ellip:12")[:2048], atol=1e-6)  # the whole file was filtered
    assert np.abs(first - lowpass(a[:2048], R, "ellip:12"))[-100:].max() > 1e-3  # not the patch (edge effects)
    x, y = next(iter(make_multifilter_dataset(sr, None, 4)))
    assert x.shape == y.shape == (4, 2048, 1)


def test_errors(hr, tmp_path):
    with pytest.raises(ValueError, match="precompute, online"):
        make_multifilter_dataset(hr, R, B, mode="fast")
    with pytest.raises(ValueError, match="more than once"):
        make_multifilter_dataset(hr, R, B, filters=["cheby1:8", "cheby1:8"])
    with pytest.raises(ValueError, match="ratio is required"):
        make_multifilter_dataset(hr, None, B)
    with pytest.raises(ValueError, match="unknown family"):
        MultiFilterAugment(R, filters=["nope:3"])
    utts = _write_files(tmp_path)
    mf = extract_multifilter_patches(utts, PatchConfig(hr_rate=16000, ratio=R, patch_size=2048), ("cheby1:6",),
                                     progress=False)
    with pytest.raises(ValueError, match="made for ratio 2"):
        make_multifilter_dataset(mf, 4, B)
    with pytest.raises(ValueError, match="mix, separate"):
        extract_multifilter_patches(utts, mf.cfg, channels="left", progress=False)
    with pytest.raises(ValueError, match="no patch survived"):
        extract_multifilter_patches(utts, PatchConfig(hr_rate=16000, ratio=R, patch_size=65536), progress=False)


def test_throughput_functions_return_positive_numbers(hr):
    import keras

    from keras_audiosr.models.audio_unet import AudioUNet

    ds = make_multifilter_dataset(hr, R, 4)
    p = pipeline_throughput(ds, batches=3, warmup=1)
    assert p["patches"] == 12 and p["patches_per_s"] > 0 and p["batches_per_s"] > 0
    keras.utils.set_random_seed(0)
    model = AudioUNet.from_size("tiny", ratio=R)
    t = training_throughput(model, next(iter(ds)), steps=2, warmup=1)
    assert t["batch_size"] == 4 and t["steps_per_s"] > 0
    assert t["patches_per_s"] == pytest.approx(4 * t["steps_per_s"])
