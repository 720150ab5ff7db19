"""Same-rate music bandwidth extension (Sulun & Davies): ``python -m recipes.music_resnet [--data-dir ...]``.

ResNet (or ``--arch unet``) at 44.1 kHz on band-limited input (low-passed, not decimated), with an
additive input-to-output connection; ``--multifilter`` draws each example's low-pass filter from
the Chebyshev-I / Bessel / elliptic set every epoch. Evaluation reports a seen filter and an unseen
one (Butterworth 6) side by side. Stereo files are processed channel by channel.
"""
import keras

from keras_audiosr.data.multifilter import evaluation_filters, make_multifilter_dataset
from keras_audiosr.metrics import SNRMetric
from keras_audiosr.models import BWEResNet, BWEUNet
from keras_audiosr.training import get_strategy
from keras_audiosr.training import recipe

NAME = "music_resnet"
DEFAULTS = recipe.RecipeConfig(task="multi", ratio=2, hr_rate=44100, filter="cheby1:8", batch_size=16,
                               learning_rate=1e-4, loss="l2", out="runs/music_resnet")
EMBEDDED_EPOCHS, CORPUS_EPOCHS = 4, 50
ARCHS = {"resnet": BWEResNet, "unet": BWEUNet}
EXTRA = [
    (("--arch",), dict(choices=tuple(ARCHS), default="resnet", help="ResNet or U-Net bandwidth extension")),
    (("--multifilter",), dict(action="store_true", help="multi-filter augmentation (a random filter per example per epoch)")),
    (("--dropout",), dict(type=float, default=0.0, help="dropout rate (the paper tried 0.5)")),
    (("--batchnorm",), dict(action="store_true", help="batch normalisation after each convolution")),
]


def build(cfg, degradation):
    model = ARCHS[cfg.extra["arch"]].from_size(cfg.resolved_size(), bandwidth_ratio=cfg.ratio, hr_rate=cfg.hr_rate,
                                               degradation=degradation.to_dict(), dropout=cfg.extra["dropout"],
                                               batch_norm=cfg.extra["batchnorm"])
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=recipe.sample_loss(cfg.loss),
                  metrics=[SNRMetric()])
    return model


def main(argv=None):
    cfg = recipe.parse_config(DEFAULTS, argv, description=__doc__, extra_arguments=EXTRA)
    cfg.epochs = cfg.epochs or (EMBEDDED_EPOCHS if cfg.data_dir is None else CORPUS_EPOCHS)
    recipe.seed_everything(cfg.seed)
    strategy = get_strategy()
    recipe.write_config(cfg, NAME)
    data = recipe.prepare_music_data(cfg, same_rate=True, multifilter=cfg.extra["multifilter"])
    dataset = make_multifilter_dataset(data.train, None, cfg.batch_size, seed=cfg.seed) if cfg.extra["multifilter"] else None
    with strategy.scope():
        model = build(cfg, data.degradation)
    fit_info = recipe.fit(model, data, cfg, dataset=dataset)
    seen_unseen = evaluation_filters() if cfg.extra["multifilter"] else {"seen": cfg.filter, "unseen": "butter:6"}
    return recipe.finish(model, data, cfg, fit_info, recipe=NAME, filters=seen_unseen,
                         extra_metrics={"multifilter": cfg.extra["multifilter"], "arch": cfg.extra["arch"]})


if __name__ == "__main__":
    main()
