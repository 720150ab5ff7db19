"""BWEResNet: the same-rate ResNet of Sulun & Davies ("On filter generalization for music bandwidth extension",
2020)."""

import keras

from keras_audiosr.models.same_rate import SameRateModel


@keras.saving.register_keras_serializable(package="keras_audiosr")
class BWEResNet(SameRateModel):
    """A stride-1 residual network from band-limited to full-band audio at the same rate.

    Graph: input ``[B, T, C]`` -> head ``Conv1D(F, k)`` -> ``num_blocks`` residual blocks
    (conv -> [batch-norm] -> [dropout] -> ReLU -> conv -> [batch-norm] -> [dropout], scaled by
    ``residual_scaling`` and added) -> ``Conv1D(C, output_kernel_size)`` -> sum with the input.
    Any length works. The defaults are the authors' code (F = 512, kernel 7, 15 blocks,
    scaling 0.1, 1x1 output convolution; 55M parameters); batch-norm and dropout 0.5 are the
    paper's regularisation variants (it trains them separately), and convolutions followed by
    batch-norm have no bias. The output convolution starts at zero, so the untrained model
    passes its input through (a package choice, as in :class:`AudioUNet`). With ``band_preserving``
    (the default for new models) the sum with the input becomes ``BandMerge([input, network])``
    (see :class:`~keras_audiosr.models.SameRateModel`); ``band_preserving=False`` is the authors' graph.

    The authors' code took stereo as two joint channels (``channels=2`` here); this package
    treats the model as mono and folds channels into the batch with
    :func:`~keras_audiosr.models.fold_channels` / :func:`~keras_audiosr.models.unfold_channels`.

    Args:
        bandwidth_ratio: Nominal band-limit ratio of the inputs (cutoff ``hr_rate / (2 * ratio)``).
        filters: Feature width F.
        num_blocks: Residual blocks.
        kernel_size: Kernel of the head and block convolutions.
        residual_scaling: Factor on each block's residual branch.
        dropout: Dropout rate after each block convolution (0 disables; the paper's variant uses 0.5).
        batch_norm: Batch-normalise after each block convolution.
        output_kernel_size: Kernel of the output convolution.
        band_preserving: Keep the input band below 0.875 of the cutoff exactly.
        channels: Audio channels processed jointly.
        hr_rate: Sample rate of input and output in Hz.
        degradation: The low-pass degradation of the training inputs (its ratio is ``bandwidth_ratio``).
    """

    presets = {
        "paper": dict(filters=512, num_blocks=15, kernel_size=7),
        "small": dict(filters=64, num_blocks=6, kernel_size=7),
        "tiny": dict(filters=8, num_blocks=2, kernel_size=3),
    }

    def __init__(
        self,
        bandwidth_ratio=2,
        filters=512,
        num_blocks=15,
        kernel_size=7,
        residual_scaling=0.1,
        dropout=0.0,
        batch_norm=False,
        output_kernel_size=1,
        band_preserving=True,
        channels=1,
        hr_rate=44100,
        degradation=None,
        name="bwe_resnet",
        **kwargs,
    ):
        filters, num_blocks, kernel_size, dropout = int(filters), int(num_blocks), int(kernel_size), float(dropout)
        band_preserving = bool(band_preserving)
        bandwidth_ratio = self.checked_bandwidth_ratio(bandwidth_ratio)
        merge = self.band_merge(bandwidth_ratio, type(self).__name__) if band_preserving else None

        band_limited = keras.Input(shape=(None, channels), name="band_limited")
        h = keras.layers.Conv1D(filters, kernel_size, padding="same", name="head_conv")(band_limited)
        for b in range(num_blocks):
            r = h
            for i in (1, 2):
                r = keras.layers.Conv1D(
                    filters, kernel_size, padding="same", use_bias=not batch_norm, name=f"block{b}_conv{i}"
                )(r)
                if batch_norm:
                    r = keras.layers.BatchNormalization(name=f"block{b}_bn{i}")(r)
                if dropout:
                    r = keras.layers.Dropout(dropout, name=f"block{b}_dropout{i}")(r)
                if i == 1:
                    r = keras.layers.ReLU(name=f"block{b}_act")(r)
            r = keras.layers.Rescaling(residual_scaling, name=f"block{b}_scale")(r)
            h = keras.layers.Add(name=f"block{b}_add")([h, r])
        h = keras.layers.Conv1D(
            channels, output_kernel_size, padding="same", kernel_initializer="zeros", name="output_conv"
        )(h)
        if band_preserving:
            full_band = merge([band_limited, h])
        else:
            full_band = keras.layers.Add(name="residual")([h, band_limited])

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
        self.num_blocks = num_blocks
        self.kernel_size = kernel_size
        self.residual_scaling = float(residual_scaling)
        self.dropout = dropout
        self.batch_norm = bool(batch_norm)
        self.output_kernel_size = int(output_kernel_size)
        self.channels = int(channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_blocks": self.num_blocks,
                "kernel_size": self.kernel_size,
                "residual_scaling": self.residual_scaling,
                "dropout": self.dropout,
                "batch_norm": self.batch_norm,
                "output_kernel_size": self.output_kernel_size,
                "channels": self.channels,
            }
        )
        return config
