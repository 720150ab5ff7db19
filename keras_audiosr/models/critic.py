"""AudioCritic: the base of every critic/discriminator, a functional model from waveform to one logit."""
import keras

from keras_audiosr.models._presets import build_from_size


class AudioCritic(keras.Model):
    """A functional Keras model mapping a HIGH-rate waveform ``[B, T, C]`` (any T) to a logit ``[B, 1]``.

    The output is an unbounded score: a WGAN critic value or the logit of "real" (train with
    ``from_logits=True``). Subclasses build their graph, call ``super().__init__(inputs=...,
    outputs=..., name=...)``, set one attribute per argument and add them to ``get_config``.
    """

    presets = {}

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size from ``cls.presets`` (``"paper"``, ``"small"``, ``"tiny"``)."""
        return build_from_size(cls, size, kwargs)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
