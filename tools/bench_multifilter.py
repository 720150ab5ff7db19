"""Can the multi-filter input pipeline keep up with training? Patches/s of the augmented tf.data pipeline
(each mode of keras_audiosr.data.make_multifilter_dataset) next to the training rate of a small model,
measured in the same run.

    python tools/bench_multifilter.py                     # vctk-mini if present, else the embedded corpus
    python tools/bench_multifilter.py --data-dir DIR --batches 200 --steps 30 --json out.json

Rows: ``pipeline``: iterate N batches of the dataset alone; ``train_on_batch``: steps/s x batch of
AudioUNet (``--model-size``) on one fixed batch (pure compute); ``fit``: ``model.fit`` steps/s fed by
each pipeline, and fed by one in-memory batch repeated (the pipeline-free ceiling) -- a fit rate close
to that ceiling means the pipeline does not starve training on this machine, where both share the CPU.
``ratio`` = pipeline patches/s / training patches/s: above 1 the pipeline keeps up, and its size says
how much faster an accelerator could train before the pipeline became the bottleneck.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED = Path(os.environ.get("KERAS_AUDIOSR_SHARED_DATA",
                            Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir",
                   help="corpus root (default: ../shared/data/vctk-mini if present, else the embedded default)")
    p.add_argument("--hr-rate", type=int, default=16000)
    p.add_argument("--ratio", type=int, default=2)
    p.add_argument("--patch-size", type=int, default=8192)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--batches", type=int, default=100, help="batches timed per pipeline")
    p.add_argument("--steps", type=int, default=10, help="training steps timed per measurement")
    p.add_argument("--model-size", default="small", choices=("tiny", "small", "paper"))
    p.add_argument("--modes", default="precompute,online", help="comma-separated pipeline modes")
    p.add_argument("--same-rate", action="store_true", help="also time same-rate (not decimated) pipelines")
    p.add_argument("--no-fit", action="store_true", help="skip the model.fit comparison")
    p.add_argument("--fit-rounds", type=int, default=2, help="interleaved model.fit measurements per feed (best kept)")
    p.add_argument("--cache-dir", help="patch cache (default <cache>/patches)")
    p.add_argument("--json", help="also write the results here")
    return p.parse_args(argv)


def _corpus(data_dir):
    from keras_audiosr.data import make_default_corpus

    if data_dir:
        return Path(data_dir).expanduser(), str(data_dir)
    mini = SHARED / "vctk-mini"
    if mini.is_dir():
        return mini.resolve(), f"vctk-mini ({mini.resolve()})"
    return make_default_corpus(), "embedded default corpus (synthetic)"


def _fit_rate(model, ds, steps):
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps / (time.perf_counter() - start)


def run(args) -> dict:
    import keras

    from keras_audiosr.data import (PatchConfig, default_cache_dir, extract_multifilter_patches, load_corpus,
                                    make_multifilter_dataset, pipeline_throughput, split_multi_speaker,
                                    training_throughput)
    from keras_audiosr.models.audio_unet import AudioUNet

    root, label = _corpus(args.data_dir)
    split = split_multi_speaker(load_corpus(root))
    cfg = PatchConfig(hr_rate=args.hr_rate, ratio=args.ratio, patch_size=args.patch_size)
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir() / "patches"
    modes = [m for m in args.modes.split(",") if m]
    res = {"corpus": label, "train_files": len(split.train), "hr_rate": args.hr_rate, "ratio": args.ratio,
           "patch_size": args.patch_size, "batch_size": args.batch_size, "cpu_count": os.cpu_count(),
           "model": f"AudioUNet {args.model_size}", "prepare": {}, "pipeline": {}}
    banks = {}
    for same_rate in ([False, True] if args.same_rate else [False]):
        start = time.perf_counter()
        banks[same_rate] = extract_multifilter_patches(split.train, cfg, same_rate=same_rate, cache_dir=cache,
                                                       progress=False)
        b = banks[same_rate]
        res["prepare"]["same_rate" if same_rate else "decimating"] = {
            "seconds": round(time.perf_counter() - start, 2), "from_cache": b.from_cache, "patches": len(b),
            "filters": list(b.filters), "bank_mb": round((b.inputs.nbytes + b.hr.nbytes) / 2**20, 1)}
    for same_rate, bank in banks.items():
        for mode in modes:
            ds = make_multifilter_dataset(bank, None, args.batch_size, mode=mode, seed=0)
            name = f"{mode}{'/same-rate' if same_rate else ''}"
            res["pipeline"][name] = pipeline_throughput(ds, batches=args.batches, warmup=5)

    keras.utils.set_random_seed(0)
    model = AudioUNet.from_size(args.model_size, ratio=args.ratio, hr_rate=args.hr_rate)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="mse")
    ds = make_multifilter_dataset(banks[False], None, args.batch_size, seed=0)
    batch = next(iter(ds))
    res["train_on_batch"] = training_throughput(model, batch, steps=args.steps, warmup=2)
    train_rate = res["train_on_batch"]["patches_per_s"]
    res["keep_up_ratio"] = {name: p["patches_per_s"] / train_rate for name, p in res["pipeline"].items()}
    if not args.no_fit:
        import tensorflow as tf

        feeds = {"in-memory batch": tf.data.Dataset.from_tensors(batch).repeat()}
        for mode in modes:
            feeds[mode] = make_multifilter_dataset(banks[False], None, args.batch_size, mode=mode, seed=1)
        rates = {name: 0.0 for name in feeds}
        model.fit(feeds["in-memory batch"], steps_per_epoch=2, epochs=1, verbose=0)  # trace the train step
        names = list(feeds)
        for r in range(max(1, args.fit_rounds)):  # interleaved, rotated rounds, best kept: robust to other load
            for name in names[r % len(names):] + names[:r % len(names)]:
                rates[name] = max(rates[name], _fit_rate(model, feeds[name], args.steps))
        res["fit_steps_per_s"] = rates
    return res


def report(res) -> str:
    lines = [f"corpus: {res['corpus']} ({res['train_files']} training files)",
             f"patches of {res['patch_size']} at {res['hr_rate']} Hz, ratio {res['ratio']}, "
             f"batch {res['batch_size']}, {res['cpu_count']} CPU cores"]
    for kind, p in res["prepare"].items():
        how = "loaded from cache" if p["from_cache"] else "extracted"
        lines.append(f"bank ({kind}): {p['patches']} patches x {len(p['filters'])} filters, {p['bank_mb']} MiB, "
                     f"{how} in {p['seconds']} s")
    t = res["train_on_batch"]
    lines.append(f"training ({res['model']}, train_on_batch): {t['steps_per_s']:.2f} steps/s x {t['batch_size']} "
                 f"= {t['patches_per_s']:.1f} patches/s")
    lines.append(f"{'pipeline':<24}{'patches/s':>12}{'ratio':>10}  keeps up?")
    for name, p in res["pipeline"].items():
        r = res["keep_up_ratio"][name]
        lines.append(f"{name:<24}{p['patches_per_s']:>12.1f}{r:>10.1f}  {'yes' if r > 1 else 'NO'}")
    if "fit_steps_per_s" in res:
        base = res["fit_steps_per_s"]["in-memory batch"]
        lines.append("model.fit steps/s: " + ", ".join(
            f"{k} {v:.2f}" + ("" if k == "in-memory batch" else f" ({100 * (v / base - 1):+.0f} %)")
            for k, v in res["fit_steps_per_s"].items()))
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    res = run(args)
    print(report(res))
    if args.json:
        from keras_audiosr.utils import write_json

        write_json(args.json, res)
    return res


if __name__ == "__main__":
    main()
