"""AudioEDSR (King et al.) on VCTK: ``python -m recipes.vctk_edsr [--data-dir ~/data/VCTK-Corpus]``.

Post-upsampling EDSR; the ratio must be a power of two. Defaults are the package's recommended
setup (``--degradations speech-robust``, band-preserving output, ``--loss l2+mrstft``); the
paper's configuration (L2 on Butterworth-8 input): ``--degradations butter:8 --no-band-preserving
--loss l2``.
"""

from keras_audiosr.recipes.config import RecipeConfig
from keras_audiosr.recipes.recipe import Recipe


def build(cfg, degradation):
    from keras_audiosr.models import AudioEDSR
    from keras_audiosr.training.runner import compile_with_sample_loss, generator_args

    model = AudioEDSR.from_size(cfg.model_size, **generator_args(cfg, degradation))
    return compile_with_sample_loss(model, cfg)


def check(cfg):
    if cfg.ratio & (cfg.ratio - 1):
        return f"--ratio {cfg.ratio}: AudioEDSR up-samples by factors of two; use a power of two"
    return None


RECIPE = Recipe(
    name="vctk_edsr",
    description=__doc__,
    defaults=RecipeConfig(
        degradations="speech-robust", loss="l2+mrstft", batch_size=16, learning_rate=1e-4, out="runs/vctk_edsr"
    ),
    build=build,
    epochs=(6, 50),
    embedded={"steps_per_epoch": 40, "batch_size": 8},
    check=check,
)
main = RECIPE.main

if __name__ == "__main__":
    main()
