"""AudioUNetGANCritic: the convolutional WGAN-GP critic of an AudioUNet-GAN (after King et al.)."""

import keras

from keras_audiosr.models.critic import AudioCritic


@keras.saving.register_keras_serializable(package="keras_audiosr")
class AudioUNetGANCritic(AudioCritic):
    """Strided convolutions with LeakyReLU, global average pooling and ``Dense(1)``: a WGAN-GP critic.

    Graph: high-rate waveform ``[B, T, C]`` -> for each layer ``Conv1D(f, k, stride, "same")``
    -> LeakyReLU(alpha) -> ``GlobalAveragePooling1D`` -> ``Dense(1)`` score. There is no
    batch-norm anywhere: the WGAN-GP gradient penalty is taken per example, and batch-norm
    would make each critic output depend on the rest of the batch. Pooling makes the input
    length free. The widths and kernels follow the encoder of :class:`AudioUNet` (wide kernels
    first, narrowing with depth); King et al. describe the critic only as convolutional, so the
    ``"paper"`` size is this package's choice, not a published configuration.

    Args:
        filters: Filters of each convolution; its length is the depth.
        kernel_sizes: Kernel size of each convolution (same length as ``filters``).
        strides: Stride of every convolution.
        alpha: LeakyReLU negative slope.
        channels: Audio channels of the input.
    """

    presets = {
        "paper": dict(filters=(64, 128, 256, 512, 512, 512), kernel_sizes=(31, 31, 17, 17, 9, 9)),
        "small": dict(filters=(16, 32, 64, 64, 64), kernel_sizes=(31, 17, 9, 9, 9)),
        "tiny": dict(filters=(4, 8, 8), kernel_sizes=(9, 5, 5)),
    }

    def __init__(
        self,
        filters=(64, 128, 256, 512, 512, 512),
        kernel_sizes=(31, 31, 17, 17, 9, 9),
        strides=2,
        alpha=0.2,
        channels=1,
        name="audio_unet_gan_critic",
        **kwargs,
    ):
        filters, kernel_sizes = tuple(int(f) for f in filters), tuple(int(k) for k in kernel_sizes)
        if not filters or len(filters) != len(kernel_sizes):
            raise ValueError(f"filters {filters} and kernel_sizes {kernel_sizes} must be non-empty and of equal length")
        waveform = keras.Input(shape=(None, channels), name="waveform")
        h = waveform
        for i, (nf, ks) in enumerate(zip(filters, kernel_sizes)):
            h = keras.layers.Conv1D(nf, ks, strides=strides, padding="same", name=f"conv{i}")(h)
            h = keras.layers.LeakyReLU(alpha, name=f"act{i}")(h)
        h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
        score = keras.layers.Dense(1, name="score")(h)

        super().__init__(inputs=waveform, outputs=score, name=name, **kwargs)
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.strides = int(strides)
        self.alpha = float(alpha)
        self.channels = int(channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": list(self.filters),
                "kernel_sizes": list(self.kernel_sizes),
                "strides": self.strides,
                "alpha": self.alpha,
                "channels": self.channels,
            }
        )
        return config
