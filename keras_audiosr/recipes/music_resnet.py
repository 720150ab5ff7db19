"""Same-rate music bandwidth extension (Sulun & Davies): ``python -m recipes.music_resnet [--data-dir ...]``.

ResNet (or ``--arch unet``) at 44.1 kHz on band-limited input (low-passed, not decimated).
``--degradations multi-filter`` (or its old spelling ``--multifilter``) draws each example's
low-pass filter from the Chebyshev-I / Bessel / elliptic set; the default is the single
``cheby1:8``. Evaluation reports a seen filter and an unseen one (Butterworth 6) side by side.
Stereo files train channel by channel. The output is band-preserving by default (the input band
passes exactly); the paper's models, with an additive input-to-output connection:
``--no-band-preserving``.
"""

from keras_audiosr.degrade import evaluation_filters
from keras_audiosr.recipes.config import DataSpec, RecipeConfig, non_negative_float
from keras_audiosr.recipes.recipe import Recipe

#: ``--arch``: the model class of each architecture (keras_audiosr.models).
ARCHS = {"resnet": "BWEResNet", "unet": "BWEUNet"}
FLAGS = {
    "arch": dict(choices=tuple(ARCHS), default="resnet", help="ResNet or U-Net bandwidth extension"),
    "multifilter": dict(
        action="store_true",
        help="the same as --degradations multi-filter (a random filter per example; kept for older commands)",
    ),
    "dropout": dict(type=non_negative_float, default=0.0, help="dropout rate in [0, 1) (the paper tried 0.5)"),
    "batchnorm": dict(action="store_true", help="batch normalisation after each convolution"),
}


def build(cfg, degradation):
    from keras_audiosr import models
    from keras_audiosr.training.runner import compile_with_sample_loss, generator_args

    args = generator_args(cfg, degradation)
    args["bandwidth_ratio"] = args.pop("ratio")
    model = getattr(models, ARCHS[cfg.extra["arch"]]).from_size(
        cfg.model_size, **args, dropout=cfg.extra["dropout"], batch_norm=cfg.extra["batchnorm"]
    )
    return compile_with_sample_loss(model, cfg)


def check(cfg):
    if cfg.extra["dropout"] >= 1:
        return f"--dropout {cfg.extra['dropout']}: a rate must be below 1"
    if cfg.extra["multifilter"]:
        if cfg.degradations not in (RECIPE.defaults.degradations, "multi-filter"):
            return f"--multifilter and --degradations {cfg.degradations} disagree; give one of them"
        cfg.degradations = "multi-filter"
    try:
        evaluation_filters(cfg.degradations)
    except ValueError as err:
        return f"--degradations {cfg.degradations}: {err} (the recipe reports a seen and an unseen filter)"
    return None


RECIPE = Recipe(
    name="music_resnet",
    description=__doc__,
    defaults=RecipeConfig(
        ratio=2,
        hr_rate=44100,
        degradations="cheby1:8",
        batch_size=16,
        learning_rate=1e-4,
        loss="l2",
        out="runs/music_resnet",
    ),
    build=build,
    epochs=(4, 50),
    flags=FLAGS,
    data=DataSpec(corpus="music", same_rate=True),
    check=check,
    evaluation_filters=lambda cfg: evaluation_filters(cfg.degradations),
    extra_metrics=lambda cfg: {
        "multifilter": cfg.degradations == "multi-filter",
        "arch": cfg.extra["arch"],
        "degradations": cfg.degradations,
    },
)
main = RECIPE.main

if __name__ == "__main__":
    main()
