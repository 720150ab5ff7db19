"""``python -m recipes.music_resnet``: the recipe :mod:`keras_audiosr.recipes.music_resnet` (installed:
``keras-audiosr train music_resnet``)."""

from keras_audiosr.recipes.music_resnet import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
