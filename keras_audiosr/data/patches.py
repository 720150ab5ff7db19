"""Transitional: ``prepare_signal`` moved to :func:`keras_audiosr.audio.read_at_rate`.

The in-memory patch extraction and its ``.npz`` cache that lived here are gone (training streams
from the prepared store: :func:`keras_audiosr.data.prepare_training_data`). This module only keeps
the old import path of ``prepare_signal`` working for the rooms that still use it; import
``keras_audiosr.audio.read_at_rate`` instead.
"""
from keras_audiosr.audio import read_at_rate as prepare_signal

__all__ = ["prepare_signal"]
