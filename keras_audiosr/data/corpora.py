"""Several corpora in one run: each read and split on its own, speaker ids namespaced by corpus.

:func:`load_corpora` takes folders of any kind the readers understand -- VCTK 0.80 / 0.92,
LibriSpeech / LibriTTS ``speaker/chapter/*.wav``, any folder of audio (speaker from the folder),
music folders (a split file or the hash split of :mod:`keras_audiosr.data.music`) -- and splits each
speaker-disjointly as a single corpus would be (:func:`keras_audiosr.data.make_split`). Speakers
become ``<corpus>/<speaker>`` (``vctk-mini/p225``), so two corpora never share an id, and the test
sets are reported per corpus and pooled. A corpus of one speaker cannot give a speaker-disjoint
test set: beside other corpora it goes wholly to training (its note says so); alone (a folder of
one's own recordings) a share of its files is held out instead
(:func:`~keras_audiosr.data.split_single_speaker`).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keras_audiosr.data.corpus import Utterance, load_corpus
from keras_audiosr.data.splits import Split, make_split, split_single_speaker

__all__ = ["CORPUS_KINDS", "Corpus", "CorpusSet", "load_corpora"]

CORPUS_KINDS = ("auto", "speech", "music")


@dataclass
class Corpus:
    """One corpus of a run: its ``name`` (the speaker namespace), folder, reader ``kind``
    (``"speech"`` or ``"music"``), namespaced ``split`` and sampling ``weight`` (``None``: by duration)."""

    name: str
    root: Path
    kind: str
    split: Split
    weight: float | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "root": str(self.root),
            "kind": self.kind,
            "weight": self.weight,
            "n_train": len(self.split.train),
            "n_test": len(self.split.test),
            "train_speakers": len(self.split.train_speakers),
            "test_speakers": list(self.split.test_speakers),
            "note": self.split.note,
        }


@dataclass
class CorpusSet:
    """The corpora of a run; ``train`` / ``test`` pool their (namespaced) utterances in corpus order,
    ``train_corpora`` / ``test_corpora`` name each one's corpus."""

    corpora: list[Corpus]
    train: list[Utterance] = field(default_factory=list)
    test: list[Utterance] = field(default_factory=list)
    train_corpora: list[str] = field(default_factory=list)
    test_corpora: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.train:
            for c in self.corpora:
                self.train += c.split.train
                self.train_corpora += [c.name] * len(c.split.train)
                self.test += c.split.test
                self.test_corpora += [c.name] * len(c.split.test)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.corpora]

    @property
    def weights(self) -> dict[str, float] | None:
        """``{corpus: weight}`` when any corpus has a weight (others then get 1.0), else ``None``."""
        if all(c.weight is None for c in self.corpora):
            return None
        return {c.name: 1.0 if c.weight is None else c.weight for c in self.corpora}

    @property
    def split(self) -> Split:
        """The pooled split (every corpus's train and test), for code that takes one :class:`Split`."""
        notes = "; ".join(f"{c.name}: {c.split.note}" for c in self.corpora)
        test_speakers = [s for c in self.corpora for s in c.split.test_speakers]
        task = self.corpora[0].split.task if len({c.split.task for c in self.corpora}) == 1 else "mixed"
        return Split(
            train=list(self.train),
            test=list(self.test),
            test_speakers=test_speakers,
            task=task,
            note=notes if len(self.corpora) > 1 else self.corpora[0].split.note,
        )

    def test_by_corpus(self) -> dict[str, list[Utterance]]:
        """``{corpus: its test utterances}``, for per-corpus evaluation reports."""
        return {c.name: list(c.split.test) for c in self.corpora}

    def to_dict(self) -> dict:
        return {"corpora": [c.to_dict() for c in self.corpora], "n_train": len(self.train), "n_test": len(self.test)}


def _names(roots: Sequence[Path]) -> list[str]:
    out: list[str] = []
    for r in roots:
        base = r.resolve().name or "corpus"
        name, k = base, 2
        while name in out:
            name, k = f"{base}-{k}", k + 1
        out.append(name)
    return out


def _namespace(utts, name: str) -> list[Utterance]:
    return [dataclasses.replace(u, speaker=f"{name}/{u.speaker}") for u in utts]


def _own_speakers(test_speakers, name: str, speakers: set[str]) -> list[str]:
    """The requested test speakers of corpus ``name``, given namespaced (``name/p225``) or bare (``p225``)."""
    own = []
    for s in test_speakers:
        if s.startswith(name + "/") and s[len(name) + 1 :] in speakers:
            own.append(s[len(name) + 1 :])
        elif s in speakers:
            own.append(s)
    return own


def _speech_split(root: Path, name: str, task: str, test_speakers, n_corpora: int, split_options: dict) -> Split:
    utts = load_corpus(root)
    speakers = {u.speaker for u in utts}
    if test_speakers is not None:
        own = _own_speakers(test_speakers, name, speakers)
        if task == "multi" and len(speakers) == 1 and own and n_corpora == 1:
            test_speakers = None  # the only speaker named: its files are split, as when none is named
    if test_speakers is not None:
        if not own and n_corpora > 1:
            split = Split(
                train=list(utts),
                test=[],
                test_speakers=[],
                task=task,
                note=f"none of the requested test speakers is in {name}: all {len(utts)} files train",
            )
        else:
            split = make_split(utts, task, test_speakers=own or list(test_speakers), **split_options)
    elif task == "multi" and len(speakers) == 1 and n_corpora > 1:
        split = Split(
            train=list(utts),
            test=[],
            test_speakers=[],
            task=task,
            note=f"one speaker ({next(iter(speakers))}): no speaker-disjoint test set; all {len(utts)} files train",
        )
    elif task == "multi" and len(speakers) == 1:  # a folder of one person's recordings: hold out a share of files
        options = {k: v for k, v in split_options.items() if k in ("n_test", "share")}
        split = split_single_speaker(utts, speaker="auto", **options)
        split.note = f"one speaker, so no speaker-disjoint test set; {split.note}"
    else:
        split = make_split(utts, task, **split_options)
    return Split(
        train=_namespace(split.train, name),
        test=_namespace(split.test, name),
        test_speakers=[f"{name}/{s}" for s in split.test_speakers],
        task=split.task,
        note=split.note,
    )


def _music_split(root: Path, name: str) -> Split:
    from keras_audiosr.data.music import MusicSplit, load_music

    split = load_music(root)
    return MusicSplit(
        train=_namespace(split.train, name),
        test=_namespace(split.test, name),
        test_speakers=[f"{name}/{s}" for s in split.test_speakers],
        task=split.task,
        note=split.note,
        valid=_namespace(split.valid, name),
        rule=split.rule,
    )


def load_corpora(
    data_dirs,
    *,
    task: str = "multi",
    test_speakers: Sequence[str] | None = None,
    weights: Mapping[str, float] | Sequence[float] | None = None,
    names: Sequence[str] | None = None,
    kind: str = "auto",
    split_options: dict | None = None,
) -> CorpusSet:
    """Read and split every folder of ``data_dirs`` (one path or several); see the module docstring.

    ``kind``: ``"speech"`` (VCTK or any folder, split by ``task``), ``"music"`` (split file or hash
    split) or ``"auto"`` (music when the folder holds ``split.txt`` / ``split.csv``, else speech).
    ``names`` default to the folder names (made unique with ``-2``, ``-3``). ``test_speakers`` may be
    namespaced (``vctk-mini/p225``) or bare (held out in every corpus that has that speaker); a
    corpus with none of them trains on all its files. ``weights``: per-corpus sampling weights, as
    ``{name: weight}`` (corpora not named get 1) or one number per folder. ``split_options`` go to
    :func:`~keras_audiosr.data.make_split` (e.g. ``{"speaker": None, "n_test": 2}``).
    A warning line names speaker ids that appear bare in one corpus's training set and another's test set.
    """
    from keras_audiosr.data.music import find_split_file

    if isinstance(data_dirs, (str, Path)):
        data_dirs = [data_dirs]
    roots = [Path(d).expanduser() for d in data_dirs]
    if not roots:
        raise ValueError("load_corpora: no corpus folder given")
    if kind not in CORPUS_KINDS:
        raise ValueError(f"unknown corpus kind {kind!r}; valid: {', '.join(CORPUS_KINDS)}")
    for r in roots:
        if not r.is_dir():
            raise FileNotFoundError(f"corpus folder {r} does not exist or is not a directory")
    names = list(names) if names is not None else _names(roots)
    if len(names) != len(roots) or len(set(names)) != len(names) or any("/" in n or not n for n in names):
        raise ValueError(f"corpus names must be unique, non-empty and without '/', one per folder; got {names}")
    if task == "single" and len(roots) > 1:
        raise ValueError("the single-speaker task takes one corpus folder; use task='multi' with several")
    if isinstance(test_speakers, str):
        test_speakers = [s.strip() for s in test_speakers.split(",") if s.strip()]
    if weights is not None and not isinstance(weights, Mapping):
        weights = list(weights)
        if len(weights) != len(roots):
            raise ValueError(f"{len(weights)} weights for {len(roots)} corpus folders")
        weights = dict(zip(names, weights))
    if weights is not None:
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise ValueError(f"weights name unknown corpora {unknown}; corpora: {', '.join(names)}")
        full = [float(weights.get(n, 1.0)) for n in names]
        if any(w < 0 for w in full) or not sum(full) > 0:
            raise ValueError(f"corpus weights must be non-negative with a positive sum, got {dict(weights)}")
    corpora = []
    for root, name in zip(roots, names):
        is_music = kind == "music" or (kind == "auto" and find_split_file(root) is not None)
        split = (
            _music_split(root, name)
            if is_music
            else _speech_split(root, name, task, test_speakers, len(roots), dict(split_options or {}))
        )
        if not split.train:
            raise ValueError(f"corpus {name} ({root}): no training files after the split ({split.note})")
        w = None if weights is None else float(weights.get(name, 1.0))
        corpora.append(Corpus(name, root, "music" if is_music else "speech", split, w))
    if test_speakers is not None:
        named = {s for c in corpora for s in c.split.test_speakers}
        for c in corpora:  # a one-speaker folder too small to hold any file out still has the speaker named
            only = {u.speaker for u in c.split.train + c.split.test}
            named |= only if len(only) == 1 else set()
        missing = [s for s in test_speakers if s not in named and not any(n.endswith("/" + s) for n in named)]
        if missing:
            raise ValueError(f"test speakers {', '.join(missing)} are in none of the corpora ({', '.join(names)})")
    out = CorpusSet(corpora)
    train_ids: dict[str, set[str]] = {}
    for u, c in zip(out.train, out.train_corpora):
        train_ids.setdefault(u.speaker.rsplit("/", 1)[-1], set()).add(c)
    clash = sorted(
        {
            u.speaker.rsplit("/", 1)[-1]
            for u, c in zip(out.test, out.test_corpora)
            if train_ids.get(u.speaker.rsplit("/", 1)[-1], set()) - {c}
        }
    )
    if clash:
        print(
            f"[keras_audiosr] warning: speaker ids {', '.join(clash[:10])} are test speakers in one corpus and "
            f"train in another; if they are the same people the test set is not speaker-disjoint",
            file=sys.stderr,
            flush=True,
        )
    return out
