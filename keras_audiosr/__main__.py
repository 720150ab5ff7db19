"""``python -m keras_audiosr``: the ``keras-audiosr`` command line (see :mod:`keras_audiosr.cli`)."""

import sys

from keras_audiosr.cli import main

if __name__ == "__main__":
    sys.exit(main())
