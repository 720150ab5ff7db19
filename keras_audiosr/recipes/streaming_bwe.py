"""StreamingBWE, the edge telephony model: ``python -m recipes.streaming_bwe [--data-dir ~/data/VCTK-Corpus]``.

8 -> 16 kHz by default; ``--ratio 3 --hr-rate 48000`` for 16 -> 48 kHz. A causal, band-preserving
generator built for 10 ms stateful streaming and an int8 core (keras_audiosr.models.StreamingBWE;
sizes tiny and small), trained on --degradations speech-robust (anti-alias filters with random cutoffs,
the sinc resampler, the telephone channel with and without G.711, random gain) with --loss l2+mrstft
(waveform weight 1000) and the model's own penalties. Export the trained model with
python -m edge.convert (installed: keras-audiosr export) --model OUT/model.keras --mode int8 --streaming
--frame-ms 10 --out OUT/edge.

``--adversarial`` adds HiFi-GAN's adversarial fine-tuning (usually with ``--init-from`` a trained model):
a multi-period and a multi-resolution critic (keras_audiosr.models.MultiPeriodCritic and
MultiResolutionCritic, the ``--model-size``'s), the LSGAN loss and feature matching, beside the same
reconstruction loss and penalties, AdamW (0.8, 0.99) at ``--adv-learning-rate`` for both. It needs the
TensorFlow backend; ``model.keras`` is still the plain generator.
"""

from keras_audiosr.recipes.config import RecipeConfig, non_negative_float, positive_float
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


#: HiFi-GAN weighs its generator's terms 1 (adversarial) : 2 (feature matching) : 45 (log-mel L1). This
#: recipe's reconstruction loss (MR-STFT + 1000 x waveform MSE) measures about 3 times HiFi-GAN's log-mel L1 on
#: the shipped 8 -> 16 kHz model's output (0.87 vs 0.27 on 8 embedded recordings: ``python -m tools.gan_loss_scales
#: --model telephony-8k-16k``), so HiFi-GAN's balance is 45 / 3 = 15 reconstruction units per adversarial unit.
HIFIGAN_RECONSTRUCTION_RATIO = 15.0
#: Defaults of ``--adv-weight`` and ``--fm-weight``: HiFi-GAN's 1 and 2 relative to a reconstruction loss of weight 1.
ADV_WEIGHT = 1.0 / HIFIGAN_RECONSTRUCTION_RATIO
FM_WEIGHT = 2.0 / HIFIGAN_RECONSTRUCTION_RATIO
#: Default ``--adv-learning-rate``: HiFi-GAN's AdamW rate for the generator and the critics.
ADV_LEARNING_RATE = 2e-4
#: The stage's flags; given without ``--adversarial`` they are an error.
ADVERSARIAL_FLAGS = ("adv_weight", "fm_weight", "adv_learning_rate")


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
    "adversarial": dict(
        action="store_true",
        default=False,
        help="train against a multi-period + multi-resolution critic (LSGAN, feature matching) beside the "
        "reconstruction loss, as HiFi-GAN; usually with --init-from a trained model; TensorFlow backend",
    ),
    "adv_weight": dict(
        type=non_negative_float,
        default=None,
        metavar="W",
        help=f"with --adversarial: weight of the generator's LSGAN term, relative to the reconstruction loss "
        f"(default: {ADV_WEIGHT:.3g}, HiFi-GAN's 1 against its 45 x mel L1)",
    ),
    "fm_weight": dict(
        type=non_negative_float,
        default=None,
        metavar="W",
        help=f"with --adversarial: weight of feature matching (L1 over the critics' feature maps), relative to "
        f"the reconstruction loss (default: {FM_WEIGHT:.3g}, HiFi-GAN's 2 against its 45 x mel L1)",
    ),
    "adv_learning_rate": dict(
        type=positive_float,
        default=None,
        metavar="LR",
        help=f"with --adversarial: the AdamW learning rate of the generator and the critics, in place of "
        f"--learning-rate (default: {ADV_LEARNING_RATE:g}, HiFi-GAN's)",
    ),
}


def adversarial_settings(cfg):
    """``{"adv_weight", "fm_weight", "learning_rate"}`` of the ``--adversarial`` stage (defaults filled in), or
    None without it."""
    extra = cfg.extra
    if not extra.get("adversarial"):
        return None

    def value(name, default):
        return default if extra.get(name) is None else extra[name]

    return {
        "adv_weight": value("adv_weight", ADV_WEIGHT),
        "fm_weight": value("fm_weight", FM_WEIGHT),
        "learning_rate": value("adv_learning_rate", ADV_LEARNING_RATE),
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
    stage = adversarial_settings(cfg)
    if stage is None:
        return compile_with_sample_loss(model, cfg)
    from keras_audiosr.models import MultiPeriodCritic, MultiResolutionCritic
    from keras_audiosr.training import AdversarialTrainer, default_optimizers  # TensorFlow: imported when used
    from keras_audiosr.training.generator import sample_loss

    size = cfg.model_size or "small"
    trainer = AdversarialTrainer(
        model,
        [MultiPeriodCritic.from_size(size), MultiResolutionCritic.from_size(size)],
        loss="lsgan",
        sample_loss=sample_loss(cfg),
        adversarial_weight=stage["adv_weight"],
        feature_matching_weight=stage["fm_weight"],
        seed=cfg.seed,
    )
    trainer.compile(*default_optimizers("lsgan", stage["learning_rate"]))
    return trainer


def check(cfg):
    if cfg.model_size is not None and cfg.model_size not in MODEL_SIZES:
        return f"--model-size {cfg.model_size}: StreamingBWE comes in {' and '.join(MODEL_SIZES)}"
    if not cfg.band_preserving:
        return "--no-band-preserving: StreamingBWE is band-preserving by construction"
    if not cfg.extra.get("adversarial"):
        given = [name for name in ADVERSARIAL_FLAGS if cfg.extra.get(name) is not None]
        if given:
            return f"--{given[0].replace('_', '-')} applies to the adversarial stage: add --adversarial"
    else:
        stage = adversarial_settings(cfg)
        if not (stage["adv_weight"] or stage["fm_weight"]):
            return "--adversarial with --adv-weight 0 and --fm-weight 0 trains nothing against the critics"
    return None


def _metrics(cfg):
    metrics = {"loss_terms": cfg.loss, "transition": list(cfg.extra.get("transition", TRANSITION))}
    stage = adversarial_settings(cfg)
    if stage is not None:
        metrics["adversarial"] = {"loss": "lsgan", "critics": ["MultiPeriodCritic", "MultiResolutionCritic"], **stage}
    return metrics


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
    extra_metrics=_metrics,
    backends=lambda cfg: ("tensorflow",) if cfg.extra.get("adversarial") else None,
)
main = RECIPE.main

if __name__ == "__main__":
    main()
