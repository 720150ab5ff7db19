"""Training audio for calibration and quantization-aware fine-tuning, and the evaluation/training separation.

Calibration windows and QAT patches come from TRAINING audio only: ``--train-data`` read with the
package's corpus readers, or the embedded default corpus when none is given. Windows are cut by
:func:`keras_audiosr.data.extract_patches` with the model's own rates and degradation, so the
quantizer sees exactly what the model sees in use.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["training_utterances", "training_windows", "separate_eval_and_train"]


def training_utterances(train_data=None) -> list:
    """Utterances of ``train_data`` (any folder :func:`keras_audiosr.data.load_corpus` reads), else the default corpus."""
    from keras_audiosr.data import load_corpus, make_default_corpus

    root = make_default_corpus() if train_data is None else Path(train_data).expanduser()
    return load_corpus(root)


def training_windows(model, utts, length: int, max_windows: int = 128, seed: int = 0, progress: bool = True,
                     cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(lr [N, length, 1], hr [N, length * ratio, 1])`` aligned windows of training audio, ``N <= max_windows``.

    Silent windows (below -50 dBFS) are dropped; a random subset (``seed``) is kept when there are more.
    Raises ValueError naming the files when none is long enough.
    """
    from keras_audiosr.data import PatchConfig, default_cache_dir, extract_patches

    ratio = int(model.ratio)
    degradation = dict(getattr(model, "degradation", None) or {})
    cfg = PatchConfig(hr_rate=int(model.hr_rate), ratio=ratio, filter=degradation.get("filter", "cheby1:8"),
                      zero_phase=bool(degradation.get("zero_phase", True)), patch_size=int(length) * ratio,
                      stride=max(ratio, (int(length) * ratio // 2) // ratio * ratio), silence_db=-50.0)
    patches = extract_patches(utts, cfg, cache_dir=(default_cache_dir() / "patches") if cache else None,
                              progress=progress)
    n = len(patches)
    keep = np.sort(np.random.default_rng(seed).permutation(n)[:max_windows]) if n > max_windows else np.arange(n)
    return patches.lr[keep].astype(np.float32), patches.hr[keep].astype(np.float32)


def separate_eval_and_train(eval_utts, train_utts, test_speakers=None):
    """``(eval_utts, train_utts, note)`` with no file in both.

    When the two lists share files (the same corpus given for both), the corpus is split the way the
    recipes split it (:func:`keras_audiosr.data.make_split`, task ``multi``, optionally with explicit
    ``test_speakers``): its test speakers are evaluated, the rest calibrate.
    """
    from keras_audiosr.data import make_split

    eval_paths = {Path(u.path).resolve() for u in eval_utts}
    shared = [u for u in train_utts if Path(u.path).resolve() in eval_paths]
    if not shared:
        return list(eval_utts), list(train_utts), "evaluation and training folders share no file"
    union = {Path(u.path).resolve(): u for u in list(train_utts) + list(eval_utts)}
    split = make_split(list(union.values()), "multi", test_speakers=test_speakers)
    test = {Path(u.path).resolve() for u in split.test}
    ev = [u for u in eval_utts if Path(u.path).resolve() in test]
    tr = [u for u in split.train]
    if not ev:
        raise ValueError("after separating training from evaluation audio no evaluation file is left; "
                         "give --test-speakers that are in the evaluation folder")
    return ev, tr, f"evaluation and training data overlap; speaker split: {split.note}"
