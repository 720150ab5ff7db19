"""A generated speech-like corpus: deterministic audio made on the spot, no download.

Formerly the recipes' default corpus; the default is now packaged real speech
(:func:`keras_audiosr.data.embedded_corpus_dir`). This one stays for tests and as an explicit
option (``--data-dir "$(python -c 'from keras_audiosr.data import make_default_corpus as m; print(m())')"``).
It is not speech, but it has the structure that makes bandwidth extension learnable: a harmonic
glottal source whose harmonics run up through the high band in step with the low band, formant
resonances (F1-F3 moving between vowel targets, fixed speaker F4-F6), breathy noise synchronous
with the glottal cycle, fricatives with most energy above 3-4 kHz but a tail below it (so the low
band tells when they happen), syllable amplitude envelopes and pauses. Each speaker has its own f0
range, vocal-tract length (formant scale), glottal pulse shape, breathiness and fricative level.

Files are 16-bit FLAC in the VCTK 0.80 layout (``wav48/s001/s001_001.flac``), so
:func:`keras_audiosr.data.find_vctk` and the VCTK splits work on it unchanged. Utterance ``u`` of
speaker ``s`` depends only on ``(seed, s, u)`` and the length/rate, so the same parameters give the
same bytes, and asking for more speakers or utterances leaves the existing ones as they were.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from scipy import signal

from keras_audiosr.audio import write_audio
from keras_audiosr.data.store import default_cache_dir

__all__ = ["DEFAULT_CORPUS_NAME", "GENERATOR_VERSION", "make_default_corpus", "synthesize_utterance"]

DEFAULT_CORPUS_NAME = "synthetic-vctk-v1"
GENERATOR_VERSION = 1
MARKER = "synthetic_corpus.json"

# Peterson & Barney (1952) adult male F1-F3 (Hz): i, I, E, ae, a, o, U, u, V, er.
_VOWELS = np.array(
    [
        [270, 2290, 3010],
        [390, 1990, 2550],
        [530, 1840, 2480],
        [660, 1720, 2410],
        [730, 1090, 2440],
        [570, 840, 2410],
        [440, 1020, 2240],
        [300, 870, 2240],
        [640, 1190, 2390],
        [490, 1350, 1690],
    ],
    dtype=np.float64,
)
_FORMANT_AMPS = np.array([1.0, 0.63, 0.4, 0.28, 0.2, 0.14])
_FORMANT_BW = np.array([70.0, 100.0, 150.0, 250.0, 350.0, 450.0])
# Fricatives: (centre frequency Hz, width in octaves, relative level). /h/ is handled as aspiration.
_FRICATIVES = {"s": (6500.0, 0.55, 1.0), "sh": (3600.0, 0.6, 0.9), "f": (5500.0, 1.4, 0.45), "h": (0.0, 0.0, 0.6)}
_FRIC_NAMES = tuple(_FRICATIVES)


def _speaker(seed: int, s: int) -> dict:
    rng = np.random.default_rng([seed, s, 0])
    pos = rng.uniform()  # 0 = low, long vocal tract; 1 = high, short
    return {
        "f0": 90.0 * (250.0 / 90.0) ** pos / 1.1,  # centre; intonation spans about +-20 %
        "scale": 1.0 + 0.2 * pos + rng.normal(0.0, 0.03),
        "f4": rng.uniform(3300.0, 3700.0),
        "open_q": rng.uniform(0.4, 0.6),
        "close_q": rng.uniform(0.1, 0.22),
        "breath": rng.uniform(0.02, 0.08),
        "fric_level": rng.uniform(0.55, 0.9),
        "fric_p": rng.dirichlet(np.ones(len(_FRICATIVES)) * 2.0),
        "rate_factor": rng.uniform(0.85, 1.15),
    }


def _timeline(rng: np.random.Generator, dur: float, spk: dict) -> list[tuple]:
    """Syllables as (kind, t0, t1, detail): fricative onsets/codas, vowel nuclei, pauses between."""
    segs = []
    t = rng.uniform(0.08, 0.2)
    end = dur - rng.uniform(0.08, 0.2)
    k = spk["rate_factor"]
    while True:
        if rng.uniform() < 0.6:
            d = rng.uniform(0.06, 0.14) * k
            if t + d > end:
                break
            segs.append(("fric", t, t + d, _FRIC_NAMES[rng.choice(len(_FRIC_NAMES), p=spk["fric_p"])]))
            t += d - 0.01
        d = rng.uniform(0.12, 0.3) * k
        if t + d > end:
            break
        segs.append(("vowel", t, t + d, tuple(rng.choice(len(_VOWELS), size=2))))
        t += d
        r = rng.uniform()
        if r < 0.3:
            d = rng.uniform(0.06, 0.14) * k
            if t + d > end:
                break
            segs.append(("fric", t - 0.01, t + d, _FRIC_NAMES[rng.choice(len(_FRIC_NAMES), p=spk["fric_p"])]))
            t += d
        if rng.uniform() < 0.45:
            t += rng.uniform(0.04, 0.15)
        else:
            t += rng.uniform(0.0, 0.03)
    return segs


def _gate(n: int, rate: int, t0: float, t1: float, attack: float, release: float):
    """Slice and raised-cosine on/off envelope of a segment (sample indices clipped to the signal)."""
    i0, i1 = max(0, int(round(t0 * rate))), min(n, int(round(t1 * rate)))
    tt = (np.arange(i0, i1) + 0.5) / rate
    ramp = np.clip(np.minimum((tt - t0) / attack, (t1 - tt) / release), 0.0, 1.0)
    return slice(i0, i1), 0.5 - 0.5 * np.cos(np.pi * ramp), (tt - t0) / max(t1 - t0, 1e-9)


def _smooth_noise(rng, n: int, rate: int, step: float, std: float) -> np.ndarray:
    """Smooth random contour: Gaussian control points every ``step`` seconds, linearly interpolated."""
    m = int(np.ceil(n / rate / step)) + 2
    pts = rng.normal(0.0, std, m)
    return np.interp(np.arange(n) / rate, np.arange(m) * step, pts)


def _resonances(freqs: np.ndarray, centres: np.ndarray, bws: np.ndarray, amps: np.ndarray) -> np.ndarray:
    """Sum of band-pass resonance magnitudes (peak ``amp`` at each centre): ``[bins, frames]``."""
    f = freqs[:, None, None]
    c, b = centres[None], bws[None, None, :]
    mag = b * f / np.sqrt((c**2 - f**2) ** 2 + (b * f) ** 2 + 1e-12)
    return np.tensordot(mag, amps, axes=([2], [0]))


def synthesize_utterance(
    seed: int, speaker: int, utterance: int, seconds: float = 2.0, rate: int = 48000
) -> np.ndarray:
    """One speech-like utterance, float32 ``[time]`` peak-normalised to -3 dBFS (deterministic)."""
    spk = _speaker(seed, speaker)
    rng = np.random.default_rng([seed, speaker, utterance + 1])
    n = int(round(seconds * rate))
    segs = _timeline(rng, n / rate, spk)
    t = np.arange(n) / rate

    # f0: declination, phrase-level intonation, vibrato and jitter.
    semis = -2.0 * t / max(t[-1], 1e-9) + _smooth_noise(rng, n, rate, 0.18, 1.3)
    f0 = spk["f0"] * 2.0 ** (semis / 12.0)
    f0 *= 1.0 + 0.006 * np.sin(2 * np.pi * rng.uniform(4.5, 6.0) * t + rng.uniform(0, 2 * np.pi))
    f0 *= 1.0 + _smooth_noise(rng, n, rate, 0.004, 0.004)
    phase = np.mod(np.cumsum(f0 / rate), 1.0)
    oq, cq = spk["open_q"], spk["close_q"]
    flow = np.where(
        phase < oq,
        0.5 - 0.5 * np.cos(np.pi * phase / oq),
        np.where(phase < oq + cq, np.cos(0.5 * np.pi * (phase - oq) / cq), 0.0),
    )
    glottal = np.diff(flow, prepend=flow[0]) * (rate / spk["f0"])

    voiced, aspir = np.zeros(n), np.zeros(n)
    fric = {name: np.zeros(n) for name in _FRICATIVES if name != "h"}
    ctrl_t, ctrl_f = [], []
    for kind, t0, t1, detail in segs:
        if kind == "vowel":
            sl, env, u = _gate(n, rate, t0, t1, 0.02, 0.03)
            voiced[sl] = np.maximum(voiced[sl], env * rng.uniform(0.6, 1.0) * (1.0 - 0.35 * u))
            a, b = _VOWELS[detail[0]], _VOWELS[detail[1]]
            jit = rng.normal(1.0, 0.04, 3)
            ctrl_t += [t0, t0 + 0.3 * (t1 - t0), t1]
            ctrl_f += [a * jit, a * jit, b * jit]
        else:
            sl, env, _ = _gate(n, rate, t0, t1, 0.015, 0.02)
            level = rng.uniform(0.7, 1.0)
            if detail == "h":
                aspir[sl] = np.maximum(aspir[sl], env * level)
            else:
                fric[detail][sl] = np.maximum(fric[detail][sl], env * level * _FRICATIVES[detail][2])
    noise = rng.standard_normal(n)
    pulse_mod = 0.4 + 0.6 * (phase < oq)
    source = glottal * voiced + noise * (spk["breath"] * 4.0 * voiced * pulse_mod + 0.6 * aspir)

    # Time-varying vocal tract: STFT-domain magnitude envelope of 6 parallel resonances.
    nper = 1 << int(round(np.log2(rate * 0.02)))
    freqs, times, z = signal.stft(source, fs=rate, window="hann", nperseg=nper, noverlap=3 * nper // 4)
    if ctrl_t:
        ct, cf = np.asarray(ctrl_t), np.asarray(ctrl_f) * spk["scale"]
        f13 = np.stack([np.interp(times, ct, cf[:, i]) for i in range(3)], axis=1)
    else:
        f13 = np.tile(_VOWELS[8] * spk["scale"], (len(times), 1))
    high = np.array([spk["f4"], 4600.0, 5800.0]) * spk["scale"]
    centres = np.concatenate([f13, np.broadcast_to(high, (len(times), 3))], axis=1)
    bw = _FORMANT_BW * (1.0 + 0.1 * (spk["scale"] - 1.0))
    _, y = signal.istft(
        z * _resonances(freqs, centres, bw, _FORMANT_AMPS), fs=rate, window="hann", nperseg=nper, noverlap=3 * nper // 4
    )
    y = y[:n]

    # Fricatives: white noise through fixed log-frequency band shapes, gated in time.
    spec_f = np.fft.rfftfreq(n, 1.0 / rate)
    white = np.fft.rfft(rng.standard_normal(n))
    fr = np.zeros(n)
    for name, gain in fric.items():
        if not gain.any():
            continue
        fc, width, _ = _FRICATIVES[name]
        shape = np.exp(-0.5 * (np.log2(np.maximum(spec_f, 1.0) / (fc * spk["scale"] ** 0.5)) / width) ** 2)
        fr += np.fft.irfft(white * shape, n) * gain

    def _active_rms(x, gate):
        m = gate > 0.5
        return float(np.sqrt(np.mean(x[m] ** 2))) if m.any() else 1.0

    y = y / max(_active_rms(y, voiced + aspir), 1e-12)
    if any(g.any() for g in fric.values()):
        fr = fr / max(_active_rms(fr, sum(fric.values())), 1e-12) * spk["fric_level"]
    x = y + fr
    x = x * (10 ** (-3.0 / 20.0) / max(float(np.max(np.abs(x))), 1e-12))
    x += rng.standard_normal(n) * 10 ** (-80.0 / 20.0)
    return x.astype(np.float32)


def _params(n_speakers, n_utterances, seconds, rate, seed) -> dict:
    return {
        "name": DEFAULT_CORPUS_NAME,
        "generator_version": GENERATOR_VERSION,
        "n_speakers": int(n_speakers),
        "n_utterances": int(n_utterances),
        "seconds": float(seconds),
        "rate": int(rate),
        "seed": int(seed),
    }


_README = """{name}: a synthetic, speech-like corpus generated by keras_audiosr (keras_audiosr.data.synthetic).

It is NOT recorded speech. Each file is a sequence of syllables from a glottal-pulse source with
drifting pitch, moving formant resonances, breath noise, fricative noise bursts (mostly above
3-4 kHz) and pauses, so that bandwidth extension can be learnt and tested without downloading a
corpus. Regenerate it with keras_audiosr.data.make_default_corpus(); the same parameters give the
same files.

Layout: VCTK 0.80 (wav48/<speaker>/<speaker>_<utt>.flac), 16-bit FLAC.
Parameters: {params}
"""


def make_default_corpus(
    root=None, n_speakers: int = 10, n_utterances: int = 6, seconds: float = 2.0, rate: int = 48000, seed: int = 1234
) -> Path:
    """Write (or reuse) the synthetic corpus at ``root`` and return ``root``.

    ``root=None`` means ``default_cache_dir() / DEFAULT_CORPUS_NAME``. Speakers are ``s001`` ...,
    utterances ``s001_001`` ...; a README.txt says what the folder is. A marker file records the
    parameters: a second call with the same parameters only writes files that are missing (each
    file is written atomically, so an interrupted run is completed), different parameters
    regenerate the folder. Refuses (ValueError) to overwrite a ``wav48/`` folder it did not write.
    """
    for name, v in (("n_speakers", n_speakers), ("n_utterances", n_utterances), ("rate", rate)):
        if int(v) != v or v < 1:
            raise ValueError(f"make_default_corpus: {name} must be a positive integer, got {v!r}")
    if not seconds > 0:
        raise ValueError(f"make_default_corpus: seconds must be positive, got {seconds!r}")
    root = Path(root).expanduser() if root is not None else default_cache_dir() / DEFAULT_CORPUS_NAME
    params = _params(n_speakers, n_utterances, seconds, rate, seed)
    marker = root / MARKER
    wav = root / "wav48"
    files = [
        wav / f"s{s:03d}" / f"s{s:03d}_{u:03d}.flac"
        for s in range(1, n_speakers + 1)
        for u in range(1, n_utterances + 1)
    ]
    if marker.is_file():
        try:
            old = json.loads(marker.read_text())
        except (OSError, ValueError):
            old = None
        if old != params:
            marker.unlink(missing_ok=True)
            shutil.rmtree(wav, ignore_errors=True)
    elif wav.exists() and any(wav.iterdir()):
        raise ValueError(
            f"make_default_corpus: {wav} exists and was not written by make_default_corpus "
            f"(no {MARKER}); choose another root"
        )
    missing = [(i, f) for i, f in enumerate(files) if not f.is_file()]
    if not missing and marker.is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    # The marker goes first: it claims the folder, so an interrupted run is resumed, not refused.
    tmp = root / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(params, indent=1))
    tmp.replace(marker)
    (root / "README.txt").write_text(_README.format(name=DEFAULT_CORPUS_NAME, params=json.dumps(params)))
    for i, f in missing:
        s, u = divmod(i, n_utterances)
        write_audio(f, synthesize_utterance(seed, s + 1, u + 1, seconds=seconds, rate=rate), rate, subtype="PCM_16")
    return root
