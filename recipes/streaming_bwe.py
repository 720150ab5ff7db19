"""``python -m recipes.streaming_bwe``: the recipe :mod:`keras_audiosr.recipes.streaming_bwe` (installed:
``keras-audiosr train streaming_bwe``)."""

from keras_audiosr.recipes.streaming_bwe import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
