"""The generator a recipe trains: its size, the run arguments every generator takes, the sample loss,
compilation, warm start (``--init-from``) and the source's high-band trim carried to the trained model. Used by
:mod:`keras_audiosr.training.runner` and the recipes."""

from __future__ import annotations

import keras

from keras_audiosr.models.saving import load_model
from keras_audiosr.training.losses import get_sample_loss
from keras_audiosr.training.metrics import SNRMetric
from keras_audiosr.training.strategy import accelerators

__all__ = [
    "carry_high_band_trim",
    "choose_model_size",
    "compile_with_sample_loss",
    "generator_args",
    "generator_of",
    "sample_loss",
    "warm_start",
]


def choose_model_size(cfg, recorded=None):
    """``(size, why)``: ``--model-size`` when given, else the size an earlier process of this run used,
    else ``small`` on the embedded default corpus, else ``paper`` with a GPU and ``small`` without."""
    if cfg.model_size:
        return cfg.model_size, "chosen with --model-size"
    if recorded:
        return recorded, "as recorded in the run's config.json (resuming)"
    if not cfg.data_dir:
        return "small", "the default on the embedded demonstration corpus"
    gpus = accelerators()
    if gpus:
        return "paper", f"the default with a GPU ({len(gpus)} visible)"
    return "small", "the default on a CPU (no GPU visible); --model-size paper for the published configuration"


def generator_args(cfg, degradation):
    """The keyword arguments every generator takes from the run: ``ratio``, ``hr_rate``, ``degradation``
    (the representative dict), ``training_degradations`` (the ``--degradations`` name) and
    ``band_preserving``."""
    return {
        "ratio": cfg.ratio,
        "hr_rate": cfg.hr_rate,
        "degradation": degradation.to_dict(),
        "training_degradations": cfg.degradations,
        "band_preserving": cfg.band_preserving,
    }


def sample_loss(cfg):
    """The ``--loss`` sample loss with ``--sample-loss-weight`` / ``--mrstft-weight``."""
    weights = cfg.sample_loss_weights()
    return get_sample_loss(cfg.loss, weights=None if all(w == 1.0 for w in weights.values()) else weights)


def compile_with_sample_loss(model, cfg):
    """Compiles a generator with Adam(``--learning-rate``), the ``--loss`` sample loss and the SNR metric."""
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=sample_loss(cfg), metrics=[SNRMetric()])
    return model


def generator_of(model):
    """The generator a training model trains (the model itself, or an AdversarialTrainer's generator)."""
    generator = getattr(model, "generator", None)
    return generator if isinstance(generator, keras.Model) else model


def warm_start(model, path, matching=False):
    """Copies weights from a saved ``.keras`` model (``--init-from``).

    The same architecture: every weight. ``matching`` (``--init-matching``): only the layers whose name and
    weight shapes agree (a model for another ratio, rate or fold shares its inner layers); the others keep
    their fresh initialisation, and the copied and fresh layers are named on stdout.
    """
    source = load_model(path)
    if matching:
        copied, fresh = [], []
        for layer in model.layers:
            if not layer.weights:
                continue
            try:
                other = source.get_layer(layer.name)
            except ValueError:
                other = None
            if other is not None and [w.shape for w in other.weights] == [w.shape for w in layer.weights]:
                layer.set_weights(other.get_weights())
                copied.append(layer.name)
            else:
                fresh.append(layer.name)
        if not copied:
            raise ValueError(f"--init-from {path}: no layer of it has the name and shapes of one of this model's")
        print(
            f"[keras_audiosr] generator initialised from {path}: {len(copied)} layers copied "
            f"({', '.join(copied)}); fresh: {', '.join(fresh) or 'none'}",
            flush=True,
        )
        return
    if [w.shape for w in source.weights] != [w.shape for w in model.weights]:
        raise ValueError(
            f"--init-from {path}: its architecture differs from the model being trained "
            f"({source.count_params():,} vs {model.count_params():,} parameters); choose the same "
            f"--model-size and band preservation, or --init-matching to copy only the layers that agree"
        )
    model.set_weights(source.get_weights())
    print(f"[keras_audiosr] generator initialised from {path}", flush=True)


def carry_high_band_trim(model, path):
    """Gives ``model``, trained from ``--init-from path``, the high-band trim of that source model; returns the
    trim set in dB, or None when nothing is carried.

    The trim (``high_band_trim_db`` of a :class:`~keras_audiosr.models.StreamingBWE`, e.g. -9 dB for
    ``telephony-8k-16k``) is a fixed offset of the added band's level, not a weight: warm start leaves it out, so
    that training runs untrimmed, and this sets it (:meth:`~keras_audiosr.models.StreamingBWE.trim_high_band`)
    before the trained model is saved, so that a fine-tuned model adds its band at the level its source shipped
    with. Carried only where both models have a trim and add the same band (same ratio and output rate: not an
    ``--init-matching`` source for another band), with its upper band's level where it has one; a source trim of
    0 dB and no upper band changes nothing. Says so in one line.
    """
    if not callable(getattr(model, "trim_high_band", None)):
        return None
    source = load_model(path)
    trim = getattr(source, "high_band_trim_db", None)
    same_band = all(getattr(source, a, None) == getattr(model, a, None) for a in ("ratio", "hr_rate"))
    upper = getattr(source, "upper_band_hz", None)
    if trim is None or not same_band or (float(trim) == 0.0 and upper is None):
        return None
    model.trim_high_band(float(trim) - model.high_band_trim_db)
    above = ""
    if upper is not None and callable(getattr(model, "set_upper_band", None)):
        model.set_upper_band(upper, source.upper_band_trim_db)
        above = f", {model.upper_band_trim_db:+g} dB above {upper / 1000:g} kHz"
    print(
        f"[keras_audiosr] high-band trim {model.high_band_trim_db:+g} dB{above} carried from {path} "
        "(training ran untrimmed)",
        flush=True,
    )
    return model.high_band_trim_db
