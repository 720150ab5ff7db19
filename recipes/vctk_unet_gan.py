"""AudioUNetGAN on VCTK: ``python -m recipes.vctk_unet_gan [--data-dir ~/data/VCTK-Corpus]``.

AudioUNet generator trained adversarially. Default: WGAN-GP with a convolutional critic (King et
al.: n_critic 5, lambda 10, Adam 1e-4 (0.9, 0.999)). ``--critic wavegan --adversarial gan`` gives
the UNet + phase-shuffle WaveGAN critic of the Retzloeff report (lambda_adv 0.01); ``wgan`` uses
weight clipping (RMSprop 5e-5). ``--learning-rate`` replaces the variant's learning rate.
``--init-from M.keras`` warm-starts the generator (e.g. from recipes.vctk_unet).
"""
from keras_audiosr.models import AudioUNet, AudioUNetGANCritic, WaveGANCritic
from keras_audiosr.training import ADVERSARIAL_LOSSES, AdversarialTrainer, default_optimizers
from keras_audiosr.training.config import RecipeConfig, existing_file, non_negative_float, positive_int
from keras_audiosr.training.runner import Recipe, warm_start

CRITICS = {"unet": AudioUNetGANCritic, "wavegan": WaveGANCritic}
FLAGS = {
    "adversarial": dict(choices=tuple(ADVERSARIAL_LOSSES), default="wgan-gp", help="adversarial loss variant"),
    "critic": dict(choices=tuple(CRITICS), default="unet", help="critic: convolutional (unet) or phase-shuffle WaveGAN"),
    "n_critic": dict(type=positive_int, default=5, help="critic updates per generator update (the batch is split among them)"),
    "adversarial_weight": dict(type=non_negative_float, default=None,
                               help="weight of the generator's adversarial term (default: the variant's)"),
    "init_from": dict(type=existing_file, default=None, help="warm-start the generator from this .keras model"),
}


def build(cfg, degradation):
    generator = AudioUNet.from_size(cfg.model_size, ratio=cfg.ratio, hr_rate=cfg.hr_rate, degradation=degradation.to_dict())
    if cfg.extra["init_from"]:
        warm_start(generator, cfg.extra["init_from"])
    critic = CRITICS[cfg.extra["critic"]].from_size(cfg.model_size)
    trainer = AdversarialTrainer(generator, critic, loss=cfg.extra["adversarial"], n_critic=cfg.extra["n_critic"],
                                 sample_loss=cfg.loss, adversarial_weight=cfg.extra["adversarial_weight"], seed=cfg.seed)
    trainer.compile(*default_optimizers(cfg.extra["adversarial"], cfg.learning_rate))
    return trainer


def check(cfg):
    if cfg.batch_size < cfg.extra["n_critic"]:
        return f"--batch-size {cfg.batch_size} is smaller than --n-critic {cfg.extra['n_critic']} (each critic update takes a share of the batch)"
    return None


RECIPE = Recipe(
    name="vctk_unet_gan",
    description=__doc__,
    defaults=RecipeConfig(filter="cheby1:8", batch_size=20, learning_rate=None, loss="l2", out="runs/vctk_unet_gan"),
    build=build,
    epochs=(6, 50),
    flags=FLAGS,
    check=check,
    extra_metrics=lambda cfg: {"adversarial": cfg.extra["adversarial"], "critic": cfg.extra["critic"]},
)
main = RECIPE.main

if __name__ == "__main__":
    main()
