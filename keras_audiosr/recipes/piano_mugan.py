"""MU-GAN on a piano corpus: ``python -m recipes.piano_mugan [--data-dir PIANO_DIR]``.

The VCTK MU-GAN recipe's two stages (autoencoder, then GAN) on music: a folder of piano recordings
with a split file or a deterministic hash split; without ``--data-dir`` the generated piano-like
corpus. Inputs: ``--degradations cheby1:8`` (the paper's filter; any set or spec works). The
generator is band-preserving by default; ``--no-band-preserving`` gives the paper's graph;
``--downsample strided`` replaces SuperPixel1D by stride-2 convolutions (the paper's Table 5
comparison). Needs the TensorFlow backend (the adversarial training step is TensorFlow code).
"""

from keras_audiosr.recipes.config import DataSpec, RecipeConfig
from keras_audiosr.recipes.recipe import Recipe
from keras_audiosr.recipes.vctk_mugan import STAGE_FLAGS, build_gan, extra_metrics, train_autoencoder

RECIPE = Recipe(
    name="piano_mugan",
    description=__doc__,
    defaults=RecipeConfig(
        degradations="cheby1:8", batch_size=16, learning_rate=1e-4, loss="l2", out="runs/piano_mugan"
    ),
    build=build_gan,
    epochs=(4, 50),
    flags=STAGE_FLAGS,
    extra_metrics=extra_metrics,
    data=DataSpec(corpus="music"),
    before_build=train_autoencoder,
    backends=("tensorflow",),
)
main = RECIPE.main

if __name__ == "__main__":
    main()
