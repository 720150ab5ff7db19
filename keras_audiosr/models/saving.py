"""Loading and saving audio super-resolution models as ``.keras`` files.

:func:`load_model` is what inference, evaluation, the edge exporter and training's warm start use;
:func:`save_model` writes a model for use: architecture and weights, without the optimizer state
(resumable training state lives in a run's backup, not in its ``model.keras``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras

__all__ = ["ModelError", "load_model", "save_model", "without_optimizer"]


class ModelError(ValueError):
    """A model file that cannot be used: not a ``.keras`` archive, corrupt, or not an audio SR model."""


def load_model(path):
    """Load a saved :class:`~keras_audiosr.models.AudioSRModel` from a ``.keras`` file (compile=False).

    Raises ``FileNotFoundError`` when ``path`` does not exist and :class:`ModelError` (a
    ``ValueError``) when it is not a ``.keras`` zip archive, cannot be deserialised, or holds a Keras
    model that does not carry ``ratio`` and ``hr_rate`` (not an audio super-resolution model); every
    message names ``path``.
    """
    from keras_audiosr import register_serializables

    register_serializables()  # every layer, model and trainer class a saved file may hold
    from keras_audiosr.models.audio_sr_model import AudioSRModel

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: model file not found")
    if p.is_dir():
        raise ModelError(f"{p}: is a directory; expected a .keras model file")
    if not zipfile.is_zipfile(p):
        raise ModelError(f"{p}: not a Keras .keras model archive (not a zip file)")
    try:
        model = keras.models.load_model(p, compile=False)
    except Exception as e:  # keras raises many types for a damaged archive
        raise ModelError(f"{p}: cannot load the Keras model ({type(e).__name__}: {e})") from e
    if not isinstance(model, AudioSRModel):
        missing = [a for a in ("ratio", "hr_rate") if not hasattr(model, a)]
        raise ModelError(
            f"{p}: holds a {type(model).__name__}, not an audio super-resolution model "
            f"(keras_audiosr.models.AudioSRModel; missing {', '.join(missing) or 'its base class'})"
        )
    return model


def rebuilt(model, **changes):
    """A new, uncompiled ``model`` built from its config with ``changes`` and given its weights (fixed,
    weightless layers, e.g. an interpolation kernel, follow the changed config)."""
    copy = type(model).from_config(dict(model.get_config(), **changes))
    copy.set_weights(model.get_weights())
    return copy


def without_optimizer(model):
    """``model`` itself when it was never compiled, else an uncompiled copy with the same config and weights."""
    if getattr(model, "optimizer", None) is None:
        return model
    return rebuilt(model)


def save_model(model, path):
    """Writes ``model`` for use to ``path`` (atomically): config and weights, no optimizer or compile state."""
    from keras_audiosr.utils import save_model_atomic

    return save_model_atomic(without_optimizer(model), path)
