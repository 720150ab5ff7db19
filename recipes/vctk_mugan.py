"""MU-GAN (Kim & Sathe) on VCTK: ``python -m recipes.vctk_mugan [--data-dir ~/data/VCTK-Corpus]``.

Stage 1 trains the autoencoder (the generator without skips) for the feature loss; stage 2 trains
generator and discriminator with L2 + 1.0 * feature + 0.001 * adversarial. Each stage resumes
where it was when the command is run again with the same ``--out``.
"""
from keras_audiosr.training import mugan
from keras_audiosr.training.config import RecipeConfig
from keras_audiosr.training.runner import Recipe

RECIPE = Recipe(
    name="vctk_mugan",
    description=__doc__,
    defaults=RecipeConfig(filter="cheby1:8", batch_size=16, learning_rate=1e-4, loss="l2", out="runs/vctk_mugan"),
    build=mugan.build_gan,
    epochs=(4, 50),
    flags=mugan.STAGE_FLAGS,
    before_build=mugan.train_autoencoder,
)
main = RECIPE.main

if __name__ == "__main__":
    main()
