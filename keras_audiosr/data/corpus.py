"""Corpus readers: turn a folder of sound files into a sorted list of :class:`Utterance`.

Two kinds of folder are understood:

* VCTK, in both published layouts: 0.80 ``wav48/<spk>/<spk>_<utt>.wav`` (or ``.flac``) and 0.92
  ``wav48_silence_trimmed/<spk>/<spk>_<utt>_mic1.flac`` (or ``.wav``; the ``mic2`` recordings are
  ignored so every utterance appears once).
* Any other folder of audio files (searched recursively), e.g. LJ Speech or LibriSpeech, where the
  speaker is taken from the folder structure (see :func:`find_audio_folder`).

Nothing is read here beyond directory listings; results are sorted by ``(speaker, utt_id)`` so that
splits built from them are reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from keras_audiosr.audio import AUDIO_EXTENSIONS

__all__ = ["Utterance", "find_vctk", "find_audio_folder", "load_corpus", "VCTK_LAYOUTS", "SPEAKER_FROM"]

# Sub-folder name -> release it belongs to, in order of preference when both are present.
VCTK_LAYOUTS = {"wav48": "0.80", "wav48_silence_trimmed": "0.92"}
SPEAKER_FROM = ("parent", "top", "root", "prefix", "libri")
_MIC = re.compile(r"_mic(\d+)$")


@dataclass(frozen=True)
class Utterance:
    """One recording: its file, the speaker who said it and an id unique within that speaker."""

    path: Path
    speaker: str
    utt_id: str


def _is_audio(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")


def _check_root(root) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"corpus folder {root} is not a directory")
    return root


def _vctk_audio_dir(root: Path) -> tuple[Path, str] | None:
    """The ``wav48*`` folder of a VCTK tree (``root`` may be the tree or the folder itself)."""
    if root.name in VCTK_LAYOUTS:
        return root, VCTK_LAYOUTS[root.name]
    present = [(root / name, release) for name, release in VCTK_LAYOUTS.items() if (root / name).is_dir()]
    populated = [(d, r) for d, r in present if any(p.is_dir() for p in d.iterdir())]
    return (populated or present or [None])[0]


def _dedupe_sorted(utts: list[Utterance]) -> list[Utterance]:
    """Sort by (speaker, utt_id); where one utterance exists in two formats keep the first path."""
    utts = sorted(utts, key=lambda u: (u.speaker, u.utt_id, str(u.path)))
    out: list[Utterance] = []
    for u in utts:
        if out and (out[-1].speaker, out[-1].utt_id) == (u.speaker, u.utt_id):
            continue
        out.append(u)
    return out


def find_vctk(root) -> list[Utterance]:
    """All utterances of a VCTK tree, sorted by ``(speaker, utt_id)``.

    ``root`` is the unpacked release (holding ``wav48/`` for 0.80 or ``wav48_silence_trimmed/``
    for 0.92) or that audio folder itself. When both sub-folders hold speaker folders ``wav48/``
    is used. In the
    0.92 layout only ``mic1`` files are taken and the ``_mic1`` suffix is dropped from the id, so
    ids match 0.80 (``p225_001`` -> speaker ``p225``, utt_id ``001``). Files whose name does not
    start with ``<speaker>_`` keep their whole stem as the id.

    Raises FileNotFoundError naming ``root`` when it holds neither layout, ValueError when the
    layout folder holds no audio files.
    """
    root = _check_root(root)
    found = _vctk_audio_dir(root)
    if found is None:
        raise FileNotFoundError(
            f"{root} is not a VCTK folder: expected a sub-folder {' or '.join(VCTK_LAYOUTS)} (VCTK 0.80 or 0.92 layout)"
        )
    audio_dir, release = found
    utts = []
    for spk_dir in sorted(p for p in audio_dir.iterdir() if p.is_dir()):
        speaker = spk_dir.name
        for f in spk_dir.iterdir():
            if not _is_audio(f):
                continue
            stem = f.stem
            if release == "0.92":
                m = _MIC.search(stem)
                if m is None or m.group(1) != "1":
                    continue
                stem = stem[: m.start()]
            utt_id = stem[len(speaker) + 1 :] if stem.startswith(speaker + "_") else stem
            utts.append(Utterance(f, speaker, utt_id))
    if not utts:
        what = "mic1 audio files" if release == "0.92" else "audio files"
        raise ValueError(
            f"{audio_dir}: VCTK {release} layout but no {what} ({', '.join(AUDIO_EXTENSIONS)}) in its speaker folders"
        )
    return _dedupe_sorted(utts)


def find_audio_folder(root, speaker_from: str = "parent") -> list[Utterance]:
    """All audio files under ``root`` (recursive), sorted by ``(speaker, utt_id)``.

    ``utt_id`` is the file path relative to the speaker's folder without extension (for flat
    folders simply the file stem). ``speaker_from`` says where the speaker comes from:

    * ``"parent"`` (default): the file's folder relative to ``root`` (``p225``, or ``19/198`` for
      LibriSpeech's speaker/chapter folders); files directly in ``root`` belong to one speaker named
      after ``root`` -- right for single-speaker flat corpora such as LJ Speech.
    * ``"top"``: the first folder below ``root`` (LibriSpeech speakers); root files as above.
    * ``"root"``: everything is one speaker named after ``root``.
    * ``"prefix"``: the file stem up to its first ``_`` or ``-`` (flat ``p225_001.wav`` folders).
    * ``"libri"``: LibriSpeech / LibriTTS ``speaker/chapter/<speaker>_<chapter>_...`` (or ``-``)
      files belong to the speaker folder (``19``, utt_id ``198/19_198_000000_000000``), so a
      speaker-disjoint split keeps all chapters of a speaker together; other files as ``"parent"``.

    Raises FileNotFoundError for a missing ``root``, ValueError for an unknown ``speaker_from`` or
    a folder without audio files.
    """
    if speaker_from not in SPEAKER_FROM:
        raise ValueError(f"unknown speaker_from {speaker_from!r}; valid: {', '.join(SPEAKER_FROM)}")
    root = _check_root(root)
    root_name = root.resolve().name or "root"
    utts = []
    for f in root.rglob("*"):
        if not _is_audio(f):
            continue
        rel = f.relative_to(root)
        parts = rel.parts[:-1]
        if any(p.startswith(".") for p in parts):
            continue
        if speaker_from == "prefix":
            speaker = re.split(r"[_-]", f.stem, maxsplit=1)[0] or root_name
            utt_id = rel.with_suffix("").as_posix()
        elif speaker_from == "root" or not parts:
            speaker, utt_id = root_name, rel.with_suffix("").as_posix()
        elif speaker_from == "top":
            speaker, utt_id = parts[0], Path(*rel.parts[1:]).with_suffix("").as_posix()
        elif speaker_from == "libri" and _is_libri(parts, f.stem):
            speaker, utt_id = Path(*parts[:-1]).as_posix(), f"{parts[-1]}/{f.stem}"
        else:
            speaker, utt_id = Path(*parts).as_posix(), f.stem
        utts.append(Utterance(f, speaker, utt_id))
    if not utts:
        raise ValueError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) found")
    return _dedupe_sorted(utts)


def _is_libri(parts: tuple[str, ...], stem: str) -> bool:
    """A LibriSpeech/LibriTTS file: ``.../<speaker>/<chapter>/<speaker>[_-]<chapter>[_-]...``."""
    return len(parts) >= 2 and any(stem.startswith(f"{parts[-2]}{sep}{parts[-1]}{sep}") for sep in "_-")


def load_corpus(root, speaker_from: str = "auto") -> list[Utterance]:
    """:func:`find_vctk` if ``root`` looks like VCTK (has ``wav48/`` or ``wav48_silence_trimmed/``,
    or is one), else :func:`find_audio_folder` with ``speaker_from``; ``"auto"`` is ``"libri"``
    when a file is named as LibriSpeech/LibriTTS name theirs (``19/198/19_198_000000_000000.wav``),
    else ``"parent"``."""
    root = _check_root(root)
    if _vctk_audio_dir(root) is not None:
        return find_vctk(root)
    if speaker_from == "auto":
        utts = find_audio_folder(root, speaker_from="parent")
        libri = any(_is_libri(Path(u.path).relative_to(root).parts[:-1], Path(u.path).stem) for u in utts)
        return find_audio_folder(root, speaker_from="libri") if libri else utts
    return find_audio_folder(root, speaker_from=speaker_from)
