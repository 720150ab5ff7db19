"""AudioEDSR (King et al.) on VCTK: ``python -m recipes.vctk_edsr [--data-dir ~/data/VCTK-Corpus]``.

Post-upsampling EDSR trained with L2 on Butterworth-8 input; the ratio must be a power of two.
"""
from keras_audiosr.models import AudioEDSR
from keras_audiosr.training.config import RecipeConfig
from keras_audiosr.training.runner import Recipe, compile_with_sample_loss


def build(cfg, degradation):
    model = AudioEDSR.from_size(cfg.model_size, ratio=cfg.ratio, hr_rate=cfg.hr_rate, degradation=degradation.to_dict())
    return compile_with_sample_loss(model, cfg)


def check(cfg):
    if cfg.ratio & (cfg.ratio - 1):
        return f"--ratio {cfg.ratio}: AudioEDSR up-samples by factors of two; use a power of two"
    return None


RECIPE = Recipe(
    name="vctk_edsr",
    description=__doc__,
    defaults=RecipeConfig(filter="butter:8", batch_size=16, learning_rate=1e-4, loss="l2", out="runs/vctk_edsr"),
    build=build,
    epochs=(6, 50),
    check=check,
)
main = RECIPE.main

if __name__ == "__main__":
    main()
