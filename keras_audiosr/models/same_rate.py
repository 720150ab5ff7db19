"""Same-rate bandwidth-extension models: base class and the stereo folding helpers."""

import numpy as np
from keras import ops

from keras_audiosr.models._presets import build_from_size
from keras_audiosr.models.audio_sr_model import AudioSRModel


def fold_channels(x):
    """``[B, T, C] -> [B*C, T, 1]``: each channel becomes its own example (row ``b*C + c``).

    Same-rate models are mono; stereo (or any multi-channel) audio goes through them channel by
    channel: ``unfold_channels(model(fold_channels(x)), C)``. NumPy arrays stay NumPy arrays;
    anything else goes through ``keras.ops``.
    """
    if isinstance(x, np.ndarray):
        if x.ndim != 3:
            raise ValueError(f"fold_channels expects [batch, time, channels], got shape {x.shape}")
        return np.ascontiguousarray(x.transpose(0, 2, 1).reshape(-1, x.shape[1], 1))
    x = ops.convert_to_tensor(x)
    return ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, ops.shape(x)[1], 1))


def unfold_channels(y, channels):
    """Inverse of :func:`fold_channels`: ``[B*C, T, 1] -> [B, T, C]``."""
    channels = int(channels)
    if isinstance(y, np.ndarray):
        if y.ndim != 3 or y.shape[-1] != 1 or y.shape[0] % channels:
            raise ValueError(f"unfold_channels expects [batch*{channels}, time, 1], got shape {y.shape}")
        return np.ascontiguousarray(y.reshape(-1, channels, y.shape[1]).transpose(0, 2, 1))
    y = ops.convert_to_tensor(y)
    return ops.transpose(ops.reshape(y, (-1, channels, ops.shape(y)[1])), (0, 2, 1))


class SameRateModel(AudioSRModel):
    """A bandwidth extender whose input is already at the output rate, low-pass filtered.

    The model's own ``ratio`` is 1 (``[B, T, C] -> [B, T, C]``); the nominal bandwidth ratio
    (cutoff = ``hr_rate / (2 * bandwidth_ratio)``) travels in the config as ``bandwidth_ratio``
    and as the ratio of the training degradation (applied without decimation, e.g. with
    :func:`keras_audiosr.degrade.lowpass`), so evaluation knows the band to score.

    Band preservation (``band_preserving``, the default for new models): the output is
    ``BandMerge([x, network])`` with the bandwidth ratio as BandMerge's ratio, so below 0.875 of
    the nominal cutoff the output IS the input (already at the output rate: no interpolation) and
    the network only contributes above it. Subclasses build the merge with :meth:`band_merge`.
    """

    supports_band_preserving = True
    presets = {}

    def __init__(self, *args, bandwidth_ratio=2, ratio=1, degradation=None, **kwargs):
        if int(ratio) != 1:
            raise ValueError(
                f"{type(self).__name__} works at a single rate, so ratio must be 1, got {ratio}; "
                f"give the band limit as bandwidth_ratio"
            )
        bandwidth_ratio = self.checked_bandwidth_ratio(bandwidth_ratio)
        if degradation and int(degradation.get("ratio", bandwidth_ratio)) != bandwidth_ratio:
            raise ValueError(f"degradation ratio {degradation['ratio']} differs from bandwidth_ratio {bandwidth_ratio}")
        if not degradation:
            degradation = {"ratio": bandwidth_ratio, "filter": "cheby1:6", "zero_phase": True}
        super().__init__(*args, ratio=1, degradation=dict(degradation), **kwargs)
        self.bandwidth_ratio = bandwidth_ratio

    @staticmethod
    def checked_bandwidth_ratio(bandwidth_ratio) -> int:
        """``int(bandwidth_ratio)``; below 2 raises ValueError (subclasses check it before building their graph)."""
        bandwidth_ratio = int(bandwidth_ratio)
        if bandwidth_ratio < 2:
            raise ValueError(f"bandwidth_ratio must be an integer >= 2, got {bandwidth_ratio}")
        return bandwidth_ratio

    @property
    def cutoff_hz(self) -> float:
        """Nominal band limit of the inputs in Hz."""
        return self.hr_rate / (2 * self.bandwidth_ratio)

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size: ``"paper"`` (published), ``"small"`` (CPU minutes) or ``"tiny"`` (tests)."""
        return build_from_size(cls, size, kwargs)

    def audio_config(self):
        config = super().audio_config()
        config.update({"bandwidth_ratio": self.bandwidth_ratio, "cutoff_hz": self.cutoff_hz})
        return config

    def get_config(self):
        config = super().get_config()
        config["bandwidth_ratio"] = self.bandwidth_ratio
        return config
