"""MU-GAN (Kim & Sathe, "Bandwidth extension on raw audio via generative adversarial networks", 2019).

Three networks: the generator (a multi-scale U-Net), the discriminator, and an autoencoder
whose frozen encoder supplies the feature loss ``||phi(y) - phi(G(x))||^2``. Training order:
fit :class:`MUGANAutoencoder` to reconstruct high-rate audio from itself (``ae.fit(y, y)``,
L2), take ``phi = ae.feature_extractor()``, then train generator and discriminator with the
sample, feature and adversarial losses (the adversarial training step lives in
``keras_audiosr.training``).
"""

import math

import keras

from keras_audiosr.layers import (
    CropToLength,
    Interpolation1D,
    MultiscaleConv1D,
    PadToMultiple,
    SubPixel1D,
    SuperPixel1D,
)
from keras_audiosr.models._presets import build_from_size
from keras_audiosr.models.audio_sr_model import AudioSRModel
from keras_audiosr.models.critic import AudioCritic

BOTTLENECK = "bottleneck"
DOWNSAMPLING = ("superpixel", "strided")


def _check_widths(cls_name, widths, kernel_sizes):
    branches = len(kernel_sizes)
    bad = [w for w in widths if w < 1 or w % branches]
    if bad:
        raise ValueError(
            f"{cls_name}: every width must be a positive multiple of the {branches} multi-scale branches "
            f"(kernel_sizes={tuple(kernel_sizes)}), got {bad}"
        )


def _check_downsample(cls_name, downsample):
    if downsample not in DOWNSAMPLING:
        raise ValueError(f"{cls_name}: unknown downsample {downsample!r}; choose one of {DOWNSAMPLING}")
    return downsample


def _multiscale_unet(
    x,
    filters,
    kernel_sizes,
    bottleneck_filters,
    dropout,
    batch_norm,
    alpha,
    skip_connections,
    out_channels,
    output_kernel_size,
    output_initializer,
    downsample="superpixel",
):
    """Down blocks, bottleneck and up blocks of the MU-GAN U-Net on ``x`` (length divisible by ``2**(B+1)``).

    Each down block and the bottleneck halve the length and double the width ``F`` of their
    multi-scale convolution: ``downsample="superpixel"`` with ``SuperPixel1D(2)``, ``"strided"`` with
    a stride-2 :class:`MultiscaleConv1D` of ``2F`` channels and the same kernels (the paper's
    Table 5 alternative), so the up blocks see the same shapes either way.
    Returns the output (``out_channels`` channels, the length of ``x``) and the bottleneck tensor.
    """

    def maybe(layer, enabled, h):
        return layer(h) if enabled else h

    def down(width, name):
        if downsample == "strided":
            return MultiscaleConv1D(2 * width, kernel_sizes, strides=2, name=name)
        return SuperPixel1D(2, name=name)

    h, skips = x, []
    for b, nf in enumerate(filters):
        h = MultiscaleConv1D(nf, kernel_sizes, name=f"down{b}_conv")(h)
        h = maybe(keras.layers.BatchNormalization(name=f"down{b}_bn"), batch_norm, h)
        h = keras.layers.LeakyReLU(alpha, name=f"down{b}_act")(h)
        h = down(nf, f"down{b}_{downsample}")(h)
        skips.append(h)
    h = MultiscaleConv1D(bottleneck_filters, kernel_sizes, name="bottleneck_conv")(h)
    h = maybe(keras.layers.BatchNormalization(name="bottleneck_bn"), batch_norm, h)
    h = maybe(keras.layers.Dropout(dropout, name="bottleneck_dropout"), dropout > 0, h)
    h = keras.layers.LeakyReLU(alpha, name="bottleneck_act")(h)
    bottleneck = h = down(bottleneck_filters, BOTTLENECK)(h)
    for b in reversed(range(len(filters))):
        h = MultiscaleConv1D(2 * filters[b], kernel_sizes, name=f"up{b}_conv")(h)
        h = maybe(keras.layers.Dropout(dropout, name=f"up{b}_dropout"), dropout > 0, h)
        h = keras.layers.ReLU(name=f"up{b}_act")(h)
        h = SubPixel1D(2, name=f"up{b}_subpixel")(h)
        if skip_connections:
            h = keras.layers.Concatenate(name=f"up{b}_skip")([h, skips[b]])
    h = keras.layers.Conv1D(
        2 * out_channels, output_kernel_size, padding="same", kernel_initializer=output_initializer, name="final_conv"
    )(h)
    return SubPixel1D(2, name="final_subpixel")(h), bottleneck


class _MUGANConfig:
    """Attributes and config entries shared by the generator and the autoencoder."""

    def _set_unet_attributes(
        self,
        filters,
        kernel_sizes,
        bottleneck_filters,
        dropout,
        batch_norm,
        alpha,
        output_kernel_size,
        channels,
        downsample,
    ):
        self.downsample = downsample
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.bottleneck_filters = int(bottleneck_filters)
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.alpha = float(alpha)
        self.output_kernel_size = int(output_kernel_size)
        self.channels = int(channels)

    def _unet_config(self):
        return {
            "filters": list(self.filters),
            "kernel_sizes": list(self.kernel_sizes),
            "bottleneck_filters": self.bottleneck_filters,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "alpha": self.alpha,
            "output_kernel_size": self.output_kernel_size,
            "channels": self.channels,
            "downsample": self.downsample,
        }


_GENERATOR_PRESETS = {
    "paper": dict(filters=(64, 128, 256, 512), bottleneck_filters=512, dropout=0.5),
    "small": dict(filters=(16, 32, 64, 64), bottleneck_filters=64, dropout=0.0),
    "tiny": dict(filters=(4, 8), bottleneck_filters=8, dropout=0.0, output_kernel_size=9),
}


@keras.saving.register_keras_serializable(package="keras_audiosr")
class MUGANGenerator(_MUGANConfig, AudioSRModel):
    """MU-GAN's generator: a U-Net of multi-scale convolutions that down-samples with SuperPixel1D.

    Graph: low-rate input -> fixed :class:`Interpolation1D` to the high rate -> B down blocks
    (:class:`MultiscaleConv1D` -> [batch-norm] -> LeakyReLU 0.2 -> ``SuperPixel1D(2)``: time
    folded into channels instead of a strided convolution, so nothing is discarded) ->
    bottleneck (the same, plus dropout) -> B up blocks (``MultiscaleConv1D(2F)`` -> dropout ->
    ReLU -> ``SubPixel1D(2)`` -> concatenation with the matching down block) ->
    ``Conv1D(2C, output_kernel_size)`` + ``SubPixel1D(2)`` -> sum with the interpolated input.
    The last convolution starts at zero, so the untrained model is the interpolation. Inputs of
    any length are padded to a multiple of ``2**(B+1)`` and the output is cropped back.

    With ``band_preserving`` (the default for new models) the sum is replaced by
    ``BandMerge([sinc(x), network])``: below 0.875 of the input's Nyquist frequency the output is
    the linear-phase sinc interpolation of the input and the network only contributes above it;
    the network then sees that sinc interpolation too (``interpolation=None``), for the reasons
    given in :class:`~keras_audiosr.models.AudioUNet`. ``band_preserving=False`` with
    ``interpolation="cubic"`` is the published graph.

    ``filters`` are total widths, split over the four kernels (3, 9, 27, 81); the ``"paper"``
    size uses B = 4 and widths 64..512 (16..128 per kernel; 88.5M parameters, mostly in the
    deep blocks whose inputs SuperPixel1D has doubled); pass eight widths for B = 8. The
    dropout rate and output kernel (27) are this package's reading of the paper, which gives
    neither for every layer.

    ``downsample="strided"`` is the alternative of the paper's Table 5: each ``SuperPixel1D(2)``
    (down blocks and bottleneck) becomes a stride-2 :class:`MultiscaleConv1D` with the block's
    kernels and twice its width, the width SuperPixel1D gives, so the up blocks are unchanged. It
    adds ``2 * F**2 * sum(kernel_sizes) / len(kernel_sizes) + 2F`` parameters per block of width ``F``.

    Args:
        ratio: Up-sampling ratio r (integer).
        filters: Total width of each down block's multi-scale convolution; its length is B.
        kernel_sizes: Kernel sizes of the multi-scale branches.
        bottleneck_filters: Width of the bottleneck's multi-scale convolution.
        dropout: Dropout rate in the bottleneck and up blocks (0 disables).
        batch_norm: Batch-normalise in the down blocks and the bottleneck.
        alpha: LeakyReLU negative slope.
        output_kernel_size: Kernel of the final convolution.
        skip_connections: Concatenate the down-block outputs into the up blocks (False gives
            the plain encoder-decoder of the autoencoder, still with the input residual).
        downsample: ``"superpixel"`` (the paper's MU-GAN) or ``"strided"`` (see above).
        interpolation: Fixed interpolation the network sees (``"cubic"``, ``"sinc"``, ``"linear"``;
            None: ``"sinc"`` when band-preserving, else ``"cubic"``).
        band_preserving: Keep the input band exactly (see above).
        channels: Audio channels processed jointly.
        hr_rate: Output sample rate in Hz.
        degradation: The degradation the training inputs were made with.
    """

    supports_band_preserving = True
    presets = _GENERATOR_PRESETS

    def __init__(
        self,
        ratio=2,
        filters=(64, 128, 256, 512),
        kernel_sizes=(3, 9, 27, 81),
        bottleneck_filters=512,
        dropout=0.5,
        batch_norm=True,
        alpha=0.2,
        output_kernel_size=27,
        skip_connections=True,
        interpolation=None,
        band_preserving=True,
        channels=1,
        hr_rate=16000,
        degradation=None,
        downsample="superpixel",
        name="mugan_generator",
        **kwargs,
    ):
        downsample = _check_downsample(type(self).__name__, downsample)
        filters, kernel_sizes = tuple(int(f) for f in filters), tuple(int(k) for k in kernel_sizes)
        band_preserving = bool(band_preserving)
        if interpolation is None:
            interpolation = "sinc" if band_preserving else "cubic"
        if not filters:
            raise ValueError("MUGANGenerator needs at least one down block (filters is empty)")
        _check_widths(type(self).__name__, filters + (int(bottleneck_filters),), kernel_sizes)
        total_stride = 2 ** (len(filters) + 1)
        multiple = total_stride // math.gcd(total_stride, int(ratio))

        low_rate = keras.Input(shape=(None, channels), name="low_rate")
        merge = self.band_merge(ratio, type(self).__name__) if band_preserving else None
        kept = self.BAND_PATH if band_preserving else {}  # the kept path stays float32 under mixed precision
        padded = PadToMultiple(multiple, name="pad", **kept)(low_rate)
        if band_preserving and interpolation == "sinc":
            low_band = interpolated = self.band_interpolation(ratio)(padded)
        else:
            interpolated = Interpolation1D(ratio, interpolation, name="interpolate")(padded)
            low_band = self.band_interpolation(ratio, "band_interpolate")(padded) if band_preserving else None
        h, _ = _multiscale_unet(
            interpolated,
            filters,
            kernel_sizes,
            int(bottleneck_filters),
            float(dropout),
            batch_norm,
            alpha,
            skip_connections,
            channels,
            output_kernel_size,
            "zeros",
            downsample,
        )
        if band_preserving:
            h = merge([low_band, h])
        else:
            h = keras.layers.Add(name="residual")([h, interpolated])
        high_rate = CropToLength(ratio, name="crop", **kept)([h, low_rate])

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
        self._set_unet_attributes(
            filters,
            kernel_sizes,
            bottleneck_filters,
            dropout,
            batch_norm,
            alpha,
            output_kernel_size,
            channels,
            downsample,
        )
        self.skip_connections = bool(skip_connections)
        self.interpolation = interpolation

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size: ``"paper"`` (B = 4; the published graph with ``band_preserving=False``),
        ``"small"`` (CPU minutes) or ``"tiny"`` (tests)."""
        return build_from_size(cls, size, kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._unet_config())
        config.update({"skip_connections": self.skip_connections, "interpolation": self.interpolation})
        return config


@keras.saving.register_keras_serializable(package="keras_audiosr")
class MUGANAutoencoder(_MUGANConfig, AudioSRModel):
    """MU-GAN's feature network: the generator's U-Net WITHOUT skip connections or input residual.

    Maps a high-rate waveform ``[B, T, C]`` to its reconstruction ``[B, T, C]`` (``ratio`` is 1,
    ``hr_rate`` is the rate of the audio it is trained on). Without skips or residual every
    sample has to pass through the bottleneck, so after training (``ae.fit(y, y)``, L2) the
    bottleneck is a compact learned description of the waveform. :meth:`feature_extractor`
    returns the frozen encoder ``phi`` for the feature loss ``||phi(y) - phi(G(x))||^2``.

    The arguments mean what they mean for :class:`MUGANGenerator` (``downsample`` included: the
    bottleneck ``phi`` reads is a SuperPixel1D or a stride-2 convolution); the final convolution
    has a normal (non-zero) initialisation since there is no residual to start from.
    """

    presets = _GENERATOR_PRESETS

    def __init__(
        self,
        filters=(64, 128, 256, 512),
        kernel_sizes=(3, 9, 27, 81),
        bottleneck_filters=512,
        dropout=0.5,
        batch_norm=True,
        alpha=0.2,
        output_kernel_size=27,
        channels=1,
        hr_rate=16000,
        degradation=None,
        ratio=1,
        downsample="superpixel",
        name="mugan_autoencoder",
        **kwargs,
    ):
        downsample = _check_downsample(type(self).__name__, downsample)
        if int(ratio) != 1:
            raise ValueError(f"MUGANAutoencoder reconstructs audio at its own rate, so ratio must be 1, got {ratio}")
        filters, kernel_sizes = tuple(int(f) for f in filters), tuple(int(k) for k in kernel_sizes)
        if not filters:
            raise ValueError("MUGANAutoencoder needs at least one down block (filters is empty)")
        _check_widths(type(self).__name__, filters + (int(bottleneck_filters),), kernel_sizes)

        waveform = keras.Input(shape=(None, channels), name="waveform")
        padded = PadToMultiple(2 ** (len(filters) + 1), name="pad")(waveform)
        h, _ = _multiscale_unet(
            padded,
            filters,
            kernel_sizes,
            int(bottleneck_filters),
            float(dropout),
            batch_norm,
            alpha,
            False,
            channels,
            output_kernel_size,
            "glorot_uniform",
            downsample,
        )
        reconstruction = CropToLength(1, name="crop")([h, waveform])

        super().__init__(
            inputs=waveform,
            outputs=reconstruction,
            name=name,
            ratio=1,
            hr_rate=hr_rate,
            degradation=degradation,
            **kwargs,
        )
        self._set_unet_attributes(
            filters,
            kernel_sizes,
            bottleneck_filters,
            dropout,
            batch_norm,
            alpha,
            output_kernel_size,
            channels,
            downsample,
        )

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size (the generator's): ``"paper"``, ``"small"`` or ``"tiny"``."""
        return build_from_size(cls, size, kwargs)

    def feature_extractor(self, frozen=True):
        """``phi``: a model from high-rate waveform ``[B, T, C]`` to bottleneck features.

        Features are ``[B, ceil(T / 2**(B+1)), 2 * bottleneck_filters]``. The model is a
        snapshot: a copy of this autoencoder with its current weights, so later training of the
        autoencoder does not change it and freezing it does not freeze the autoencoder. With
        ``frozen`` (the default) it is not trainable and its batch-norm runs in inference mode.
        """
        copy = type(self).from_config(self.get_config())
        copy.set_weights(self.get_weights())
        phi = keras.Model(copy.input, copy.get_layer(BOTTLENECK).output, name=f"{self.name}_features")
        phi.trainable = not frozen
        return phi

    def get_config(self):
        config = super().get_config()
        config.update(self._unet_config())
        return config


@keras.saving.register_keras_serializable(package="keras_audiosr")
class MUGANDiscriminator(AudioCritic):
    """MU-GAN's discriminator: multi-scale down blocks and a dense head, from waveform to logit.

    Graph: high-rate waveform ``[B, T, C]`` -> padded to a multiple of ``2**B`` -> B blocks
    (:class:`MultiscaleConv1D` -> [batch-norm] -> dropout -> LeakyReLU 0.2 -> ``SuperPixel1D(2)``)
    -> ``GlobalAveragePooling1D`` -> ``Dense(dense_units)`` -> dropout -> LeakyReLU -> ``Dense(1)``
    logit. The paper flattens a fixed-length input into its dense layer; pooling over time
    keeps the input length free. Batch-norm makes it a standard-GAN discriminator (not for
    WGAN-GP, whose per-example gradient penalty it would break).

    Args:
        filters: Total width of each block's multi-scale convolution; its length is B.
        kernel_sizes: Kernel sizes of the multi-scale branches.
        dropout: Dropout rate in the blocks and the head (0 disables).
        batch_norm: Batch-normalise in every block.
        alpha: LeakyReLU negative slope.
        dense_units: Width of the hidden dense layer (0 removes it).
        channels: Audio channels of the input.
    """

    presets = {
        "paper": dict(filters=(64, 64, 128, 128, 256, 256, 512, 512), dense_units=1024, dropout=0.5),
        "small": dict(filters=(16, 32, 64, 64), dense_units=128, dropout=0.5),
        "tiny": dict(filters=(4, 8), dense_units=8, dropout=0.0),
    }

    def __init__(
        self,
        filters=(64, 64, 128, 128, 256, 256, 512, 512),
        kernel_sizes=(3, 9, 27, 81),
        dropout=0.5,
        batch_norm=True,
        alpha=0.2,
        dense_units=1024,
        channels=1,
        name="mugan_discriminator",
        **kwargs,
    ):
        filters, kernel_sizes = tuple(int(f) for f in filters), tuple(int(k) for k in kernel_sizes)
        if not filters:
            raise ValueError("MUGANDiscriminator needs at least one block (filters is empty)")
        _check_widths(type(self).__name__, filters, kernel_sizes)
        dropout = float(dropout)

        waveform = keras.Input(shape=(None, channels), name="waveform")
        h = PadToMultiple(2 ** len(filters), name="pad")(waveform)
        for b, nf in enumerate(filters):
            h = MultiscaleConv1D(nf, kernel_sizes, name=f"block{b}_conv")(h)
            if batch_norm:
                h = keras.layers.BatchNormalization(name=f"block{b}_bn")(h)
            if dropout:
                h = keras.layers.Dropout(dropout, name=f"block{b}_dropout")(h)
            h = keras.layers.LeakyReLU(alpha, name=f"block{b}_act")(h)
            h = SuperPixel1D(2, name=f"block{b}_superpixel")(h)
        h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
        if dense_units:
            h = keras.layers.Dense(int(dense_units), name="dense")(h)
            if dropout:
                h = keras.layers.Dropout(dropout, name="dense_dropout")(h)
            h = keras.layers.LeakyReLU(alpha, name="dense_act")(h)
        logit = keras.layers.Dense(1, name="logit")(h)

        super().__init__(inputs=waveform, outputs=logit, name=name, **kwargs)
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.batch_norm = bool(batch_norm)
        self.alpha = float(alpha)
        self.dense_units = int(dense_units)
        self.channels = int(channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": list(self.filters),
                "kernel_sizes": list(self.kernel_sizes),
                "dropout": self.dropout,
                "batch_norm": self.batch_norm,
                "alpha": self.alpha,
                "dense_units": self.dense_units,
                "channels": self.channels,
            }
        )
        return config
