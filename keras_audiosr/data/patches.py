"""Aligned (low-rate, high-rate) training patches, cut from whole degraded signals, with a disk cache.

Each file is read, mixed to mono, resampled to ``hr_rate`` and trimmed to a multiple of ``ratio``;
the degradation (anti-alias filter + decimation, :class:`keras_audiosr.degrade.Degradation`) is
applied to the WHOLE signal, so patches carry no filter edge effects; then patches are cut at
starts ``s`` that are multiples of ``ratio``: ``hr[s:s+P]`` and ``lr[s/r:(s+P)/r]``. Patches whose
high-rate RMS is below ``silence_db`` dBFS are dropped.

The result is cached as an uncompressed ``.npz`` named by :meth:`PatchConfig.key`, a hash of the
config and of every file's path, size and modification time, so a changed config or file gives a
new cache entry and a repeated call is a cheap load.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from keras_audiosr.audio import read_audio, resample
from keras_audiosr.data.corpus import Utterance
from keras_audiosr.data.store import default_cache_dir
from keras_audiosr.degrade import Degradation, trim_to_multiple
from keras_audiosr.utils import save_npz_atomic

__all__ = ["PatchConfig", "Patches", "prepare_signal", "extract_patches", "default_cache_dir", "CACHE_FORMAT"]

# Bump when the extraction algorithm or file layout changes so old caches are not reused.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class PatchConfig:
    """How patches are made; every field enters the cache key.

    ``patch_size`` and ``stride`` count high-rate samples and must be multiples of ``ratio`` (so a
    low-rate patch is exactly ``patch_size // ratio`` samples, aligned). ``stride=None`` means
    ``patch_size // 2`` rounded down to a multiple of ``ratio``. ``silence_db=None`` keeps every patch.
    """

    hr_rate: int = 16000
    ratio: int = 2
    filter: str = "cheby1:8"
    zero_phase: bool = True
    patch_size: int = 8192
    stride: int | None = None
    silence_db: float | None = -50.0

    def __post_init__(self):
        for name in ("hr_rate", "ratio", "patch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ValueError(f"PatchConfig.{name} must be a positive integer, got {v!r}")
            object.__setattr__(self, name, int(v))
        if self.patch_size % self.ratio:
            raise ValueError(f"PatchConfig.patch_size={self.patch_size} is not a multiple of ratio={self.ratio}")
        if self.stride is None:
            object.__setattr__(self, "stride", max(self.ratio, (self.patch_size // 2) // self.ratio * self.ratio))
        else:
            s = self.stride
            if isinstance(s, bool) or int(s) != s or s < 1 or int(s) % self.ratio:
                raise ValueError(f"PatchConfig.stride must be a positive multiple of ratio={self.ratio}, got {s!r}")
            object.__setattr__(self, "stride", int(s))
        if self.silence_db is not None:
            object.__setattr__(self, "silence_db", float(self.silence_db))
        object.__setattr__(self, "zero_phase", bool(self.zero_phase))
        object.__setattr__(self, "filter", self.degradation().filter)  # validated, canonical spelling

    @property
    def lr_patch_size(self) -> int:
        return self.patch_size // self.ratio

    def degradation(self, filter: str | None = None) -> Degradation:
        """The degradation this config applies (optionally with another filter spec)."""
        return Degradation(ratio=self.ratio, filter=self.filter if filter is None else filter,
                           zero_phase=self.zero_phase)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PatchConfig":
        return cls(**d)

    def key(self, utts: Sequence[Utterance], filters: Sequence[str] | None = None) -> str:
        """SHA-1 over every field, :data:`CACHE_FORMAT`, per-file filters and each file's
        (resolved path, size, mtime_ns). Raises FileNotFoundError naming a missing file."""
        h = hashlib.sha1()
        h.update(json.dumps({"format": CACHE_FORMAT, "config": self.to_dict(),
                             "filters": None if filters is None else list(filters)}, sort_keys=True).encode())
        for u in utts:
            path = Path(u.path if isinstance(u, Utterance) else u)
            st = path.stat()
            h.update(f"\n{path.resolve()}\t{st.st_size}\t{st.st_mtime_ns}".encode())
        return h.hexdigest()


@dataclass
class Patches:
    """Aligned patch arrays: ``lr`` float32 ``[N, P/r, 1]``, ``hr`` float32 ``[N, P, 1]``.

    ``n_files`` is the number of files the patches were extracted from (all files given, including
    those too short to contribute); ``cache_path`` is the ``.npz`` used, if any.
    """

    lr: np.ndarray
    hr: np.ndarray
    cfg: PatchConfig
    n_files: int
    from_cache: bool = False
    cache_path: Path | None = None

    def __len__(self) -> int:
        return int(self.hr.shape[0])


def prepare_signal(path, hr_rate: int, mix_down: bool = True) -> np.ndarray:
    """Read ``path``, mix to mono and resample to ``hr_rate``: float32 ``[time]``.

    With ``mix_down=False`` a multi-channel file gives ``[time, channels]`` (mono still ``[time]``).
    """
    data, rate = read_audio(path, mix_down=mix_down)
    if data.shape[1] == 1:
        data = data[:, 0]
    if rate != hr_rate:
        data = resample(data, rate, hr_rate, axis=0)
    return np.ascontiguousarray(data, dtype=np.float32)


def _rms_db(x: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each row of ``x`` (``-inf`` for digital silence)."""
    ms = np.mean(np.square(x, dtype=np.float64), axis=-1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(ms)


def _cut(hr: np.ndarray, lr: np.ndarray, cfg: PatchConfig) -> tuple[np.ndarray, np.ndarray]:
    """All aligned patch pairs of one whole signal, silent ones dropped."""
    P, S, r = cfg.patch_size, cfg.stride, cfg.ratio
    if hr.shape[0] < P:
        return np.empty((0, P), np.float32), np.empty((0, P // r), np.float32)
    hp = np.lib.stride_tricks.sliding_window_view(hr, P)[::S]
    lp = np.lib.stride_tricks.sliding_window_view(lr, P // r)[:: S // r][: hp.shape[0]]
    if cfg.silence_db is not None:
        keep = _rms_db(hp) >= cfg.silence_db
        hp, lp = hp[keep], lp[keep]
    return np.array(hp, np.float32), np.array(lp, np.float32)


def _load_cache(path: Path, cfg: PatchConfig) -> Patches | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != CACHE_FORMAT:
                return None
            return Patches(lr=z["lr"], hr=z["hr"], cfg=cfg, n_files=int(z["n_files"]),
                           from_cache=True, cache_path=path)
    except (OSError, KeyError, ValueError):
        return None  # unreadable or foreign file: recompute and overwrite


def _save_cache(path: Path, p: Patches) -> None:
    save_npz_atomic(path, lr=p.lr, hr=p.hr, n_files=np.int64(p.n_files), format=np.int64(CACHE_FORMAT),
                    config=np.array(json.dumps(p.cfg.to_dict(), sort_keys=True)))


def extract_patches(utts: Sequence[Utterance], cfg: PatchConfig, cache_dir=None, progress: bool = True,
                    filters: Sequence[str] | None = None) -> Patches:
    """Cut aligned training patches from every utterance (see the module docstring).

    ``filters``, when given, is one filter spec per utterance (e.g. from
    :func:`keras_audiosr.degrade.sample_filters`, for multi-filter training) and replaces
    ``cfg.filter`` file by file. With ``cache_dir`` the result is stored as
    ``cache_dir/<cfg.key(utts, filters)>.npz`` (atomically) and loaded on the next call instead of
    being recomputed; ``cache_dir=None`` disables caching. Files shorter than a patch contribute
    nothing. Raises ValueError when no patch survives, naming the config and files.
    """
    utts = list(utts)
    if not utts:
        raise ValueError("extract_patches: no utterances given")
    if filters is not None:
        filters = [cfg.degradation(f).filter for f in filters]
        if len(filters) != len(utts):
            raise ValueError(f"extract_patches: {len(filters)} filters for {len(utts)} utterances; "
                             f"give one filter spec per utterance")
    cache_path = None
    if cache_dir is not None:
        cache_path = Path(cache_dir).expanduser() / f"{cfg.key(utts, filters)}.npz"
        if cache_path.is_file():
            cached = _load_cache(cache_path, cfg)
            if cached is not None:
                return cached
    degradations: dict[str, Degradation] = {}
    hrs, lrs = [], []
    for i, u in enumerate(tqdm(utts, desc="patches", unit="file", disable=not progress)):
        spec = cfg.filter if filters is None else filters[i]
        if spec not in degradations:
            degradations[spec] = cfg.degradation(spec)
        deg = degradations[spec]
        x = trim_to_multiple(prepare_signal(u.path, cfg.hr_rate), cfg.ratio)
        if x.shape[0] < cfg.patch_size:
            continue
        y = np.asarray(deg(x), np.float32)
        hp, lp = _cut(x, y, cfg)
        if hp.shape[0]:
            hrs.append(hp)
            lrs.append(lp)
    if not hrs:
        names = ", ".join(str(u.path) for u in utts[:5]) + (f", ... ({len(utts)} files)" if len(utts) > 5 else "")
        raise ValueError(f"extract_patches: no patch survived from {names} with {cfg} (files shorter than "
                         f"patch_size={cfg.patch_size} samples at {cfg.hr_rate} Hz, or every patch below "
                         f"silence_db={cfg.silence_db} dBFS)")
    hr = np.concatenate(hrs)[..., None]
    lr = np.concatenate(lrs)[..., None]
    out = Patches(lr=lr, hr=hr, cfg=cfg, n_files=len(utts), from_cache=False, cache_path=cache_path)
    if cache_path is not None:
        _save_cache(cache_path, out)
    return out
