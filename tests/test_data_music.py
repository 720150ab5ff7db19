"""Music corpora: split files (both formats, errors naming file and line), the stable hash split,
folder listing, stereo kept channel by channel in the training stream, and the generated default music corpus."""

import hashlib

import numpy as np
import pytest

from keras_audiosr.audio import read_audio, write_audio
from keras_audiosr.data import (
    MusicFile,
    Utterance,
    find_music,
    hash_unit,
    load_music,
    make_default_music_corpus,
    prepare_training_data,
    read_split_file,
    split_music,
    synthesize_piece,
)
from keras_audiosr.degrade import lowpass


def _files(names):
    return [
        MusicFile(
            path=f"/corpus/{n}",
            speaker=n.rsplit("/", 1)[0] if "/" in n else "corpus",
            utt_id=n.rsplit("/", 1)[-1],
            rel=n,
        )
        for n in names
    ]


def test_split_txt_and_csv_parsing(tmp_path):
    txt = tmp_path / "split.txt"
    txt.write_text("# comment\n\npiano/a one.flac  train\n./piano/b.wav VAL\nc.flac\ttest\nx\\y.wav dev\n")
    assert read_split_file(txt) == {
        "piano/a one.flac": "train",
        "piano/b.wav": "valid",
        "c.flac": "test",
        "x/y.wav": "valid",
    }
    csv = tmp_path / "split.csv"
    csv.write_text('path,split\n"piano/a, one.flac",train\n# skipped\nc.flac, Test\n')
    assert read_split_file(csv) == {"piano/a, one.flac": "train", "c.flac": "test"}


@pytest.mark.parametrize(
    "content, line, message",
    [
        ("a.flac train\nb.flac holdout\n", 2, "unknown split 'holdout'"),
        ("a.flac train\n\nlonely\n", 3, "expected '<relative path> <train|valid|test>'"),
        ("a.flac train\nb.flac test\na.flac test\n", 3, "listed again \\(first on line 1\\)"),
        ("/abs/a.flac train\n", 1, "absolute"),
        ("../a.flac train\n", 1, "leaves the corpus root"),
    ],
)
def test_split_file_errors_name_file_and_line(tmp_path, content, line, message):
    f = tmp_path / "split.txt"
    f.write_text(content)
    with pytest.raises(ValueError, match=f"split.txt:{line}: .*{message}"):
        read_split_file(f)


def test_split_file_errors_csv_and_empty(tmp_path):
    f = tmp_path / "split.csv"
    f.write_text("a.flac,train\nb.flac,test,extra\n")
    with pytest.raises(ValueError, match="split.csv:2: expected 2 columns"):
        read_split_file(f)
    f.write_text("# nothing\n")
    with pytest.raises(ValueError, match="lists no files"):
        read_split_file(f)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_split_file(tmp_path / "missing.txt")


def test_hash_split_is_stable_when_files_are_added():
    assert hash_unit("piano/a.flac") == int.from_bytes(hashlib.sha256(b"piano/a.flac").digest()[:8], "big") / 2**64
    names = [f"set{i % 50:02d}/piece_{i:04d}.flac" for i in range(2000)]
    small = split_music(_files(names[:300]))
    big = split_music(_files(names))
    where = lambda s: {u.rel: name for name in ("train", "valid", "test") for u in getattr(s, name)}
    before, after = where(small), where(big)
    assert all(after[rel] == part for rel, part in before.items())
    shares = [sum(v == p for v in after.values()) / len(after) for p in ("train", "valid", "test")]
    np.testing.assert_allclose(shares, [0.8, 0.1, 0.1], atol=0.04)
    assert big.rule == "hash" and "SHA-256" in big.note and big.to_dict()["n_valid"] == len(big.valid)
    assert not {u.rel for u in big.train} & {u.rel for u in big.test}
    assert sorted(big.test_speakers) == sorted({u.speaker for u in big.test})
    salted = split_music(_files(names), salt="x")
    assert where(salted) != after
    # by folder: every folder lands wholly in one part
    folders = split_music(_files(names), hash_by="folder", shares=(1, 1, 1))
    for part in ("train", "valid", "test"):
        groups = {u.rel.split("/")[0] for u in getattr(folders, part)}
        others = {u.rel.split("/")[0] for p in ("train", "valid", "test") if p != part for u in getattr(folders, p)}
        assert not groups & others


def test_hash_split_errors():
    with pytest.raises(ValueError, match="test set empty"):
        split_music(_files(["a.flac"]))
    with pytest.raises(ValueError, match="shares"):
        split_music(_files(["a.flac", "b.flac"]), shares=(1, 0, 0))
    with pytest.raises(ValueError, match="file, folder"):
        split_music(_files(["a.flac", "b.flac"]), hash_by="album")
    with pytest.raises(ValueError, match="relative to the corpus root"):
        split_music([Utterance("/x/a.flac", "s", "a")])


def _tone(rate, seconds, freq, stereo=False):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, 0.5 * np.sin(2 * np.pi * 2.3 * freq * t)], axis=1) if stereo else x


def test_find_music_and_split_file(tmp_path):
    root = tmp_path / "music"
    write_audio(root / "piano" / "a.flac", _tone(8000, 0.2, 440), 8000)
    write_audio(root / "piano" / "b.wav", _tone(8000, 0.2, 220), 8000)
    write_audio(root / "duo" / "deep" / "c.flac", _tone(8000, 0.2, 330, stereo=True), 8000)
    write_audio(root / "top.flac", _tone(8000, 0.2, 110), 8000)
    write_audio(root / ".hidden" / "h.flac", _tone(8000, 0.2, 110), 8000)
    (root / "notes.txt").write_text("not audio")
    files = find_music(root)
    assert [m.rel for m in files] == ["duo/deep/c.flac", "piano/a.flac", "piano/b.wav", "top.flac"]
    assert [m.speaker for m in files] == ["duo/deep", "piano", "piano", "music"]
    assert files[1].utt_id == "a.flac" and files[1].path == root / "piano" / "a.flac"
    assert find_music(root, group_by="piece")[0].speaker == "duo/deep/c"
    with pytest.raises(ValueError, match="folder, piece"):
        find_music(root, group_by="album")

    (root / "split.txt").write_text("piano/a.flac train\npiano/b.wav valid\nduo/deep/c.flac test\n")
    s = load_music(root)  # picks up split.txt
    assert s.rule == "split_file" and [u.rel for u in s.train] == ["piano/a.flac"]
    assert [u.rel for u in s.valid] == ["piano/b.wav"] and [u.rel for u in s.test] == ["duo/deep/c.flac"]
    assert "1 audio files it does not list were left out" in s.note
    assert s.task == "music" and s.test_speakers == ["duo/deep"]
    assert len(find_music(root, split_file=root / "split.txt")) == 3

    (root / "split.txt").write_text("piano/a.flac train\n# gone\npiano/zzz.flac test\n")
    with pytest.raises(ValueError, match="split.txt:3: piano/zzz.flac is not an audio file"):
        load_music(root)
    with pytest.raises(ValueError, match="split.txt:3"):
        find_music(root, split_file=root / "split.txt")
    (root / "split.txt").write_text("piano/a.flac valid\npiano/b.wav test\n")
    with pytest.raises(ValueError, match="leaves the train set empty"):
        load_music(root)


def test_stereo_music_trains_channel_by_channel_at_the_same_rate(tmp_path):
    rate, P = 8000, 512
    x = _tone(rate, 0.25, 300, stereo=True).astype(np.float32)
    root = tmp_path / "music"
    write_audio(root / "a" / "st.wav", x, rate, subtype="FLOAT")
    write_audio(root / "b" / "mono.wav", x[:, 0], rate, subtype="FLOAT")
    (root / "split.txt").write_text("a/st.wav train\nb/mono.wav test\n")
    data = prepare_training_data(
        root,
        hr_rate=rate,
        ratio=2,
        patch_size=P,
        degradations="cheby1:8",
        kind="music",
        same_rate=True,
        silence_db=None,
        cache_dir=tmp_path / "cache",
        workers=1,
        progress=False,
    )
    assert data.store.channels == "separate" and data.store.files[0].channels == 2
    assert [u.utt_id for u in data.split.test] == ["mono.wav"]
    sampler = data.sampler()
    channels = set()
    for i in range(12):
        lr, hr, info = sampler.example(0, i, details=True)
        assert lr.shape == hr.shape == (P,)  # same-rate: input as long as the target
        s = info["start"]
        np.testing.assert_allclose(hr, x[s : s + P, info["channel"]], atol=1e-3)  # float16 store
        full = lowpass(np.asarray(data.store.signal(0)[info["channel"]], np.float32), 2, "cheby1:8")
        np.testing.assert_allclose(lr, full[s : s + P], atol=1e-3)
        channels.add(info["channel"])
    assert channels == {0, 1}


def test_generated_corpus_is_deterministic_and_idempotent(tmp_path):
    a = np.asarray(synthesize_piece(1, 2, seconds=0.5, rate=22050))
    np.testing.assert_array_equal(a, synthesize_piece(1, 2, seconds=0.5, rate=22050))
    assert not np.allclose(a, synthesize_piece(1, 3, seconds=0.5, rate=22050))
    assert a.shape == (11025,) and 0.6 < np.abs(a).max() < 0.75

    kw = dict(n_mono=2, n_stereo=3, seconds=0.5, rate=22050)
    r1 = make_default_music_corpus(tmp_path / "one", **kw)
    r2 = make_default_music_corpus(tmp_path / "two", **kw)
    flacs = sorted(p.relative_to(r1).as_posix() for p in r1.rglob("*.flac"))
    assert flacs == [
        "duo/piece_01.flac",
        "duo/piece_02.flac",
        "duo/piece_03.flac",
        "piano/piece_01.flac",
        "piano/piece_02.flac",
    ]
    for rel in flacs + ["split.txt"]:
        assert (r1 / rel).read_bytes() == (r2 / rel).read_bytes()
    mtimes = {p: p.stat().st_mtime_ns for p in r1.rglob("*.flac")}
    assert make_default_music_corpus(r1, **kw) == r1
    assert {p: p.stat().st_mtime_ns for p in r1.rglob("*.flac")} == mtimes
    stereo, rate = read_audio(r1 / "duo" / "piece_01.flac")
    mono, _ = read_audio(r1 / "piano" / "piece_01.flac")
    assert rate == 22050 and stereo.shape == (11025, 2) and mono.shape == (11025, 1)
    assert not np.allclose(stereo[:, 0], stereo[:, 1], atol=1e-3)
    s = load_music(r1)
    assert s.rule == "split_file" and [u.rel for u in s.test] == ["duo/piece_03.flac"]
    assert [u.rel for u in s.valid] == ["duo/piece_02.flac"] and len(s.train) == 3
    (r1 / "duo" / "piece_02.flac").unlink()
    make_default_music_corpus(r1, **kw)  # completes an interrupted corpus
    assert (r1 / "duo" / "piece_02.flac").read_bytes() == (r2 / "duo" / "piece_02.flac").read_bytes()
    make_default_music_corpus(r1, **{**kw, "n_stereo": 1})  # other parameters regenerate
    assert not (r1 / "duo" / "piece_02.flac").exists()
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "mine.txt").write_text("x")
    with pytest.raises(ValueError, match="not written by make_default_music_corpus"):
        make_default_music_corpus(tmp_path / "foreign", **kw)
