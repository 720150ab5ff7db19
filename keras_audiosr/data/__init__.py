"""Data: corpus readers, splits, the prepared store, the streaming pipeline, embedded default corpora.

Training data at corpus scale: :func:`prepare_training_data` (corpora -> splits -> store -> stream).
"""

from keras_audiosr.data.corpus import SPEAKER_FROM, VCTK_LAYOUTS, Utterance, find_audio_folder, find_vctk, load_corpus
from keras_audiosr.data.embedded import EMBEDDED_CORPUS_NAME, EMBEDDED_RATE, EMBEDDED_TEST_SPEAKERS, embedded_corpus_dir
from keras_audiosr.data.splits import TASKS, Split, make_split, split_multi_speaker, split_single_speaker
from keras_audiosr.data.store import default_cache_dir
from keras_audiosr.data.synthetic import DEFAULT_CORPUS_NAME, make_default_corpus, synthesize_utterance

__all__ = [
    "Utterance",
    "find_vctk",
    "find_audio_folder",
    "load_corpus",
    "VCTK_LAYOUTS",
    "SPEAKER_FROM",
    "Split",
    "TASKS",
    "split_single_speaker",
    "split_multi_speaker",
    "make_split",
    "default_cache_dir",
    "EMBEDDED_CORPUS_NAME",
    "EMBEDDED_RATE",
    "EMBEDDED_TEST_SPEAKERS",
    "embedded_corpus_dir",
    "DEFAULT_CORPUS_NAME",
    "make_default_corpus",
    "synthesize_utterance",
]


# Loaded on first use: SamplerBatches imports Keras (and so its backend); the rest of this package
# imports neither Keras nor TensorFlow (the stream imports TensorFlow only to build a tf.data pipeline).
_LAZY = {
    "SamplerBatches": "batches",
    **{
        name: "music"
        for name in (
            "DEFAULT_MUSIC_CORPUS_NAME",
            "DEFAULT_SHARES",
            "SPLIT_FILE_NAMES",
            "MusicFile",
            "MusicSplit",
            "find_music",
            "find_split_file",
            "hash_unit",
            "load_music",
            "make_default_music_corpus",
            "read_split_file",
            "split_music",
            "synthesize_piece",
        )
    },
}
__all__ += list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"keras_audiosr.data.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_audiosr.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


from keras_audiosr.data.corpora import CORPUS_KINDS, Corpus, CorpusSet, load_corpora  # noqa: E402
from keras_audiosr.data.prepare import (  # noqa: E402
    TrainingData,
    check_test_files,
    folder_data,
    folder_dataset,
    prepare_training_data,
)
from keras_audiosr.data.store import STORE_FORMAT, SignalStore, StoredFile, prepare_store  # noqa: E402
from keras_audiosr.data.stream import CropSampler, shard_files  # noqa: E402

__all__ += [
    "CORPUS_KINDS",
    "Corpus",
    "CorpusSet",
    "load_corpora",
    "TrainingData",
    "prepare_training_data",
    "folder_data",
    "folder_dataset",
    "check_test_files",
    "STORE_FORMAT",
    "SignalStore",
    "StoredFile",
    "prepare_store",
    "CropSampler",
    "shard_files",
]
