"""WaveGANCritic: WaveGAN's phase-shuffle discriminator (Donahue et al. 2019), as used by Retzlöff's UNet-GAN."""

import keras

from keras_audiosr.layers import PhaseShuffle
from keras_audiosr.models.critic import AudioCritic


@keras.saving.register_keras_serializable(package="keras_audiosr")
class WaveGANCritic(AudioCritic):
    """Strided convolutions with phase shuffle between them, global average pooling, ``Dense(1)``.

    Graph: high-rate waveform ``[B, T, C]`` -> for each of the five layers ``Conv1D(f, 25,
    stride 4, "same")`` -> LeakyReLU(0.2) -> :class:`PhaseShuffle` (after every layer but the
    last) -> ``GlobalAveragePooling1D`` -> ``Dense(1)`` logit. WaveGAN flattens a fixed 16384
    sample window; pooling instead makes the length free (any T >= 1). No normalisation, so it
    also serves as a WGAN-GP critic.

    Args:
        filters: Filters of each convolution (WaveGAN: 64, 128, 256, 512, 1024).
        kernel_size: Kernel size of every convolution.
        strides: Stride of every convolution.
        phase_shuffle: Largest phase-shuffle shift n (0 disables).
        alpha: LeakyReLU negative slope.
        channels: Audio channels of the input.
        seed: Optional seed for the phase-shuffle shifts (layer i uses ``seed + i``).
    """

    presets = {
        "paper": dict(filters=(64, 128, 256, 512, 1024)),
        "small": dict(filters=(16, 32, 64, 128, 256)),
        "tiny": dict(filters=(4, 4, 8, 8, 8)),
    }

    def __init__(
        self,
        filters=(64, 128, 256, 512, 1024),
        kernel_size=25,
        strides=4,
        phase_shuffle=2,
        alpha=0.2,
        channels=1,
        seed=None,
        name="wavegan_critic",
        **kwargs,
    ):
        filters = tuple(int(f) for f in filters)
        if not filters:
            raise ValueError("WaveGANCritic needs at least one convolution (filters is empty)")
        waveform = keras.Input(shape=(None, channels), name="waveform")
        h = waveform
        for i, nf in enumerate(filters):
            h = keras.layers.Conv1D(nf, kernel_size, strides=strides, padding="same", name=f"conv{i}")(h)
            h = keras.layers.LeakyReLU(alpha, name=f"act{i}")(h)
            if phase_shuffle and i < len(filters) - 1:
                h = PhaseShuffle(phase_shuffle, seed=None if seed is None else seed + i, name=f"phase_shuffle{i}")(h)
        h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
        logit = keras.layers.Dense(1, name="logit")(h)

        super().__init__(inputs=waveform, outputs=logit, name=name, **kwargs)
        self.filters = filters
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.phase_shuffle = int(phase_shuffle)
        self.alpha = float(alpha)
        self.channels = int(channels)
        self.seed = seed

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": list(self.filters),
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "phase_shuffle": self.phase_shuffle,
                "alpha": self.alpha,
                "channels": self.channels,
                "seed": self.seed,
            }
        )
        return config
