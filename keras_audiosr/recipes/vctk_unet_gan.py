"""AudioUNetGAN on VCTK: ``python -m recipes.vctk_unet_gan [--data-dir ~/data/VCTK-Corpus]``.

AudioUNet generator trained adversarially against one of three critics:

- ``--critic unet`` (default): WGAN-GP with a convolutional critic (King et al.: n_critic 5,
  lambda 10, Adam 1e-4 (0.9, 0.999));
- ``--critic wavegan --adversarial gan``: the UNet + phase-shuffle WaveGAN critic of the Retzloeff
  report (lambda_adv 0.01); ``--adversarial wgan`` uses weight clipping (RMSprop 5e-5);
- ``--critic mpd+mrd``: HiFi-GAN's multi-period and UnivNet's multi-resolution spectrogram critics
  together, with the LSGAN loss and feature matching (weight 2), one critic update per step,
  AdamW 2e-4 (0.8, 0.99).

``--learning-rate`` replaces the variant's learning rate. ``--init-from M.keras`` (or a shipped
model's name) warm-starts the generator, e.g. from ``recipes.vctk_unet``. Defaults are the
package's recommended setup (``--degradations speech-robust``, band-preserving output, ``--loss
l2+mrstft`` as the sample loss); the paper's configuration: ``--degradations cheby1:8
--no-band-preserving --loss l2``. Needs the TensorFlow backend (the adversarial training step is
TensorFlow code).
"""

from keras_audiosr.recipes.config import RecipeConfig, non_negative_float, positive_int
from keras_audiosr.recipes.recipe import Recipe

#: ``--critic``: the critic classes of each choice (keras_audiosr.models).
CRITICS = {
    "unet": ("AudioUNetGANCritic",),
    "wavegan": ("WaveGANCritic",),
    "mpd+mrd": ("MultiPeriodCritic", "MultiResolutionCritic"),
}
#: ``--adversarial``: the variants of keras_audiosr.training.losses.ADVERSARIAL_LOSSES with their default critic
#: updates per generator update (the recipe's tests check that they agree).
ADVERSARIAL_N_CRITIC = {"wgan-gp": 5, "wgan": 5, "gan": 5, "lsgan": 1, "hinge": 1}
# The adversarial loss and feature-matching weight each critic comes with (the flags override them).
CRITIC_DEFAULTS = {"unet": ("wgan-gp", 0.0), "wavegan": ("wgan-gp", 0.0), "mpd+mrd": ("lsgan", 2.0)}
FLAGS = {
    "adversarial": dict(
        choices=tuple(ADVERSARIAL_N_CRITIC),
        default=None,
        help="adversarial loss variant (default: wgan-gp; lsgan with --critic mpd+mrd)",
    ),
    "critic": dict(
        choices=tuple(CRITICS),
        default="unet",
        help="critic: convolutional (unet), phase-shuffle WaveGAN, or multi-period + multi-resolution (mpd+mrd)",
    ),
    "n_critic": dict(
        type=positive_int,
        default=None,
        help="critic updates per generator update, the batch split among them (default: the "
        "variant's: 5 for wgan-gp, wgan and gan, 1 for lsgan and hinge)",
    ),
    "adversarial_weight": dict(
        type=non_negative_float,
        default=None,
        help="weight of the generator's adversarial term (default: the variant's)",
    ),
    "feature_matching_weight": dict(
        type=non_negative_float,
        default=None,
        help="weight of feature matching over the critic's feature maps (default: 2 "
        "with --critic mpd+mrd, else 0; the seeds' critics have no feature maps)",
    ),
}


def settings(cfg):
    """``(adversarial loss, n_critic, feature-matching weight)`` with the critic's defaults filled in."""
    loss, fm = CRITIC_DEFAULTS[cfg.extra["critic"]]
    loss = cfg.extra["adversarial"] or loss
    n_critic = cfg.extra["n_critic"] or ADVERSARIAL_N_CRITIC[loss]
    fm = fm if cfg.extra["feature_matching_weight"] is None else cfg.extra["feature_matching_weight"]
    return loss, n_critic, fm


def build(cfg, degradation):
    from keras_audiosr import models
    from keras_audiosr.training import AdversarialTrainer, default_optimizers  # TensorFlow: imported when used
    from keras_audiosr.training.runner import generator_args, sample_loss

    loss, n_critic, fm = settings(cfg)
    generator = models.AudioUNet.from_size(cfg.model_size, **generator_args(cfg, degradation))
    critics = [getattr(models, name).from_size(cfg.model_size) for name in CRITICS[cfg.extra["critic"]]]
    trainer = AdversarialTrainer(
        generator,
        critics if len(critics) > 1 else critics[0],
        loss=loss,
        n_critic=n_critic,
        sample_loss=sample_loss(cfg),
        adversarial_weight=cfg.extra["adversarial_weight"],
        feature_matching_weight=fm,
        seed=cfg.seed,
    )
    trainer.compile(*default_optimizers(loss, cfg.learning_rate))
    return trainer


def check(cfg):
    loss, n_critic, fm = settings(cfg)
    if cfg.batch_size < n_critic:
        return (
            f"--batch-size {cfg.batch_size} is smaller than --n-critic {n_critic} (each critic update takes a "
            f"share of the batch)"
        )
    if fm and cfg.extra["critic"] != "mpd+mrd":
        return (
            f"--feature-matching-weight {fm:g} needs critics with feature maps (--critic mpd+mrd); the "
            f"{cfg.extra['critic']} critic has none"
        )
    return None


RECIPE = Recipe(
    name="vctk_unet_gan",
    description=__doc__,
    defaults=RecipeConfig(
        degradations="speech-robust", loss="l2+mrstft", batch_size=20, learning_rate=None, out="runs/vctk_unet_gan"
    ),
    build=build,
    epochs=(6, 50),
    embedded={"steps_per_epoch": 20, "batch_size": 10},
    flags=FLAGS,
    check=check,
    extra_metrics=lambda cfg: dict(
        zip(("adversarial", "n_critic", "feature_matching_weight"), settings(cfg)), critic=cfg.extra["critic"]
    ),
    backends=("tensorflow",),
)
main = RECIPE.main

if __name__ == "__main__":
    main()
