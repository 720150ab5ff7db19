"""AudioUNet (Kuleshov et al. 2017) on VCTK: ``python -m recipes.vctk_unet [--data-dir ~/data/VCTK-Corpus]``.

Defaults are the package's recommended setup: training inputs drawn per example from
``--degradations speech-robust`` (anti-alias filters with random cutoffs, the sinc resampler, the
telephone channel, random gain), a band-preserving output (the input band passes exactly; the
network adds the band above it) and the ``--loss l2+mrstft`` loss. The paper's configuration:
``--degradations cheby1:8 --no-band-preserving --loss l2`` (with ``--model-size paper``).

Without ``--data-dir`` it trains on the embedded default corpus (packaged real speech: 11 speakers
at 16 kHz, p273 held out), a demonstration that trains and evaluates in a few minutes on a CPU.
"""

from keras_audiosr.recipes.config import RecipeConfig
from keras_audiosr.recipes.recipe import Recipe


def build(cfg, degradation):
    from keras_audiosr.models import AudioUNet
    from keras_audiosr.training.runner import compile_with_sample_loss, generator_args

    model = AudioUNet.from_size(cfg.model_size, **generator_args(cfg, degradation))
    return compile_with_sample_loss(model, cfg)


RECIPE = Recipe(
    name="vctk_unet",
    description=__doc__,
    defaults=RecipeConfig(
        degradations="speech-robust", loss="l2+mrstft", batch_size=16, learning_rate=3e-4, out="runs/vctk_unet"
    ),
    build=build,
    epochs=(6, 50),
    embedded={"steps_per_epoch": 40, "batch_size": 8},
)
main = RECIPE.main

if __name__ == "__main__":
    main()
