"""MU-GAN (Kim & Sathe) on VCTK: ``python -m recipes.vctk_mugan [--data-dir ...]``.

Stage 1 trains the autoencoder (the generator without skips) for the feature loss; stage 2 trains
generator and discriminator with L2 + 1.0 * feature + 0.001 * adversarial. Each stage resumes
where it was when the command is run again with the same ``--out``.
"""
from keras_audiosr.training import get_strategy, mugan
from keras_audiosr.training import recipe

NAME = "vctk_mugan"
DEFAULTS = recipe.RecipeConfig(task="multi", ratio=2, hr_rate=16000, filter="cheby1:8", batch_size=16,
                               learning_rate=1e-4, loss="l2", out="runs/vctk_mugan")
EMBEDDED_EPOCHS, CORPUS_EPOCHS = 4, 50


def main(argv=None):
    cfg = recipe.parse_config(DEFAULTS, argv, description=__doc__, extra_arguments=mugan.STAGE_ARGUMENTS)
    cfg.epochs = cfg.epochs or (EMBEDDED_EPOCHS if cfg.data_dir is None else CORPUS_EPOCHS)
    recipe.seed_everything(cfg.seed)
    strategy = get_strategy()
    recipe.write_config(cfg, NAME)
    data = recipe.prepare_data(cfg)
    autoencoder = mugan.train_autoencoder(data, cfg, strategy)
    with strategy.scope():
        trainer = mugan.build_gan(cfg, data.degradation, autoencoder)
    fit_info = recipe.fit(trainer, data, cfg)
    return recipe.finish(trainer.generator, data, cfg, fit_info, recipe=NAME)


if __name__ == "__main__":
    main()
