"""``python -m recipes.vctk_mugan``: the recipe
:mod:`keras_audiosr.recipes.vctk_mugan`
(installed: ``keras-audiosr train vctk_mugan``)."""

from keras_audiosr.recipes.vctk_mugan import RECIPE, main

__all__ = ["RECIPE", "main"]

if __name__ == "__main__":
    main()
