"""``python -m recipes.vctk_unet_gan``: the recipe :mod:`keras_audiosr.recipes.vctk_unet_gan`
(installed: ``keras-audiosr train vctk_unet_gan``)."""

from keras_audiosr.recipes.vctk_unet_gan import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
