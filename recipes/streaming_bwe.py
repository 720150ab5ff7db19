"""StreamingBWE, the edge telephony model: ``python -m recipes.streaming_bwe [--data-dir ~/data/VCTK-Corpus]``.

8 -> 16 kHz by default; ``--ratio 3 --hr-rate 48000`` for 16 -> 48 kHz. A causal, band-preserving
generator built for 10 ms stateful streaming and an int8 core (keras_audiosr.models.StreamingBWE;
sizes tiny and small), trained with the sample loss plus the multi-resolution STFT loss
(--loss l2 trains on l2+mrstft) and the model's own penalties. Export the trained model with
python -m edge.convert --model OUT/model.keras --mode int8 --streaming --frame-ms 10 --out OUT/edge.
"""
from keras_audiosr.models.streaming_bwe import build as build_model
from keras_audiosr.training.config import RecipeConfig
from keras_audiosr.training.runner import Recipe

#: The training degradations meant for the telephony model: ``speech-robust`` draws each example's input
#: from anti-alias filters with random cutoffs, the sinc resampler and the telephone channel with and
#: without G.711, at random gains; field 8 kHz audio is made in all of these ways, where ``telephone-any``
#: would teach the model only the 300-3400 Hz channel. Until the runner takes ``--degradations``, training
#: uses the single ``--filter`` degradation; then set ``degradations=DEGRADATIONS`` in ``RECIPE.defaults``.
DEGRADATIONS = "speech-robust"
#: The spectral term added to ``--loss`` and the weights of the sum: the waveform term scaled so that both
#: matter (a waveform MSE is ~1e-4 on speech, the MR-STFT loss ~1).
SPECTRAL_LOSS = "mrstft"
LOSS_WEIGHTS = {"l1": 30.0, "l2": 1000.0, "mrstft": 1.0}


def loss_name(loss):
    """``--loss`` with the spectral term: ``"l2"`` -> ``"l2+mrstft"`` (a sum given whole is kept)."""
    return loss if "+" in loss else f"{loss}+{SPECTRAL_LOSS}"


def build(cfg, degradation):
    import keras

    from keras_audiosr.metrics import SNRMetric
    from keras_audiosr.training.losses import get_sample_loss

    model = build_model(cfg, degradation)
    name = loss_name(cfg.loss)
    loss = get_sample_loss(name, {k: LOSS_WEIGHTS[k] for k in name.split("+") if k in LOSS_WEIGHTS})
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=loss, metrics=[SNRMetric()])
    return model


def check(cfg):
    from keras_audiosr.models import StreamingBWE

    if cfg.model_size not in StreamingBWE.presets:
        return f"--model-size {cfg.model_size}: StreamingBWE comes in {' and '.join(StreamingBWE.presets)}"
    return None


RECIPE = Recipe(
    name="streaming_bwe",
    description=__doc__,
    defaults=RecipeConfig(ratio=2, hr_rate=16000, filter="cheby1:8", model_size="small", batch_size=16,
                          learning_rate=1e-3, loss="l2", out="runs/streaming_bwe"),
    build=build,
    epochs=(6, 50),
    check=check,
    extra_metrics=lambda cfg: {"loss_terms": loss_name(cfg.loss)},
)
main = RECIPE.main

if __name__ == "__main__":
    main()
