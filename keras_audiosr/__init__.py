"""keras_audiosr: neural audio super-resolution (bandwidth extension) with Keras 3.

``import keras_audiosr`` is light: it loads no TensorFlow, so the command line and the numpy-only
rooms (audio, degrade, baselines, metrics' numpy forms...) start fast. Submodules load on first use
(``keras_audiosr.models.AudioUNet`` works after a bare ``import keras_audiosr``).

The package's Keras objects (layers, models, metrics, losses, the adversarial trainer) are
registered with Keras before any ``.keras`` file can be loaded: at once when Keras is already
imported, else right after Keras is first imported; so
``keras.models.load_model("model.keras")`` needs no ``custom_objects`` once ``keras_audiosr`` is
imported, in either order. :func:`register_serializables` does it explicitly.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys

__version__ = "0.1.0"

_SUBMODULES = ("audio", "baselines", "cli", "data", "degrade", "evaluation", "inference", "layers", "metrics",
               "models", "plots", "training", "utils")
# The modules that register Keras serializables, in an order that imports cleanly.
_SERIALIZABLE = ("layers", "metrics", "models", "training")
_registered = False


def register_serializables() -> None:
    """Import the modules that register the package's Keras objects (imports Keras and TensorFlow)."""
    global _registered
    if not _registered:
        for name in _SERIALIZABLE:
            importlib.import_module(f"{__name__}.{name}")
        _registered = True


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))


def _importing_this_package() -> bool:
    """Whether one of this package's modules is half-way through its own import (Keras imported from it)."""
    return any(getattr(getattr(m, "__spec__", None), "_initializing", False)
               for n, m in list(sys.modules.items()) if n == __name__ or n.startswith(__name__ + "."))


class _RegisterAfterKeras:
    """One-shot import hook: registers the package's Keras objects as soon as ``keras`` has been imported.

    When Keras is first imported by one of this package's own modules (``keras_audiosr.layers``...),
    that module registers what it defines, and registering the rest then would re-enter a module
    that is only half imported; the hook leaves it to that import and :func:`register_serializables`.
    """

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(cls)
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            if not _importing_this_package():
                register_serializables()

        loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    register_serializables()
else:
    sys.meta_path.insert(0, _RegisterAfterKeras)
