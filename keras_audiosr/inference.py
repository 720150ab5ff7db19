"""Upsampling whole signals and files of any length with a trained model, in bounded memory.

The model is a Keras model, run on overlapping chunks joined by cross-fades that leave a model's
whole-signal output unchanged, or a frame streamer such as :class:`keras_audiosr.streaming.StreamingUpsampler`
(e.g. over an exported stateful ``.tflite`` run by LiteRT), streamed block by block with no chunks.
How chunks are cut and joined: :mod:`keras_audiosr.inference_engine`.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from keras_audiosr.inference_engine import FADES, _engine

__all__ = [  # noqa: F822  (ModelError and load_model come from the Keras layer on first use: __getattr__ below)
    "FADES",
    "ModelError",
    "StreamModel",
    "load_model",
    "check_pairs",
    "upsample_array",
    "upsample_file",
    "upsample_files",
]


def __getattr__(name):
    """``load_model`` and ``ModelError`` live in :mod:`keras_audiosr.models.saving`; imported on first use
    so that importing this module does not load Keras (the command line starts TensorFlow quietly first)."""
    if name in ("load_model", "ModelError"):
        from keras_audiosr.models import saving

        return getattr(saving, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def upsample_array(
    model,
    x_lr,
    *,
    chunk: int = 16384,
    overlap: int = 1024,
    batch_size: int = 4,
    progress: bool = False,
    fade: str = "cosine",
) -> np.ndarray:
    """Upsample ``x_lr`` (``[time]`` or ``[time, channels]``, at ``model.lr_rate``) to ``ratio * time`` samples.

    Channels are processed independently (each as a one-channel input) unless the model itself takes
    that many channels; the output has the input's layout, float32. Chunks of ``chunk`` low-rate
    samples overlapping by ``overlap`` are batched ``batch_size`` at a time and cross-faded (see
    the module docstring; ``fade`` is ``"cosine"`` (raised cosine) or ``"linear"``). A signal no
    longer than one chunk is a single model call. A frame streamer (e.g. :class:`StreamModel`) is
    streamed instead, one fresh stream per channel; the chunking arguments do not apply to it.
    """
    from keras_audiosr.audio import validate_audio

    x = np.asarray(x_lr)
    if x.ndim not in (1, 2):
        raise ValueError(f"upsample_array: signal must be [time] or [time, channels], got shape {x.shape}")
    validate_audio(x, getattr(model, "lr_rate", 1))
    engine = _engine(model, chunk, overlap, batch_size, fade)
    x2 = (x[:, None] if x.ndim == 1 else x).astype(np.float32, copy=False)
    with tqdm(total=engine.units(len(x2)), desc="upsample", unit=engine.unit, disable=not progress) as bar:
        y = np.concatenate(list(engine.stream([x2], x2.shape[1], bar)))
    return y[:, 0] if x.ndim == 1 else y


class StreamModel:
    """An exported ``.tflite`` stream run by LiteRT (no TensorFlow), with the facts a Keras model of the package
    carries (``ratio``, ``lr_rate``, ``hr_rate``, ``degradation``, ``training_degradations``, ``name``), read
    from its embedded metadata: what :func:`upsample_array`, the file functions and the evaluation suite take
    in place of the Keras model. Build it with :meth:`load`.
    """

    def __init__(self, streamer, metadata: dict, name: str):
        self.streamer, self.metadata, self.name = streamer, dict(metadata), name
        self.plan, self.fn = streamer.plan, streamer.fn
        self.ratio, self.lr_rate = int(self.plan.ratio), int(self.plan.lr_rate)
        self.hr_rate = self.lr_rate * self.ratio
        self.degradation = dict(metadata.get("degradation") or {"ratio": self.ratio})
        self.training_degradations = metadata.get("training_degradations")

    @classmethod
    def load(cls, path, verbose: bool = False) -> StreamModel:
        """The ``.tflite`` at ``path`` (window or stateful form, exported by ``keras-audiosr export``); LiteRT's
        start-up line hidden unless ``verbose``."""
        from keras_audiosr.utils import quiet_native_stderr

        try:
            import ai_edge_litert  # noqa: F401
        except ImportError:
            raise ImportError(
                f"{path}: running a .tflite needs the LiteRT runtime: pip install ai-edge-litert "
                f"(a plain pip install keras-audiosr brings it)"
            ) from None
        from keras_audiosr.streaming import StreamingUpsampler, read_metadata

        with quiet_native_stderr(verbose):
            streamer = StreamingUpsampler.from_tflite(path)
        meta = read_metadata(path) or {}
        return cls(streamer, meta, str(meta.get("name") or Path(path).stem))

    def fork(self):
        return self.streamer.fork()

    def feed(self, x):
        return self.streamer.feed(x)

    def finish(self):
        return self.streamer.finish()


def _checked_info(path: Path):
    """``soundfile.info`` of ``path`` with the same checks as :func:`keras_audiosr.audio.read_audio`."""
    from keras_audiosr import audio

    if not path.exists():
        raise audio.AudioError(f"{path}: file not found")
    if path.is_dir():
        raise audio.AudioError(f"{path}: is a directory, not an audio file")
    try:
        info = sf.info(str(path), verbose=True)
    except (sf.SoundFileError, RuntimeError) as e:
        raise audio.AudioError(f"{path}: not a readable audio file ({e})") from e
    for m in audio._SHORT_CHUNK.finditer(info.extra_info or ""):
        if int(m.group(2)) > int(m.group(3)) and int(m.group(2)) not in audio._UNKNOWN_SIZES:
            raise audio.AudioError(
                f"{path}: truncated file: {m.group(1)} chunk declares {m.group(2)} bytes "
                f"but only {m.group(3)} are present"
            )
    if info.frames == 0:
        raise audio.AudioError(f"{path}: zero-length audio")
    return info


def _read_blocks(path: Path, blocksize: int, expected: int) -> Iterator[np.ndarray]:
    """Float32 ``[n, channels]`` blocks of ``path``, each validated; checks the frame count at the end."""
    from keras_audiosr.audio import AudioError, validate_audio

    total = 0
    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            for block in f.blocks(blocksize=blocksize, dtype="float32", always_2d=True):
                if len(block):
                    validate_audio(block, rate, f"{path} (frames {total}-{total + len(block)})")
                    total += len(block)
                    yield block
    except (sf.SoundFileError, RuntimeError) as e:
        raise AudioError(f"{path}: truncated or corrupt audio data ({e})") from e
    if total != expected:
        raise AudioError(
            f"{path}: truncated or corrupt audio data: read {total} frames of the {expected} the header declares"
        )


def _lr_frames(info, lr_rate: int) -> int:
    """Low-rate frames of a file described by ``info`` (``soundfile.info``), after resampling to ``lr_rate``."""
    frames, rate = int(info.frames), int(info.samplerate)
    return frames if rate == lr_rate else -(-frames * lr_rate // rate)


def upsample_file(
    model,
    in_path,
    out_path,
    *,
    chunk: int = 16384,
    overlap: int = 1024,
    batch_size: int = 4,
    progress: bool = True,
    subtype: str | None = None,
    fade: str = "cosine",
    bar=None,
    warn_clipping: bool = True,
) -> dict:
    """Upsample the sound file ``in_path`` with ``model`` and write ``out_path`` at ``model.hr_rate``.

    ``model``: a Keras model (run on chunks) or a frame streamer such as
    :class:`keras_audiosr.streaming.StreamingUpsampler` (streamed; ``chunk``, ``overlap``, ``batch_size``
    and ``fade`` do not apply). A file at ``model.lr_rate`` is streamed in blocks, so memory stays
    bounded by the chunk and batch sizes whatever its length. A file at another rate is first
    resampled whole to ``model.lr_rate`` (high quality, see :func:`keras_audiosr.audio.resample`;
    with a notice on stderr; memory then grows with the file). Each channel is upsampled
    separately. The output format follows ``out_path``'s extension; ``subtype=None`` keeps the
    input's subtype where the output format allows it, else the format's default (PCM_16 for
    WAV/FLAC). Integer subtypes clip samples outside [-1, 1]: one
    :class:`~keras_audiosr.audio.ClippingWarning` at the end names the count and the float subtype
    that keeps them (unless ``warn_clipping=False``). The output is written atomically: on any
    error (bad input block, model failure, interrupt) nothing is left at ``out_path`` and no
    temporary file remains. ``bar``: a tqdm bar (counting chunks) to advance instead of this
    file's own (``progress``).

    Returns ``{"in", "out", "in_rate", "out_rate", "seconds" (output duration), "channels",
    "resampled", "subtype", "clipped" (samples), "peak" (largest magnitude written before
    clipping), "elapsed" (wall seconds)}``.
    """
    from keras_audiosr.audio import (
        ClippingWarning,
        clipping_message,
        is_float_subtype,
        open_writer,
        output_subtype,
        read_audio,
        resample,
    )

    t0 = time.monotonic()
    in_path, out_path = Path(in_path), Path(out_path)
    info = _checked_info(in_path)
    channels, in_rate = int(info.channels), int(info.samplerate)
    engine = _engine(model, chunk, overlap, batch_size, fade)
    resampled = in_rate != engine.lr_rate
    if resampled:
        print(
            f"resampling {in_path} from {in_rate} Hz to {engine.lr_rate} Hz (the model's input rate); "
            f"the whole file is read into memory",
            file=sys.stderr,
        )
        data, _ = read_audio(in_path)
        data = resample(data, in_rate, engine.lr_rate, axis=0, quality="high")
        n_lr, blocks = len(data), [data]
    else:
        n_lr = int(info.frames)
        blocks = _read_blocks(in_path, engine.blocksize, n_lr)
    subtype = output_subtype(out_path, info.subtype, subtype)
    clip = not is_float_subtype(subtype or "PCM_16")
    clipped = frames = 0
    peak = 0.0
    own_bar = bar is None
    if own_bar:
        bar = tqdm(total=engine.units(n_lr), desc=f"upsample {in_path.name}", unit=engine.unit, disable=not progress)
    try:
        with open_writer(out_path, engine.hr_rate, channels, subtype=subtype) as writer:
            for y in engine.stream(blocks, channels, bar):
                magnitude = np.abs(y)
                if magnitude.size:
                    peak = max(peak, float(magnitude.max()))
                if clip:
                    over = magnitude > 1.0
                    if over.any():
                        clipped += int(over.sum())
                        y = np.clip(y, -1.0, 1.0)
                writer.write(y)
                frames += len(y)
    finally:
        if own_bar:
            bar.close()
    if clipped and warn_clipping:
        warnings.warn(clipping_message(out_path, clipped, peak, subtype or "PCM_16"), ClippingWarning, stacklevel=2)
    return {
        "in": str(in_path),
        "out": str(out_path),
        "in_rate": in_rate,
        "out_rate": engine.hr_rate,
        "seconds": frames / engine.hr_rate,
        "channels": channels,
        "resampled": resampled,
        "subtype": subtype or "PCM_16",
        "clipped": clipped,
        "peak": peak,
        "elapsed": time.monotonic() - t0,
    }


def _incomplete_reason(info, dst: Path, src: Path, hr_rate: int | None = None, lr_rate: int | None = None) -> str:
    """Why the existing ``dst`` is not a complete upsampling of ``src`` (described by ``info``), or ``""``.

    Complete: a readable sound file, not older than its input, with the input's channels and its
    duration (within a millisecond); given the model's rates, exactly ``hr_rate`` and the length the
    model writes. The atomic writer never leaves a partial output at ``dst``, so this tells a finished
    output from a file of something else.
    """
    try:
        out = sf.info(str(dst))
    except (sf.SoundFileError, RuntimeError, OSError):
        return "not a readable audio file"
    if dst.stat().st_mtime < src.stat().st_mtime:
        return "older than its input"
    if out.channels != info.channels:
        return f"{out.channels} channel(s), the input has {info.channels}"
    if hr_rate is not None and out.samplerate != hr_rate:
        return f"{out.samplerate} Hz, the model writes {hr_rate} Hz"
    if hr_rate is not None and lr_rate is not None:
        expected = hr_rate // lr_rate * _lr_frames(info, lr_rate)
        if out.frames != expected:
            return f"{out.frames} frames, the model writes {expected}"
    elif abs(out.frames / out.samplerate - info.frames / info.samplerate) > 1e-3 + 1.0 / info.samplerate:
        return f"{out.frames / out.samplerate:.3f} s long, the input {info.frames / info.samplerate:.3f} s"
    return ""


def _exists_error(items) -> FileExistsError:
    """One error for existing outputs: ``items`` are ``(out_path, reason)``, reason ``""`` for a plain refusal."""
    shown = [f"{o}" + (f" ({why})" if why else "") for o, why in items[:3]]
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    what = "output exists" if not any(why for _, why in items) else "output exists and is not a complete upsampling"
    return FileExistsError(
        f"{', '.join(shown)}{more}: {what}; pass --overwrite to replace it (overwrite=True in Python)"
    )


def check_pairs(pairs, *, overwrite: bool = False, keep_going: bool = False, skip_complete: bool = False) -> list:
    """Check ``(in_path, out_path)`` pairs before any work; returns each input's ``soundfile.info``.

    Every input must be a readable sound file; no two outputs may coincide, no output may be an
    input, and no output may exist unless ``overwrite`` (``FileExistsError`` listing them), or,
    with ``skip_complete``, unless it is a complete output of its input (see :func:`upsample_files`).
    ``keep_going``: an unreadable input is not an error; its entry in the result is the
    :class:`~keras_audiosr.audio.AudioError` that says why.
    """
    from keras_audiosr.audio import AudioError

    pairs = [(Path(i), Path(o)) for i, o in pairs]
    if not pairs:
        raise ValueError("no input files given")
    seen: dict = {}
    inputs = {p.resolve() for p, _ in pairs}
    for src, dst in pairs:
        key = dst.resolve()
        if key in seen:
            raise ValueError(f"{dst}: output of both {seen[key]} and {src}; give the inputs distinct names")
        if key in inputs:
            raise ValueError(f"{dst}: output would replace an input file")
        seen[key] = src
    if not overwrite and not skip_complete:
        existing = [(o, "") for _, o in pairs if o.exists()]
        if existing:
            raise _exists_error(existing)
    infos = []
    for src, _ in pairs:
        try:
            infos.append(_checked_info(src))
        except AudioError as e:
            if not keep_going:
                raise
            infos.append(e)
    if not overwrite:
        existing = [
            (dst, _incomplete_reason(info, dst, src))
            for (src, dst), info in zip(pairs, infos)
            if dst.exists() and not isinstance(info, Exception)
        ]
        incomplete = [(o, why) for o, why in existing if why]
        if incomplete:
            raise _exists_error(incomplete)
    return infos


def _failure(src: Path, dst: Path, e: BaseException) -> dict:
    from keras_audiosr.audio import AudioError

    text = (
        str(e)
        if isinstance(e, AudioError) or not (isinstance(e, OSError) and e.strerror)
        else (f"{e.filename}: {e.strerror}" if e.filename else e.strerror)
    )
    return {"in": str(src), "out": str(dst), "status": "failed", "error": text}


def upsample_files(
    model,
    pairs,
    *,
    overwrite: bool = False,
    progress: bool = True,
    keep_going: bool = False,
    skip_complete: bool = False,
    **kwargs,
) -> list[dict]:
    """Upsample each ``(in_path, out_path)`` of ``pairs`` with :func:`upsample_file`, under one progress bar.

    ``model``: one model (Keras or a frame streamer, see :func:`upsample_file`) for every pair, or a
    list or tuple of models, one per pair (e.g. each file's own shipped model, chosen by its rate).
    Everything is checked by :func:`check_pairs` before any work, and so is every output's format and
    subtype (:func:`~keras_audiosr.audio.check_output_format`). Clipping is reported once for
    all files, as one :class:`~keras_audiosr.audio.ClippingWarning`. ``kwargs`` go to
    :func:`upsample_file`.

    ``skip_complete`` (for resuming a folder): an existing output that is a complete upsampling of its
    input by this model (readable, not older than the input, the model's rate, channels and length) is
    skipped; any other existing output is refused unless ``overwrite``, which redoes everything.
    ``keep_going``: a bad input (unreadable, or failing midway, e.g. a NaN sample) does not stop the
    others; a full disk still does. Returns one dict per pair, in order: :func:`upsample_file`'s
    result with ``"status": "done"``; for a skipped output ``{"in", "out", "status": "skipped",
    "out_rate", "seconds", "channels"}``; for a failed one ``{"in", "out", "status": "failed", "error"}``.
    """
    import errno

    from keras_audiosr.audio import AudioError, ClippingWarning, check_output_format, clipping_message, output_subtype

    pairs = [(Path(i), Path(o)) for i, o in pairs]
    models = list(model) if isinstance(model, (list, tuple)) else [model] * len(pairs)
    if len(models) != len(pairs):
        raise ValueError(
            f"upsample_files: {len(models)} models for {len(pairs)} file pairs; give one model, or one per pair"
        )
    infos = check_pairs(pairs, overwrite=overwrite, keep_going=keep_going, skip_complete=skip_complete)
    results: list = [None] * len(pairs)
    for k, ((src, dst), info) in enumerate(zip(pairs, infos)):
        if isinstance(info, Exception):
            results[k] = _failure(src, dst, info)
        else:  # every output's format and subtype, before any work
            check_output_format(dst, output_subtype(dst, info.subtype, kwargs.get("subtype")))
    engines = {
        id(m): _engine(
            m,
            kwargs.get("chunk", 16384),
            kwargs.get("overlap", 1024),
            kwargs.get("batch_size", 4),
            kwargs.get("fade", "cosine"),
        )
        for m in models
    }
    if not overwrite:
        incomplete = []
        for k, ((src, dst), info) in enumerate(zip(pairs, infos)):
            if results[k] is None and dst.exists():
                e = engines[id(models[k])]
                why = _incomplete_reason(info, dst, src, e.hr_rate, e.lr_rate)
                if why:
                    incomplete.append((dst, why))
                else:
                    out = sf.info(str(dst))
                    results[k] = {
                        "in": str(src),
                        "out": str(dst),
                        "status": "skipped",
                        "out_rate": out.samplerate,
                        "seconds": out.frames / out.samplerate,
                        "channels": out.channels,
                    }
        if incomplete:
            raise _exists_error(incomplete)
    todo = [k for k in range(len(pairs)) if results[k] is None]
    total = sum(engines[id(models[k])].units(_lr_frames(infos[k], engines[id(models[k])].lr_rate)) for k in todo)
    units = {e.unit for e in engines.values()}
    with tqdm(
        total=total,
        desc=f"upsample {len(todo)} file{'s' if len(todo) != 1 else ''}",
        unit=units.pop() if len(units) == 1 else "step",
        disable=not progress,
    ) as bar:
        for k in todo:
            src, dst = pairs[k]
            bar.set_postfix_str(src.name, refresh=False)
            try:
                results[k] = {
                    **upsample_file(models[k], src, dst, bar=bar, warn_clipping=False, **kwargs),
                    "status": "done",
                }
            except (AudioError, ValueError, OSError) as e:
                if not keep_going or (isinstance(e, OSError) and e.errno == errno.ENOSPC):
                    raise
                results[k] = _failure(src, dst, e)
    done = [r for r in results if r["status"] == "done"]
    bad = [r for r in done if r["clipped"]]
    if bad:
        worst = max(bad, key=lambda r: r["peak"])
        n = sum(r["clipped"] for r in bad)
        where = worst["out"] if len(bad) == 1 else f"{len(bad)} of {len(done)} files (worst {worst['out']})"
        warnings.warn(clipping_message(where, n, worst["peak"], worst["subtype"]), ClippingWarning, stacklevel=2)
    return results
