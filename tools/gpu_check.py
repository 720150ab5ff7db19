"""Is the input pipeline the bottleneck on this machine's GPUs? A short MirroredStrategy fit of AudioUNet
(mixed_float16) fed by the disk pipeline, and the same fit fed by one synthetic in-memory batch, side by side.

    python tools/gpu_check.py --data DIR [--data DIR2 ...]                 # paper AudioUNet, every visible GPU
    python tools/gpu_check.py --data DIR --model-size tiny --steps 2 --cpu-replicas 2   # a CPU smoke run

Run through tools/gpu_check.sh, which prints the machine first. Rows: ``pipeline alone`` (the tf.data
stream iterated with no model), ``fit, disk pipeline`` (``TrainingData.distribute``: random crops,
degradation set, per-replica batches) and ``fit, synthetic batches`` (one batch repeated from memory,
the ceiling). If the disk row is clearly below the synthetic one, the input pipeline is the bottleneck.

Where TensorFlow is not installed (the GPU machines of this project's workplace carry PyTorch and JAX,
and a TensorFlow wheel is too large to bring), gpu_check.sh runs the same comparison on the Keras JAX
backend (``KERAS_BACKEND=jax``): one device, no MirroredStrategy and no tf.data. The crop sampler then
runs in a pool of worker processes (and, for comparison, in threads, as tf.data's ``numpy_function``
would), and the disk-fed fit pulls its batches from that pool.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--data", action="append", required=True, help="corpus folder (repeat for several)")
    p.add_argument("--model-size", default="paper", help="AudioUNet size: tiny, small or paper")
    p.add_argument("--batch-size", type=int, default=16, help="examples per replica per step")
    p.add_argument("--steps", type=int, default=40, help="timed training steps per fit")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (tracing, autotuning)")
    p.add_argument("--pipeline-batches", type=int, default=50, help="batches timed for the pipeline alone")
    p.add_argument("--patch-size", type=int, default=8192)
    p.add_argument("--ratio", type=int, default=2)
    p.add_argument("--hr-rate", type=int, default=16000)
    p.add_argument("--degradations", default="speech-robust")
    p.add_argument("--no-mixed-precision", action="store_true", help="train in float32")
    p.add_argument(
        "--cpu-replicas",
        type=int,
        default=0,
        help="with no GPU: MirroredStrategy over this many logical CPUs (a smoke test)",
    )
    p.add_argument("--workers", type=int, default=None, help="preparation processes (default: all CPUs)")
    p.add_argument(
        "--processes",
        type=int,
        default=None,
        help="pipeline worker processes (default: all CPUs when a GPU is visible, else 0: tf.data threads)",
    )
    p.add_argument("--cache-dir", help="store location (default: a temporary folder)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument(
        "--keras-only", action="store_true", help="run the no-TensorFlow comparison even where TensorFlow is installed"
    )
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.keras_only:
        return main_without_tensorflow(args)
    try:
        import tensorflow as tf
    except ImportError:
        return main_without_tensorflow(args)

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and args.cpu_replicas > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpu_replicas)
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or (
        [d.name for d in tf.config.list_logical_devices("CPU")] if args.cpu_replicas > 1 else None
    )
    strategy = tf.distribute.MirroredStrategy(devices)
    import keras

    from keras_audiosr.data import prepare_training_data
    from keras_audiosr.models import AudioUNet
    from keras_audiosr.training.strategy import describe_strategy

    policy = "float32" if args.no_mixed_precision else "mixed_float16"
    keras.mixed_precision.set_global_policy(policy)
    replicas = strategy.num_replicas_in_sync
    global_batch = args.batch_size * replicas
    print(
        f"[gpu_check] TensorFlow {tf.__version__}, Keras {keras.__version__}; GPUs: {len(gpus)}; "
        f"{describe_strategy(strategy)}; policy {policy}; global batch {global_batch}",
        flush=True,
    )

    cache = args.cache_dir or tempfile.mkdtemp(prefix="keras_audiosr-gpu-check-")
    t = time.monotonic()
    data = prepare_training_data(
        args.data,
        hr_rate=args.hr_rate,
        ratio=args.ratio,
        patch_size=args.patch_size,
        degradations=args.degradations,
        cache_dir=cache,
        workers=args.workers,
    )
    print(
        f"[gpu_check] prepared {len(data.store)} files, {data.store.seconds / 3600:.2f} h in "
        f"{time.monotonic() - t:.1f} s",
        flush=True,
    )

    processes = args.processes if args.processes is not None else (len(os.sched_getaffinity(0)) if gpus else 0)
    results = {
        "tensorflow": tf.__version__,
        "processes": processes,
        "gpus": len(gpus),
        "replicas": replicas,
        "policy": policy,
        "model_size": args.model_size,
        "global_batch": global_batch,
        "patch_size": args.patch_size,
        "degradations": args.degradations,
    }
    it = iter(data.dataset(global_batch, seed=1, processes=processes))
    for _ in range(3):
        next(it)
    t = time.monotonic()
    for _ in range(args.pipeline_batches):
        next(it)
    results["pipeline_examples_per_s"] = args.pipeline_batches * global_batch / (time.monotonic() - t)
    del it

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    lr, hr = data.sampler().batch(2, range(global_batch))
    synthetic = tf.data.Dataset.from_tensors((lr, hr)).repeat()
    feeds = {"disk": data.distribute(strategy, global_batch, seed=0, processes=processes), "synthetic": synthetic}
    for name, feed in feeds.items():
        with strategy.scope():
            model = AudioUNet.from_size(args.model_size, ratio=args.ratio, hr_rate=args.hr_rate)
            model.compile(keras.optimizers.Adam(1e-4), loss="mse")
        timer = Timer()
        t = time.monotonic()
        hist = model.fit(feed, epochs=1, steps_per_epoch=args.warmup + args.steps, callbacks=[timer], verbose=0)
        span = timer.times[-1] - timer.times[args.warmup - 1] if args.warmup else timer.times[-1] - timer.times[0]
        steps = args.steps if args.warmup else args.steps - 1
        results[f"fit_{name}_examples_per_s"] = steps * global_batch / span
        results[f"fit_{name}_seconds"] = time.monotonic() - t
        results[f"fit_{name}_loss"] = float(hist.history["loss"][-1])
        results["output_dtype"] = str(model.outputs[0].dtype)
        del model

    disk, synth = results["fit_disk_examples_per_s"], results["fit_synthetic_examples_per_s"]
    results["disk_over_synthetic"] = disk / synth
    verdict = "the input pipeline is the bottleneck" if disk < 0.9 * synth else "the input pipeline keeps up"
    how = f"{processes} processes" if processes else "tf.data threads"
    rows = [
        (f"pipeline alone (no model, {how})", results["pipeline_examples_per_s"]),
        ("fit, disk pipeline", disk),
        ("fit, synthetic in-memory batches", synth),
    ]
    print(
        f"\n{args.model_size} AudioUNet, {describe_strategy(strategy)}, {policy}, batch {global_batch} x "
        f"{args.patch_size}, {args.degradations}, {time.strftime('%Y-%m-%d')}\n"
    )
    print("| feed | examples/s |\n|---|---|")
    for label, v in rows:
        print(f"| {label} | {v:.1f} |")
    print(f"\ndisk / synthetic = {disk / synth:.2f}: {verdict}")
    print("RESULT " + json.dumps(results), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


def _sampler_batch(task):
    """Worker-process entry: one batch of the module-level sampler (set before the pool forks)."""
    seed, start, size = task
    return _SAMPLER.batch(seed, range(start, start + size))


_SAMPLER = None


def main_without_tensorflow(args):
    """The comparison on a Keras backend without TensorFlow (see the module docstring)."""
    global _SAMPLER
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    from keras_audiosr.data import prepare_training_data

    cpus = len(os.sched_getaffinity(0))
    cache = args.cache_dir or tempfile.mkdtemp(prefix="keras_audiosr-gpu-check-")
    t = time.monotonic()
    data = prepare_training_data(
        args.data,
        hr_rate=args.hr_rate,
        ratio=args.ratio,
        patch_size=args.patch_size,
        degradations=args.degradations,
        cache_dir=cache,
        workers=args.workers,
    )
    print(
        f"[gpu_check] no TensorFlow; prepared {len(data.store)} files, {data.store.seconds / 3600:.2f} h in "
        f"{time.monotonic() - t:.1f} s",
        flush=True,
    )
    B = args.batch_size
    _SAMPLER = data.sampler()
    import keras

    results = {
        "backend": keras.backend.backend(),
        "cpus": cpus,
        "batch": B,
        "patch_size": args.patch_size,
        "degradations": args.degradations,
        "model_size": args.model_size,
    }
    n = args.pipeline_batches
    t = time.monotonic()
    for k in range(max(2, n // 8)):
        _SAMPLER.batch(0, range(k * B, (k + 1) * B))
    results["pipeline_1_thread"] = max(2, n // 8) * B / (time.monotonic() - t)
    with ThreadPoolExecutor(cpus) as pool:
        t = time.monotonic()
        list(pool.map(_sampler_batch, [(0, k * B, B) for k in range(n)]))
        results[f"pipeline_{cpus}_threads"] = n * B / (time.monotonic() - t)
    # The pool forks before the Keras backend starts its threads (importing it starts none).
    procs = multiprocessing.get_context("fork").Pool(cpus)
    list(procs.imap(_sampler_batch, [(0, k * B, B) for k in range(cpus)]))
    t = time.monotonic()
    list(procs.imap(_sampler_batch, [(0, k * B, B) for k in range(n)]))
    results[f"pipeline_{cpus}_processes"] = n * B / (time.monotonic() - t)
    print(
        f"[gpu_check] pipeline: {results['pipeline_1_thread']:.0f} ex/s in 1 thread, "
        f"{results[f'pipeline_{cpus}_threads']:.0f} in {cpus} threads, "
        f"{results[f'pipeline_{cpus}_processes']:.0f} in {cpus} processes",
        flush=True,
    )

    import keras

    from keras_audiosr.models import AudioUNet

    policy = "float32" if args.no_mixed_precision else "mixed_float16"
    keras.mixed_precision.set_global_policy(policy)
    results["policy"] = policy
    results["keras"] = keras.__version__
    devices = [str(d) for d in __import__("jax").devices()] if results["backend"] == "jax" else []
    results["devices"] = devices
    lr, hr = _SAMPLER.batch(2, range(B))

    def synthetic():
        while True:
            yield lr, hr

    def disk():
        k = 0
        while True:
            yield from procs.imap(_sampler_batch, [(1, (k + j) * B, B) for j in range(64)])
            k += 64

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    for name, feed in (("synthetic", synthetic), ("disk", disk)):
        model = AudioUNet.from_size(args.model_size, ratio=args.ratio, hr_rate=args.hr_rate)
        model.compile(keras.optimizers.Adam(1e-4), loss="mse")
        timer = Timer()
        t = time.monotonic()
        hist = model.fit(feed(), epochs=1, steps_per_epoch=args.warmup + args.steps, callbacks=[timer], verbose=0)
        span = timer.times[-1] - timer.times[max(args.warmup, 1) - 1]
        results[f"fit_{name}_examples_per_s"] = (args.warmup + args.steps - max(args.warmup, 1)) * B / span
        results[f"fit_{name}_seconds"] = time.monotonic() - t
        results[f"fit_{name}_loss"] = float(hist.history["loss"][-1])
        results["output_dtype"] = str(model.outputs[0].dtype)
        print(f"[gpu_check] fit, {name}: {results[f'fit_{name}_examples_per_s']:.1f} examples/s", flush=True)
    procs.terminate()
    disk_rate, synth = results["fit_disk_examples_per_s"], results["fit_synthetic_examples_per_s"]
    verdict = "the input pipeline is the bottleneck" if disk_rate < 0.9 * synth else "the input pipeline keeps up"
    print(
        f"\n{args.model_size} AudioUNet, Keras {keras.__version__} on {results['backend']} "
        f"({', '.join(devices) or 'no device list'}), {policy}, batch {B} x {args.patch_size}, {args.degradations}, "
        f"{cpus} CPUs, {time.strftime('%Y-%m-%d')}\n"
    )
    print("| feed | examples/s |\n|---|---|")
    for label, key in (
        ("pipeline alone, 1 thread", "pipeline_1_thread"),
        (f"pipeline alone, {cpus} threads (as tf.data numpy_function)", f"pipeline_{cpus}_threads"),
        (f"pipeline alone, {cpus} processes", f"pipeline_{cpus}_processes"),
        ("fit, disk pipeline (process pool)", "fit_disk_examples_per_s"),
        ("fit, synthetic in-memory batches", "fit_synthetic_examples_per_s"),
    ):
        print(f"| {label} | {results[key]:.1f} |")
    print(f"\ndisk / synthetic = {disk_rate / synth:.2f}: {verdict}")
    print("RESULT " + json.dumps(results), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
