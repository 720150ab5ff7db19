"""Same-rate music bandwidth extension (Sulun & Davies): ``python -m recipes.music_resnet [--data-dir ...]``.

ResNet (or ``--arch unet``) at 44.1 kHz on band-limited input (low-passed, not decimated), with an
additive input-to-output connection; ``--multifilter`` draws each example's low-pass filter from
the Chebyshev-I / Bessel / elliptic set every epoch. Evaluation reports a seen filter and an unseen
one (Butterworth 6) side by side. Stereo files are processed channel by channel.
"""
from keras_audiosr.data.multifilter import evaluation_filters
from keras_audiosr.models import BWEResNet, BWEUNet
from keras_audiosr.training.config import RecipeConfig, non_negative_float
from keras_audiosr.training.runner import DataSpec, Recipe, compile_with_sample_loss

ARCHS = {"resnet": BWEResNet, "unet": BWEUNet}
FLAGS = {
    "arch": dict(choices=tuple(ARCHS), default="resnet", help="ResNet or U-Net bandwidth extension"),
    "multifilter": dict(action="store_true", help="multi-filter augmentation (a random filter per example per epoch)"),
    "dropout": dict(type=non_negative_float, default=0.0, help="dropout rate in [0, 1) (the paper tried 0.5)"),
    "batchnorm": dict(action="store_true", help="batch normalisation after each convolution"),
}


def build(cfg, degradation):
    model = ARCHS[cfg.extra["arch"]].from_size(cfg.model_size, bandwidth_ratio=cfg.ratio, hr_rate=cfg.hr_rate,
                                               degradation=degradation.to_dict(), dropout=cfg.extra["dropout"],
                                               batch_norm=cfg.extra["batchnorm"])
    return compile_with_sample_loss(model, cfg)


def check(cfg):
    return None if cfg.extra["dropout"] < 1 else f"--dropout {cfg.extra['dropout']}: a rate must be below 1"


def seen_and_unseen(cfg):
    return evaluation_filters() if cfg.extra["multifilter"] else {"seen": cfg.filter, "unseen": "butter:6"}


RECIPE = Recipe(
    name="music_resnet",
    description=__doc__,
    defaults=RecipeConfig(ratio=2, hr_rate=44100, filter="cheby1:8", batch_size=16, learning_rate=1e-4, loss="l2",
                          out="runs/music_resnet"),
    build=build,
    epochs=(4, 50),
    flags=FLAGS,
    data=lambda cfg: DataSpec(corpus="music", same_rate=True, multifilter=cfg.extra["multifilter"]),
    check=check,
    evaluation_filters=seen_and_unseen,
    extra_metrics=lambda cfg: {"multifilter": cfg.extra["multifilter"], "arch": cfg.extra["arch"]},
)
main = RECIPE.main

if __name__ == "__main__":
    main()
