"""Several corpora: speaker-disjoint splits per corpus with namespaced ids, weights, and prepare_training_data."""

import json

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.data import embedded_corpus_dir, load_corpora, load_corpus, prepare_training_data
from keras_audiosr.degrade import Degradation
from tests.corpus_helpers import make_folder, make_vctk


@pytest.fixture
def three(tmp_path):
    vctk = make_vctk(tmp_path / "vctk-mini", speakers=("p225", "p226", "p227", "p228", "p229"), seconds=0.6)
    libri = make_folder(
        tmp_path / "libri",
        {
            f"{spk}/{ch}/{spk}_{ch}_{k:06d}_000000.wav": (0.6, 24000, 1)
            for spk, ch in (("19", "198"), ("19", "227"), ("26", "495"), ("32", "21631"), ("40", "222"))
            for k in range(2)
        },
    )
    lj = make_folder(tmp_path / "lj", {f"LJ001-{k:04d}.wav": (0.6, 22050, 1) for k in range(3)})
    return vctk, libri, lj


def test_libri_layout_keeps_chapters_of_a_speaker_together(three):
    _, libri, _ = three
    utts = load_corpus(libri)
    assert sorted({u.speaker for u in utts}) == ["19", "26", "32", "40"]
    assert {u.utt_id for u in utts if u.speaker == "19"} >= {"198/19_198_000000_000000", "227/19_227_000000_000000"}


def test_splits_are_speaker_disjoint_and_namespaced(three):
    cs = load_corpora(list(three))
    assert cs.names == ["vctk-mini", "libri", "lj"]
    train_spk = {u.speaker for u in cs.train}
    test_spk = {u.speaker for u in cs.test}
    assert not train_spk & test_spk
    assert all(s.split("/")[0] in cs.names for s in train_spk | test_spk)
    assert "vctk-mini/p229" in test_spk and "libri/40" in test_spk  # the last 20 % of each corpus
    lj = cs.corpora[2]
    assert lj.split.test == [] and "one speaker" in lj.split.note and len(lj.split.train) == 3
    assert cs.train_corpora.count("lj") == 3 and len(cs.train_corpora) == len(cs.train)
    per = cs.test_by_corpus()
    assert set(per) == {"vctk-mini", "libri", "lj"} and per["lj"] == []
    pooled = cs.split
    assert pooled.test_speakers == ["vctk-mini/p229", "libri/40"] and len(pooled.train) == len(cs.train)
    json.dumps(cs.to_dict())


def test_explicit_test_speakers_and_weights(three):
    cs = load_corpora(list(three)[:2], test_speakers=["vctk-mini/p225", "26"], weights=[2.0, 1.0])
    assert cs.corpora[0].split.test_speakers == ["vctk-mini/p225"]
    assert cs.corpora[1].split.test_speakers == ["libri/26"]
    assert cs.weights == {"vctk-mini": 2.0, "libri": 1.0}
    with pytest.raises(ValueError, match="p999 are in none of the corpora"):
        load_corpora(list(three)[:2], test_speakers=["p225", "p999"])
    with pytest.raises(ValueError, match="unknown corpora"):
        load_corpora(list(three)[:2], weights={"vctk": 1.0})
    with pytest.raises(ValueError, match="2 weights for 3"):
        load_corpora(list(three), weights=[1, 2])
    with pytest.raises(ValueError, match="single-speaker task takes one corpus"):
        load_corpora(list(three), task="single")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_corpora([three[0], three[0].parent / "nope"])


def test_same_folder_name_gets_unique_names(tmp_path):
    a = make_vctk(tmp_path / "a" / "data", seconds=0.3)
    b = make_vctk(tmp_path / "b" / "data", seconds=0.3, seed=50)
    assert load_corpora([a, b]).names == ["data", "data-2"]


def test_music_folder_with_split_file(tmp_path):
    root = make_folder(tmp_path / "music", {f"g/t{k}.wav": (0.6, 44100, 2) for k in range(4)})
    (root / "split.txt").write_text("g/t0.wav train\ng/t1.wav train\ng/t2.wav valid\ng/t3.wav test\n")
    cs = load_corpora([root])
    assert cs.corpora[0].kind == "music" and [u.utt_id for u in cs.test] == ["t3.wav"]
    assert all(u.speaker.startswith("music/") for u in cs.train)


def test_prepare_training_data_end_to_end(three, tmp_path):
    data = prepare_training_data(
        list(three),
        hr_rate=16000,
        ratio=2,
        patch_size=2048,
        degradations="speech-robust",
        cache_dir=tmp_path / "cache",
        workers=1,
        progress=False,
        weights={"lj": 0.5},
    )
    assert {f.corpus for f in data.store.files} == {"vctk-mini", "libri", "lj"}
    assert len(data.store) == len(data.corpora.train)
    assert data.degradation == Degradation(2, "cheby1:8") and data.degradations.name == "speech-robust"
    probs = data.sampler().corpus_probabilities
    assert probs["lj"] == pytest.approx(0.5 / 2.5)
    lr, hr = next(iter(data.dataset(4)))
    assert lr.shape == (4, 1024, 1) and hr.shape == (4, 2048, 1)
    summary = data.summary()
    json.dumps(summary)
    assert [c["name"] for c in summary["corpora"]] == ["vctk-mini", "libri", "lj"]
    assert summary["degradations"]["name"] == "speech-robust" and summary["store"]["files"] == len(data.store)
    for c, corpus in zip(summary["corpora"], data.corpora.corpora):
        assert c["train_hours"] > 0 and c["test_hours"] == pytest.approx(
            sum(sf.info(str(u.path)).duration for u in corpus.split.test) / 3600, abs=1e-3
        )
    assert data.steps_per_epoch(4) == max(1, int(data.store.seconds * 16000) // 2048 // 4)
    again = prepare_training_data(
        list(three),
        hr_rate=16000,
        ratio=2,
        patch_size=2048,
        degradations="cheby1:8",
        cache_dir=tmp_path / "cache",
        workers=1,
        progress=False,
    )
    assert again.store.from_cache and again.degradation.filter == "cheby1:8"
    with pytest.raises(ValueError, match="unknown degradation set 'robust'"):
        prepare_training_data(list(three), degradations="robust", cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(ValueError, match="multiple of ratio=3"):
        prepare_training_data(list(three), ratio=3, patch_size=2048, cache_dir=tmp_path / "cache", progress=False)


def test_prepare_training_data_on_shared_data(shared_data, tmp_path):
    data = prepare_training_data(
        [shared_data / "vctk-mini", shared_data / "speech22k-mini"],
        hr_rate=16000,
        ratio=2,
        patch_size=8192,
        degradations="speech-robust",
        cache_dir=tmp_path,
        workers=2,
        progress=False,
    )
    names = data.corpora.names
    assert names == ["vctk-mini", "speech22k-mini"]
    assert not {u.speaker for u in data.corpora.train} & {u.speaker for u in data.corpora.test}
    assert data.summary()["store"]["source_rates"].keys() >= {"48000", "22050"}
    lr, hr = data.sampler().batch(0, range(4))
    assert np.isfinite(lr).all() and lr.shape == (4, 4096, 1)


def test_embedded_default_is_the_packaged_real_speech(tmp_path):
    root = embedded_corpus_dir()
    assert (root / "ATTRIBUTION.md").is_file() and len(list(root.rglob("*.flac"))) == 48
    data = prepare_training_data(
        None, hr_rate=16000, ratio=2, patch_size=4096, cache_dir=tmp_path, workers=1, progress=False
    )
    assert data.embedded and "real recordings" in data.label and "LJ Speech" in data.label
    assert data.split.test_speakers == ["speech16k/p273"] and len(data.split.train_speakers) == 10
    assert {f.rate for f in data.store.files} == {16000}
    single = prepare_training_data(
        None, task="single", hr_rate=8000, ratio=2, patch_size=4096, cache_dir=tmp_path, workers=1, progress=False
    )
    assert single.split.test_speakers == ["speech16k/LJ"] and len(single.split.test) == 2
    with pytest.raises(ValueError, match="embedded default corpus is 16000 Hz speech.*pass --data-dir"):
        prepare_training_data(None, hr_rate=48000, ratio=3, patch_size=4095, cache_dir=tmp_path, progress=False)


def _own_voice(tmp_path, n=6):
    """A plain folder of one speaker's recordings (LJ Speech files of the embedded corpus)."""
    import shutil

    folder = tmp_path / "my-voices"
    folder.mkdir(parents=True)
    for f in sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:n]:
        shutil.copy(f, folder / f.name)
    return folder


def test_one_speaker_folder_holds_out_a_share_of_its_files(tmp_path):
    folder = _own_voice(tmp_path, n=7)
    default = load_corpora(folder)  # task multi, as the recipes default: no longer "needs at least 2 speakers"
    named = load_corpora(folder, test_speakers=["my-voices"])
    single = load_corpora(folder, task="single")  # no speaker named: the only one
    for cs in (default, named, single):
        split = cs.corpora[0].split
        assert len(split.test) == 1 and len(split.train) == 6, split.note
        assert split.test_speakers == ["my-voices/my-voices"] and "held out" in split.note
        assert split.test[0].path.name == "LJ001-0007.flac"
    few = load_corpora(_own_voice(tmp_path / "few", n=2))
    assert len(few.train) == 2 and not few.test and "no held-out files" in few.corpora[0].split.note


def test_naming_the_only_speaker_of_a_tiny_folder_is_not_an_unknown_speaker(tmp_path):
    folder = _own_voice(tmp_path, n=2)
    cs = load_corpora(folder, test_speakers=["my-voices"])
    assert len(cs.train) == 2 and not cs.test and "no held-out files" in cs.corpora[0].split.note
