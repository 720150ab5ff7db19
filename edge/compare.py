"""``python -m edge.compare``: models and their exported variants side by side on evaluation audio
(:mod:`keras_audiosr.export.compare`)."""

import sys

from keras_audiosr.export.compare import main
from keras_audiosr.utils import filtered_stderr

if __name__ == "__main__":
    with filtered_stderr("--verbose" in sys.argv[1:]):  # TensorFlow's and LiteRT's start-up lines hidden
        sys.exit(main())
