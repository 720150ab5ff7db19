"""Train/test splits: single-speaker hold-out, speaker-disjoint multi-speaker rules, overrides."""

from pathlib import Path

import pytest

from keras_audiosr.data import Split, Utterance, make_split, split_multi_speaker, split_single_speaker


def _corpus(n_speakers: int, n_utts: int = 3) -> list[Utterance]:
    # Built in reverse order to check that splits sort by themselves.
    return [
        Utterance(Path(f"/x/p{300 + s}/p{300 + s}_{u:03d}.wav"), f"p{300 + s}", f"{u:03d}")
        for s in reversed(range(n_speakers))
        for u in reversed(range(1, n_utts + 1))
    ]


def _p225(n: int) -> list[Utterance]:
    return [Utterance(Path(f"/x/p225_{u:03d}.wav"), "p225", f"{u:03d}") for u in range(n, 0, -1)]


def test_single_holds_out_last_eight_of_p225():
    utts = _p225(20) + _corpus(3)
    split = split_single_speaker(utts)
    assert [u.utt_id for u in split.test] == [f"{u:03d}" for u in range(13, 21)]
    assert [u.utt_id for u in split.train] == [f"{u:03d}" for u in range(1, 13)]
    assert {u.speaker for u in split.train + split.test} == {"p225"}
    assert split.test_speakers == ["p225"] and split.task == "single"
    assert "013" in split.note and "020" in split.note


def test_single_errors_and_first_speaker_default():
    with pytest.raises(ValueError, match="p300"):
        split_single_speaker(_corpus(2))  # no p225; message lists available speakers
    with pytest.raises(ValueError, match="8 utterances.*leave n_test unset"):
        split_single_speaker(_p225(8), n_test=8)
    split = split_single_speaker(_corpus(2, 10), speaker=None, n_test=3)
    assert split.test_speakers == ["p300"] and [u.utt_id for u in split.test] == ["008", "009", "010"]


def test_multi_standard_last_eight_speakers():
    utts = _corpus(20)
    split = split_multi_speaker(utts)
    speakers = [f"p{300 + s}" for s in range(20)]
    assert split.test_speakers == speakers[-8:]
    assert split.train_speakers == speakers[:-8]
    assert len(split.test) == 8 * 3 and len(split.train) == 12 * 3
    assert not {u.speaker for u in split.train} & {u.speaker for u in split.test}
    assert "standard" in split.note


def test_multi_exactly_sixteen_speakers_is_standard():
    assert len(split_multi_speaker(_corpus(16)).test_speakers) == 8


@pytest.mark.parametrize(
    "n_speakers, share, expected",
    [(15, 0.2, 3), (10, 0.2, 2), (13, 0.2, 3), (4, 0.2, 1), (2, 0.2, 1), (5, 0.5, 3), (3, 0.9, 2)],
)
def test_multi_share_rule_for_small_corpora(n_speakers, share, expected):
    split = split_multi_speaker(_corpus(n_speakers), share=share)
    speakers = [f"p{300 + s}" for s in range(n_speakers)]
    assert split.test_speakers == speakers[-expected:]
    assert not {u.speaker for u in split.train} & {u.speaker for u in split.test}
    assert {u.speaker for u in split.train} | {u.speaker for u in split.test} == set(speakers)
    assert f"only {n_speakers} speakers" in split.note
    assert all(s in split.note for s in split.test_speakers)


def test_multi_override_and_unknown_speakers():
    utts = _corpus(20)
    split = make_split(utts, "multi", test_speakers=["p305", "p301"])
    assert split.test_speakers == ["p301", "p305"]
    assert {u.speaker for u in split.test} == {"p301", "p305"} and len(split.train) == 18 * 3
    with pytest.raises(ValueError, match="p999.*p998|p998.*p999"):
        make_split(utts, "multi", test_speakers=["p301", "p999", "p998"])
    with pytest.raises(ValueError, match="none left"):
        split_multi_speaker(_corpus(2), test_speakers=["p300", "p301"])
    with pytest.raises(ValueError, match="at least 2 speakers"):
        split_multi_speaker(_p225(10))


def test_make_split_dispatch():
    utts = _p225(12) + _corpus(20)
    assert make_split(utts, "single").test_speakers == ["p225"]
    assert make_split(utts, "single", test_speakers=["p301"], n_test=1).test[0].utt_id == "003"
    assert make_split(utts, "multi").task == "multi"
    with pytest.raises(ValueError, match="single, multi"):
        make_split(utts, "few-shot")
    with pytest.raises(ValueError, match="exactly one"):
        make_split(utts, "single", test_speakers=["p300", "p301"])


def test_split_to_dict():
    d = make_split(_corpus(5), "multi").to_dict()
    assert d["n_train"] + d["n_test"] == 15 and d["test_speakers"] == ["p304"]
    assert d["test_utterances"][0] == "p304/001"
    assert isinstance(make_split(_corpus(5), "multi"), Split)


@pytest.mark.parametrize("n_files, held", [(1, 0), (2, 0), (3, 1), (5, 1), (10, 2), (15, 2), (16, 8), (40, 8)])
def test_single_holds_out_a_share_of_a_small_speaker(n_files, held):
    # One person's folder of recordings: a share of the files (not a fixed 8) is held out, none for 1-2 files.
    utts = [Utterance(Path(f"/me/take{u:02d}.wav"), "me", f"take{u:02d}") for u in range(n_files)]
    split = split_single_speaker(utts)  # the only speaker, without naming it
    assert len(split.test) == held and len(split.train) == n_files - held
    assert [u.utt_id for u in split.test] == [u.utt_id for u in utts[n_files - held :]]
    assert split.test_speakers == (["me"] if held else [])
    if not held:
        assert "no held-out files" in split.note and "no evaluation" in split.note
    assert make_split(utts, "single").test == split.test


def test_single_without_p225_or_one_speaker_says_what_to_pass():
    with pytest.raises(ValueError, match="pass --test-speakers NAME.*p300"):
        split_single_speaker(_corpus(2))
