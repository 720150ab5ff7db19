"""Recipes: ``python -m recipes.<name>``, one module per system (its defaults, flags and build step).

Importing the package prepares the recipes' command line. On the TensorFlow backend it silences
TensorFlow's start-up lines (``KERAS_AUDIOSR_VERBOSE=1`` shows them). Where TensorFlow is not
installed and ``KERAS_BACKEND`` is not set, it picks Keras's JAX backend when JAX is there (and
says so), so the recipes train on machines that carry JAX only.
"""
import importlib.util as _util
import os as _os

from keras_audiosr.utils import configured_backend as _configured_backend

if "KERAS_BACKEND" not in _os.environ and _configured_backend() == "tensorflow" \
        and _util.find_spec("tensorflow") is None and _util.find_spec("jax") is not None:
    _os.environ["KERAS_BACKEND"] = "jax"
    print("[keras_audiosr] TensorFlow is not installed: using Keras's JAX backend (set KERAS_BACKEND to choose)",
          flush=True)

if _configured_backend() == "tensorflow" and _os.environ.get("KERAS_AUDIOSR_VERBOSE") != "1":
    from keras_audiosr.utils import quiet_tensorflow as _quiet

    _quiet()
