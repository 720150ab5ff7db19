"""Train/test splits following the audio super-resolution papers (Kuleshov et al. 2017 and successors).

* ``single``: one speaker (the corpus's only one, else VCTK's p225); its last 8 utterances in sorted
  order are held out, or a share of them (15 %, at least one; none for one or two files) when it has
  fewer than 16 -- a folder of one's own recordings.
* ``multi``: the last 8 speakers in sorted order are test speakers, all others train. A corpus with
  fewer than 16 speakers cannot afford that, so a stated share (default 20 %, at least one) of its
  speakers -- again the last ones in sorted order -- is held out instead, and ``Split.note`` says so.

Splits are pure functions of the sorted utterance list, so every run and every worker agrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from keras_audiosr.data.corpus import Utterance

__all__ = [
    "Split",
    "TASKS",
    "HOLD_OUT_SHARE",
    "held_out_count",
    "split_single_speaker",
    "split_multi_speaker",
    "make_split",
]

TASKS = ("single", "multi")

#: The papers' single-speaker hold-out (the last 8 utterances of p225), used when a speaker has 16 or more.
PAPER_N_TEST = 8
#: The share of a speaker's files held out when it has fewer (a folder of one's own recordings).
HOLD_OUT_SHARE = 0.15


@dataclass
class Split:
    """Train and test utterances, the held-out speakers, the task name and a human-readable note."""

    train: list[Utterance]
    test: list[Utterance]
    test_speakers: list[str]
    task: str
    note: str = ""
    train_speakers: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.train_speakers:
            self.train_speakers = sorted({u.speaker for u in self.train})

    def to_dict(self) -> dict:
        """JSON-ready summary (speakers, counts, test ids) for run logs and model cards."""
        return {
            "task": self.task,
            "note": self.note,
            "train_speakers": list(self.train_speakers),
            "test_speakers": list(self.test_speakers),
            "n_train": len(self.train),
            "n_test": len(self.test),
            "test_utterances": [f"{u.speaker}/{u.utt_id}" for u in self.test],
        }


def _sorted(utts: Sequence[Utterance]) -> list[Utterance]:
    utts = list(utts)
    if not utts:
        raise ValueError("cannot split an empty corpus (no utterances)")
    return sorted(utts, key=lambda u: (u.speaker, u.utt_id, str(u.path)))


def _speakers(utts: Sequence[Utterance]) -> list[str]:
    return sorted({u.speaker for u in utts})


def _short_list(items: Sequence[str], n: int = 20) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f", ... ({len(items)} in all)" if len(items) > n else "")


def held_out_count(n_files: int, share: float = HOLD_OUT_SHARE) -> int:
    """How many of a speaker's ``n_files`` a share-based split holds out: ``round(share * n)``, at least one
    and at most all but one; none for one or two files (too few to keep one for training and one to test)."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be in (0, 1), got {share}")
    if n_files <= 2:
        return 0
    return min(max(1, math.floor(share * n_files + 0.5)), n_files - 1)


def split_single_speaker(
    utts: Sequence[Utterance], speaker: str | None = "auto", n_test: int | None = None, share: float = HOLD_OUT_SHARE
) -> Split:
    """Utterances of one speaker; the last ones in sorted order (by id) are the test set.

    ``speaker``: ``"auto"`` (default) takes the corpus's only speaker, else ``p225`` (the papers'
    VCTK speaker) when present; ``None`` the first speaker in sorted order (handy for single-speaker
    corpora such as LJ Speech); else that speaker. ``n_test`` files are held out when given; by
    default the papers' 8 when the speaker has at least 16 files, else a ``share`` of them
    (:func:`held_out_count`: at least one, none for one or two files, which the note says: no
    evaluation then). Raises ValueError naming the available speakers when ``speaker`` is absent,
    or when ``n_test`` leaves no file for training (saying what to pass instead).
    """
    utts = _sorted(utts)
    speakers = _speakers(utts)
    if speaker == "auto":
        if len(speakers) == 1:
            chosen, how = speakers[0], "the corpus's only speaker"
        elif "p225" in speakers:
            chosen, how = "p225", "the papers' speaker"
        else:
            raise ValueError(
                f"the single-speaker split needs a speaker: pass --test-speakers NAME (one of {_short_list(speakers)})"
            )
    elif speaker is None:
        chosen, how = speakers[0], "first speaker in sorted order"
    else:
        chosen, how = str(speaker), "requested speaker"
    if chosen not in speakers:
        raise ValueError(f"speaker {chosen!r} not in corpus; available: {_short_list(speakers)}")
    own = [u for u in utts if u.speaker == chosen]
    if n_test is None:
        n_test = PAPER_N_TEST if len(own) >= 2 * PAPER_N_TEST else held_out_count(len(own), share)
        rule = (
            f"the last {n_test} in sorted order held out"
            if len(own) >= 2 * PAPER_N_TEST
            else f"the last {n_test} ({share:.0%} of {len(own)}) in sorted order held out"
        )
    else:
        if int(n_test) < 1:
            raise ValueError(f"n_test must be >= 1, got {n_test}")
        if len(own) <= n_test:
            raise ValueError(
                f"speaker {chosen!r} has {len(own)} utterances; need more than n_test={n_test} to "
                f"keep some for training (leave n_test unset to hold out a share of them)"
            )
        rule = f"the last {n_test} in sorted order held out"
    if n_test == 0:
        note = (
            f"single-speaker split on {chosen} ({how}): all {len(own)} files train; no held-out files (too few "
            f"to spare one), so no evaluation"
        )
        return Split(train=own, test=[], test_speakers=[], task="single", note=note)
    train, test = own[:-n_test], own[-n_test:]
    note = (
        f"single-speaker split on {chosen} ({how}): {len(train)} train utterances, {rule} "
        f"({test[0].utt_id} .. {test[-1].utt_id})"
    )
    return Split(train=train, test=test, test_speakers=[chosen], task="single", note=note)


def split_multi_speaker(
    utts: Sequence[Utterance], n_test_speakers: int = 8, test_speakers: Sequence[str] | None = None, share: float = 0.2
) -> Split:
    """Speaker-disjoint split: held-out speakers contribute all their utterances to test.

    Default: the last ``n_test_speakers`` speakers in sorted order, provided at least
    ``2 * n_test_speakers`` speakers exist; otherwise ``round(share * n_speakers)`` (at least one,
    at most all but one) of the last speakers, explained in ``note``. Explicit ``test_speakers``
    override both rules (ValueError naming any unknown speakers, or if no train speaker remains).
    """
    utts = _sorted(utts)
    speakers = _speakers(utts)
    n_spk = len(speakers)
    if n_spk < 2:
        raise ValueError(
            f"multi-speaker split needs at least 2 speakers; corpus has {n_spk} "
            f"({_short_list(speakers)}): "
            f"use --task single (a share of its files held out)"
        )
    if test_speakers is not None:
        held = sorted({str(s) for s in test_speakers})
        unknown = [s for s in held if s not in speakers]
        if unknown:
            raise ValueError(f"unknown test speakers {', '.join(unknown)}; corpus speakers: {_short_list(speakers)}")
        if not held:
            raise ValueError("test_speakers is empty")
        if len(held) == n_spk:
            raise ValueError("test_speakers covers every speaker; none left for training")
        note = f"held out the requested test speakers {', '.join(held)} ({len(held)} of {n_spk})"
    elif n_spk >= 2 * n_test_speakers:
        held = speakers[-n_test_speakers:]
        note = (
            f"standard split: the last {n_test_speakers} speakers in sorted order are test speakers "
            f"({', '.join(held)}); {n_spk - n_test_speakers} train speakers"
        )
    else:
        if not 0.0 < share < 1.0:
            raise ValueError(f"share must be in (0, 1), got {share}")
        k = min(max(1, math.floor(share * n_spk + 0.5)), n_spk - 1)
        held = speakers[-k:]
        note = (
            f"corpus has only {n_spk} speakers, fewer than the {2 * n_test_speakers} the standard split "
            f"(last {n_test_speakers} speakers held out) needs; held out {share:.0%} of the speakers "
            f"instead, the last {k} in sorted order: {', '.join(held)}"
        )
    held_set = set(held)
    train = [u for u in utts if u.speaker not in held_set]
    test = [u for u in utts if u.speaker in held_set]
    assert not {u.speaker for u in train} & {u.speaker for u in test}, "train and test share a speaker"
    return Split(train=train, test=test, test_speakers=list(held), task="multi", note=note)


def make_split(utts: Sequence[Utterance], task: str, test_speakers: Sequence[str] | None = None, **kw) -> Split:
    """Dispatch on ``task`` (``"single"`` or ``"multi"``); extra keywords go to the split function.

    For ``single``, ``test_speakers`` (if given) must name exactly one speaker and replaces
    ``speaker``.
    """
    if task == "single":
        if test_speakers is not None:
            test_speakers = [test_speakers] if isinstance(test_speakers, str) else list(test_speakers)
            if len(test_speakers) != 1:
                raise ValueError(f"single-speaker task takes exactly one speaker, got {test_speakers}")
            kw["speaker"] = test_speakers[0]
        return split_single_speaker(utts, **kw)
    if task == "multi":
        if isinstance(test_speakers, str):
            test_speakers = [test_speakers]
        return split_multi_speaker(utts, test_speakers=test_speakers, **kw)
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
