"""AudioEDSR: EDSR (Lim et al. 2017) for audio, post-upsampling (King et al., audio super-resolution with EDSR)."""

import math

import keras

from keras_audiosr.layers import Interpolation1D, SubPixel1D
from keras_audiosr.models._presets import build_from_size
from keras_audiosr.models.audio_sr_model import AudioSRModel


def upsampling_stages(ratio) -> int:
    """Number of x2 sub-pixel stages for ``ratio``; ratios that are not powers of two raise ValueError."""
    ratio = int(ratio)
    if ratio < 1 or ratio & (ratio - 1):
        raise ValueError(
            f"AudioEDSR up-samples with x2 sub-pixel stages, so its ratio must be a power of two "
            f"(1, 2, 4, 8, ...), got {ratio}; use AudioUNet or MUGANGenerator for other ratios"
        )
    return int(math.log2(ratio))


@keras.saving.register_keras_serializable(package="keras_audiosr")
class AudioEDSR(AudioSRModel):
    """Enhanced deep residual network working at the LOW rate, up-sampled only at the end.

    Graph: low-rate input (no interpolation in front) -> head ``Conv1D(F)`` -> ``num_blocks``
    residual blocks (conv, ReLU, conv, scaled by ``residual_scaling``, added; no batch-norm) ->
    conv, plus a global skip from the head -> one stage per factor of two (``Conv1D(2F)`` ->
    ``SubPixel1D(2)``) -> ``Conv1D(channels)``. Every convolution has stride 1 and ``"same"``
    padding, so any input length gives exactly ``ratio * T`` output samples, and nearly all
    compute runs at the low rate. Train with L2 (``"mse"``).

    The ``"paper"`` size (F = 128, kernel 9, 30 blocks) has 9.30M parameters at ratio 2, 9.60M
    at ratio 4 and 9.89M at ratio 8, matching the published ~9.6M. (EDSR's image setting,
    F = 256, 32 blocks, kernel 3, would give 13.2-14.0M in 1-D; the wider kernel also gives a
    useful receptive field: about 500 low-rate samples.)

    ``band_preserving=True`` (the default for new models; not in the paper) merges the output with
    :class:`~keras_audiosr.layers.BandMerge`: below 0.875 of the input's Nyquist frequency the output
    is the linear-phase sinc interpolation of the input and the network only contributes above
    it. The output convolution then starts at zero, so the untrained model is that sinc
    interpolation. ``band_preserving=False`` is the published graph.

    ``interpolation_skip=True`` (off by default, not in the paper; only without band preservation)
    adds the :class:`Interpolation1D` of the input to the output and zero-initialises the output
    convolution, so the untrained model is the interpolation and the network learns a residual.

    Args:
        ratio: Up-sampling ratio, a power of two (others raise ValueError).
        filters: Feature width F.
        num_blocks: Residual blocks.
        kernel_size: Kernel size of every convolution.
        residual_scaling: Factor on each block's residual branch (EDSR's 0.1 keeps deep stacks stable).
        interpolation_skip: Add the interpolated input at the output (see above).
        band_preserving: Keep the input band exactly (see above); needs ratio >= 2.
        interpolation: Method of that interpolation (``"cubic"``, ``"sinc"``, ``"linear"``).
        channels: Audio channels processed jointly.
        hr_rate: Output sample rate in Hz.
        degradation: The degradation the training inputs were made with.
    """

    supports_band_preserving = True
    presets = {
        "paper": dict(filters=128, num_blocks=30, kernel_size=9),
        "small": dict(filters=32, num_blocks=8, kernel_size=9),
        "tiny": dict(filters=8, num_blocks=2, kernel_size=3),
    }

    def __init__(
        self,
        ratio=2,
        filters=128,
        num_blocks=30,
        kernel_size=9,
        residual_scaling=0.1,
        interpolation_skip=False,
        interpolation="cubic",
        band_preserving=True,
        channels=1,
        hr_rate=16000,
        degradation=None,
        name="audio_edsr",
        **kwargs,
    ):
        stages = upsampling_stages(ratio)
        filters, num_blocks, kernel_size = int(filters), int(num_blocks), int(kernel_size)
        band_preserving = bool(band_preserving)
        if band_preserving and interpolation_skip:
            raise ValueError(
                "AudioEDSR: interpolation_skip and band_preserving are alternatives (band preservation "
                "already adds the sinc interpolation below the transition); pass band_preserving=False "
                "to use interpolation_skip"
            )
        merge = self.band_merge(ratio, type(self).__name__) if band_preserving else None

        def conv(units, label, **options):
            return keras.layers.Conv1D(units, kernel_size, padding="same", name=label, **options)

        low_rate = keras.Input(shape=(None, channels), name="low_rate")
        head = conv(filters, "head_conv")(low_rate)
        h = head
        for b in range(num_blocks):
            r = conv(filters, f"block{b}_conv1", activation="relu")(h)
            r = conv(filters, f"block{b}_conv2")(r)
            r = keras.layers.Rescaling(residual_scaling, name=f"block{b}_scale")(r)
            h = keras.layers.Add(name=f"block{b}_add")([h, r])
        h = conv(filters, "body_conv")(h)
        h = keras.layers.Add(name="global_skip")([head, h])
        for s in range(stages):
            h = conv(2 * filters, f"up{s}_conv")(h)
            h = SubPixel1D(2, name=f"up{s}_subpixel")(h)
        output_init = "zeros" if interpolation_skip or band_preserving else "glorot_uniform"
        high_rate = conv(channels, "output_conv", kernel_initializer=output_init)(h)
        if interpolation_skip:
            interpolated = Interpolation1D(ratio, interpolation, name="interpolate")(low_rate)
            high_rate = keras.layers.Add(name="interpolation_skip")([high_rate, interpolated])
        if band_preserving:
            high_rate = merge([self.band_interpolation(ratio)(low_rate), high_rate])

        super().__init__(
            inputs=low_rate,
            outputs=high_rate,
            name=name,
            ratio=ratio,
            hr_rate=hr_rate,
            degradation=degradation,
            band_preserving=band_preserving,
            **kwargs,
        )
        self.filters = filters
        self.num_blocks = num_blocks
        self.kernel_size = kernel_size
        self.residual_scaling = float(residual_scaling)
        self.interpolation_skip = bool(interpolation_skip)
        self.interpolation = interpolation
        self.channels = int(channels)

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size: ``"paper"`` (~9.6M parameters; the published graph with ``band_preserving=False``),
        ``"small"`` (CPU minutes) or ``"tiny"`` (tests)."""
        return build_from_size(cls, size, kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_blocks": self.num_blocks,
                "kernel_size": self.kernel_size,
                "residual_scaling": self.residual_scaling,
                "interpolation_skip": self.interpolation_skip,
                "interpolation": self.interpolation,
                "channels": self.channels,
            }
        )
        return config
