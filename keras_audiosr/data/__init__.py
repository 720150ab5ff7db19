"""Data: corpus readers, splits, patches, tf.data pipelines, embedded default corpus."""
from keras_audiosr.data.corpus import SPEAKER_FROM, VCTK_LAYOUTS, Utterance, find_audio_folder, find_vctk, load_corpus
from keras_audiosr.data.patches import (CACHE_FORMAT, PatchConfig, Patches, default_cache_dir, extract_patches,
                                        prepare_signal)
from keras_audiosr.data.pipeline import make_dataset
from keras_audiosr.data.splits import TASKS, Split, make_split, split_multi_speaker, split_single_speaker
from keras_audiosr.data.synthetic import DEFAULT_CORPUS_NAME, make_default_corpus, synthesize_utterance

__all__ = [
    "Utterance", "find_vctk", "find_audio_folder", "load_corpus", "VCTK_LAYOUTS", "SPEAKER_FROM",
    "Split", "TASKS", "split_single_speaker", "split_multi_speaker", "make_split",
    "PatchConfig", "Patches", "prepare_signal", "extract_patches", "default_cache_dir", "CACHE_FORMAT",
    "make_dataset",
    "DEFAULT_CORPUS_NAME", "make_default_corpus", "synthesize_utterance",
]

