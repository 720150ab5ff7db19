"""AudioUNetGAN on VCTK: ``python -m recipes.vctk_unet_gan [--data-dir ...]``.

AudioUNet generator trained adversarially. Default: WGAN-GP with a convolutional critic (King et
al.: n_critic 5, lambda 10, Adam 1e-4 (0.9, 0.999)). ``--critic wavegan --adversarial gan`` gives
the UNet + phase-shuffle WaveGAN critic of the Retzloeff report (lambda_adv 0.01); ``wgan`` uses
weight clipping. ``--init-from M.keras`` warm-starts the generator (e.g. from recipes.vctk_unet).
"""
from keras_audiosr.models import AudioUNet, AudioUNetGANCritic, WaveGANCritic
from keras_audiosr.training import AdversarialTrainer, get_strategy
from keras_audiosr.training import recipe

NAME = "vctk_unet_gan"
DEFAULTS = recipe.RecipeConfig(task="multi", ratio=2, hr_rate=16000, filter="cheby1:8", batch_size=20, loss="l2",
                               out="runs/vctk_unet_gan")
EMBEDDED_EPOCHS, CORPUS_EPOCHS = 6, 50
CRITICS = {"unet": AudioUNetGANCritic, "wavegan": WaveGANCritic}
EXTRA = [
    (("--adversarial",), dict(choices=("wgan-gp", "wgan", "gan"), default="wgan-gp", help="adversarial loss variant")),
    (("--critic",), dict(choices=tuple(CRITICS), default="unet", help="critic: convolutional (unet) or phase-shuffle WaveGAN")),
    (("--n-critic",), dict(type=int, default=5, help="critic updates per generator update (the batch is split among them)")),
    (("--adversarial-weight",), dict(type=float, default=None, help="weight of the generator's adversarial term (default: the variant's)")),
    (("--init-from",), dict(default=None, help="warm-start the generator from this .keras model")),
]


def build(cfg, degradation):
    generator = AudioUNet.from_size(cfg.resolved_size(), ratio=cfg.ratio, hr_rate=cfg.hr_rate,
                                    degradation=degradation.to_dict())
    if cfg.extra["init_from"]:
        recipe.warm_start(generator, cfg.extra["init_from"])
    critic = CRITICS[cfg.extra["critic"]].from_size(cfg.resolved_size())
    trainer = AdversarialTrainer(generator, critic, loss=cfg.extra["adversarial"], n_critic=cfg.extra["n_critic"],
                                 sample_loss=cfg.loss, adversarial_weight=cfg.extra["adversarial_weight"], seed=cfg.seed)
    trainer.compile()
    return trainer


def main(argv=None):
    cfg = recipe.parse_config(DEFAULTS, argv, description=__doc__, extra_arguments=EXTRA)
    cfg.epochs = cfg.epochs or (EMBEDDED_EPOCHS if cfg.data_dir is None else CORPUS_EPOCHS)
    recipe.seed_everything(cfg.seed)
    strategy = get_strategy()
    recipe.write_config(cfg, NAME)
    data = recipe.prepare_data(cfg)
    with strategy.scope():
        trainer = build(cfg, data.degradation)
    fit_info = recipe.fit(trainer, data, cfg)
    return recipe.finish(trainer.generator, data, cfg, fit_info, recipe=NAME,
                         extra_metrics={"adversarial": cfg.extra["adversarial"], "critic": cfg.extra["critic"]})


if __name__ == "__main__":
    main()
