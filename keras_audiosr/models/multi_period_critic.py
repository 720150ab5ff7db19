"""MultiPeriodCritic: HiFi-GAN's multi-period discriminator (Kong, Kim & Bae 2020)."""

import keras

from keras_audiosr.layers import PadToMultiple
from keras_audiosr.models.critic import AudioCritic


@keras.saving.register_keras_serializable(package="keras_audiosr")
class MultiPeriodCritic(AudioCritic):
    """One 2-D convolutional sub-critic per period p, each looking at every p-th sample.

    Graph per period p: waveform ``[B, T, C]`` -> padded at the end to a multiple of p (repeating
    the last sample; HiFi-GAN reflect-pads) -> reshaped to ``[B, T/p, p, C]`` -> for each width in
    ``filters`` a ``Conv2D(f, (kernel_size, 1), strides (stride, 1))`` + LeakyReLU(``alpha``) ->
    ``Conv2D(final_filters, (kernel_size, 1))`` + LeakyReLU -> ``Conv2D(1, (3, 1))`` score map
    ``[B, T', p, 1]``. The (k, 1) kernels never mix columns, so sub-critic p sees p interleaved
    sub-sampled signals: periodic structure (pitch, its harmonics) that a 1-D critic averages away.

    Output: ``{"scores": [one map per period], "features": [every activation and score map of
    every period, in order]}`` (see :func:`~keras_audiosr.models.critic.split_critic_outputs`).
    ``"paper"`` is HiFi-GAN's (periods 2, 3, 5, 7, 11; widths 32, 128, 512, 1024, then 1024;
    41.1M parameters) without its weight normalisation. Any length T >= 1.

    Args:
        periods: The periods, one sub-critic each.
        filters: Widths of the strided convolutions.
        final_filters: Width of the last stride-1 convolution.
        kernel_size: Kernel length along time (per column).
        stride: Time stride of the strided convolutions.
        alpha: LeakyReLU negative slope (HiFi-GAN: 0.1).
        channels: Audio channels of the input.
    """

    presets = {
        "paper": dict(periods=(2, 3, 5, 7, 11), filters=(32, 128, 512, 1024), final_filters=1024),
        "small": dict(periods=(2, 3, 5, 7, 11), filters=(16, 32, 64, 128), final_filters=128),
        "tiny": dict(periods=(2, 3), filters=(4, 8), final_filters=8),
    }
    returns_features = True

    def __init__(
        self,
        periods=(2, 3, 5, 7, 11),
        filters=(32, 128, 512, 1024),
        final_filters=1024,
        kernel_size=5,
        stride=3,
        alpha=0.1,
        channels=1,
        name="multi_period_critic",
        **kwargs,
    ):
        periods, filters = tuple(int(p) for p in periods), tuple(int(f) for f in filters)
        if not periods or min(periods) < 1 or len(set(periods)) != len(periods):
            raise ValueError(f"MultiPeriodCritic: periods must be distinct positive integers, got {periods}")
        if not filters:
            raise ValueError("MultiPeriodCritic needs at least one convolution (filters is empty)")
        kernel_size, stride, channels = int(kernel_size), int(stride), int(channels)

        waveform = keras.Input(shape=(None, channels), name="waveform")
        scores, features = [], []
        for p in periods:
            h = PadToMultiple(p, name=f"p{p}_pad")(waveform)
            h = keras.layers.Reshape((-1, p, channels), name=f"p{p}_fold")(h)
            for i, nf in enumerate(filters + (int(final_filters),)):
                strides = (stride, 1) if i < len(filters) else (1, 1)
                h = keras.layers.Conv2D(nf, (kernel_size, 1), strides=strides, padding="same", name=f"p{p}_conv{i}")(h)
                h = keras.layers.LeakyReLU(alpha, name=f"p{p}_act{i}")(h)
                features.append(h)
            score = keras.layers.Conv2D(1, (3, 1), padding="same", name=f"p{p}_score")(h)
            features.append(score)
            scores.append(score)

        super().__init__(inputs=waveform, outputs={"scores": scores, "features": features}, name=name, **kwargs)
        self.periods = periods
        self.filters = filters
        self.final_filters = int(final_filters)
        self.kernel_size = kernel_size
        self.stride = stride
        self.alpha = float(alpha)
        self.channels = channels

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "periods": list(self.periods),
                "filters": list(self.filters),
                "final_filters": self.final_filters,
                "kernel_size": self.kernel_size,
                "stride": self.stride,
                "alpha": self.alpha,
                "channels": self.channels,
            }
        )
        return config
