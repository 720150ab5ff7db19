"""Non-learned upsampling baselines that every model is compared against.

Both map a low-rate signal of ``n`` samples to ``n * ratio`` samples with low-rate sample ``k``
landing on high-rate index ``k * ratio`` (the alignment :func:`keras_audiosr.degrade.degrade`
produces, which keeps samples ``0, r, 2r, ...``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keras_audiosr.degrade import check_ratio

__all__ = ["BASELINES", "get_baseline", "sinc_upsample", "spline_upsample"]


def spline_upsample(x_lr, ratio, axis=0) -> np.ndarray:
    """Cubic-spline interpolation through the low-rate samples, as Kuleshov et al. (2017).

    Low-rate sample ``k`` sits at high-rate index ``k * ratio``; the interpolating cubic spline
    (not-a-knot ends, the same curve as ``scipy.interpolate.splrep(s=0)`` / ``splev`` in their code)
    is evaluated at every high-rate index, extrapolating the last ``ratio - 1``. Output has
    ``len * ratio`` samples along ``axis``, float32; works on ``[time]`` and ``[time, channels]``.
    Fewer than 4 samples fall back to the highest spline degree they allow (linear, constant).
    """
    ratio = check_ratio(ratio)
    x = np.asarray(x_lr, dtype=np.float64)
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ValueError(f"spline_upsample: empty input (shape {x.shape})")
    n = x.shape[axis]
    if n == 1:
        return np.repeat(x, ratio, axis=axis).astype(np.float32)
    k = min(3, n - 1)
    from scipy import interpolate  # imported on use: the command line starts without it

    spline = interpolate.make_interp_spline(np.arange(n) * ratio, x, k=k, axis=axis)
    return spline(np.arange(n * ratio), extrapolate=True).astype(np.float32)


def sinc_upsample(x_lr, ratio, axis=0) -> np.ndarray:
    """Windowed-sinc (Kaiser, beta 5) polyphase interpolation: ``scipy.signal.resample_poly(x, ratio, 1)``.

    Output has ``len * ratio`` samples along ``axis``, float32. The signal is zero-padded beyond its
    ends, so the first and last few dozen low-rate samples are attenuated.
    """
    ratio = check_ratio(ratio)
    x = np.asarray(x_lr, dtype=np.float64)
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ValueError(f"sinc_upsample: empty input (shape {x.shape})")
    from scipy import signal

    return signal.resample_poly(x, ratio, 1, axis=axis).astype(np.float32)


BASELINES: dict[str, Callable[..., np.ndarray]] = {"spline": spline_upsample, "sinc": sinc_upsample}


def get_baseline(name) -> Callable[..., np.ndarray]:
    """The baseline called ``name`` (see :data:`BASELINES`)."""
    try:
        return BASELINES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}") from None
