"""AudioEDSR (King et al.) on VCTK: ``python -m recipes.vctk_edsr [--data-dir ...]``.

Post-upsampling EDSR trained with L2; the ratio must be a power of two.
"""
import keras

from keras_audiosr.metrics import SNRMetric
from keras_audiosr.models import AudioEDSR
from keras_audiosr.training import get_strategy
from keras_audiosr.training import recipe

NAME = "vctk_edsr"
DEFAULTS = recipe.RecipeConfig(task="multi", ratio=2, hr_rate=16000, filter="butter:8", batch_size=16,
                               learning_rate=1e-4, loss="l2", out="runs/vctk_edsr")
EMBEDDED_EPOCHS, CORPUS_EPOCHS = 6, 50


def build(cfg, degradation):
    model = AudioEDSR.from_size(cfg.resolved_size(), ratio=cfg.ratio, hr_rate=cfg.hr_rate,
                                degradation=degradation.to_dict())
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=recipe.sample_loss(cfg.loss),
                  metrics=[SNRMetric()])
    return model


def main(argv=None):
    cfg = recipe.parse_config(DEFAULTS, argv, description=__doc__)
    cfg.epochs = cfg.epochs or (EMBEDDED_EPOCHS if cfg.data_dir is None else CORPUS_EPOCHS)
    recipe.seed_everything(cfg.seed)
    strategy = get_strategy()
    recipe.write_config(cfg, NAME)
    data = recipe.prepare_data(cfg)
    with strategy.scope():
        model = build(cfg, data.degradation)
    fit_info = recipe.fit(model, data, cfg)
    return recipe.finish(model, data, cfg, fit_info, recipe=NAME)


if __name__ == "__main__":
    main()
