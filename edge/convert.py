"""``python -m edge.convert``: a trained .keras model -> a checked .tflite (:mod:`keras_audiosr.export.convert`)."""

import sys

from keras_audiosr.export.convert import main
from keras_audiosr.utils import filtered_stderr

if __name__ == "__main__":
    with filtered_stderr("--verbose" in sys.argv[1:]):  # TensorFlow's and LiteRT's start-up lines hidden
        sys.exit(main())
