"""``python -m edge.benchmark``: exported models side by side (:mod:`keras_audiosr.export.benchmark`)."""
import sys

from keras_audiosr.export.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
