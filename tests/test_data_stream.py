"""The streaming crop sampler: reproducibility, fresh crops per epoch, alignment, silence, weighting, shards,
tf.data."""

from collections import Counter

import numpy as np
import pytest

from keras_audiosr.audio import write_audio
from keras_audiosr.data import CropSampler, Utterance, prepare_store, shard_files
from keras_audiosr.degrade import Degradation
from tests.corpus_helpers import signal


def _store(tmp_path, lengths_s=(2.0, 6.0), corpora=None, silent_half=False, channels=1):
    utts = []
    for k, sec in enumerate(lengths_s):
        x = signal(k, sec, 16000, channels)
        if silent_half and k == 0:
            x[: len(x) // 2] = 0.0
        path = tmp_path / "c" / f"s{k}" / f"f{k}.wav"
        write_audio(path, x, 16000, subtype="FLOAT")
        utts.append(Utterance(path, f"s{k}", f"f{k}"))
    return prepare_store(
        utts,
        16000,
        corpora=corpora,
        cache_dir=tmp_path / "cache",
        workers=1,
        progress=False,
        channels="separate" if channels > 1 else "mix",
    )


def test_examples_depend_only_on_seed_and_index(tmp_path):
    s = CropSampler(_store(tmp_path), ratio=2, patch_size=1024, degradations="speech-robust")
    lr, hr = s.batch(3, range(8))
    assert lr.shape == (8, 512, 1) and hr.shape == (8, 1024, 1) and lr.dtype == hr.dtype == np.float32
    lr2, hr2 = s.batch(3, [5])
    np.testing.assert_array_equal(lr2[0], lr[5])
    np.testing.assert_array_equal(hr2[0], hr[5])
    other = CropSampler(s.store, ratio=2, patch_size=1024, degradations="speech-robust")
    np.testing.assert_array_equal(other.batch(3, range(8))[1], hr)
    assert not np.array_equal(s.batch(4, range(8))[1], hr)


def test_crops_are_random_offsets_weighted_by_length(tmp_path):
    s = CropSampler(_store(tmp_path, (2.0, 6.0)), ratio=2, patch_size=1024, degradations="aliased")
    details = [s.example(0, i, details=True)[2] for i in range(2000)]
    files = Counter(d["file"] for d in details)
    assert abs(files[1] / 2000 - 0.75) < 0.04  # 6 s of 8 s
    starts = [d["start"] for d in details if d["file"] == 1]
    assert len(set(starts)) > 0.9 * len(starts)  # not a fixed grid
    assert all(st % 2 == 0 and 0 <= st <= 96000 - 1024 for st in starts)
    assert max(starts) > 90000 and min(starts) < 5000


def test_corpus_weights(tmp_path):
    store = _store(tmp_path, (2.0, 6.0), corpora=["a", "b"])
    s = CropSampler(store, ratio=2, patch_size=1024, weights={"a": 1, "b": 1}, degradations="aliased")
    assert s.corpus_probabilities == {"a": 0.5, "b": 0.5}
    files = Counter(s.example(0, i, details=True)[2]["file"] for i in range(2000))
    assert abs(files[0] / 2000 - 0.5) < 0.04
    assert CropSampler(store, ratio=2, patch_size=1024).corpus_probabilities == {"a": 0.25, "b": 0.75}
    with pytest.raises(ValueError, match="unknown corpora"):
        CropSampler(store, ratio=2, patch_size=1024, weights={"zz": 1})
    with pytest.raises(ValueError, match="positive sum"):
        CropSampler(store, ratio=2, patch_size=1024, weights={"a": 0, "b": 0})
    assert CropSampler(store, ratio=2, patch_size=1024, weights={"a": 3}).corpus_probabilities == {"a": 0.75, "b": 0.25}


def test_input_is_cut_from_a_degraded_context_and_aligned(tmp_path):
    store = _store(tmp_path, (3.0,))
    whole = store.read(0, 0, 0, 48000)
    for spec in ("cheby1:8", "ellip:12", "resample", "telephone"):
        s = CropSampler(store, ratio=2, patch_size=2048, degradations=spec, silence_db=None)
        for i in range(5):
            lr, hr, d = s.example(1, i, details=True)
            st = d["start"]
            np.testing.assert_array_equal(hr, whole[st : st + 2048])
            ref = Degradation(2, spec)(whole)[st // 2 : st // 2 + 1024]
            if 800 < st < 48000 - 2048 - 800:  # away from the file ends the context is complete
                assert np.sum((lr - ref) ** 2) < 1e-6 * np.sum(ref**2), (spec, st)


def test_gain_scales_target_and_input(tmp_path):
    store = _store(tmp_path, (3.0,))
    whole = store.read(0, 0, 0, 48000)
    s = CropSampler(store, ratio=2, patch_size=1024, degradations="telephone-any", silence_db=None)
    gains = []
    for i in range(20):
        lr, hr, d = s.example(0, i, details=True)
        np.testing.assert_allclose(hr, d["gain"] * whole[d["start"] : d["start"] + 1024], rtol=1e-6)
        gains.append(d["gain"])
    assert 10 ** (-18 / 20) <= min(gains) < max(gains) <= 1.0


def test_silent_crops_are_redrawn(tmp_path):
    store = _store(tmp_path, (4.0,), silent_half=True)  # the first 2 s are digital silence
    s = CropSampler(store, ratio=2, patch_size=1024)
    assert all(s.example(0, i, details=True)[2]["start"] >= 32000 - 1024 for i in range(300))
    keep_all = CropSampler(store, ratio=2, patch_size=1024, silence_db=None)
    assert any(keep_all.example(0, i, details=True)[2]["start"] < 30000 for i in range(300))


def test_same_rate_inputs_and_separate_channels(tmp_path):
    store = _store(tmp_path, (2.0,), channels=2)
    s = CropSampler(store, ratio=4, patch_size=1024, same_rate=True, degradations="cheby1:8")
    lr, hr = s.batch(0, range(6))
    assert lr.shape == hr.shape == (6, 1024, 1)
    assert {s.example(0, i, details=True)[2]["channel"] for i in range(40)} == {0, 1}


def test_sharding_is_disjoint_and_deterministic():
    shards = [shard_files(103, k, 4, seed=7) for k in range(4)]
    assert sorted(np.concatenate(shards).tolist()) == list(range(103))
    assert {len(x) for x in shards} <= {25, 26}
    np.testing.assert_array_equal(shards[1], shard_files(103, 1, 4, seed=7))
    assert not np.array_equal(shards[1], shard_files(103, 1, 4, seed=8))
    with pytest.raises(ValueError, match="0 <= index < count"):
        shard_files(10, 2, 2)


def test_a_sharded_sampler_reads_only_its_files(tmp_path):
    store = _store(tmp_path, (1.0, 1.0, 1.0, 1.0, 1.0))
    seen = []
    for k in range(2):
        s = CropSampler(store, ratio=2, patch_size=1024, shard=(k, 2), shard_seed=3)
        got = {s.example(0, i, details=True)[2]["file"] for i in range(100)}
        assert got == set(s.files.tolist())
        seen.append(got)
    assert not seen[0] & seen[1] and seen[0] | seen[1] == set(range(5))
    with pytest.raises(ValueError, match="in shard 5 of 6"):
        CropSampler(store, ratio=2, patch_size=1024, shard=(5, 6))


def test_errors(tmp_path):
    store = _store(tmp_path, (0.5,))
    with pytest.raises(ValueError, match="no signal of at least patch_size=16384"):
        CropSampler(store, ratio=2, patch_size=16384)
    with pytest.raises(ValueError, match="multiple of ratio"):
        CropSampler(store, ratio=3, patch_size=1024)
    with pytest.raises(ValueError, match="unknown degradation set"):
        CropSampler(store, ratio=2, patch_size=1024, degradations="robust")


def test_tf_dataset_streams_fresh_crops_each_epoch_and_reproduces(tmp_path):
    s = CropSampler(_store(tmp_path), ratio=2, patch_size=1024, degradations="speech-robust")
    ds = s.dataset(4, seed=5)
    it = iter(ds)
    batches = [next(it) for _ in range(6)]
    assert batches[0][0].shape == (4, 512, 1) and batches[0][1].shape == (4, 1024, 1)
    np.testing.assert_array_equal(batches[2][1].numpy(), s.batch(5, range(8, 12))[1])
    again = iter(s.dataset(4, seed=5))
    np.testing.assert_array_equal(next(again)[1].numpy(), batches[0][1].numpy())
    epoch1 = np.concatenate([b[1].numpy() for b in batches[:3]])
    epoch2 = np.concatenate([b[1].numpy() for b in batches[3:]])
    assert not np.any(np.all(epoch1[:, None] == epoch2[None], axis=(2, 3)))  # no crop repeats
    resumed = next(iter(s.dataset(4, seed=5, start_batch=3)))
    np.testing.assert_array_equal(resumed[1].numpy(), batches[3][1].numpy())
    pooled = iter(s.dataset(4, seed=5, processes=2))  # the same batches from worker processes
    for b in batches[:3]:
        lr, hr = next(pooled)
        np.testing.assert_array_equal(lr.numpy(), b[0].numpy())
        np.testing.assert_array_equal(hr.numpy(), b[1].numpy())


def test_model_fit_on_the_stream(tmp_path):
    import keras

    from keras_audiosr.models import AudioUNet

    s = CropSampler(_store(tmp_path), ratio=2, patch_size=1024, degradations="speech-robust")
    model = AudioUNet.from_size("tiny", ratio=2)
    model.compile(keras.optimizers.Adam(1e-3), loss="mse")
    hist = model.fit(s.dataset(4, seed=0), epochs=2, steps_per_epoch=2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()


def test_py_dataset_batches_are_the_tf_data_batches_and_continue_over_epochs(tmp_path):
    """SamplerBatches (the input on backends without tf.data) gives the same batches as CropSampler.dataset;
    model.fit with steps_per_epoch keeps its index running, so epoch 2 continues the stream."""
    import keras

    from keras_audiosr.data import SamplerBatches
    from keras_audiosr.models import AudioUNet

    s = CropSampler(_store(tmp_path), ratio=2, patch_size=1024, degradations="speech-robust")
    it = iter(s.dataset(4, seed=5, start_batch=2))
    batches = SamplerBatches(s, 4, seed=5, start_batch=2)
    expected = []
    for k in range(3):
        lr, hr = next(it)
        expected.append(hr.numpy())
        b = batches[k]
        np.testing.assert_array_equal(b[0], lr.numpy())
        np.testing.assert_array_equal(b[1], hr.numpy())
    assert SamplerBatches(s, 4).num_batches is None
    seen = []

    class Logged(SamplerBatches):
        def __getitem__(self, index):
            out = super().__getitem__(index)
            seen.append(self._last)
            return out

    model = AudioUNet.from_size("tiny", ratio=2)
    model.compile(keras.optimizers.Adam(1e-3), loss="mse")
    logged = Logged(s, 4, seed=0)
    model.fit(logged, epochs=2, steps_per_epoch=2, verbose=0)
    # distinct batches whether Keras restarts its index per epoch or not (a prefetched one may go unused)
    assert len(seen) >= 4 and len(set(seen)) == len(seen)
    pooled = SamplerBatches(s, 4, seed=5, start_batch=2, processes=2)  # the sampler's worker processes
    assert pooled.workers == 2
    for k in range(3):
        np.testing.assert_array_equal(pooled[k][1], expected[k])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        SamplerBatches(s, 0)
