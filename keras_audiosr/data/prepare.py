"""One call from corpus folders to a training stream: :func:`prepare_training_data`.

::

    data = prepare_training_data(["VCTK-Corpus", "LibriTTS/train-clean-100"], hr_rate=16000, ratio=2,
                                 patch_size=8192, degradations="speech-robust")
    model.fit(data.dataset(batch_size=16, seed=0), epochs=50, steps_per_epoch=data.steps_per_epoch(16))
    # several GPUs or workers: data.distribute(strategy, 16, seed=0) -- each worker reads its own files
    # JAX / PyTorch backends (no tf.data): model.fit(data.batches(16, seed=0, processes=4), ...)
    # evaluation stays file by file: data.corpora.test_by_corpus(), data.split.test

Corpora are read and split (:func:`~keras_audiosr.data.load_corpora`), their training files
prepared once into the store (:func:`~keras_audiosr.data.prepare_store`: resumable, parallel,
shared by every ratio, patch size and degradation), and examples drawn from it on the fly
(:class:`~keras_audiosr.data.CropSampler`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keras_audiosr.data.corpora import CorpusSet, load_corpora
from keras_audiosr.data.splits import Split
from keras_audiosr.data.store import SignalStore, prepare_store
from keras_audiosr.data.stream import CropSampler
from keras_audiosr.degrade import Degradation, DegradationSet, get_degradation_set

__all__ = ["TrainingData", "check_test_files", "folder_data", "folder_dataset", "prepare_training_data"]


@dataclass
class TrainingData:
    """Prepared training data: the corpora and their splits, the signal store, and the stream settings.

    ``dataset`` / ``distribute`` build the ``tf.data`` input, ``batches`` a ``keras.utils.PyDataset``
    of the same stream for any Keras backend; ``summary()`` is the JSON record for
    ``metrics.json``. ``label`` says where the data came from (e.g. the embedded corpus).
    """

    corpora: CorpusSet
    store: SignalStore
    ratio: int
    hr_rate: int
    patch_size: int
    degradations: DegradationSet
    same_rate: bool = False
    silence_db: float | None = -50.0
    seed: int = 0
    label: str = ""
    embedded: bool = False
    weights: Mapping[str, float] | None = None
    _samplers: dict = field(default_factory=dict, repr=False)

    @property
    def split(self) -> Split:
        """The pooled split (all corpora); per corpus: ``corpora.corpora[k].split``."""
        return self.corpora.split

    @property
    def degradation(self) -> Degradation:
        """The one degradation that stands for the set (its representative: the single member of a
        one-spec set, ``cheby1:8`` for ``speech-robust`` and ``multi-filter``; see
        :attr:`~keras_audiosr.degrade.DegradationSet.representative_spec`)."""
        return self.degradations.representative_degradation(self.ratio)

    @property
    def examples_per_epoch(self) -> int:
        """Patches that tile the training audio once (all channels): the natural epoch length."""
        return max(1, int(self.store.seconds * self.hr_rate) // self.patch_size)

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, self.examples_per_epoch // int(batch_size))

    def sampler(self, shard: tuple[int, int] | None = None) -> CropSampler:
        """The :class:`CropSampler` of this data (of one shard of the files when ``shard=(index, count)``)."""
        key = None if shard is None else (int(shard[0]), int(shard[1]))
        if key not in self._samplers:
            self._samplers[key] = CropSampler(
                self.store,
                ratio=self.ratio,
                patch_size=self.patch_size,
                degradations=self.degradations,
                same_rate=self.same_rate,
                silence_db=self.silence_db,
                weights=self.weights,
                shard=key,
                shard_seed=self.seed,
            )
        return self._samplers[key]

    def dataset(
        self,
        batch_size: int,
        seed: int | None = None,
        shard: tuple[int, int] | None = None,
        start_batch: int = 0,
        processes: int = 0,
        map_batch=None,
    ):
        """Endless ``tf.data.Dataset`` of ``(lr [B, L, 1], hr [B, P, 1])`` float32 (see
        :meth:`CropSampler.dataset`); ``seed`` defaults to the data's seed; ``shard=(index, count)``
        reads that share of the files only; ``start_batch`` continues a resumed run's stream;
        ``processes`` makes batches in that many worker processes instead of tf.data's threads;
        ``map_batch(lr, hr)`` (written with operators or ``keras.ops``) replaces each batch, e.g.
        ``lambda lr, hr: (hr, hr)`` for an autoencoder."""
        seed = self.seed if seed is None else int(seed)
        ds = self.sampler(shard).dataset(batch_size, seed=seed, start_batch=start_batch, processes=processes)
        return ds if map_batch is None else ds.map(map_batch)

    def batches(
        self,
        batch_size: int,
        seed: int | None = None,
        shard: tuple[int, int] | None = None,
        start_batch: int = 0,
        processes: int = 0,
        map_batch=None,
    ):
        """The same endless stream as :meth:`dataset`, as a ``keras.utils.PyDataset``
        (:class:`~keras_audiosr.data.batches.SamplerBatches`): ``model.fit`` input on any Keras
        backend, without TensorFlow. ``processes`` worker processes make the batches (0: the
        training process, when each batch is needed)."""
        from keras_audiosr.data.batches import SamplerBatches

        seed = self.seed if seed is None else int(seed)
        return SamplerBatches(
            self.sampler(shard),
            batch_size,
            seed=seed,
            start_batch=start_batch,
            processes=processes,
            map_batch=map_batch,
        )

    def distribute(
        self,
        strategy,
        batch_size: int,
        seed: int | None = None,
        start_batch: int = 0,
        processes: int = 0,
        map_batch=None,
    ):
        """The input of ``model.fit`` under ``strategy`` with global batch ``batch_size``.

        A Keras backend other than TensorFlow: :meth:`batches` (global batches; a
        ``keras.distribution`` such as ``DataParallel`` splits them over the devices). TensorFlow
        with one replica: :meth:`dataset`. Otherwise ``strategy.distribute_datasets_from_function``:
        each input pipeline (one per worker) reads its own shard of the files (``shard=(worker,
        workers)``, seeded, disjoint) and batches per replica, so no worker reads what another does.
        """
        import keras

        if keras.backend.backend() != "tensorflow":
            return self.batches(batch_size, seed, start_batch=start_batch, processes=processes, map_batch=map_batch)
        if strategy is None or strategy.num_replicas_in_sync == 1:
            return self.dataset(batch_size, seed, start_batch=start_batch, processes=processes, map_batch=map_batch)
        if int(batch_size) % strategy.num_replicas_in_sync:
            raise ValueError(
                f"batch size {batch_size} is not a multiple of the {strategy.num_replicas_in_sync} replicas"
            )

        def fn(ctx):
            per_replica = ctx.get_per_replica_batch_size(int(batch_size))
            shard = (ctx.input_pipeline_id, ctx.num_input_pipelines) if ctx.num_input_pipelines > 1 else None
            return self.dataset(
                per_replica, seed, shard=shard, start_batch=start_batch, processes=processes, map_batch=map_batch
            )

        return strategy.distribute_datasets_from_function(fn)

    def summary(self) -> dict:
        """JSON-ready: corpora (files, speakers, weights, sampling shares), store, stream settings."""
        shares = self.sampler().corpus_probabilities
        corpora = []
        for c in self.corpora.corpora:
            d = c.to_dict()
            d["train_hours"] = round(
                sum(f.length * f.channels for f in self.store.files if f.corpus == c.name) / self.hr_rate / 3600, 3
            )
            d["test_hours"] = round(_hours(u.path for u in c.split.test), 3)
            d["sampling_share"] = round(shares.get(c.name, 0.0), 4)
            corpora.append(d)
        return {
            "source": self.label,
            "embedded": self.embedded,
            "corpora": corpora,
            "store": self.store.summary(),
            "ratio": self.ratio,
            "hr_rate": self.hr_rate,
            "patch_size": self.patch_size,
            "same_rate": self.same_rate,
            "silence_db": self.silence_db,
            "degradations": self.degradations.to_dict(),
            "examples_per_epoch": self.examples_per_epoch,
            "seed": self.seed,
        }


def _hours(paths) -> float:
    """Duration in hours of the files (from their headers; a file that cannot be read counts 0)."""
    import soundfile as sf

    seconds = 0.0
    for p in paths:
        try:
            info = sf.info(str(p))
            seconds += info.frames / info.samplerate
        except (RuntimeError, OSError, sf.SoundFileError):
            pass
    return seconds / 3600


def check_test_files(utts, hr_rate: int) -> None:
    """Checks, before any training, every held-out file that the evaluation reads after it: readable audio,
    not empty, at ``hr_rate`` or above, its last block decodable (a file cut short fails there).

    Reads headers and the last 4096 frames only. Raises :class:`~keras_audiosr.audio.AudioError`
    naming the first bad file and what to do.
    """
    import numpy as np
    import soundfile as sf

    from keras_audiosr.audio import _SHORT_CHUNK, _UNKNOWN_SIZES, AudioError  # read_audio's truncation rule

    for u in utts:
        path = Path(u.path)
        problem = None
        try:
            info = sf.info(str(path), verbose=True)
            short = [
                m
                for m in _SHORT_CHUNK.finditer(info.extra_info or "")
                if int(m.group(2)) > int(m.group(3)) and int(m.group(2)) not in _UNKNOWN_SIZES
            ]
            if short:
                problem = (
                    f"is truncated (its {short[0].group(1)} chunk declares {short[0].group(2)} bytes, "
                    f"{short[0].group(3)} are there)"
                )
            elif info.frames <= 0:
                problem = "is empty (no samples)"
            elif info.samplerate < int(hr_rate):
                problem = f"is {info.samplerate} Hz, below the high rate {hr_rate} Hz it is scored at"
            else:
                with sf.SoundFile(str(path)) as f:
                    want = min(4096, info.frames)
                    f.seek(info.frames - want)
                    block = f.read(want, dtype="float32", always_2d=True)
                if len(block) != want:
                    problem = f"is truncated (its header declares {info.frames} frames, fewer are there)"
                elif not np.isfinite(block).all():
                    problem = "holds NaN or Inf samples"
        except (sf.SoundFileError, RuntimeError, OSError, ValueError) as err:
            problem = f"is not readable audio ({str(err).strip().splitlines()[0] if str(err).strip() else err!r})"
        if problem:
            raise AudioError(
                f"{path}: held-out test file {problem}; the evaluation after training reads it: fix or "
                f"remove it (or hold out other speakers with --test-speakers)"
            )


def prepare_training_data(
    data_dirs=None,
    *,
    hr_rate: int = 16000,
    ratio: int = 2,
    patch_size: int = 8192,
    degradations="cheby1:8",
    task: str = "multi",
    test_speakers: Sequence[str] | None = None,
    seed: int = 0,
    cache_dir=None,
    workers: int | None = None,
    progress: bool = True,
    weights: Mapping[str, float] | Sequence[float] | None = None,
    kind: str = "auto",
    channels: str | None = None,
    same_rate: bool = False,
    silence_db: float | None = -50.0,
    split_options: dict | None = None,
) -> TrainingData:
    """Corpora -> speaker-disjoint splits -> prepared store of the training files -> stream settings.

    Args:
        data_dirs: one corpus folder or several (see :func:`~keras_audiosr.data.load_corpora`);
            ``None``: the embedded default corpus, labelled as such: the packaged real speech
            (:func:`~keras_audiosr.data.embedded_corpus_dir`, 16 kHz, so ``hr_rate`` at most 16000;
            speaker p273 held out unless ``test_speakers`` or ``task="single"`` say otherwise), or
            generated piano-like music with ``kind="music"``.
        hr_rate, ratio, patch_size: the target rate, up-sampling ratio and patch length (high-rate
            samples, a multiple of ``ratio``).
        degradations: a set name (``speech-robust``, ``multi-filter``, ``telephone-any``), a single
            spec (``cheby1:8``, ``resample``, ``telephone:mulaw``) or a
            :class:`~keras_audiosr.degrade.DegradationSet`.
        task, test_speakers, split_options: the split of each corpus.
        seed: the stream's default seed and the file-shard permutation's seed.
        cache_dir: where the store lives (default ``$KERAS_AUDIOSR_CACHE`` or ``~/.cache/keras_audiosr``).
        workers, progress: preparation processes and progress output (see :func:`prepare_store`).
        weights: per-corpus sampling weights (``{name: w}`` or one per folder); default by duration.
        kind: ``auto``, ``speech`` or ``music`` (the reader and split rule).
        channels: ``mix`` or ``separate`` (each channel its own signal); default ``separate`` for
            music, ``mix`` for speech.
        same_rate: inputs at the high rate (the same-rate music models) instead of decimated.
        silence_db: crops below this RMS (dBFS) are redrawn; ``None`` keeps all.

    Nothing is trained on test files; only the training files are prepared. Errors name the file
    or setting at fault (unknown degradation sets list the known ones).
    """
    degradation_set = get_degradation_set(degradations)
    Degradation(ratio, degradation_set.specs[0])  # validates the ratio early, with the usual message
    if isinstance(patch_size, bool) or int(patch_size) != patch_size or patch_size < 1 or int(patch_size) % int(ratio):
        raise ValueError(f"patch_size must be a positive multiple of ratio={ratio}, got {patch_size!r}")
    embedded = data_dirs is None
    if embedded:
        if kind == "music":
            from keras_audiosr.data.music import DEFAULT_MUSIC_CORPUS_NAME, make_default_music_corpus

            data_dirs = [make_default_music_corpus()]
            label = (
                f"embedded default music corpus ({DEFAULT_MUSIC_CORPUS_NAME}: generated piano-like pieces, "
                "not recordings; pass --data-dir for a real corpus)"
            )
        else:
            from keras_audiosr.data.embedded import (
                EMBEDDED_CORPUS_NAME,
                EMBEDDED_RATE,
                EMBEDDED_TEST_SPEAKERS,
                embedded_corpus_dir,
            )

            if int(hr_rate) > EMBEDDED_RATE:
                raise ValueError(
                    f"the embedded default corpus is {EMBEDDED_RATE} Hz speech, so it cannot train a "
                    f"model with a high rate of {hr_rate} Hz; pass --data-dir with recordings at "
                    f"{hr_rate} Hz or above"
                )
            data_dirs = [embedded_corpus_dir()]
            label = (
                f"embedded default corpus ({EMBEDDED_CORPUS_NAME}: 48 real recordings of 11 speakers, LJ Speech "
                f"and VCTK, {EMBEDDED_RATE} Hz, packaged with keras_audiosr; a demonstration, pass --data-dir "
                f"for a real corpus)"
            )
            if task == "single" and not test_speakers and split_options is None:
                split_options = {"speaker": None, "n_test": 2}
            elif task == "multi" and not test_speakers:
                test_speakers = list(EMBEDDED_TEST_SPEAKERS)
    else:
        data_dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else list(data_dirs)
        label = ", ".join(str(Path(d).expanduser()) for d in data_dirs)
    corpora = load_corpora(
        data_dirs, task=task, test_speakers=test_speakers, weights=weights, kind=kind, split_options=split_options
    )
    check_test_files(corpora.test, hr_rate)  # read only after training: a bad one must fail now, not then
    if channels is None:
        channels = "separate" if all(c.kind == "music" for c in corpora.corpora) else "mix"
    store = prepare_store(
        corpora.train,
        hr_rate,
        channels=channels,
        corpora=corpora.train_corpora,
        cache_dir=cache_dir,
        workers=workers,
        progress=progress,
    )
    present = {f.corpus for f in store.files}
    weights = None if corpora.weights is None else {k: w for k, w in corpora.weights.items() if k in present}
    data = TrainingData(
        corpora=corpora,
        store=store,
        ratio=int(ratio),
        hr_rate=int(hr_rate),
        patch_size=int(patch_size),
        degradations=degradation_set,
        same_rate=bool(same_rate),
        silence_db=silence_db,
        seed=int(seed),
        label=label,
        embedded=embedded,
        weights=weights,
    )
    data.sampler()  # fails now, not at the first batch, when no file is long enough or weights are bad
    return data


def folder_data(
    data_dirs,
    model,
    *,
    patch_size: int = 8192,
    degradations=None,
    seed: int = 0,
    cache_dir=None,
    progress: bool = False,
    **kwargs,
) -> TrainingData:
    """:func:`prepare_training_data` for fine-tuning ``model`` on a folder of recordings (or several).

    The rates, ratio and input degradations come from the model (its ``hr_rate``, ``ratio`` and
    ``training_degradations``, else its recorded ``degradation``), so the pairs are made as the model
    was trained; ``degradations`` overrides them. A folder of one speaker holds out a share of its
    files (``data.split.test``, for evaluation). Other keywords go to :func:`prepare_training_data`.
    """
    ratio, hr_rate = int(model.ratio), int(model.hr_rate)
    if degradations is None:
        degradations = getattr(model, "training_degradations", None)
    if degradations is None:
        degradations = Degradation.from_dict(dict(model.degradation)).filter
    patch_size = int(patch_size) - int(patch_size) % ratio
    return prepare_training_data(
        data_dirs,
        hr_rate=hr_rate,
        ratio=ratio,
        patch_size=patch_size,
        degradations=degradations,
        seed=seed,
        cache_dir=cache_dir,
        progress=progress,
        **kwargs,
    )


def folder_dataset(
    data_dirs,
    model,
    *,
    batch_size: int = 8,
    patch_size: int = 8192,
    degradations=None,
    seed: int = 0,
    cache_dir=None,
    progress: bool = False,
    **kwargs,
):
    """An endless ``tf.data.Dataset`` of ``(low [B, L, 1], high [B, P, 1])`` float32 pairs from a folder of
    recordings, made for ``model`` (see :func:`folder_data`), ready for ``model.fit(..., steps_per_epoch=N)``::

        model = keras_audiosr.pretrained.load("telephony-8k-16k")
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
        model.fit(folder_dataset("my-voices", model), epochs=5, steps_per_epoch=50)

    Random crops of ``patch_size`` high-rate samples, inputs degraded on the fly; only the training
    files of the split are used.
    """
    data = folder_data(
        data_dirs,
        model,
        patch_size=patch_size,
        degradations=degradations,
        seed=seed,
        cache_dir=cache_dir,
        progress=progress,
        **kwargs,
    )
    return data.dataset(batch_size, seed=seed)
