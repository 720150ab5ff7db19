"""Recipes: ``python -m recipes.<name>``, one module per system (its defaults, flags and build step).

Importing the package silences TensorFlow's start-up lines for the recipes' command line
(``KERAS_AUDIOSR_VERBOSE=1`` shows them).
"""
import os as _os

if _os.environ.get("KERAS_AUDIOSR_VERBOSE") != "1":
    from keras_audiosr.utils import quiet_tensorflow as _quiet

    _quiet()
