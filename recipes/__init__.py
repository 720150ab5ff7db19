"""Repository entry points of the training recipes: ``python -m recipes.NAME ...`` from a clone.

Each module is a few lines over :mod:`keras_audiosr.recipes`, where the recipes live (installed users run
``keras-audiosr train NAME ...`` or ``python -m keras_audiosr.recipes.NAME ...``).
"""
