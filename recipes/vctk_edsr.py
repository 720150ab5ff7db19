"""``python -m recipes.vctk_edsr``: the recipe :mod:`keras_audiosr.recipes.vctk_edsr`
(installed: ``keras-audiosr train vctk_edsr``)."""

from keras_audiosr.recipes.vctk_edsr import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
