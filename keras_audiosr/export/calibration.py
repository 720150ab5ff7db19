"""Training audio for calibration and quantization-aware fine-tuning, and the evaluation/training separation.

Calibration windows and QAT patches come from TRAINING audio only: ``--train-data`` read with the
package's corpus readers; without it, the packaged real speech (models up to 16 kHz) or the generated
default corpus (higher rates). Windows are drawn by
the training pipeline's :class:`keras_audiosr.data.CropSampler` from the prepared store, with the
model's own rates and degradation, so the quantizer sees exactly what the model sees in use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["separate_eval_and_train", "training_utterances", "training_windows"]


def training_utterances(train_data=None, hr_rate: int | None = None) -> list:
    """Utterances of ``train_data`` (any folder :func:`keras_audiosr.data.load_corpus` reads), else the
    packaged real speech (16 kHz) for models up to 16 kHz, else the generated default corpus (48 kHz)."""
    from keras_audiosr.data import embedded_corpus_dir, load_corpus, make_default_corpus

    if train_data is not None:
        return load_corpus(Path(train_data).expanduser())
    if hr_rate is not None and int(hr_rate) <= 16000:
        return load_corpus(embedded_corpus_dir())
    return load_corpus(make_default_corpus())


def training_windows(
    model, utts, length: int, max_windows: int = 128, seed: int = 0, progress: bool = True, cache: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(lr [N, length, 1], hr [N, length * ratio, 1])`` aligned windows of training audio, ``N <= max_windows``.

    Random crops (seeded) of the prepared training signals, quiet ones (below -50 dBFS) redrawn, as
    many as half-overlapping windows would tile the audio, at most ``max_windows``. ``cache=False``
    prepares the signals in a temporary folder. Raises ValueError naming the files when none is long enough.
    """
    import shutil
    import tempfile

    from keras_audiosr.data import CropSampler, prepare_store
    from keras_audiosr.degrade import DegradationSet, SetMember

    ratio = int(model.ratio)
    degradation = dict(getattr(model, "degradation", None) or {})
    spec = degradation.get("filter", "cheby1:8")
    patch = int(length) * ratio
    tmp = None if cache else tempfile.mkdtemp(prefix="keras_audiosr-edge-")
    try:
        store = prepare_store(utts, int(model.hr_rate), cache_dir=tmp, progress=progress)
        try:
            sampler = CropSampler(
                store,
                ratio=ratio,
                patch_size=patch,
                silence_db=-50.0,
                degradations=DegradationSet(
                    spec, (SetMember(spec, 1.0),), zero_phase=bool(degradation.get("zero_phase", True))
                ),
            )
        except ValueError as e:
            names = ", ".join(str(u.path) for u in list(utts)[:5])
            raise ValueError(f"no training window of {patch} samples at {model.hr_rate} Hz in {names}: {e}") from e
        n = min(int(max_windows), max(1, int(store.seconds * store.hr_rate) // max(ratio, patch // 2)))
        lr, hr = sampler.batch(seed, range(n))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return lr, hr


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
        raise ValueError(
            "after separating training from evaluation audio no evaluation file is left; "
            "give --test-speakers that are in the evaluation folder"
        )
    return ev, tr, f"evaluation and training data overlap; speaker split: {split.note}"
