"""keras_audiosr: neural audio super-resolution (bandwidth extension) with Keras 3.

``import keras_audiosr`` is light: it loads no Keras and no TensorFlow, so the command line and the
light core (audio, degrade, metrics, evaluation, streaming, pretrained, cli) start fast. Submodules
load on first use (``keras_audiosr.models.AudioUNet`` works after a bare ``import keras_audiosr``).

The package's Keras objects (layers, models, metrics, losses, the adversarial trainer) register
themselves with ``@keras.saving.register_keras_serializable`` as their modules are imported. The
package's loaders (:func:`keras_audiosr.models.saving.load_model`, :func:`keras_audiosr.pretrained.load`)
import them first; before calling ``keras.models.load_model`` yourself, call
:func:`register_serializables` (or import the modules the file needs).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "args",
    "audio",
    "baselines",
    "cli",
    "data",
    "degrade",
    "evaluation",
    "export",
    "inference",
    "layers",
    "metrics",
    "models",
    "plots",
    "pretrained",
    "recipes",
    "streaming",
    "training",
    "utils",
)
# The modules whose import registers the package's Keras serializables.
_SERIALIZABLE = ("layers", "models", "training", "training.metrics")


def register_serializables() -> None:
    """Import the modules that register the package's Keras objects (imports Keras and TensorFlow), so that
    ``keras.models.load_model`` finds every class of a saved model without ``custom_objects``."""
    for name in _SERIALIZABLE:
        importlib.import_module(f"{__name__}.{name}")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
