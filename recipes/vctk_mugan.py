"""MU-GAN (Kim & Sathe) on VCTK: ``python -m recipes.vctk_mugan [--data-dir ~/data/VCTK-Corpus]``.

Stage 1 trains the autoencoder (the generator without skips) for the feature loss; stage 2 trains
generator and discriminator with the sample loss + 1.0 * feature + 0.001 * adversarial. Each stage
resumes where it was when the command is run again with the same ``--out``. Defaults are the
package's recommended setup (``--degradations speech-robust``, band-preserving output, ``--loss
l2+mrstft``); the paper's configuration: ``--degradations cheby1:8 --no-band-preserving --loss l2``.
``--downsample strided`` replaces SuperPixel1D by stride-2 convolutions (the paper's Table 5 comparison).
Needs the TensorFlow backend (the adversarial training step is TensorFlow code).
"""
from keras_audiosr.training import mugan
from keras_audiosr.training.config import RecipeConfig
from keras_audiosr.training.runner import Recipe

RECIPE = Recipe(
    name="vctk_mugan",
    description=__doc__,
    defaults=RecipeConfig(degradations="speech-robust", loss="l2+mrstft", batch_size=16, learning_rate=1e-4,
                          out="runs/vctk_mugan"),
    build=mugan.build_gan,
    epochs=(4, 50),
    embedded={"steps_per_epoch": 40, "batch_size": 8},
    flags=mugan.STAGE_FLAGS,
    extra_metrics=mugan.extra_metrics,
    before_build=mugan.train_autoencoder,
    backends=("tensorflow",),
)
main = RECIPE.main

if __name__ == "__main__":
    main()
