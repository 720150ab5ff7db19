"""Data: corpus readers, splits, the prepared store, the streaming tf.data pipeline, embedded default corpora.

Training data at corpus scale: :func:`prepare_training_data` (corpora -> splits -> store -> stream).
"""
from keras_audiosr.data.corpus import SPEAKER_FROM, VCTK_LAYOUTS, Utterance, find_audio_folder, find_vctk, load_corpus
from keras_audiosr.data.patches import (CACHE_FORMAT, PatchConfig, Patches, default_cache_dir, extract_patches,
                                        prepare_signal)
from keras_audiosr.data.splits import TASKS, Split, make_split, split_multi_speaker, split_single_speaker
from keras_audiosr.data.synthetic import DEFAULT_CORPUS_NAME, make_default_corpus, synthesize_utterance

__all__ = [
    "Utterance", "find_vctk", "find_audio_folder", "load_corpus", "VCTK_LAYOUTS", "SPEAKER_FROM",
    "Split", "TASKS", "split_single_speaker", "split_multi_speaker", "make_split",
    "PatchConfig", "Patches", "prepare_signal", "extract_patches", "default_cache_dir", "CACHE_FORMAT",
    "DEFAULT_CORPUS_NAME", "make_default_corpus", "synthesize_utterance",
]


# These import TensorFlow: loaded on first use, so that preparing and reading the store (and worker
# processes that do only that) need no TensorFlow.
_LAZY = {
    "make_dataset": "pipeline",
    **{name: "multifilter" for name in (
        "CHANNEL_MODES", "MULTIFILTER_MODES", "SEEN_FILTER_DEFAULT", "MultiFilterAugment", "MultiFilterPatches",
        "evaluation_filters", "extract_multifilter_patches", "filter_bank", "make_input", "make_multifilter_dataset",
        "pipeline_throughput", "training_throughput")},
    **{name: "music" for name in (
        "DEFAULT_MUSIC_CORPUS_NAME", "DEFAULT_SHARES", "SPLIT_FILE_NAMES", "MusicFile", "MusicSplit", "find_music",
        "find_split_file", "hash_unit", "load_music", "make_default_music_corpus", "music_patches",
        "read_split_file", "split_music", "synthesize_piece")},
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

from keras_audiosr.data.corpora import CORPUS_KINDS, Corpus, CorpusSet, load_corpora
from keras_audiosr.data.prepare import TrainingData, prepare_training_data
from keras_audiosr.data.store import STORE_FORMAT, SignalStore, StoredFile, prepare_store
from keras_audiosr.data.stream import CropSampler, shard_files

__all__ += [
    "CORPUS_KINDS", "Corpus", "CorpusSet", "load_corpora", "TrainingData", "prepare_training_data",
    "STORE_FORMAT", "SignalStore", "StoredFile", "prepare_store", "CropSampler", "shard_files",
]
