"""AudioCritic: the base of every critic/discriminator, a functional model from waveform to scores."""

import keras

from keras_audiosr.models._presets import build_from_size


def split_critic_outputs(outputs):
    """``(scores, features)``: lists of ``[B, ...]`` tensors from whatever a critic returned.

    A tensor (the seeds' critics: one logit ``[B, 1]`` or a patch map) is one score and no features;
    a dict ``{"scores": [...], "features": [...]}`` (multi-critics such as
    :class:`~keras_audiosr.models.MultiPeriodCritic`) gives its two lists.
    """
    if isinstance(outputs, dict):
        if "scores" not in outputs:
            raise ValueError(
                f"a critic returning a dict must have 'scores' (and 'features'), got keys {sorted(outputs)}"
            )
        return list(outputs["scores"]), list(outputs.get("features", []))
    if isinstance(outputs, (list, tuple)):
        raise ValueError(
            "a critic must return a score tensor or {'scores': [...], 'features': [...]}, got a "
            f"{type(outputs).__name__} of {len(outputs)}"
        )
    return [outputs], []


class AudioCritic(keras.Model):
    """A functional Keras model scoring a HIGH-rate waveform ``[B, T, C]`` (any T).

    The seeds' critics return one unbounded score per example, ``[B, 1]``: a WGAN critic value or
    the logit of "real" (train with ``from_logits=True``). Multi-critics (several sub-critics, e.g.
    one per period or per STFT resolution) return ``{"scores": [s_1, ..., s_K], "features": [...]}``:
    one score map ``[B, ...]`` per sub-critic and every intermediate feature map (for feature
    matching), and set ``returns_features = True``; :func:`split_critic_outputs` reads both forms.
    Subclasses build their graph, call ``super().__init__(inputs=..., outputs=..., name=...)``, set
    one attribute per argument and add them to ``get_config``.
    """

    presets = {}
    #: Whether the outputs include feature maps for feature matching.
    returns_features = False

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size from ``cls.presets`` (``"paper"``, ``"small"``, ``"tiny"``)."""
        return build_from_size(cls, size, kwargs)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
