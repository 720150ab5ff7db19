"""AudioUNet (Kuleshov et al. 2017) on VCTK: ``python -m recipes.vctk_unet [--data-dir ~/data/VCTK-Corpus]``.

Without ``--data-dir`` it runs on the embedded default corpus (generated, a few minutes on a CPU).
"""
from keras_audiosr.models import AudioUNet
from keras_audiosr.training.config import RecipeConfig
from keras_audiosr.training.runner import Recipe, compile_with_sample_loss


def build(cfg, degradation):
    model = AudioUNet.from_size(cfg.model_size, ratio=cfg.ratio, hr_rate=cfg.hr_rate, degradation=degradation.to_dict())
    return compile_with_sample_loss(model, cfg)


RECIPE = Recipe(
    name="vctk_unet",
    description=__doc__,
    defaults=RecipeConfig(filter="cheby1:8", batch_size=16, learning_rate=3e-4, loss="l2", out="runs/vctk_unet"),
    build=build,
    epochs=(6, 50),
)
main = RECIPE.main

if __name__ == "__main__":
    main()
