"""StreamingBWE, the edge telephony model: ``python -m recipes.streaming_bwe [--data-dir ~/data/VCTK-Corpus]``.

8 -> 16 kHz by default; ``--ratio 3 --hr-rate 48000`` for 16 -> 48 kHz. A causal, band-preserving
generator built for 10 ms stateful streaming and an int8 core (keras_audiosr.models.StreamingBWE;
sizes tiny and small), trained on --degradations speech-robust (anti-alias filters with random cutoffs,
the sinc resampler, the telephone channel with and without G.711, random gain) with --loss l2+mrstft
(waveform weight 1000) and the model's own penalties. Export the trained model with
python -m edge.convert (installed: keras-audiosr export) --model OUT/model.keras --mode int8 --streaming
--frame-ms 10 --out OUT/edge.
"""

from keras_audiosr.recipes.config import RecipeConfig
from keras_audiosr.recipes.recipe import Recipe

#: The sizes of keras_audiosr.models.StreamingBWE (its ``presets``; the recipe's tests check that they agree).
MODEL_SIZES = ("small", "tiny")

#: Field 8 kHz audio is made in all the ways ``speech-robust`` draws from (``telephone-any`` would teach
#: the model only the 300-3400 Hz channel).
DEGRADATIONS = "speech-robust"

#: Weight of the waveform term of ``--loss l2+mrstft``: a waveform MSE is ~1e-4 on speech, the MR-STFT
#: loss ~1, so both matter at 1000:1 (``--sample-loss-weight`` overrides it).
SAMPLE_LOSS_WEIGHT = 1000.0


#: The band merge's transition (fractions of the low-rate Nyquist): the input passes untouched below
#: 0.9 (3.6 kHz at 8 kHz), the network fills the band above. A wider transition (the model's default
#: 0.7) hands the network the 2.8-4 kHz the input already has, which PESQ-WB punishes (cutting a sinc
#: interpolation's band at 2.8 kHz costs 0.5-0.6 PESQ-WB on held-out VCTK: ``tools.pesq_probe --cut``);
#: 0.9 keeps the algorithmic latency at 14.6 ms (8 -> 16 kHz, 10 ms frames) and lets the low path's
#: sinc kernel be 36 zero crossings long.
TRANSITION = [0.9, 1.0]


def _transition(text):
    import argparse

    try:
        lo, hi = (float(v) for v in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STOP,PASS (e.g. 0.9,1.0), got {text!r}") from None
    if not 0 < lo < hi <= 1.0:
        raise argparse.ArgumentTypeError(f"needs 0 < STOP < PASS <= 1, got {text!r}")
    return [lo, hi]


def _fold(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


FLAGS = {
    "fold": dict(
        type=_fold,
        default=None,
        metavar="N",
        help="low-rate samples per core step (default: the size's, 4 for small): 8 halves the core's compute at "
        "16 kHz input (16 -> 48 kHz small: 0.33 -> 0.18 GMAC/s); frames must be a multiple of it",
    ),
    "transition": dict(
        type=_transition,
        default=TRANSITION,
        metavar="STOP,PASS",
        help="band-merge transition in fractions of the low-rate Nyquist: the input band passes "
        "untouched below STOP, the network adds the band above (default: 0.9,1.0)",
    ),
}


def build(cfg, degradation):
    from keras_audiosr.models.streaming_bwe import build as build_model
    from keras_audiosr.training.runner import compile_with_sample_loss

    model = build_model(
        cfg,
        degradation,
        training_degradations=cfg.degradations,
        transition=tuple(cfg.extra.get("transition", TRANSITION)),
        **({"fold": cfg.extra["fold"]} if cfg.extra.get("fold") else {}),
    )
    return compile_with_sample_loss(model, cfg)


def check(cfg):
    if cfg.model_size is not None and cfg.model_size not in MODEL_SIZES:
        return f"--model-size {cfg.model_size}: StreamingBWE comes in {' and '.join(MODEL_SIZES)}"
    if not cfg.band_preserving:
        return "--no-band-preserving: StreamingBWE is band-preserving by construction"
    return None


RECIPE = Recipe(
    name="streaming_bwe",
    description=__doc__,
    defaults=RecipeConfig(
        ratio=2,
        hr_rate=16000,
        degradations=DEGRADATIONS,
        model_size="small",
        batch_size=16,
        learning_rate=1e-3,
        loss="l2+mrstft",
        sample_loss_weight=SAMPLE_LOSS_WEIGHT,
        out="runs/streaming_bwe",
    ),
    build=build,
    epochs=(6, 50),
    check=check,
    flags=FLAGS,
    extra_metrics=lambda cfg: {"loss_terms": cfg.loss, "transition": list(cfg.extra.get("transition", TRANSITION))},
)
main = RECIPE.main

if __name__ == "__main__":
    main()
