"""BWEUNet: the same-rate U-Net of Sulun & Davies ("On filter generalization for music bandwidth extension", 2020)."""

import keras

from keras_audiosr.layers import CropToLength, PadToMultiple, SubPixel1D
from keras_audiosr.models.same_rate import SameRateModel


@keras.saving.register_keras_serializable(package="keras_audiosr")
class BWEUNet(SameRateModel):
    """Kuleshov-style U-Net from band-limited to full-band audio at the same rate (no interpolation).

    Graph, following the authors' code: input -> D down blocks (stride-2 ``Conv1D``,
    [batch-norm], ReLU) -> bottleneck (stride-2 conv, [dropout], ReLU, conv to
    ``2 * filters[-1]``, [dropout], ReLU, ``SubPixel1D(2)``) -> D up blocks, deepest first, each
    concatenating the matching down block's output, then conv to twice the next-shallower
    width (the last to ``2C``), [dropout], ReLU (not on the last), ``SubPixel1D(2)`` -> sum
    with the input. Up block b uses the kernel of down block b - 1 (the last uses
    ``output_kernel_size``). Inputs of any length are padded to a multiple of ``2**(D+1)``
    and cropped back. The last convolution starts at zero, so the untrained model passes its
    input through (a package choice). Defaults: widths 128, 256, 512, 512, kernels 65, 33,
    17, 9, bottleneck 512 x 9; batch-norm (down blocks) and dropout 0.5 (bottleneck and up
    blocks) are the paper's regularisation variants. With ``band_preserving`` (the default for
    new models) the sum with the input becomes ``BandMerge([input, network])`` (see
    :class:`~keras_audiosr.models.SameRateModel`); ``band_preserving=False`` is the authors' graph.

    Stereo: the model is mono; fold channels into the batch with
    :func:`~keras_audiosr.models.fold_channels` (or pass ``channels=2`` to process them jointly
    as the authors' code did).

    Args:
        bandwidth_ratio: Nominal band-limit ratio of the inputs (cutoff ``hr_rate / (2 * ratio)``).
        filters: Width of each down block; its length is the depth D.
        kernel_sizes: Kernel of each down block (same length as ``filters``).
        bottleneck_filters, bottleneck_kernel_size: The bottleneck's down-sampling convolution.
        output_kernel_size: Kernel of the last up block's convolution.
        dropout: Dropout rate in the bottleneck and up blocks (0 disables).
        batch_norm: Batch-normalise in the down blocks.
        band_preserving: Keep the input band below 0.875 of the cutoff exactly.
        channels: Audio channels processed jointly.
        hr_rate: Sample rate of input and output in Hz.
        degradation: The low-pass degradation of the training inputs (its ratio is ``bandwidth_ratio``).
    """

    presets = {
        "paper": dict(
            filters=(128, 256, 512, 512), kernel_sizes=(65, 33, 17, 9), bottleneck_filters=512, bottleneck_kernel_size=9
        ),
        "small": dict(
            filters=(32, 48, 64, 64), kernel_sizes=(33, 17, 9, 9), bottleneck_filters=64, bottleneck_kernel_size=9
        ),
        "tiny": dict(filters=(4, 8), kernel_sizes=(9, 5), bottleneck_filters=8, bottleneck_kernel_size=5),
    }

    def __init__(
        self,
        bandwidth_ratio=2,
        filters=(128, 256, 512, 512),
        kernel_sizes=(65, 33, 17, 9),
        bottleneck_filters=512,
        bottleneck_kernel_size=9,
        output_kernel_size=9,
        dropout=0.0,
        batch_norm=False,
        band_preserving=True,
        channels=1,
        hr_rate=44100,
        degradation=None,
        name="bwe_unet",
        **kwargs,
    ):
        filters, kernel_sizes = tuple(int(f) for f in filters), tuple(int(k) for k in kernel_sizes)
        band_preserving = bool(band_preserving)
        bandwidth_ratio = self.checked_bandwidth_ratio(bandwidth_ratio)
        merge = self.band_merge(bandwidth_ratio, type(self).__name__) if band_preserving else None
        kept = self.BAND_PATH if band_preserving else {}  # the kept path stays float32 under mixed precision
        if not filters or len(filters) != len(kernel_sizes):
            raise ValueError(f"filters {filters} and kernel_sizes {kernel_sizes} must be non-empty and of equal length")
        depth, dropout = len(filters), float(dropout)

        def regularise(h, label):
            return keras.layers.Dropout(dropout, name=f"{label}_dropout")(h) if dropout else h

        band_limited = keras.Input(shape=(None, channels), name="band_limited")
        padded = PadToMultiple(2 ** (depth + 1), name="pad", **kept)(band_limited)
        h, skips = padded, []
        for b, (nf, ks) in enumerate(zip(filters, kernel_sizes)):
            h = keras.layers.Conv1D(nf, ks, strides=2, padding="same", name=f"down{b}_conv")(h)
            if batch_norm:
                h = keras.layers.BatchNormalization(name=f"down{b}_bn")(h)
            h = keras.layers.ReLU(name=f"down{b}_act")(h)
            skips.append(h)
        h = keras.layers.Conv1D(
            bottleneck_filters, bottleneck_kernel_size, strides=2, padding="same", name="bottleneck_down_conv"
        )(h)
        h = keras.layers.ReLU(name="bottleneck_down_act")(regularise(h, "bottleneck_down"))
        h = keras.layers.Conv1D(2 * filters[-1], bottleneck_kernel_size, padding="same", name="bottleneck_up_conv")(h)
        h = keras.layers.ReLU(name="bottleneck_up_act")(regularise(h, "bottleneck_up"))
        h = SubPixel1D(2, name="bottleneck_subpixel")(h)
        for b in reversed(range(depth)):
            h = keras.layers.Concatenate(name=f"up{b}_skip")([h, skips[b]])
            last = b == 0
            units, kernel = (channels, output_kernel_size) if last else (filters[b - 1], kernel_sizes[b - 1])
            h = keras.layers.Conv1D(
                2 * units,
                kernel,
                padding="same",
                kernel_initializer="zeros" if last else "glorot_uniform",
                name=f"up{b}_conv",
            )(h)
            h = regularise(h, f"up{b}")
            if not last:
                h = keras.layers.ReLU(name=f"up{b}_act")(h)
            h = SubPixel1D(2, name=f"up{b}_subpixel")(h)
        if band_preserving:
            h = merge([padded, h])
        else:
            h = keras.layers.Add(name="residual")([h, padded])
        full_band = CropToLength(1, name="crop", **kept)([h, band_limited])

        super().__init__(
            inputs=band_limited,
            outputs=full_band,
            name=name,
            bandwidth_ratio=bandwidth_ratio,
            hr_rate=hr_rate,
            degradation=degradation,
            band_preserving=band_preserving,
            **kwargs,
        )
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.bottleneck_filters = int(bottleneck_filters)
        self.bottleneck_kernel_size = int(bottleneck_kernel_size)
        self.output_kernel_size = int(output_kernel_size)
        self.dropout = dropout
        self.batch_norm = bool(batch_norm)
        self.channels = int(channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": list(self.filters),
                "kernel_sizes": list(self.kernel_sizes),
                "bottleneck_filters": self.bottleneck_filters,
                "bottleneck_kernel_size": self.bottleneck_kernel_size,
                "output_kernel_size": self.output_kernel_size,
                "dropout": self.dropout,
                "batch_norm": self.batch_norm,
                "channels": self.channels,
            }
        )
        return config
