"""``python -m edge.compare``: models and their exported variants side by side on evaluation audio
(:mod:`keras_audiosr.export.compare`)."""
import sys

from keras_audiosr.export.compare import main

if __name__ == "__main__":
    sys.exit(main())
