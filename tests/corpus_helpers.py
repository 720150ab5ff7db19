"""Tiny generated corpora for the data tests (noise-like tones, deterministic, written with audio.write_audio)."""

from pathlib import Path

import numpy as np

from keras_audiosr.audio import write_audio


def signal(seed: int, seconds: float, rate: int, channels: int = 1, level_db: float = -20.0) -> np.ndarray:
    """Band-limited noise plus a tone at ``level_db`` RMS dBFS: ``[time]`` or ``[time, channels]``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    cols = []
    for c in range(channels):
        x = rng.standard_normal(n) + 2 * np.sin(2 * np.pi * (200 + 50 * seed + 100 * c) * t)
        x *= 10 ** (level_db / 20) / np.sqrt(np.mean(x**2))
        cols.append(x)
    out = np.stack(cols, axis=1).astype(np.float32)
    return out[:, 0] if channels == 1 else out


def make_vctk(
    root: Path,
    speakers=("p001", "p002", "p003", "p004", "p005"),
    per_speaker: int = 2,
    seconds: float = 1.0,
    rate: int = 16000,
    ext: str = ".wav",
    seed: int = 0,
) -> Path:
    """A VCTK 0.80-layout corpus ``root/wav48/<spk>/<spk>_<nnn><ext>``; returns ``root``."""
    k = seed
    for spk in speakers:
        for u in range(1, per_speaker + 1):
            k += 1
            write_audio(root / "wav48" / spk / f"{spk}_{u:03d}{ext}", signal(k, seconds, rate), rate)
    return root


def make_folder(root: Path, layout: dict, seed: int = 100) -> Path:
    """Any folder: ``layout`` maps relative file paths to ``(seconds, rate, channels)``."""
    for k, (rel, (sec, rate, channels)) in enumerate(sorted(layout.items())):
        write_audio(root / rel, signal(seed + k, sec, rate, channels), rate)
    return root
