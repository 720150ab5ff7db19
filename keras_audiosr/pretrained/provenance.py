"""Where a shipped model's audio comes from: the run's corpora and speaker split, and their licences.

A recipe run records its corpora (``metrics.json``) and held-out speakers; :func:`run_split` reads
the same split back, :func:`at_rate` drops the files the prepared store skipped (recorded below the
high rate), and :func:`data_sources` counts files per source with the licence text of each corpus's
``manifest.csv`` (:data:`SOURCES` names the corpora it recognises).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import soundfile as sf

from keras_audiosr.data import embedded_corpus_dir, load_corpora
from keras_audiosr.pretrained import ShipError

__all__ = ["SOURCES", "at_rate", "data_sources", "files_seconds", "read_json", "recorded_dirs", "run_split", "speakers"]

#: Sources recognised in the corpora's manifest licence column: (keywords, source, licence and attribution).
SOURCES = (
    (
        ("vctk", "voicebank"),
        "VCTK",
        "CSTR VCTK Corpus (Christophe Veaux, Junichi Yamagishi, Kirsten MacDonald; Centre for Speech Technology "
        "Research (CSTR), University of Edinburgh), https://doi.org/10.7488/ds/2645: release 0.92 under CC BY 4.0 "
        "(https://creativecommons.org/licenses/by/4.0/), release 0.80 under ODC-By 1.0; attribution required "
        "(VoiceBank-DEMAND files: Valentini-Botinhao 2017, CC BY 4.0)",
    ),
    (
        ("lj speech", "ljspeech"),
        "LJ Speech",
        "LJ Speech 1.1 (Keith Ito and Linda Johnson, 2017), https://keithito.com/LJ-Speech-Dataset/: public domain",
    ),
    (
        ("libritts",),
        "LibriTTS",
        "LibriTTS (Zen et al. 2019), https://www.openslr.org/60/: CC BY 4.0; attribution required",
    ),
    (
        ("hi-fi tts", "hifitts"),
        "Hi-Fi TTS",
        "Hi-Fi TTS (Bakhturina et al., NVIDIA 2021), https://www.openslr.org/109/: CC BY 4.0; attribution required",
    ),
    (
        ("librispeech asr",),
        "LibriSpeech",
        "LibriSpeech ASR corpus (Panayotov et al. 2015), https://www.openslr.org/12/: CC BY 4.0; attribution required",
    ),
    (
        ("multilingual librispeech",),
        "Multilingual LibriSpeech",
        "Multilingual LibriSpeech (Pratap et al. 2020), https://www.openslr.org/94/: CC BY 4.0; attribution required",
    ),
    (
        ("cmu arctic",),
        "CMU ARCTIC",
        "CMU ARCTIC (Kominek and Black, Carnegie Mellon University), http://festvox.org/cmu_arctic/: free use, "
        "modification and redistribution with the copyright notice (BSD-like)",
    ),
    (
        ("sms-tools",),
        "sms-tools",
        "sms-tools sounds (Xavier Serra, MTG; freesound.org pack 13038): CC BY 4.0; attribution required",
    ),
    (("guitarset",), "GuitarSet", "GuitarSet (Xi et al. 2018): CC BY 4.0; attribution required"),
)


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; :class:`~keras_audiosr.pretrained.ShipError` naming it otherwise."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ShipError(f"{path}: not readable JSON ({e})") from e
    if not isinstance(doc, dict):
        raise ShipError(f"{path}: expected a JSON object")
    return doc


def recorded_dirs(config: dict, metrics: dict) -> list[Path]:
    """The run's corpus folders: the roots metrics.json recorded, else config.json's data_dir, else the embedded
    corpus (a run without --data-dir trained on it). Relative paths are taken from the current folder."""
    recorded = [c.get("root") for c in (metrics.get("data") or {}).get("corpora", []) if c.get("root")]
    dirs = recorded or list(config.get("data_dir") or [])
    if not dirs:
        return [embedded_corpus_dir()]
    return [Path(d).expanduser() for d in dirs]


def run_split(dirs, config: dict, metrics: dict):
    """The run's speaker split over ``dirs`` (:func:`keras_audiosr.data.load_corpora` with the run's held-out
    speakers, those of corpora in ``dirs``); ShipError when none of them is there."""
    names = [Path(d).resolve().name for d in dirs]
    held = [str(s) for s in metrics["test_speakers"]]
    mine = [s for s in held if "/" not in s or s.split("/", 1)[0] in names]
    if not mine:
        raise ShipError(
            f"none of the run's held-out speakers ({', '.join(held)}) is in the corpus folders given "
            f"({', '.join(str(d) for d in dirs)}); pass the run's corpora with --data"
        )
    try:
        corpora = load_corpora(list(dirs), task=config.get("task") or "multi", test_speakers=mine)
    except (OSError, ValueError) as e:
        raise ShipError(f"corpus folders {', '.join(str(d) for d in dirs)}: {e}") from e
    if not corpora.test:
        raise ShipError(f"no held-out file of {', '.join(mine)} in {', '.join(str(d) for d in dirs)}")
    return corpora


def at_rate(corpora, hr_rate: int):
    """``(corpora with only the training files recorded at hr_rate Hz or more, [skipped paths])``: the files the
    prepared store skips (they lack the band the model learns), so the card lists what was really trained on."""
    keep, names, skipped = [], [], []
    for u, name in zip(corpora.train, corpora.train_corpora):
        try:
            ok = sf.info(str(u.path)).samplerate >= int(hr_rate)
        except RuntimeError as e:
            raise ShipError(f"{u.path}: not a readable sound file ({e})") from e
        if ok:
            keep.append(u)
            names.append(name)
        else:
            skipped.append(str(u.path))
    if not skipped:
        return corpora, []
    if not keep:
        raise ShipError(f"no training file reaches {hr_rate} Hz")
    return dataclasses.replace(corpora, train=keep, train_corpora=names), skipped


def manifest_licences(root: Path) -> dict:
    """``{path relative to root: licence}`` from the corpus's ``manifest.csv`` files: the one at its root and those
    of its sub-folders (a corpus made of sets, e.g. ``speech16k/<set>/manifest.csv``, each listing paths relative
    to its own folder); path column ``path`` or ``file``, licence column ``license`` or ``licence``."""
    root = Path(root)
    out = {}
    for path in (
        sorted(root.glob("manifest.csv")) + sorted(root.glob("*/manifest.csv")) + sorted(root.glob("*/*/manifest.csv"))
    ):
        prefix = path.parent.relative_to(root).as_posix()
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rel = row.get("path") or row.get("file")
                if rel:
                    key = rel if prefix == "." else f"{prefix}/{rel}"
                    out.setdefault(key, (row.get("license") or row.get("licence") or "").strip())
    return out


def data_sources(corpora, held_out=None) -> dict:
    """Where the training files of ``corpora`` and the held-out files of ``held_out`` (default: ``corpora``'s)
    come from: ``{"sources": [{"source", "licence", "train_files", "test_files"}], "licences": {manifest text:
    files}, "unknown": [files without a manifest licence]}``."""
    held_out = corpora if held_out is None else held_out
    manifests = {}
    counts, texts, unknown = {}, {}, []
    for part, cset, utts, names in (
        ("train_files", corpora, corpora.train, corpora.train_corpora),
        ("test_files", held_out, held_out.test, held_out.test_corpora),
    ):
        for u, name in zip(utts, names):
            c = next(c for c in cset.corpora if c.name == name)
            key = str(Path(c.root).resolve())
            if key not in manifests:
                manifests[key] = (Path(c.root), manifest_licences(c.root))
            root, manifest = manifests[key]
            try:
                rel = Path(u.path).resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                rel = Path(u.path).name
            text = manifest.get(rel, "")
            if not text:
                unknown.append(str(u.path))
                continue
            texts[text] = texts.get(text, 0) + 1
            low = text.lower()
            hit = next((s for s in SOURCES if any(k in low for k in s[0])), None)
            key = hit[1] if hit else text
            entry = counts.setdefault(
                key, {"source": key, "licence": hit[2] if hit else text, "train_files": 0, "test_files": 0}
            )
            entry[part] += 1
    return {"sources": list(counts.values()), "licences": texts, "unknown": unknown}


def speakers(utts) -> list[str]:
    """The sorted speaker names of ``utts``."""
    return sorted({u.speaker for u in utts})


def files_seconds(utts) -> float:
    """The summed duration of ``utts`` (unreadable files count 0)."""
    total = 0.0
    for u in utts:
        try:
            total += sf.info(str(u.path)).duration
        except RuntimeError:
            pass
    return total
