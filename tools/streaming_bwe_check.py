"""Train a StreamingBWE briefly on training speakers, export it as float / int8 / int8-pcm16 stateful streams,
and measure each against its float model on held-out speakers (PESQ-WB, LSD, SNR, SNR vs float, RTF).

A check of the edge path, not the training recipe (that is ``recipes.streaming_bwe``, to come): plain
``model.fit`` on an in-memory set of (degraded, reference) crops, with a waveform MSE plus log-magnitude
STFT loss, for ``--minutes`` of wall-clock time.

    python tools/streaming_bwe_check.py --data-dir ../shared/data/vctk-mini --size small --minutes 8 \\
        --out runs/streaming_bwe_check
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HELD_OUT = ("p258", "p259", "p273")


def log_stft_mse_loss(mse_weight=1000.0, resolutions=((512, 128), (128, 32))):
    """``mse_weight * MSE + mean over resolutions of L1(log10 |STFT|)`` on ``[B, T, 1]`` waveforms."""
    import tensorflow as tf

    def loss(y_true, y_pred):
        yt, yp = y_true[..., 0], y_pred[..., 0]
        total = mse_weight * tf.reduce_mean(tf.square(yt - yp))
        for n_fft, hop in resolutions:
            st = tf.abs(tf.signal.stft(yt, n_fft, hop, pad_end=False))
            sp = tf.abs(tf.signal.stft(yp, n_fft, hop, pad_end=False))
            total += tf.reduce_mean(tf.abs(tf.math.log(st + 1e-5) - tf.math.log(sp + 1e-5))) / len(resolutions)
        return total

    return loss


def crops(utts, model, patch_hr, stride_hr, silence_db=-50.0):
    from keras_audiosr.audio import read_at_rate as prepare_signal
    from keras_audiosr.degrade import Degradation, trim_to_multiple

    deg = Degradation.from_dict(model.degradation)
    lrs, hrs = [], []
    r = model.ratio
    for u in utts:
        hr = trim_to_multiple(prepare_signal(u.path, model.hr_rate), r)
        lr = deg(hr)
        for s in range(0, len(hr) - patch_hr + 1, stride_hr):
            h = hr[s : s + patch_hr]
            if 10 * np.log10(np.mean(h.astype(np.float64) ** 2) + 1e-20) < silence_db:
                continue
            hrs.append(h)
            lrs.append(lr[s // r : (s + patch_hr) // r])
    return np.stack(lrs)[..., None].astype(np.float32), np.stack(hrs)[..., None].astype(np.float32)


def train(args, split):
    import keras

    from keras_audiosr.models import StreamingBWE

    keras.utils.set_random_seed(args.seed)
    model = StreamingBWE.from_size(args.size, ratio=args.ratio, hr_rate=args.hr_rate)
    lr, hr = crops(split.train, model, args.patch, args.patch // 2)
    print(
        f"[train] {len(lr)} crops of {args.patch} samples from {len(split.train)} training files "
        f"(speakers {sorted({u.speaker for u in split.train})})",
        flush=True,
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=log_stft_mse_loss())
    deadline = time.monotonic() + 60.0 * args.minutes

    class Deadline(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() > deadline:
                self.model.stop_training = True

    t = time.monotonic()
    history = model.fit(
        lr, hr, batch_size=args.batch_size, epochs=10000, shuffle=True, verbose=2, callbacks=[Deadline()]
    )
    minutes = (time.monotonic() - t) / 60
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    print(
        f"[train] {len(history.history['loss'])} epochs in {minutes:.1f} min, final loss "
        f"{history.history['loss'][-1]:.4f} -> {out / 'model.keras'}",
        flush=True,
    )
    return model, {
        "epochs": len(history.history["loss"]),
        "minutes": minutes,
        "crops": int(len(lr)),
        "final_loss": float(history.history["loss"][-1]),
    }


def rtf(tfl, lr, frames=400):
    """Median and IQR of one call (ms) over ``frames`` calls, and the real-time factor."""
    f = tfl.frame
    tfl.reset()
    times = []
    for k in range(min(frames, len(lr) // f)):
        t = time.perf_counter()
        tfl(lr[k * f : (k + 1) * f])
        times.append(time.perf_counter() - t)
    ms = 1000 * np.asarray(times)
    frame_ms = 1000.0 * f / tfl.metadata["lr_rate"]
    return {
        "call_ms_median": float(np.median(ms)),
        "call_ms_iqr": [float(np.percentile(ms, 25)), float(np.percentile(ms, 75))],
        "frame_ms": frame_ms,
        "rtf": float(np.median(ms) / frame_ms),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default="../shared/data/vctk-mini")
    p.add_argument("--size", default="small")
    p.add_argument("--ratio", type=int, default=2)
    p.add_argument("--hr-rate", type=int, default=16000)
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--patch", type=int, default=8192, help="training crop, high-rate samples")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--qat-steps", type=int, default=0)
    p.add_argument("--model", default=None, help="skip training: evaluate this .keras")
    p.add_argument("--out", default="runs/streaming_bwe_check")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from keras_audiosr.audio import read_at_rate as prepare_signal
    from keras_audiosr.baselines import sinc_upsample, spline_upsample
    from keras_audiosr.data import load_corpus, make_split
    from keras_audiosr.degrade import Degradation, trim_to_multiple
    from keras_audiosr.export.stateful import STREAMING_MODES, StreamingExporter
    from keras_audiosr.inference import load_model
    from keras_audiosr.metrics import evaluate_pair, snr
    from keras_audiosr.models.complexity import macs_per_second
    from keras_audiosr.streaming import StatefulTFLiteModel, StreamingUpsampler
    from keras_audiosr.utils import write_json

    split = make_split(load_corpus(args.data_dir), "multi", test_speakers=list(HELD_OUT))
    assert not {u.speaker for u in split.train} & set(HELD_OUT)
    info = {}
    if args.model:
        model = load_model(args.model)
    else:
        model, info = train(args, split)
    out = Path(args.out)
    exporter = StreamingExporter(
        model, None, split.train, qat_steps=args.qat_steps, qat_loss=log_stft_mse_loss(), progress=False
    )
    paths = {mode: exporter.export(mode, out / "edge").path for mode in STREAMING_MODES}

    deg = Degradation.from_dict(model.degradation)
    rows = {k: [] for k in ("spline", "sinc", "keras", *STREAMING_MODES)}
    vs_float = {m: [] for m in STREAMING_MODES[1:]}
    timing = {}
    for u in split.test:
        ref = trim_to_multiple(prepare_signal(u.path, model.hr_rate), model.ratio)
        low = deg(ref)
        outs = {
            "spline": spline_upsample(low, model.ratio),
            "sinc": sinc_upsample(low, model.ratio),
            "keras": np.asarray(model(low[None, :, None], training=False))[0, :, 0],
        }
        for mode in STREAMING_MODES:
            outs[mode] = StreamingUpsampler.from_tflite(paths[mode]).run(low)
        for k, y in outs.items():
            rows[k].append(evaluate_pair(y, ref, model.ratio, model.hr_rate, with_pesq=True))
        for mode in STREAMING_MODES[1:]:
            vs_float[mode].append(snr(outs[mode], outs["float"]))
        if not timing:
            for mode in STREAMING_MODES:
                timing[mode] = rtf(StatefulTFLiteModel(paths[mode], num_threads=1), low)
    mean = {k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for k, v in rows.items()}
    sizes = {mode: Path(paths[mode]).stat().st_size for mode in STREAMING_MODES}
    report = {
        "data": str(args.data_dir),
        "test_speakers": list(HELD_OUT),
        "test_files": [u.path for u in split.test],
        "degradation": dict(model.degradation),
        "model": model.get_config(),
        "training": info,
        "parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "macs_per_second": macs_per_second(model),
        "lookahead": model.lookahead,
        "latency_ms_10ms_frames": model.latency_ms(model.frame_length(10.0)),
        "quantization": exporter.quantization,
        "mean": mean,
        "snr_vs_float": {m: float(np.mean(v)) for m, v in vs_float.items()},
        "timing_1_thread": timing,
        "size_bytes": sizes,
        "command": " ".join(["python", "tools/streaming_bwe_check.py"] + (argv or sys.argv[1:])),
    }
    write_json(out / "report.json", report, indent=1, sort_keys=True)
    print(
        "\n| system | SNR (dB) | LSD | LSD-HF | PESQ-WB | SNR vs float (dB) | ms / 10 ms frame (1 thread) | RTF "
        "| size (KiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for k, v in mean.items():
        t = timing.get(k)
        print(
            f"| {k} | {v['snr']:.2f} | {v['lsd']:.3f} | {v['lsd_hf']:.3f} | {v['pesq']:.2f} | "
            f"{report['snr_vs_float'].get(k, float('nan')):.1f} | {t['call_ms_median'] if t else float('nan'):.3f} | "
            f"{t['rtf'] if t else float('nan'):.4f} | {sizes[k] / 1024 if k in sizes else float('nan'):.1f} |"
        )
    print(
        f"\nparameters {report['parameters']}, {report['macs_per_second'] / 1e6:.1f} MMAC/s, lookahead "
        f"{model.lookahead} samples, latency {report['latency_ms_10ms_frames']:.3f} ms at 10 ms frames"
    )


if __name__ == "__main__":
    main()
