"""AudioSRModel: the base of every generator, carrying its sample rates and degradation."""
import keras


class AudioSRModel(keras.Model):
    """A functional Keras model that maps low-rate audio ``[B, T, C]`` to high-rate audio ``[B, ratio*T, C]``.

    The ratio, the high (target) sample rate and the degradation the model was trained on travel
    in its config, so a saved ``.keras`` file is all that inference, evaluation and the edge
    exporter need: nothing downstream guesses rates.

    Subclasses build their graph, call ``super().__init__(inputs=..., outputs=..., ratio=...,
    hr_rate=..., degradation=...)`` and add their own arguments to ``get_config``.
    """

    def __init__(self, *args, ratio=2, hr_rate=16000, degradation=None, **kwargs):
        super().__init__(*args, **kwargs)
        ratio, hr_rate = int(ratio), int(hr_rate)
        if ratio < 1:
            raise ValueError(f"ratio must be a positive integer, got {ratio}")
        if hr_rate % ratio:
            raise ValueError(f"hr_rate {hr_rate} Hz is not divisible by ratio {ratio}")
        self.ratio = ratio
        self.hr_rate = hr_rate
        self.degradation = dict(degradation) if degradation else {"ratio": ratio, "filter": "cheby1:8", "zero_phase": True}

    @property
    def lr_rate(self):
        """Sample rate (Hz) of the input the model takes."""
        return self.hr_rate // self.ratio

    def audio_config(self):
        """The facts a user of a saved model needs: rates, ratio and the training degradation."""
        return {"ratio": self.ratio, "lr_rate": self.lr_rate, "hr_rate": self.hr_rate, "degradation": dict(self.degradation)}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "ratio": self.ratio,
            "hr_rate": self.hr_rate,
            "degradation": dict(self.degradation),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
