"""Spectrogram pictures for looking at what a model adds above the low-rate Nyquist frequency."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_audiosr.utils import atomic_path

__all__ = ["plot_spectrograms"]

WINDOW_SECONDS = 0.032
DYNAMIC_RANGE_DB = 90.0


def _spectrogram_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Power spectral density in dB (``[freq, frames]``) with a 32 ms Hann window, 75 % overlap, and the hop in seconds.

    PSD scaling (power per Hz) with the same window duration at every rate makes signals at
    different rates directly comparable on one colour scale.
    """
    from scipy import signal

    n = max(16, int(round(WINDOW_SECONDS * rate)) // 2 * 2)
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    _, _, sxx = signal.spectrogram(
        x, fs=rate, window="hann", nperseg=n, noverlap=3 * n // 4, scaling="density", mode="psd"
    )
    return 10.0 * np.log10(sxx + 1e-20), (n - 3 * n // 4) / rate


def plot_spectrograms(signals: dict, rates: dict, path, title: str | None = None) -> Path:
    """Write a PNG with one log-magnitude spectrogram row per entry of ``signals``, in dict order.

    ``signals`` maps a label (e.g. ``reference``, ``low``, ``spline``, ``model``) to a ``[time]`` or
    ``[time, channels]`` array (channels are averaged) and ``rates`` maps the same labels to their
    sample rates. Every row shares one dB colour scale (the loudest bin to 90 dB below it) and one
    frequency axis in kHz up to the highest Nyquist frequency; a row at a lower rate is blank above
    its own Nyquist, and a dashed line marks the lowest Nyquist on every row. The file is written
    atomically (temporary sibling, then rename). Uses matplotlib's Agg canvas directly, leaving the
    pyplot backend untouched.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not signals:
        raise ValueError("plot_spectrograms: no signals given")
    missing = [k for k in signals if k not in rates]
    if missing:
        raise ValueError(f"plot_spectrograms: no rate given for {', '.join(missing)}")
    path = Path(path)
    specs = {}
    for label, x in signals.items():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 2:
            x = x.mean(axis=1)
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"plot_spectrograms: {label!r} must be a non-empty [time] or [time, channels] array")
        rate = int(rates[label])
        db, hop = _spectrogram_db(x, rate)
        specs[label] = (db, rate, hop, x.size / rate)
    top = max(float(db.max()) for db, *_ in specs.values())
    vmin = top - DYNAMIC_RANGE_DB
    f_max = max(rate for _, rate, _, _ in specs.values()) / 2000.0
    f_low = min(rate for _, rate, _, _ in specs.values()) / 2000.0
    duration = max(d for *_, d in specs.values())

    fig = Figure(figsize=(10, 1.9 * len(specs) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(specs), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    image = None
    for ax, (label, (db, rate, hop, _dur)) in zip(axes, specs.items()):
        image = ax.imshow(
            db,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=vmin,
            vmax=top,
            extent=(0.0, db.shape[1] * hop, 0.0, rate / 2000.0),
            interpolation="nearest",
        )
        ax.set_facecolor(image.cmap(0.0))
        if f_low < f_max:
            ax.axhline(f_low, color="white", linestyle="--", linewidth=0.8, alpha=0.7)
        ax.set_ylim(0.0, f_max)
        ax.set_xlim(0.0, duration)
        ax.set_ylabel("kHz")
        ax.set_title(f"{label} ({rate} Hz)", loc="left", fontsize=10)
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(image, ax=list(axes), label="power (dB/Hz)", shrink=0.9)
    if title:
        fig.suptitle(title, fontsize=11)

    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=100)
    return path
