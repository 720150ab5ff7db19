"""keras_audiosr: neural audio super-resolution (bandwidth extension) with Keras 3.

Importing the package registers every custom layer, model and metric with Keras, so
``keras.models.load_model("model.keras")`` works with no ``custom_objects``.
"""
__version__ = "0.1.0"

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, unless the user asks for it

from keras_audiosr import layers  # noqa: E402,F401  (registers serializable layers)
from keras_audiosr import metrics  # noqa: E402,F401
from keras_audiosr import models  # noqa: E402,F401
