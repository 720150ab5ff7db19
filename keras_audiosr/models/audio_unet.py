"""AudioUNet: the audio super-resolution U-Net of Kuleshov, Enam & Ermon (ICLR workshop 2017)."""

import math

import keras

from keras_audiosr.layers import CropToLength, Interpolation1D, PadToMultiple, SubPixel1D
from keras_audiosr.models._presets import build_from_size
from keras_audiosr.models.audio_sr_model import AudioSRModel

MODEL_SIZES = ("tiny", "small", "paper")


@keras.saving.register_keras_serializable(package="keras_audiosr")
class AudioUNet(AudioSRModel):
    """Kuleshov et al.'s U-Net over the interpolated waveform, with sub-pixel up-sampling.

    Graph: low-rate input -> fixed :class:`Interpolation1D` to the high rate -> B down-sampling
    blocks (stride-2 conv, [batch-norm], LeakyReLU 0.2) -> bottleneck (stride-2 conv, dropout,
    LeakyReLU) -> B up-sampling blocks (conv to 2F channels, [batch-norm], dropout, ReLU,
    ``SubPixel1D(2)``, concatenation with the matching down-sampling output) -> conv to 2
    channels + ``SubPixel1D(2)`` -> sum with the interpolated input. Inputs of any length are
    padded to a multiple of ``2**(B+1)`` inside the model and the output is cropped back.

    With ``band_preserving`` (the default for new models) the last step is instead
    ``BandMerge([sinc(x), network])``: below 0.875 of the input's Nyquist frequency the output is
    the linear-phase sinc interpolation of the input (:meth:`band_interpolation`), and the
    network's output only passes above it (a fixed 120 dB high-pass; see
    :class:`~keras_audiosr.layers.BandMerge` for the transition band and delay). The network then
    sees that same sinc interpolation (``interpolation=None`` resolves to ``"sinc"``): both
    interpolations are fixed invertible functions of the same samples, so neither carries more
    information, but the sinc leaves the band the network writes empty (the cubic kernel puts a
    mirror image of the low band there, only 6 to 25 dB down from 1.0 to 1.5 times the input's
    Nyquist, that the network would first have to learn to cancel), it is computed once for both
    branches, and the untrained model is exactly the sinc resampler. ``interpolation="cubic"`` still gives the network
    the papers' cubic input.
    ``band_preserving=False`` with ``interpolation="cubic"`` is the published graph
    (``from_size("paper", band_preserving=False)``).

    The defaults are the reference code's (filters 128, 384, 512, 512; kernels 65, 33, 17, 9;
    bottleneck 512 x 9; dropout 0.5). The paper states min(2**(6+b), 512) filters and
    max(2**(7-b)+1, 9) kernels for block b = 1..B, which differs at b = 2 (256 vs 384).

    Args:
        ratio: Up-sampling ratio r (integer).
        filters: Filters of each down-sampling block; its length is the depth B.
        kernel_sizes: Kernel size of each block (same length as ``filters``).
        bottleneck_filters, bottleneck_kernel_size: The bottleneck convolution.
        dropout: Dropout rate in the bottleneck and up-sampling blocks (0 disables).
        batch_norm: Batch-normalise after each convolution but the last.
        interpolation: Fixed interpolation the network sees (``"cubic"``, ``"sinc"``, ``"linear"``;
            None: ``"sinc"`` when band-preserving, else ``"cubic"``).
        band_preserving: Keep the input band exactly (see above); False gives the papers' residual output.
        channels: Audio channels processed jointly (1 for the papers; stereo is handled channel by channel).
        hr_rate: Output sample rate in Hz (the input rate is ``hr_rate // ratio``).
        degradation: The degradation the training inputs were made with (a ``Degradation.to_dict()``).
    """

    supports_band_preserving = True
    presets = {
        "paper": dict(
            filters=(128, 384, 512, 512),
            kernel_sizes=(65, 33, 17, 9),
            bottleneck_filters=512,
            bottleneck_kernel_size=9,
            dropout=0.5,
        ),
        "small": dict(
            filters=(32, 48, 64, 64),
            kernel_sizes=(33, 17, 9, 9),
            bottleneck_filters=64,
            bottleneck_kernel_size=9,
            dropout=0.0,
        ),
        "tiny": dict(filters=(4, 8), kernel_sizes=(9, 5), bottleneck_filters=8, bottleneck_kernel_size=5, dropout=0.0),
    }

    def __init__(
        self,
        ratio=2,
        filters=(128, 384, 512, 512),
        kernel_sizes=(65, 33, 17, 9),
        bottleneck_filters=512,
        bottleneck_kernel_size=9,
        dropout=0.5,
        batch_norm=False,
        interpolation=None,
        band_preserving=True,
        channels=1,
        hr_rate=16000,
        degradation=None,
        name="audio_unet",
        **kwargs,
    ):
        filters, kernel_sizes = tuple(int(f) for f in filters), tuple(int(k) for k in kernel_sizes)
        band_preserving = bool(band_preserving)
        if interpolation is None:
            interpolation = "sinc" if band_preserving else "cubic"
        if not filters or len(filters) != len(kernel_sizes):
            raise ValueError(f"filters {filters} and kernel_sizes {kernel_sizes} must be non-empty and of equal length")
        depth = len(filters)
        total_stride = 2 ** (depth + 1)
        multiple = total_stride // math.gcd(total_stride, int(ratio))

        def post_conv(h, rate, activation):
            if batch_norm:
                h = keras.layers.BatchNormalization()(h)
            if rate:
                h = keras.layers.Dropout(rate)(h)
            return activation(h)

        # The fixed interpolation(s), the residual sum or band merge and the crop run in float32 under any
        # policy, so a mixed_float16 model keeps its input band at full precision and outputs float32 for the loss.
        low_rate = keras.Input(shape=(None, channels), name="low_rate")
        merge = self.band_merge(ratio, type(self).__name__) if band_preserving else None
        padded = PadToMultiple(multiple, name="pad", dtype="float32")(low_rate)
        if band_preserving and interpolation == "sinc":
            low_band = interpolated = self.band_interpolation(ratio)(padded)
        else:
            interpolated = Interpolation1D(ratio, interpolation, name="interpolate", dtype="float32")(padded)
            low_band = self.band_interpolation(ratio, "band_interpolate")(padded) if band_preserving else None

        h, skips = interpolated, []
        for b, (nf, ks) in enumerate(zip(filters, kernel_sizes)):
            h = keras.layers.Conv1D(
                nf, ks, strides=2, padding="same", kernel_initializer="orthogonal", name=f"down{b}_conv"
            )(h)
            h = post_conv(h, 0.0, keras.layers.LeakyReLU(0.2, name=f"down{b}_act"))
            skips.append(h)
        h = keras.layers.Conv1D(
            bottleneck_filters,
            bottleneck_kernel_size,
            strides=2,
            padding="same",
            kernel_initializer="orthogonal",
            name="bottleneck_conv",
        )(h)
        h = post_conv(h, dropout, keras.layers.LeakyReLU(0.2, name="bottleneck_act"))
        for b in reversed(range(depth)):
            h = keras.layers.Conv1D(
                2 * filters[b], kernel_sizes[b], padding="same", kernel_initializer="orthogonal", name=f"up{b}_conv"
            )(h)
            h = post_conv(h, dropout, keras.layers.ReLU(name=f"up{b}_act"))
            h = SubPixel1D(2, name=f"up{b}_subpixel")(h)
            h = keras.layers.Concatenate(name=f"up{b}_skip")([h, skips[b]])
        h = keras.layers.Conv1D(2 * channels, 9, padding="same", kernel_initializer="zeros", name="final_conv")(h)
        h = SubPixel1D(2, name="final_subpixel")(h)
        if band_preserving:
            h = merge([low_band, h])
        else:
            h = keras.layers.Add(name="residual", dtype="float32")([h, interpolated])
        high_rate = CropToLength(ratio, name="crop", dtype="float32")([h, low_rate])

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
        self.kernel_sizes = kernel_sizes
        self.bottleneck_filters = int(bottleneck_filters)
        self.bottleneck_kernel_size = int(bottleneck_kernel_size)
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.interpolation = interpolation
        self.channels = int(channels)

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size: ``"paper"`` (published sizes; the published graph with
        ``band_preserving=False``), ``"small"`` (trains in minutes on a CPU) or ``"tiny"`` (tests)."""
        return build_from_size(cls, size, kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": list(self.filters),
                "kernel_sizes": list(self.kernel_sizes),
                "bottleneck_filters": self.bottleneck_filters,
                "bottleneck_kernel_size": self.bottleneck_kernel_size,
                "dropout": self.dropout,
                "batch_norm": self.batch_norm,
                "interpolation": self.interpolation,
                "channels": self.channels,
            }
        )
        return config
