"""``python -m recipes.vctk_unet``: the recipe :mod:`keras_audiosr.recipes.vctk_unet`
(installed: ``keras-audiosr train vctk_unet``)."""

from keras_audiosr.recipes.vctk_unet import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
