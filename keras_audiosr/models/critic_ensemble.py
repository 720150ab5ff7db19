"""CriticEnsemble: several critics trained together as one (HiFi-GAN's MPD + MSD, MPD + MRD, ...)."""

import keras

from keras_audiosr.models.critic import split_critic_outputs


@keras.saving.register_keras_serializable(package="keras_audiosr")
class CriticEnsemble(keras.Model):
    """Runs every critic on the same waveform and concatenates their scores and feature maps.

    Output: ``{"scores": [...], "features": [...]}``, the critics' lists joined in order (a critic
    returning a plain tensor adds one score and no features). :class:`AdversarialTrainer` wraps a
    list of critics in one of these, so one optimizer trains them all and the adversarial loss is
    summed over every sub-critic, as HiFi-GAN does.

    Args:
        critics: Keras models (or their serialised configs) taking ``[B, T, C]``.
    """

    def __init__(self, critics, name="critic_ensemble", **kwargs):
        super().__init__(name=name, **kwargs)
        critics = [keras.saving.deserialize_keras_object(c) if isinstance(c, dict) else c for c in critics]
        if not critics:
            raise ValueError("CriticEnsemble needs at least one critic")
        names = [c.name for c in critics]
        if len(set(names)) != len(names):
            raise ValueError(
                f"CriticEnsemble: critic names must be distinct (their weights are saved by name), got {names}"
            )
        self.critics = critics

    @property
    def returns_features(self):
        return any(getattr(c, "returns_features", False) for c in self.critics)

    def build(self, input_shape):
        for critic in self.critics:
            if not critic.built:
                critic.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        scores, features = [], []
        for critic in self.critics:
            s, f = split_critic_outputs(critic(inputs, training=training))
            scores += s
            features += f
        return {"scores": scores, "features": features}

    def get_config(self):
        return {"name": self.name, "critics": [keras.saving.serialize_keras_object(c) for c in self.critics]}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
