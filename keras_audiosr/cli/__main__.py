"""``python -m keras_audiosr.cli``: the ``keras-audiosr`` command line."""

import sys

from keras_audiosr.cli import main

if __name__ == "__main__":
    sys.exit(main())
