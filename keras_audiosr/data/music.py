"""Piano and music corpora: folders of audio files (any rate, mono or stereo), their train/valid/test split,
and an embedded generated corpus.

Split rules, in order of preference (:func:`split_music`, :func:`load_music`):

1. A **split file** (``split.txt`` or ``split.csv`` in the corpus root is picked up automatically).
   One file per line, its path relative to the corpus root with ``/`` separators, then its split:

   * ``split.txt``: ``<relative path> <split>`` -- the LAST whitespace-separated word is the split, the
     rest of the line the path (so paths may contain spaces);
   * ``split.csv``: two columns ``path,split`` (standard CSV quoting), optionally a header row
     ``path,split``.

   Splits are ``train``, ``valid`` or ``test`` (``val``, ``validation`` and ``dev`` mean ``valid``).
   Blank lines and lines starting with ``#`` are skipped. Audio files the split file does not list are
   left out (the split's note counts them); a listed file that is missing, a path given twice, an
   absolute or ``..`` path, or an unknown split is a ValueError naming the split file and line.
2. Otherwise a **deterministic hash split**: SHA-256 of the file's path relative to the root (or of its
   folder, ``hash_by="folder"``, to keep a folder together) gives a number u in [0, 1);
   ``u < train share`` -> train, ``< train + valid share`` -> valid, else test. Default shares
   0.8 / 0.1 / 0.1. A file's split depends on its own path only, so adding or removing files never
   moves the others; the shares are met in expectation, not exactly.

Stereo: the same-rate models process channels separately, so music is prepared with
``channels="separate"`` (:func:`keras_audiosr.data.prepare_training_data`): each channel of a
multi-channel file is its own training signal.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from keras_audiosr.audio import AUDIO_EXTENSIONS, write_audio
from keras_audiosr.data.corpus import Utterance
from keras_audiosr.data.splits import Split
from keras_audiosr.data.store import default_cache_dir

__all__ = [
    "SPLIT_FILE_NAMES",
    "SPLIT_NAMES",
    "DEFAULT_SHARES",
    "GROUP_BY",
    "HASH_BY",
    "DEFAULT_MUSIC_CORPUS_NAME",
    "MusicFile",
    "MusicSplit",
    "read_split_file",
    "find_split_file",
    "find_music",
    "hash_unit",
    "split_music",
    "load_music",
    "synthesize_piece",
    "make_default_music_corpus",
]

SPLIT_FILE_NAMES = ("split.txt", "split.csv")
SPLIT_NAMES = ("train", "valid", "test")
_ALIASES = {"val": "valid", "validation": "valid", "dev": "valid"}
DEFAULT_SHARES = (0.8, 0.1, 0.1)
GROUP_BY = ("folder", "piece")
HASH_BY = ("file", "folder")


@dataclass(frozen=True)
class MusicFile(Utterance):
    """An :class:`Utterance` that also knows its path relative to the corpus root (``rel``, POSIX),
    the key split files and the hash split use. ``speaker`` is the group (folder or piece)."""

    rel: str = ""


@dataclass
class MusicSplit(Split):
    """:class:`Split` with a validation set; ``rule`` is ``"split_file"`` or ``"hash"``.
    ``test_speakers``/``train_speakers`` hold the groups (folders or pieces) present in each part."""

    valid: list = field(default_factory=list)
    rule: str = ""

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(
            {
                "rule": self.rule,
                "n_valid": len(self.valid),
                "valid_utterances": [f"{u.speaker}/{u.utt_id}" for u in self.valid],
            }
        )
        return d


def _clean_rel(raw: str, where: str) -> str:
    s = raw.strip().replace("\\", "/")
    if not s:
        raise ValueError(f"{where}: empty path")
    if s.startswith("/") or (len(s) > 1 and s[1] == ":"):
        raise ValueError(f"{where}: path {raw!r} is absolute; give it relative to the corpus root")
    parts = [p for p in PurePosixPath(s).parts if p != "."]
    if ".." in parts:
        raise ValueError(f"{where}: path {raw!r} leaves the corpus root ('..')")
    return "/".join(parts)


def _split_name(raw: str, where: str) -> str:
    name = raw.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in SPLIT_NAMES:
        raise ValueError(
            f"{where}: unknown split {raw.strip()!r}; valid: {', '.join(SPLIT_NAMES)} (aliases: {', '.join(_ALIASES)})"
        )
    return name


def read_split_file(path) -> dict[str, str]:
    """Parse a split file (format in the module docstring) into ``{relative path: split}``, in file order.

    ``.csv`` files are read as CSV, anything else as the whitespace format. Raises FileNotFoundError
    for a missing file and ValueError naming ``<file>:<line>`` for a malformed line, an unknown split,
    a bad path or a duplicate; ValueError too when the file lists nothing.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"split file {path} does not exist")
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8") as f:
        lines = list(enumerate(f, start=1))
    is_csv = path.suffix.lower() == ".csv"
    for lineno, line in lines:
        where = f"{path}:{lineno}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if is_csv:
            row = next(csv.reader([line]))
            if len(row) == 2 and row[0].strip().lower() == "path" and row[1].strip().lower() == "split" and not out:
                continue
            if len(row) != 2:
                raise ValueError(f"{where}: expected 2 columns 'path,split', got {len(row)}: {line.strip()!r}")
            raw_path, raw_split = row
        else:
            parts = line.strip().rsplit(None, 1)
            if len(parts) != 2:
                raise ValueError(f"{where}: expected '<relative path> <train|valid|test>', got {line.strip()!r}")
            raw_path, raw_split = parts
        rel = _clean_rel(raw_path, where)
        split = _split_name(raw_split, where)
        if rel in out:
            raise ValueError(f"{where}: {rel} is listed again (first on line {first_line[rel]})")
        out[rel] = split
        first_line[rel] = lineno
    if not out:
        raise ValueError(f"{path}: split file lists no files")
    return out


def find_split_file(root) -> Path | None:
    """``root/split.txt`` or ``root/split.csv`` (in that order of preference), else None."""
    for name in SPLIT_FILE_NAMES:
        p = Path(root) / name
        if p.is_file():
            return p
    return None


def _check_root(root) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"music folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"music folder {root} is not a directory")
    return root


def _music_file(root: Path, f: Path, group_by: str) -> MusicFile:
    rel = f.relative_to(root).as_posix()
    parent = PurePosixPath(rel).parent.as_posix()
    if group_by == "piece":
        group = str(PurePosixPath(rel).with_suffix(""))
    else:
        group = parent if parent != "." else (root.resolve().name or "root")
    return MusicFile(path=f, speaker=group, utt_id=f.name, rel=rel)


def find_music(root, split_file=None, group_by: str = "folder") -> list[MusicFile]:
    """Audio files under ``root`` (recursive, hidden files and folders skipped), sorted by relative path.

    Each is a :class:`MusicFile`: ``utt_id`` is the file name, ``rel`` the path relative to ``root``
    and ``speaker`` the group -- the relative parent folder (``group_by="folder"``; files directly in
    ``root`` take ``root``'s name) or the piece itself (``"piece"``: the relative path without
    extension). With ``split_file`` only the files it lists are returned, and a listed file that does
    not exist is a ValueError naming the split file and line.
    Raises FileNotFoundError for a missing root, ValueError for an unknown ``group_by`` or no audio.
    """
    if group_by not in GROUP_BY:
        raise ValueError(f"unknown group_by {group_by!r}; valid: {', '.join(GROUP_BY)}")
    root = _check_root(root)
    files = []
    for f in root.rglob("*"):
        rel = f.relative_to(root)
        if not f.is_file() or f.suffix.lower() not in AUDIO_EXTENSIONS or any(p.startswith(".") for p in rel.parts):
            continue
        files.append(_music_file(root, f, group_by))
    files.sort(key=lambda m: m.rel)
    if split_file is not None:
        listed = read_split_file(split_file)
        _check_listed(listed, {m.rel for m in files}, Path(split_file).expanduser(), root)
        files = [m for m in files if m.rel in listed]
    if not files:
        raise ValueError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) found")
    return files


def _check_listed(listed: dict[str, str], present: set[str], split_file: Path, root) -> None:
    missing = [rel for rel in listed if rel not in present]
    if missing:
        lines = _line_numbers(split_file)
        rel = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ValueError(f"{split_file}:{lines.get(rel, '?')}: {rel} is not an audio file under {root}{more}")


def _line_numbers(split_file: Path) -> dict[str, int]:
    out = {}
    is_csv = split_file.suffix.lower() == ".csv"
    with open(split_file, newline="", encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            raw = next(csv.reader([line]))[0] if is_csv else (line.strip().rsplit(None, 1) or [""])[0]
            try:
                out.setdefault(_clean_rel(raw, ""), lineno)
            except ValueError:
                pass
    return out


def hash_unit(key: str, salt: str = "") -> float:
    """A number in [0, 1) from SHA-256 of ``salt + key`` (UTF-8); the same key always gives the same number."""
    digest = hashlib.sha256((salt + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _rel_of(u: Utterance, root) -> str:
    rel = getattr(u, "rel", "")
    if rel:
        return rel
    if root is None:
        raise ValueError(f"{u.path}: cannot tell its path relative to the corpus root; use find_music() or pass root=")
    try:
        return Path(u.path).resolve().relative_to(Path(root).expanduser().resolve()).as_posix()
    except ValueError:
        raise ValueError(f"{u.path} is not under the corpus root {root}") from None


def _check_shares(shares) -> tuple[float, float, float]:
    try:
        s = tuple(float(v) for v in shares)
    except (TypeError, ValueError):
        raise ValueError(f"shares must be three numbers (train, valid, test), got {shares!r}") from None
    if len(s) != 3 or any(v < 0 for v in s) or s[0] <= 0 or s[2] <= 0:
        raise ValueError(
            f"shares must be three non-negative numbers (train, valid, test) with train and test > 0, got {shares!r}"
        )
    total = sum(s)
    return s[0] / total, s[1] / total, s[2] / total


def _groups(utts) -> list[str]:
    return sorted({u.speaker for u in utts})


def split_music(
    utts: Sequence[Utterance],
    split_file=None,
    shares=DEFAULT_SHARES,
    *,
    root=None,
    hash_by: str = "file",
    salt: str = "",
) -> MusicSplit:
    """Train / valid / test split of music files by a split file, else by the hash rule (module docstring).

    ``utts`` come from :func:`find_music` (or are Utterances under ``root``). With ``split_file``,
    files it does not list are left out and a listed file absent from ``utts`` is a ValueError naming
    the split file and line. Raises ValueError when train or test ends up empty (too few files for
    the shares: write a split file), for bad shares or an unknown ``hash_by``.
    """
    utts = sorted(utts, key=lambda u: _rel_of(u, root))
    if not utts:
        raise ValueError("cannot split an empty corpus (no files)")
    by_rel = {_rel_of(u, root): u for u in utts}
    parts: dict[str, list] = {name: [] for name in SPLIT_NAMES}
    if split_file is not None:
        split_file = Path(split_file).expanduser()
        listed = read_split_file(split_file)
        _check_listed(listed, set(by_rel), split_file, root if root is not None else "the corpus root")
        for rel, u in by_rel.items():
            if rel in listed:
                parts[listed[rel]].append(u)
        left_out = len(by_rel) - len(listed)
        rule = "split_file"
        note = (
            f"split from {split_file}: {len(parts['train'])} train, {len(parts['valid'])} valid, "
            f"{len(parts['test'])} test files"
            + (f"; {left_out} audio files it does not list were left out" if left_out else "")
        )
    else:
        if hash_by not in HASH_BY:
            raise ValueError(f"unknown hash_by {hash_by!r}; valid: {', '.join(HASH_BY)}")
        tr, va, _ = _check_shares(shares)
        for rel, u in by_rel.items():
            key = rel
            if hash_by == "folder" and "/" in rel:
                key = rel.rsplit("/", 1)[0] + "/"
            h = hash_unit(key, salt)
            parts["train" if h < tr else "valid" if h < tr + va else "test"].append(u)
        rule = "hash"
        what = "folder" if hash_by == "folder" else "path"
        note = (
            f"deterministic hash split: SHA-256 of each file's {what} relative to the corpus root -> u in [0, 1); "
            f"u < {tr:g} train, u < {tr + va:g} valid, else test (shares {tr:g}/{va:g}/{1 - tr - va:g}"
            + (f", salt {salt!r}" if salt else "")
            + "); adding files never moves existing ones: "
            f"{len(parts['train'])} train, {len(parts['valid'])} valid, {len(parts['test'])} test files"
        )
    for name in ("train", "test"):
        if not parts[name]:
            src = str(split_file) if split_file is not None else f"the hash split of {len(by_rel)} files"
            raise ValueError(
                f"{src} leaves the {name} set empty; list files as {name} in a split file "
                f"({' or '.join(SPLIT_FILE_NAMES)}) or change the shares"
            )
    return MusicSplit(
        train=parts["train"],
        test=parts["test"],
        test_speakers=_groups(parts["test"]),
        task="music",
        note=note,
        valid=parts["valid"],
        rule=rule,
    )


def load_music(
    root, split_file="auto", shares=DEFAULT_SHARES, group_by: str = "folder", hash_by: str = "file", salt: str = ""
) -> MusicSplit:
    """:func:`find_music` + :func:`split_music`. ``split_file="auto"`` uses ``root/split.txt`` or
    ``root/split.csv`` when present and the hash rule otherwise; ``None`` forces the hash rule."""
    root = _check_root(root)
    if isinstance(split_file, str) and split_file == "auto":
        split_file = find_split_file(root)
    utts = find_music(root, group_by=group_by)
    return split_music(utts, split_file=split_file, shares=shares, hash_by=hash_by, salt=salt)


# ----------------------------------------------------------------------------- embedded default corpus

DEFAULT_MUSIC_CORPUS_NAME = "synthetic-music-v1"
MUSIC_GENERATOR_VERSION = 1
_MARKER = "synthetic_music.json"
_PIANO_RANGE = (21, 108)  # MIDI A0 .. C8


def _damped_sines(freq: float, alpha: float, length: int, rate: int) -> np.ndarray:
    """``exp((-alpha + 2 pi i freq) t)`` for ``length`` samples, as an outer product of two short
    power series (one complex multiply per sample instead of an exp and a sin)."""
    r = np.exp(complex(-alpha, 2 * np.pi * freq) / rate)
    b = int(np.ceil(np.sqrt(length)))
    inner = r ** np.arange(b)
    outer = (r**b) ** np.arange(-(-length // b))
    return np.outer(outer, inner).ravel()[:length]


def _note(rng: np.random.Generator, midi: float, velocity: float, dur: float, rate: int) -> np.ndarray:
    """One piano-like note: inharmonic partials f_n = n f0 sqrt(1 + B n^2) with a hammer-position comb,
    velocity-dependent brightness, frequency-dependent exponential decay, damper after ``dur`` seconds,
    and a short broadband hammer knock."""
    f0 = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
    pos = (midi - _PIANO_RANGE[0]) / (_PIANO_RANGE[1] - _PIANO_RANGE[0])
    B = 10 ** (-4.3 + 1.8 * pos)  # inharmonicity: ~5e-5 in the bass to ~3e-3 at the top
    alpha0 = 0.6 + 3.0 * pos  # 1/s: bass notes sustain longer
    damper = 18.0  # extra 1/s once the key is released
    x0 = rng.uniform(1 / 9, 1 / 7)  # hammer striking position (fraction of the string)
    n_total = int(np.ceil((dur + 60.0 / 8.686 / (alpha0 + damper)) * rate))
    acc = np.zeros(n_total, np.complex128)
    n, nyq = 1, 0.47 * rate
    while True:
        fn = n * f0 * np.sqrt(1.0 + B * n * n)
        if fn >= nyq or n > 120:
            break
        amp = velocity ** (1.0 + 0.05 * n) * abs(np.sin(np.pi * n * x0)) / n**0.7
        amp /= 1.0 + (fn / (2500.0 + 9000.0 * velocity)) ** 2
        alpha = alpha0 + 4e-7 * fn * fn
        life = int(min(n_total, np.ceil((dur + 60.0 / 8.686 / alpha) * rate)))  # to -60 dB
        if amp > 1e-4 and life > 0:
            acc[:life] += (amp * np.exp(1j * rng.uniform(0, 2 * np.pi))) * _damped_sines(fn, alpha, life, rate)
        n += 1
    y = acc.imag
    i_off = int(dur * rate)
    if i_off < n_total:
        y[i_off:] *= _damped_sines(0.0, damper, n_total - i_off, rate).real
    k = min(n_total, int(0.006 * rate))
    knock = rng.standard_normal(k) * np.exp(-np.arange(k) / (0.0015 * rate))
    y[:k] += 0.08 * velocity**2 * np.diff(knock, prepend=0.0)
    att = min(n_total, int(0.002 * rate))
    y[:att] *= np.linspace(0.0, 1.0, att, endpoint=False)
    return y


def synthesize_piece(
    seed: int, index: int, seconds: float = 3.0, rate: int = 44100, stereo: bool = False
) -> np.ndarray:
    """A short piano-like piece: a melody over chords and bass notes from a random key and tempo.

    Float32 ``[time]`` (mono) or ``[time, 2]`` (stereo: notes panned by pitch with a small inter-channel
    delay), peak-normalised to -3 dBFS. Depends only on ``(seed, index, seconds, rate, stereo)``.
    """
    rng = np.random.default_rng([seed, index, int(stereo)])
    n = int(round(seconds * rate))
    out = np.zeros((n, 2 if stereo else 1))
    tonic = int(rng.integers(48, 60))
    scale = np.array([0, 2, 4, 5, 7, 9, 11] if rng.uniform() < 0.6 else [0, 2, 3, 5, 7, 8, 10])
    beat = 60.0 / rng.uniform(80, 150)

    def play(midi, t0, dur, vel):
        i0 = int(round(t0 * rate))
        if i0 >= n:
            return
        y = _note(rng, midi, vel, dur, rate)[: n - i0]
        if stereo:
            pan = np.clip((midi - 64.0) / 40.0 + rng.normal(0, 0.15), -0.9, 0.9)
            gl, gr = np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)
            d = int(abs(pan) * 0.0006 * rate)
            late, early = (0, 1) if pan > 0 else (1, 0)  # the far channel hears it later
            gains = (gl, gr)
            out[i0 : i0 + len(y), early] += gains[early] * y
            if i0 + d < n:
                out[i0 + d : i0 + d + len(y), late] += gains[late] * y[: n - i0 - d]
        else:
            out[i0 : i0 + len(y), 0] += y

    t, degree = 0.0, 0
    while t < seconds - 0.3:
        chord_root = int(rng.choice([0, 3, 4, 5]))
        chord = [tonic + scale[(chord_root + s) % 7] + 12 * ((chord_root + s) // 7) for s in (0, 2, 4)]
        bar = 4 * beat
        play(chord[0] - 12, t, bar * 0.9, rng.uniform(0.4, 0.7))
        if rng.uniform() < 0.7:
            for m in chord:
                play(m, t + rng.uniform(0, 0.02), bar * rng.uniform(0.4, 0.9), rng.uniform(0.3, 0.6))
        s = 0.0
        while s < bar - 1e-9:
            step = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            degree = int(np.clip(degree + rng.integers(-2, 3), -3, 12))
            m = tonic + 12 + scale[degree % 7] + 12 * (degree // 7)
            play(m, t + s, step * rng.uniform(0.7, 1.0), rng.uniform(0.5, 1.0))
            s += step
        t += bar
    peak = float(np.max(np.abs(out)))
    out *= 10 ** (-3.0 / 20.0) / max(peak, 1e-12)
    out += rng.standard_normal(out.shape) * 10 ** (-84.0 / 20.0)
    return (out[:, 0] if not stereo else out).astype(np.float32)


_MUSIC_README = """{name}: a synthetic, music-like corpus generated by keras_audiosr (keras_audiosr.data.music).

It is NOT recorded music. Each file is a short piece of piano-like notes (inharmonic partials with
frequency-dependent decay, hammer knock, dampers) -- a melody over chords and bass notes -- so that
bandwidth extension of music can be trained and tested without downloading a corpus. Regenerate it
with keras_audiosr.data.make_default_music_corpus(); the same parameters give the same files.

Layout: piano/piece_NN.flac (mono) and duo/piece_NN.flac (stereo), 16-bit FLAC, with split.txt
(the last file of each folder is test, the one before it valid, the rest train).
Parameters: {params}
"""


def make_default_music_corpus(
    root=None, n_mono: int = 6, n_stereo: int = 3, seconds: float = 3.0, rate: int = 44100, seed: int = 4321
) -> Path:
    """Write (or reuse) the generated music corpus at ``root`` and return ``root``.

    ``root=None`` means ``default_cache_dir() / DEFAULT_MUSIC_CORPUS_NAME``. Files are
    ``piano/piece_01.flac`` ... (mono) and ``duo/piece_01.flac`` ... (stereo) at ``rate`` Hz, plus a
    ``split.txt`` holding out the last piece of each folder as test and the one before as valid
    (folders with fewer than 3 pieces go wholly to train), and a README.txt. A marker file records the
    parameters: the same parameters only write missing files, other ones regenerate the folder.
    Refuses (ValueError) to write into a non-empty folder it did not make.
    """
    for name, v in (("n_mono", n_mono), ("n_stereo", n_stereo), ("rate", rate)):
        if isinstance(v, bool) or int(v) != v or v < (1 if name == "rate" else 0):
            kind = "positive" if name == "rate" else "non-negative"
            raise ValueError(f"make_default_music_corpus: {name} must be a {kind} integer, got {v!r}")
    if n_mono + n_stereo < 2:
        raise ValueError("make_default_music_corpus: need at least 2 pieces (n_mono + n_stereo)")
    if not seconds > 0:
        raise ValueError(f"make_default_music_corpus: seconds must be positive, got {seconds!r}")
    root = Path(root).expanduser() if root is not None else default_cache_dir() / DEFAULT_MUSIC_CORPUS_NAME
    params = {
        "name": DEFAULT_MUSIC_CORPUS_NAME,
        "generator_version": MUSIC_GENERATOR_VERSION,
        "n_mono": int(n_mono),
        "n_stereo": int(n_stereo),
        "seconds": float(seconds),
        "rate": int(rate),
        "seed": int(seed),
    }
    marker = root / _MARKER
    folders = {"piano": (int(n_mono), False), "duo": (int(n_stereo), True)}
    if marker.is_file():
        try:
            old = json.loads(marker.read_text())
        except (OSError, ValueError):
            old = None
        if old != params:
            marker.unlink(missing_ok=True)
            for name in folders:
                shutil.rmtree(root / name, ignore_errors=True)
            (root / "split.txt").unlink(missing_ok=True)
    elif root.exists() and any(root.iterdir()):
        raise ValueError(
            f"make_default_music_corpus: {root} is not empty and was not written by "
            f"make_default_music_corpus (no {_MARKER}); choose another root"
        )
    jobs, lines = [], []
    for folder, (count, stereo) in folders.items():
        for i in range(1, count + 1):
            rel = f"{folder}/piece_{i:02d}.flac"
            split = "test" if count >= 3 and i == count else "valid" if count >= 3 and i == count - 1 else "train"
            lines.append(f"{rel} {split}")
            jobs.append((root / rel, i + (0 if not stereo else 1000), stereo))
    split_txt = "# <path relative to this folder> <train|valid|test>\n" + "\n".join(lines) + "\n"
    if marker.is_file() and all(p.is_file() for p, _, _ in jobs) and (root / "split.txt").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{_MARKER}.tmp"
    tmp.write_text(json.dumps(params, indent=1))
    tmp.replace(marker)
    (root / "README.txt").write_text(_MUSIC_README.format(name=DEFAULT_MUSIC_CORPUS_NAME, params=json.dumps(params)))
    tmp = root / ".split.txt.tmp"
    tmp.write_text(split_txt)
    tmp.replace(root / "split.txt")
    for path, index, stereo in jobs:
        if not path.is_file():
            write_audio(
                path, synthesize_piece(seed, index, seconds=seconds, rate=rate, stereo=stereo), rate, subtype="PCM_16"
            )
    return root
