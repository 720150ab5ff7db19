"""MU-GAN (Kim & Sathe) on VCTK: ``python -m recipes.vctk_mugan [--data-dir ~/data/VCTK-Corpus]``.

Stage 1 trains the autoencoder (the generator without skips) for the feature loss; stage 2 trains
generator and discriminator with the sample loss + 1.0 * feature + 0.001 * adversarial. Each stage
resumes where it was when the command is run again with the same ``--out``. Defaults are the
package's recommended setup (``--degradations speech-robust``, band-preserving output, ``--loss
l2+mrstft``); the paper's configuration: ``--degradations cheby1:8 --no-band-preserving --loss l2``.
``--downsample strided`` replaces SuperPixel1D by stride-2 convolutions (the paper's Table 5 comparison).
Needs the TensorFlow backend (the adversarial training step is TensorFlow code).
"""

from keras_audiosr.recipes.config import RecipeConfig, non_negative_float, positive_int
from keras_audiosr.recipes.recipe import Recipe

#: ``--downsample``: keras_audiosr.models.mu_gan.DOWNSAMPLING (the recipe's tests check that they agree).
DOWNSAMPLING = ("superpixel", "strided")

#: The flags of MU-GAN's two stages (keras_audiosr.training.mugan reads them from ``cfg.extra``); the piano
#: recipe shares them.
STAGE_FLAGS = {
    "ae_epochs": dict(
        type=positive_int, default=None, help="autoencoder (stage 1) epochs (default: the recipe's epochs)"
    ),
    "feature_weight": dict(type=non_negative_float, default=1.0, help="lambda_f of the autoencoder feature loss"),
    "adversarial_weight": dict(type=non_negative_float, default=1e-3, help="lambda_adv of the adversarial loss"),
    "downsample": dict(
        choices=DOWNSAMPLING,
        default="superpixel",
        help="down-sampling of the generator and autoencoder blocks: superpixel (the paper's MU-GAN) "
        "or strided (stride-2 convolutions, the paper's Table 5 alternative)",
    ),
}


def extra_metrics(cfg):
    """The stage flags ``metrics.json`` records beside the core ones: ``{"downsample": ...}``."""
    return {"downsample": cfg.extra["downsample"]}


def build_gan(cfg, degradation, **stage):
    """Stage 2's compiled GAN (:func:`keras_audiosr.training.mugan.build_gan`)."""
    from keras_audiosr.training import mugan

    return mugan.build_gan(cfg, degradation, **stage)


def train_autoencoder(cfg, data, strategy):
    """Stage 1 (:func:`keras_audiosr.training.mugan.train_autoencoder`): its outputs go to :func:`build_gan`."""
    from keras_audiosr.training import mugan

    return mugan.train_autoencoder(cfg, data, strategy)


RECIPE = Recipe(
    name="vctk_mugan",
    description=__doc__,
    defaults=RecipeConfig(
        degradations="speech-robust", loss="l2+mrstft", batch_size=16, learning_rate=1e-4, out="runs/vctk_mugan"
    ),
    build=build_gan,
    epochs=(4, 50),
    embedded={"steps_per_epoch": 40, "batch_size": 8},
    flags=STAGE_FLAGS,
    extra_metrics=extra_metrics,
    before_build=train_autoencoder,
    backends=("tensorflow",),
)
main = RECIPE.main

if __name__ == "__main__":
    main()
