"""keras_audiosr: neural audio super-resolution (bandwidth extension) with Keras 3.

``import keras_audiosr`` is light: it loads no TensorFlow, so the command line and the rooms that
need none (audio, degrade, baselines, utils) start fast. Submodules load on first use
(``keras_audiosr.models.AudioUNet`` works after a bare ``import keras_audiosr``).

The package's Keras objects (layers, models, metrics, losses, the adversarial trainer) are
registered with Keras before any ``.keras`` file can be loaded: at once when Keras is already
imported, else as soon as Keras is imported (by the user or by one of the package's rooms); so
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
_SERIALIZABLE = ("layers", "models", "training", "training.metrics")
_registered = False


def register_serializables() -> None:
    """Import the modules that register the package's Keras objects (imports Keras and TensorFlow)."""
    global _registered
    if not _registered:
        for name in _SERIALIZABLE:
            importlib.import_module(f"{__name__}.{name}")
        _registered = True
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(_RegisterWithKeras)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))


def _initializing(module) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _register_what_can_be(finished: str | None = None) -> None:
    """:func:`register_serializables` from inside an import (``finished``: the module whose code has
    just run): a room half-way through its own import registers itself as it finishes, and a room
    that imports a name from it is left for the next try."""
    global _registered
    complete = True
    for name in _SERIALIZABLE:
        full = f"{__name__}.{name}"
        module = sys.modules.get(full)
        if module is not None:
            complete &= full == finished or not _initializing(module)
            continue
        try:
            importlib.import_module(full)
        except ImportError as e:  # it imports a name from a room that is still half-way through its import
            if "partially initialized" not in str(e):
                raise
            complete = False
    _registered = complete
    if complete:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(_RegisterWithKeras)


class _RegisterWithKeras:
    """Import hook that registers the package's Keras objects as soon as Keras is loaded.

    It runs the registration after ``keras`` is executed and again after each serializable room
    (``layers``, ``metrics``, ``models``, ``training``) is, until every room is registered: when
    Keras is first imported by one of those rooms, a room that imports from it (``models`` from
    ``layers``) can only be imported once that room is complete. It removes itself when done.
    """

    _names = frozenset(["keras", *(f"{__name__}.{n}" for n in _SERIALIZABLE)])
    _finding = False

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        # Also asked by mere look-ups (TensorFlow's importlib.util.find_spec("keras")), so it stays
        # installed until the registration is complete.
        if fullname not in cls._names or cls._finding:
            return None
        cls._finding = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            cls._finding = False
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            if not _registered and "keras" in sys.modules:
                _register_what_can_be(finished=fullname)

        loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    register_serializables()
else:
    sys.meta_path.insert(0, _RegisterWithKeras)
