"""MU-GAN on a piano corpus: ``python -m recipes.piano_mugan [--data-dir PIANO_DIR]``.

The VCTK MU-GAN recipe's two stages (autoencoder, then GAN) on music: a folder of piano recordings
with a split file or a deterministic hash split; without ``--data-dir`` the generated piano-like corpus.
"""
from keras_audiosr.training import get_strategy, mugan
from keras_audiosr.training import recipe

NAME = "piano_mugan"
DEFAULTS = recipe.RecipeConfig(task="multi", ratio=2, hr_rate=16000, filter="cheby1:8", batch_size=16,
                               learning_rate=1e-4, loss="l2", out="runs/piano_mugan")
EMBEDDED_EPOCHS, CORPUS_EPOCHS = 4, 50


def main(argv=None):
    cfg = recipe.parse_config(DEFAULTS, argv, description=__doc__, extra_arguments=mugan.STAGE_ARGUMENTS)
    cfg.epochs = cfg.epochs or (EMBEDDED_EPOCHS if cfg.data_dir is None else CORPUS_EPOCHS)
    recipe.seed_everything(cfg.seed)
    strategy = get_strategy()
    recipe.write_config(cfg, NAME)
    data = recipe.prepare_music_data(cfg, same_rate=False)
    autoencoder = mugan.train_autoencoder(data, cfg, strategy)
    with strategy.scope():
        trainer = mugan.build_gan(cfg, data.degradation, autoencoder)
    fit_info = recipe.fit(trainer, data, cfg)
    return recipe.finish(trainer.generator, data, cfg, fit_info, recipe=NAME)


if __name__ == "__main__":
    main()
