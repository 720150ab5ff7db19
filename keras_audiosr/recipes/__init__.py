"""The training recipes: one module per system (its defaults, its own flags and its build step).

Run one as ``keras-audiosr train NAME ...``, ``python -m keras_audiosr.recipes.NAME ...``, or from a clone
``python -m recipes.NAME ...``; ``--help`` lists its flags. Importing a recipe loads no Keras and changes
no environment: the backend starts when the recipe runs (:meth:`keras_audiosr.recipes.recipe.Recipe.main`).

* ``vctk_unet``     -- AudioUNet (Kuleshov et al.) on VCTK
* ``vctk_unet_gan`` -- AudioUNet trained against a critic (WGAN-GP, WaveGAN, or HiFi-GAN's MPD + MRD)
* ``vctk_edsr``     -- AudioEDSR (King et al.) on VCTK
* ``vctk_mugan``    -- MU-GAN (Kim & Sathe) on VCTK; ``piano_mugan`` on piano recordings
* ``music_resnet``  -- same-rate music bandwidth extension (Sulun & Davies)
* ``streaming_bwe`` -- StreamingBWE, the causal int8 streaming model for the edge
"""

from __future__ import annotations

import importlib

__all__ = ["RECIPES", "get_recipe"]

RECIPES = ("vctk_unet", "vctk_unet_gan", "vctk_edsr", "vctk_mugan", "piano_mugan", "music_resnet", "streaming_bwe")


def get_recipe(name: str):
    """The :class:`~keras_audiosr.recipes.recipe.Recipe` named ``name``; ValueError listing the recipes otherwise."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}")
    return importlib.import_module(f"{__name__}.{name}").RECIPE
