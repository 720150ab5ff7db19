"""STFTMagnitude: the magnitude spectrogram of a waveform, as a layer (spectrogram critics) and a function (losses)."""

import keras
from keras import ops

DEFAULT_EPS = 1e-7


def check_stft_args(n_fft, hop, win=None):
    """``(n_fft, hop, win)`` as ints (``win`` defaults to ``n_fft``); anything unusable raises ValueError.

    Pure Python (no TensorFlow op), so modules may validate at import time, before a distribution
    strategy has configured the runtime.
    """
    n_fft, hop = int(n_fft), int(hop)
    win = n_fft if win is None else int(win)
    if n_fft < 2 or n_fft % 2 or hop < 1 or not 1 <= win <= n_fft:
        raise ValueError(
            f"STFT: need an even n_fft >= 2, hop >= 1 and 1 <= win <= n_fft, got n_fft={n_fft}, hop={hop}, win={win}"
        )
    return n_fft, hop, win


def stft_magnitude(x, n_fft, hop, win=None, eps=DEFAULT_EPS):
    """``|STFT|`` of signals ``[N, T]`` (float32): ``[N, 1 + T // hop, n_fft // 2 + 1]``.

    Frames are centred on ``t * hop``: ``n_fft // 2`` zeros pad each side, each ``n_fft`` frame holds a
    periodic Hann window of ``win`` samples (default ``n_fft``) in its middle, and the magnitude is
    ``sqrt(max(re**2 + im**2, eps))`` (Parallel WaveGAN's clamp, which keeps gradients and logs finite
    on silence). Any ``T >= 1`` works. Computed in float32 whatever the input's dtype.
    """
    n_fft, hop, win = check_stft_args(n_fft, hop, win)
    x = ops.cast(x, "float32")
    x = ops.pad(x, [[0, 0], [n_fft // 2, n_fft // 2]])
    re, im = ops.stft(x, sequence_length=win, sequence_stride=hop, fft_length=n_fft, window="hann", center=False)
    return ops.sqrt(ops.maximum(re * re + im * im, eps))


@keras.saving.register_keras_serializable(package="keras_audiosr")
class STFTMagnitude(keras.layers.Layer):
    """``[B, T, C] -> [B, 1 + T // hop, n_fft // 2 + 1, C]``: per-channel :func:`stft_magnitude`, an image for Conv2D.

    Fixed (no weights), float32 by default even under a mixed-precision policy (a float16 STFT loses
    the quiet bins). Used by :class:`~keras_audiosr.models.MultiResolutionCritic`.

    Args:
        n_fft: FFT size (even).
        hop: Hop between frames.
        win: Hann window length (<= n_fft; default n_fft).
        eps: Floor of the squared magnitude.
    """

    def __init__(self, n_fft, hop, win=None, eps=DEFAULT_EPS, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.n_fft, self.hop, self.win = check_stft_args(n_fft, hop, win)
        self.eps = float(eps)

    def call(self, inputs):
        shape = ops.shape(inputs)
        channels = inputs.shape[-1]
        signals = ops.reshape(ops.transpose(inputs, (0, 2, 1)), (-1, shape[1]))  # [B*C, T]
        mag = stft_magnitude(signals, self.n_fft, self.hop, self.win, self.eps)  # [B*C, F, K]
        mag = ops.reshape(mag, (shape[0], channels, ops.shape(mag)[1], self.n_fft // 2 + 1))
        return ops.transpose(mag, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        batch, steps, channels = input_shape
        return (batch, None if steps is None else 1 + steps // self.hop, self.n_fft // 2 + 1, channels)

    def get_config(self):
        config = super().get_config()
        config.update({"n_fft": self.n_fft, "hop": self.hop, "win": self.win, "eps": self.eps})
        return config
