"""``codec:gsm|g726|opus|speex``: real narrow-band speech codecs at 8 kHz, and ``noise:SNR``: background noise.

A codec spec resamples the high-rate signal to the low rate as ``resample`` does, quantises it to 16-bit
PCM and sends it through a real encoder and decoder of Debian's ``ffmpeg`` (one process each way, no
files):

* ``codec:gsm``: GSM 06.10 full rate (13 kb/s, libgsm);
* ``codec:g726``: ITU-T G.726 ADPCM at 32 kb/s;
* ``codec:opus``: Opus (libopus) at 12 kb/s, VoIP application, narrow band (8 kHz in and out);
* ``codec:speex``: Speex narrow band (libspeex, its default quality, about 15 kb/s).

The codecs are defined at 8 kHz, so the low rate must be 8000 Hz (8 -> 16 kHz and 8 -> 48 kHz models);
:func:`check_low_rate` says so for any other rate. Each decoder's fixed delay (Speex: 79 samples,
Opus: 1; G.726 and GSM none; measured by cross-correlation on speech, where Speex's CELP waveform wanders
by a few samples) is removed so ``lr[k]`` sits at ``hr[k * ratio]`` as for every other kind. AMR-NB is not
offered: Debian's ffmpeg has no AMR-NB encoder. Without ffmpeg (or one of its encoders) a codec spec still
parses, and degrading raises :class:`CodecUnavailable` with one line saying what to install.

``noise:SNR[:white|pink]`` resamples like ``resample`` and adds noise at ``SNR`` dB below the low-rate signal's
power (pink, 1/f, by default: a stand-in for room and street noise), its draw seeded from the signal itself,
so the same input always gets the same noise and different crops get different noise.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from keras_audiosr.degrade.resample import (
    RESAMPLE_HALF_LEN,
    resample_down,
    resampler_text,
)
from keras_audiosr.degrade.spec import DegradationSpec, register_kind

__all__ = [
    "CODECS",
    "CODEC_RATE",
    "Codec",
    "CodecUnavailable",
    "Noise",
    "check_low_rate",
    "codec_available",
    "run_codec",
]

CODEC_RATE = 8000


@dataclass(frozen=True)
class _CodecDef:
    title: str
    encoder: str
    options: tuple[str, ...]
    container: str
    delay: int  # decoded samples before the first input sample


CODECS: dict[str, _CodecDef] = {
    "gsm": _CodecDef("GSM 06.10 full rate, 13 kb/s", "libgsm", (), "gsm", 0),
    "g726": _CodecDef("G.726 ADPCM, 32 kb/s", "g726", ("-b:a", "32k"), "wav", 0),
    "opus": _CodecDef("Opus narrow band, 12 kb/s, VoIP", "libopus", ("-b:a", "12k", "-application", "voip"), "ogg", 1),
    "speex": _CodecDef("Speex narrow band, default quality (about 15 kb/s)", "libspeex", (), "ogg", 79),
}


class CodecUnavailable(RuntimeError):
    """ffmpeg, or the encoder a codec spec needs, is not installed."""


@functools.lru_cache(maxsize=1)
def _ffmpeg_encoders() -> frozenset[str]:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return frozenset()
    out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False).stdout
    return frozenset(line.split()[1] for line in out.splitlines() if len(line.split()) > 1 and line.startswith(" A"))


def codec_available(name: str) -> bool:
    """True when ffmpeg is installed with the encoder codec ``name`` needs."""
    return name in CODECS and CODECS[name].encoder in _ffmpeg_encoders()


def _require(name: str) -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise CodecUnavailable(f"codec:{name} needs ffmpeg (Debian: apt-get install ffmpeg); it is not on PATH")
    if not codec_available(name):
        raise CodecUnavailable(f"codec:{name} needs ffmpeg's {CODECS[name].encoder} encoder, which this ffmpeg lacks")
    return exe


def run_codec(pcm: np.ndarray, name: str) -> np.ndarray:
    """16-bit PCM at 8 kHz (1-D int16) through codec ``name`` and back: int16, same length, delay removed."""
    exe, spec = _require(name), CODECS[name]
    pcm = np.ascontiguousarray(pcm, dtype="<i2")
    quiet = [exe, "-hide_banner", "-loglevel", "error", "-nostdin"]
    raw = ["-f", "s16le", "-ar", str(CODEC_RATE), "-ac", "1"]
    enc = subprocess.run(
        [*quiet, *raw, "-i", "pipe:0", "-c:a", spec.encoder, *spec.options, "-f", spec.container, "pipe:1"],
        input=pcm.tobytes(),
        capture_output=True,
        check=False,
    )
    if enc.returncode != 0:
        why = enc.stderr.decode(errors="replace").strip()[-300:]
        raise RuntimeError(f"codec:{name}: ffmpeg encoding failed: {why}")
    dec = subprocess.run(
        [*quiet, "-f", spec.container, "-i", "pipe:0", *raw, "pipe:1"],
        input=enc.stdout,
        capture_output=True,
        check=False,
    )
    if dec.returncode != 0:
        why = dec.stderr.decode(errors="replace").strip()[-300:]
        raise RuntimeError(f"codec:{name}: ffmpeg decoding failed: {why}")
    y = np.frombuffer(dec.stdout, dtype="<i2")[spec.delay :]
    out = np.zeros(pcm.shape[0], np.int16)
    out[: min(y.size, out.size)] = y[: out.size]
    return out


def check_low_rate(spec, hr_rate: int, ratio: int) -> None:
    """ValueError unless a codec spec meets its 8 kHz low rate (other kinds pass)."""
    if getattr(spec, "kind", "") == "codec" and int(hr_rate) != CODEC_RATE * int(ratio):
        raise ValueError(
            f"{spec}: narrow-band codecs run at {CODEC_RATE} Hz, but this low rate is "
            f"{int(hr_rate) / int(ratio):g} Hz ({hr_rate} Hz / {ratio})"
        )


def _per_channel(y: np.ndarray, axis: int, fn) -> np.ndarray:
    moved = np.moveaxis(np.asarray(y, np.float64), axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    out = np.stack([fn(flat[:, c]) for c in range(flat.shape[1])], axis=1).reshape(moved.shape)
    return np.moveaxis(out, 0, axis).astype(np.float32)


@dataclass(frozen=True)
class Codec(DegradationSpec):
    """A narrow-band speech codec (``name`` in :data:`CODECS`) after the sinc resampler."""

    name: str = "gsm"

    kind = "codec"
    keeps_waveform = False

    def __post_init__(self):
        if self.name not in CODECS:
            raise ValueError(f"unknown codec {self.name!r}; valid: {', '.join(CODECS)}")

    def __str__(self) -> str:
        return f"codec:{self.name}"

    def low_rate(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        y = resample_down(x, ratio, axis)

        def one(v):
            pcm = np.clip(np.rint(v * 32768.0), -32768, 32767).astype(np.int16)
            return run_codec(pcm, self.name).astype(np.float64) / 32768.0

        return _per_channel(y, axis, one)

    def context(self, ratio: int) -> int:
        # the resampler's taps plus 40 ms of codec memory (two 20 ms frames) at the low rate
        return RESAMPLE_HALF_LEN * ratio + ratio + 2 * 160 * ratio

    def describe(self, ratio: int, hr_rate: int | None, zero_phase: bool) -> str:
        codec = CODECS[self.name]
        return f"{codec.title} (ffmpeg {codec.encoder}) after the {resampler_text(ratio, hr_rate)}"


NOISE_COLOURS = ("pink", "white")


def _noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spectrum = np.fft.rfft(white)
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


@dataclass(frozen=True)
class Noise(DegradationSpec):
    """The sinc resampler, then ``colour`` noise ``snr_db`` dB below the low-rate signal's mean power."""

    snr_db: float = 20.0
    colour: str = "pink"

    kind = "noise"

    def __post_init__(self):
        if self.colour not in NOISE_COLOURS:
            raise ValueError(f"unknown noise colour {self.colour!r}; valid: {', '.join(NOISE_COLOURS)}")
        if not np.isfinite(self.snr_db):
            raise ValueError(f"noise SNR must be finite, got {self.snr_db}")

    def __str__(self) -> str:
        return f"noise:{self.snr_db:g}" + ("" if self.colour == "pink" else f":{self.colour}")

    def low_rate(self, x, ratio: int, *, zero_phase: bool, axis: int) -> np.ndarray:
        y = resample_down(x, ratio, axis)
        seed = int.from_bytes(
            hashlib.blake2b(np.ascontiguousarray(y, np.float32).tobytes(), digest_size=8).digest(), "little"
        )
        rng = np.random.default_rng(seed)

        def one(v):
            power = float(np.mean(v**2))
            if power == 0.0:
                return v
            noise = _noise(v.size, self.colour, rng)
            noise *= np.sqrt(power / (np.mean(noise**2) * 10.0 ** (self.snr_db / 10.0)))
            return v + noise

        return _per_channel(y, axis, one)

    def context(self, ratio: int) -> int:
        return RESAMPLE_HALF_LEN * ratio + ratio

    def describe(self, ratio: int, hr_rate: int | None, zero_phase: bool) -> str:
        return f"{self.colour} noise at {self.snr_db:g} dB SNR after the {resampler_text(ratio, hr_rate)}"


def _parse_codec(args: tuple[str, ...], text: str) -> Codec:
    if len(args) != 1 or args[0] not in CODECS:
        raise ValueError(f"degradation spec {text!r}: expected codec:{'|'.join(CODECS)}")
    return Codec(args[0])


def _parse_noise(args: tuple[str, ...], text: str) -> Noise:
    try:
        if not 1 <= len(args) <= 2:
            raise ValueError
        snr = float(args[0])
        colour = args[1] if len(args) == 2 else "pink"
        return Noise(snr, colour)
    except ValueError:
        raise ValueError(f"degradation spec {text!r}: expected noise:SNR_DB[:pink|white], e.g. noise:20") from None


register_kind("codec", _parse_codec, grammar=f"codec:{'|'.join(CODECS)}")
register_kind("noise", _parse_noise, grammar="noise:SNR_DB[:pink|white]")
