"""Corpus readers: both VCTK layouts, plain folders, errors, and the real vctk-mini."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.data import Utterance, find_audio_folder, find_vctk, load_corpus, make_split


def _touch_audio(path: Path, n: int = 160, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), 0.1 * np.sin(np.arange(n) * 0.3), rate)
    return path


@pytest.fixture
def vctk080(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    for spk in ("p226", "p225"):
        for utt in ("002", "001", "010"):
            _touch_audio(root / "wav48" / spk / f"{spk}_{utt}.wav")
    _touch_audio(root / "wav48" / "p227" / "p227_001.flac")
    (root / "wav48" / "p225" / "notes.txt").write_text("not audio")
    (root / "txt" / "p225").mkdir(parents=True)
    return root


@pytest.fixture
def vctk092(tmp_path):
    root = tmp_path / "VCTK-Corpus-0.92"
    for spk in ("p225", "p226"):
        for utt in ("001", "002"):
            for mic in (1, 2):
                _touch_audio(root / "wav48_silence_trimmed" / spk / f"{spk}_{utt}_mic{mic}.flac")
    _touch_audio(root / "wav48_silence_trimmed" / "p226" / "p226_003_mic2.flac")
    return root


def test_vctk_080_layout(vctk080):
    utts = find_vctk(vctk080)
    assert [(u.speaker, u.utt_id) for u in utts] == [
        ("p225", "001"),
        ("p225", "002"),
        ("p225", "010"),
        ("p226", "001"),
        ("p226", "002"),
        ("p226", "010"),
        ("p227", "001"),
    ]
    assert all(isinstance(u, Utterance) and u.path.is_file() for u in utts)
    assert utts[-1].path.suffix == ".flac"
    assert utts[0].path == vctk080 / "wav48" / "p225" / "p225_001.wav"


def test_vctk_080_audio_dir_directly(vctk080):
    assert find_vctk(vctk080 / "wav48") == find_vctk(vctk080)


def test_vctk_092_layout_takes_mic1_only(vctk092):
    utts = find_vctk(vctk092)
    assert [(u.speaker, u.utt_id) for u in utts] == [("p225", "001"), ("p225", "002"), ("p226", "001"), ("p226", "002")]
    assert all(u.path.name.endswith("_mic1.flac") for u in utts)


def test_vctk_prefers_populated_layout(vctk092):
    (vctk092 / "wav48").mkdir()
    assert find_vctk(vctk092) == find_vctk(vctk092 / "wav48_silence_trimmed")
    assert len(find_vctk(vctk092)) == 4


def test_vctk_errors_name_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_vctk(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "plain")):
        find_vctk(tmp_path / "plain")
    (tmp_path / "empty" / "wav48" / "p225").mkdir(parents=True)
    with pytest.raises(ValueError, match="no audio files"):
        find_vctk(tmp_path / "empty")
    only_mic2 = tmp_path / "m2" / "wav48_silence_trimmed" / "p225" / "p225_001_mic2.flac"
    _touch_audio(only_mic2)
    with pytest.raises(ValueError, match="mic1"):
        find_vctk(tmp_path / "m2")


def test_audio_folder_flat_is_one_speaker(tmp_path):
    root = tmp_path / "LJSpeech"
    for name in ("LJ001-0002.wav", "LJ001-0001.flac"):
        _touch_audio(root / name)
    (root / "metadata.csv").write_text("x")
    utts = find_audio_folder(root)
    assert [(u.speaker, u.utt_id) for u in utts] == [("LJSpeech", "LJ001-0001"), ("LJSpeech", "LJ001-0002")]
    assert [u.speaker for u in find_audio_folder(root, speaker_from="prefix")] == ["LJ001", "LJ001"]


def test_audio_folder_nested_speakers(tmp_path):
    root = tmp_path / "libri"
    _touch_audio(root / "19" / "198" / "19-198-0001.flac")
    _touch_audio(root / "19" / "227" / "19-227-0001.flac")
    _touch_audio(root / "26" / "495" / "26-495-0000.wav")
    _touch_audio(root / "loose.wav")
    parent = find_audio_folder(root)
    assert [u.speaker for u in parent] == ["19/198", "19/227", "26/495", "libri"]
    top = find_audio_folder(root, speaker_from="top")
    assert [(u.speaker, u.utt_id) for u in top] == [
        ("19", "198/19-198-0001"),
        ("19", "227/19-227-0001"),
        ("26", "495/26-495-0000"),
        ("libri", "loose"),
    ]
    assert {u.speaker for u in find_audio_folder(root, speaker_from="root")} == {"libri"}
    with pytest.raises(ValueError, match="parent, top, root, prefix"):
        find_audio_folder(root, speaker_from="grandparent")


def test_audio_folder_without_audio(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="no audio files"):
        find_audio_folder(tmp_path)


def test_load_corpus_dispatch(vctk080, vctk092, tmp_path):
    assert load_corpus(vctk080) == find_vctk(vctk080)
    assert load_corpus(vctk092) == find_vctk(vctk092)
    _touch_audio(tmp_path / "flat" / "a.wav")
    assert [u.speaker for u in load_corpus(tmp_path / "flat")] == ["flat"]


def test_real_vctk_mini(shared_data):
    utts = find_vctk(shared_data / "vctk-mini")
    speakers = sorted({u.speaker for u in utts})
    assert len(speakers) == 13 and len(utts) == 58
    assert speakers[0] == "p225"
    split = make_split(utts, "multi")
    held = split.test_speakers
    assert held == speakers[-len(held) :] and 1 <= len(held) < 13
    assert all(s in split.note for s in held) and "13" in split.note
    assert not {u.speaker for u in split.train} & set(held)
    single = make_split(utts, "single")
    own = [u for u in utts if u.speaker == "p225"]
    assert single.test == own[-8:] and single.train == own[:-8]
