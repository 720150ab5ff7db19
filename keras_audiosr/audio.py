"""Sound-file input/output, validation and resampling: the only module that touches audio files.

Arrays are ``[time, channels]`` float32 in [-1, 1] (``[time]`` is accepted wherever a signal goes
in). Reading checks what libsndfile silently tolerates: a WAV/AIFF whose data chunk is shorter than
its header says (a cut download) is an error here, not a shorter signal. Writing is atomic: the
sound goes to a temporary file in the destination folder that is renamed onto the destination only
once it is complete, so a crash never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import math
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from keras_audiosr.utils import atomic_path

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioError",
    "ClippingWarning",
    "check_output_format",
    "check_rate",
    "clipping_message",
    "is_float_subtype",
    "open_writer",
    "output_subtype",
    "read_at_rate",
    "read_audio",
    "RESAMPLE_QUALITIES",
    "resample",
    "validate_audio",
    "write_audio",
]

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".aif", ".aiff")

# Container format and default subtype per extension (soundfile names).
_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".aif": ("AIFF", "PCM_16"),
    ".aiff": ("AIFF", "PCM_16"),
}
# Subtypes that store floats and so can hold values outside [-1, 1] without clipping.
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
# libsndfile's verbose log line for a data chunk whose declared size exceeds what the file holds,
# e.g. "data : 16000 (should be 7978)" (WAV) or " SSND : 16008 (should be 7981)" (AIFF).
_SHORT_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Declared sizes that streaming writers put in a header when the length is not known yet.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1)


class AudioError(ValueError):
    """Bad or unreadable audio; the message names the file (or ``<array>``) and the problem."""


class ClippingWarning(UserWarning):
    """Samples beyond full scale were clipped to fit an integer sample format; a float subtype keeps them."""


def clipping_message(name, clipped: int, peak: float, subtype: str) -> str:
    """The one line that reports clipping and names the way to avoid it."""
    return (
        f"{name}: {clipped} samples exceeded full scale (peak {peak:.3f}) and were clipped to fit "
        f'{subtype}; write a float subtype (subtype="FLOAT", on the command line --subtype FLOAT) to keep them'
    )


def _name(path) -> str:
    return str(path)


def validate_audio(data: np.ndarray, rate: int, name: str = "<array>") -> None:
    """Raise :class:`AudioError` if ``data`` is empty, holds NaN/Inf, or ``rate`` is not positive."""
    try:
        rate_ok = int(rate) == rate and rate > 0
    except (TypeError, ValueError):
        rate_ok = False
    if not rate_ok:
        raise AudioError(f"{name}: sample rate must be a positive integer, got {rate!r}")
    data = np.asarray(data)
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
        raise AudioError(f"{name}: audio must be numeric, got dtype {data.dtype}")
    if data.ndim == 0 or data.shape[0] == 0 or data.size == 0:
        raise AudioError(f"{name}: zero-length audio (shape {data.shape})")
    if np.issubdtype(data.dtype, np.inexact) and not np.all(np.isfinite(data)):
        n_nan = int(np.count_nonzero(np.isnan(data)))
        n_inf = int(np.count_nonzero(np.isinf(data)))
        raise AudioError(f"{name}: audio contains non-finite samples ({n_nan} NaN, {n_inf} Inf)")


def check_rate(rate: int, expected: int, name: str) -> None:
    """Raise :class:`AudioError` unless ``rate == expected`` (the rate a model was trained at)."""
    if int(rate) != int(expected):
        raise AudioError(f"{name}: sample rate {rate} Hz, the model takes {expected} Hz")


def read_audio(path, *, mix_down: bool = False, dtype="float32") -> tuple[np.ndarray, int]:
    """Read a sound file as ``(data [time, channels], rate)``.

    Integer formats are scaled to [-1, 1) by soundfile; float files are returned as stored.
    ``mix_down=True`` averages the channels into ``[time, 1]``. Anything soundfile reads works
    (WAV 8/16/24/32-bit int and float, FLAC, OGG/Vorbis, AIFF; any rate and channel count).

    Raises :class:`AudioError` naming ``path`` when the file is missing, is not audio, is truncated
    or corrupt (decoding fails, fewer frames than the header declares, or a WAV/AIFF data chunk
    shorter than its declared size), has no samples, or holds NaN/Inf.
    """
    name = _name(path)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"read_audio dtype must be float32 or float64, got {dtype}")
    p = Path(path)
    if not p.exists():
        raise AudioError(f"{name}: file not found")
    if p.is_dir():
        raise AudioError(f"{name}: is a directory, not an audio file")
    try:
        info = sf.info(str(p), verbose=True)
    except (sf.SoundFileError, RuntimeError) as e:
        raise AudioError(f"{name}: not a readable audio file ({e})") from e
    short = [
        m
        for m in _SHORT_CHUNK.finditer(info.extra_info or "")
        if int(m.group(2)) > int(m.group(3)) and int(m.group(2)) not in _UNKNOWN_SIZES
    ]
    if short:
        m = short[0]
        raise AudioError(
            f"{name}: truncated file: {m.group(1)} chunk declares {m.group(2)} bytes but only {m.group(3)} are present"
        )
    try:
        data, rate = sf.read(str(p), dtype=dtype.name, always_2d=True)
    except (sf.SoundFileError, RuntimeError) as e:
        raise AudioError(f"{name}: truncated or corrupt audio data ({e})") from e
    if info.frames > 0 and data.shape[0] != info.frames:
        raise AudioError(
            f"{name}: truncated or corrupt audio data: read {data.shape[0]} frames "
            f"of the {info.frames} the header declares"
        )
    validate_audio(data, rate, name)
    if mix_down and data.shape[1] > 1:
        data = data.mean(axis=1, keepdims=True, dtype=np.float64).astype(dtype)
    return data, int(rate)


@functools.cache
def _can_encode(fmt: str, subtype: str) -> bool:
    """Whether libsndfile can write ``subtype`` in ``fmt``: its format table allows more than it encodes
    (MP3 frames in a WAV file), so a header is actually written, to memory."""
    if not sf.check_format(fmt, subtype):
        return False
    try:
        with sf.SoundFile(io.BytesIO(), "w", samplerate=8000, channels=1, format=fmt, subtype=subtype) as f:
            f.write(np.zeros(8, np.float32))
    except (sf.SoundFileError, RuntimeError, TypeError):
        return False
    return True


def check_output_format(path, subtype: str | None = None) -> tuple[str, str]:
    """``(format, subtype)`` that :func:`write_audio` would write ``path`` with, checked before any work.

    The format comes from the extension, ``subtype`` defaults to the format's. Raises
    :class:`AudioError` naming ``path`` for an unknown extension or a subtype the format cannot hold or
    libsndfile cannot encode, listing the valid subtypes.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _FORMATS:
        raise AudioError(f"{path}: unsupported extension {path.suffix!r}; use one of {', '.join(AUDIO_EXTENSIONS)}")
    fmt, default = _FORMATS[ext]
    subtype = (subtype or default).upper()
    if not _can_encode(fmt, subtype):
        valid = ", ".join(sorted(s for s in sf.available_subtypes(fmt) if _can_encode(fmt, s)))
        how = "cannot be stored in" if not sf.check_format(fmt, subtype) else "cannot be written as"
        raise AudioError(f"{path}: subtype {subtype!r} {how} {fmt}; valid: {valid}")
    return fmt, subtype


_format_for = check_output_format


def output_subtype(out, in_subtype: str | None, subtype: str | None = None) -> str | None:
    """The subtype to write ``out`` with: ``subtype`` if given, else ``in_subtype`` where ``out``'s format can
    store it and libsndfile can write it (not MP3 frames in a WAV), else ``None`` (the format's default, see
    :func:`write_audio`)."""
    if subtype is not None:
        return subtype.upper()
    fmt = _FORMATS.get(Path(out).suffix.lower(), (None,))[0]
    if fmt and in_subtype and _can_encode(fmt, in_subtype.upper()):
        return in_subtype
    return None


def is_float_subtype(subtype: str | None) -> bool:
    """Whether ``subtype`` stores floats, which hold samples beyond full scale without clipping."""
    return (subtype or "").upper() in _FLOAT_SUBTYPES


def write_audio(path, data, rate, *, subtype=None) -> Path:
    """Write ``data`` (``[time]`` or ``[time, channels]``) to ``path`` atomically; return the path.

    The container comes from the extension (see :data:`AUDIO_EXTENSIONS`); the default subtype is
    PCM_16 for WAV/FLAC/AIFF and Vorbis for OGG. Data is validated first (nothing is written for
    NaN/Inf or empty input). Samples outside [-1, 1] are clipped, with one :class:`ClippingWarning`
    that names the float subtype that would keep them, unless the subtype is FLOAT/DOUBLE. Parent folders are
    created. The file is written to a temporary sibling and renamed onto ``path`` only when complete; on any
    error the temporary is removed and an existing ``path`` is left untouched.
    """
    path = Path(path)
    name = _name(path)
    data = np.asarray(data)
    validate_audio(data, rate, name)
    if data.ndim not in (1, 2):
        raise AudioError(f"{name}: audio must be [time] or [time, channels], got shape {data.shape}")
    fmt, subtype = _format_for(path, subtype)
    data = data.astype(np.float64 if subtype == "DOUBLE" else np.float32, copy=False)
    if subtype not in _FLOAT_SUBTYPES:
        over = np.abs(data) > 1.0
        if over.any():
            warnings.warn(
                clipping_message(name, int(over.sum()), float(np.max(np.abs(data))), subtype),
                ClippingWarning,
                stacklevel=2,
            )
            data = np.clip(data, -1.0, 1.0)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with open_writer(path, int(rate), channels, subtype=subtype) as f:
        f.write(data)
    return path


@contextlib.contextmanager
def open_writer(path, rate, channels, *, subtype=None) -> Iterator[sf.SoundFile]:
    """Context manager yielding a :class:`soundfile.SoundFile` open for writing, for streaming output.

    Frames go to a temporary sibling of ``path`` that is renamed onto ``path`` only if the block
    exits without an error; otherwise the temporary is removed and ``path`` is untouched. Format and
    default subtype follow the extension as in :func:`write_audio`; the temporary file, permissions
    and errors are :func:`keras_audiosr.utils.atomic_path`'s. Written frames are not validated or
    clipped: callers pass finite float data in [-1, 1].
    """
    path = Path(path)
    if int(channels) < 1:
        raise AudioError(f"{path}: channel count must be >= 1, got {channels}")
    if not (int(rate) == rate and rate > 0):
        raise AudioError(f"{path}: sample rate must be a positive integer, got {rate!r}")
    fmt, subtype = _format_for(path, subtype)
    with atomic_path(path) as tmp:
        try:
            f = sf.SoundFile(str(tmp), "w", samplerate=int(rate), channels=int(channels), subtype=subtype, format=fmt)
        except (sf.SoundFileError, RuntimeError) as e:
            raise _write_error(e, path, "cannot open for writing") from e
        try:
            yield f
        except sf.SoundFileError as e:  # a write failed: the reason is read while the file is still open
            error = _write_error(e, path, "cannot write", f)
            with contextlib.suppress(Exception):
                f.close()
            raise error from e
        except BaseException:
            with contextlib.suppress(Exception):
                f.close()
            raise
        try:
            f.close()  # writes the header: a full disk can fail here too
        except (sf.SoundFileError, RuntimeError) as e:
            raise _write_error(e, path, "cannot finish writing") from e


# libsndfile reports a failed system call as "System error." and keeps the reason in a string of its own
# ("System error : No space left on device."), which sf_strerror returns.
_SYSTEM_REASON = re.compile(r"System error\s*:\s*(.+?)\.?\s*$")
_ERRNO_OF_REASON = {os.strerror(code): code for code in errno.errorcode}
_SF_SYSTEM_ERROR = 2  # libsndfile's SFE_SYSTEM
_LOW_SPACE = 1 << 20  # bytes: a system error with less free than this on the output's disk is a full disk


def _free_bytes(folder) -> int:
    """Free bytes on ``folder``'s file system (-1 where unknown)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return -1


def _write_error(e: Exception, path: Path, doing: str, f: sf.SoundFile | None = None) -> Exception:
    """What to raise for libsndfile's error ``e`` while writing ``path``: an ``OSError`` naming ``path`` with the
    system's reason (``out.wav: No space left on device``) when a system call failed, else an :class:`AudioError`.

    The reason is libsndfile's own record of the failed call (of the open file ``f``, else of the last open);
    where it has none, a system error on a disk with (almost) no free space is a full disk.
    """
    reason = ""
    with contextlib.suppress(Exception):
        handle = f._file if f is not None and getattr(f, "_file", None) is not None else sf._ffi.NULL
        reason = sf._ffi.string(sf._snd.sf_strerror(handle)).decode("utf-8", "replace")
    m = _SYSTEM_REASON.search(reason)
    code = _ERRNO_OF_REASON.get(m.group(1).strip()) if m else None
    if code is None and getattr(e, "code", None) == _SF_SYSTEM_ERROR and 0 <= _free_bytes(path.parent) < _LOW_SPACE:
        code = errno.ENOSPC
    if code is not None:
        return OSError(code, os.strerror(code), str(path))
    return AudioError(f"{path}: {doing} ({e})")


RESAMPLE_QUALITIES = ("standard", "high")
# "high": pass band flat (ripple < 1e-4 dB) to 90 % of the lower Nyquist frequency, >= 100 dB stop band
# from that Nyquist frequency on, so nothing above it folds back (soxr's "high quality" class).
_HQ_PASS, _HQ_ATTEN_DB = 0.90, 100.0


def _high_quality_filter(up: int, down: int) -> np.ndarray:
    """Kaiser-windowed sinc low-pass for ``resample_poly(x, up, down)``, at the up-sampled rate."""
    from scipy import signal

    nyq = 1.0 / max(up, down)  # the lower Nyquist frequency, as a fraction of the up-sampled Nyquist
    numtaps, beta = signal.kaiserord(_HQ_ATTEN_DB, (1.0 - _HQ_PASS) * nyq)
    numtaps |= 1  # odd: a linear-phase filter with an integer delay, which resample_poly removes
    return signal.firwin(numtaps, (1.0 + _HQ_PASS) / 2 * nyq, window=("kaiser", beta))


def resample(x: np.ndarray, orig_rate: int, target_rate: int, axis: int = 0, quality: str = "standard") -> np.ndarray:
    """Resample ``x`` along ``axis`` from ``orig_rate`` to ``target_rate`` Hz (float32 out).

    A polyphase Kaiser-windowed sinc filter (``scipy.signal.resample_poly``) with up/down reduced
    by their gcd, so 48000 -> 16000 is up=1, down=3; any rate to any rate. ``quality``:

    * ``"standard"``: ``resample_poly``'s own filter (Kaiser beta 5, 10 zero crossings, cut off at
      the lower Nyquist frequency): -0.7 dB at 90 % of that frequency, -6 dB at it, and only about
      22 dB against aliasing 10 % above it. How most low-rate files are made; the package's
      data preparation and evaluation use it.
    * ``"high"``: flat (< 1e-4 dB) to 90 % of the lower Nyquist frequency, -6 dB at 95 % and at
      least 100 dB down from that Nyquist frequency on, so nothing folds back or images (a longer
      filter: 387 taps for 48000 -> 16000, 56551 at the up-sampled rate for 44100 -> 16000).

    Equal rates return a float32 copy. The output has ``ceil(n * up / down)`` samples along ``axis``.
    """
    for label, r in (("orig_rate", orig_rate), ("target_rate", target_rate)):
        if not (int(r) == r and r > 0):
            raise ValueError(f"resample: {label} must be a positive integer, got {r!r}")
    if quality not in RESAMPLE_QUALITIES:
        raise ValueError(f"resample: unknown quality {quality!r}; valid: {', '.join(RESAMPLE_QUALITIES)}")
    orig_rate, target_rate = int(orig_rate), int(target_rate)
    x = np.asarray(x)
    if orig_rate == target_rate:
        return np.array(x, dtype=np.float32, copy=True)
    g = math.gcd(orig_rate, target_rate)
    up, down = target_rate // g, orig_rate // g
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    from scipy import signal

    window = _high_quality_filter(up, down) if quality == "high" else ("kaiser", 5.0)
    return signal.resample_poly(x, up, down, axis=axis, window=window).astype(np.float32, copy=False)


def read_at_rate(path, rate: int, mix_down: bool = True) -> np.ndarray:
    """Read ``path``, mix to mono and resample to ``rate`` Hz (``resample``, standard quality): float32 ``[time]``.

    The reference signal evaluation and calibration take from a file. With ``mix_down=False`` a
    multi-channel file gives ``[time, channels]`` (mono still ``[time]``).
    """
    data, file_rate = read_audio(path, mix_down=mix_down)
    if data.shape[1] == 1:
        data = data[:, 0]
    if file_rate != rate:
        data = resample(data, file_rate, rate, axis=0)
    return np.ascontiguousarray(data, dtype=np.float32)
