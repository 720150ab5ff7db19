"""``python -m recipes.piano_mugan``: the recipe :mod:`keras_audiosr.recipes.piano_mugan` (installed:
``keras-audiosr train piano_mugan``)."""

from keras_audiosr.recipes.piano_mugan import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
