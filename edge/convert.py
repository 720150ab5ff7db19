"""``python -m edge.convert``: a trained .keras model -> a checked .tflite (:mod:`keras_audiosr.export.convert`)."""
import sys

from keras_audiosr.export.convert import main

if __name__ == "__main__":
    sys.exit(main())
