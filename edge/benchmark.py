"""``python -m edge.benchmark``: exported models side by side (:mod:`keras_audiosr.export.benchmark`)."""

import sys

from keras_audiosr.export.benchmark import main
from keras_audiosr.utils import filtered_stderr

if __name__ == "__main__":
    with filtered_stderr("--verbose" in sys.argv[1:]):  # TensorFlow's and LiteRT's start-up lines hidden
        sys.exit(main())
