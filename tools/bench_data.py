"""Training data at corpus scale: preparation time, disk, peak memory of a training run, and whether the
streaming pipeline keeps up with the models -- on a corpus of at least 30 hours made from ../shared/data.

    python tools/bench_data.py                          # 30 hours, 2 cores, results as a markdown table
    python tools/bench_data.py --hours 2 --json out.json --keep /tmp/bench   # smaller, keep the corpus and store

The corpus is built in a temporary folder by symbolic links to the real recordings of ../shared/data
(vctk-mini, vctk-more, speech22k-mini, ljspeech-mini), copy ``k`` under new speaker names
``c<k>_<speaker>`` in the VCTK 0.80 layout, until it holds ``--hours`` of audio. The store treats every
link as its own file (its key is the link's path), so preparation really reads, resamples and writes
every hour. Rows:

* ``prepare``: :func:`keras_audiosr.data.prepare_training_data` (split, then the store of the training
  files) with ``--workers`` processes, and a second call (the cheap load);
* ``disk``: bytes of the store's arrays;
* ``training run``: peak resident memory (``ru_maxrss``) of a child process that trains a tiny AudioUNet
  for ``--steps`` steps on the stream: by default the recipe itself (``python -m recipes.vctk_unet
  --data-dir CORPUS --model-size tiny --epochs 1 ...``: data preparation (a load here), training and the
  evaluation of its test split), or with ``--training-run library`` a script that calls
  ``prepare_training_data`` and ``model.fit``;
* ``pipeline``: examples/s the ``tf.data`` stream delivers (batch ``--batch-size``), the process pinned
  to ``--cores`` cores;
* ``consume``: examples/s the ``small`` and ``paper`` AudioUNet train at (``train_on_batch`` on one
  fixed batch: pure compute), and the ratio of delivery to consumption.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("KERAS_AUDIOSR_SHARED_DATA", ROOT / ".." / "shared" / "data"))
SOURCES = ("vctk-mini", "vctk-more", "speech22k-mini", "ljspeech-mini")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--hours", type=float, default=30.0, help="hours of audio in the linked corpus")
    p.add_argument("--shared", default=str(SHARED), help="folder holding the real recordings")
    p.add_argument("--keep", help="build in this folder and keep it (default: a temporary folder, removed)")
    p.add_argument("--workers", type=int, default=2, help="preparation processes")
    p.add_argument("--cores", type=int, default=2, help="cores the pipeline measurement may use")
    p.add_argument("--hr-rate", type=int, default=16000)
    p.add_argument("--ratio", type=int, default=2)
    p.add_argument("--patch-size", type=int, default=8192)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--degradations", default="speech-robust")
    p.add_argument("--steps", type=int, default=5, help="training steps of the memory run")
    p.add_argument(
        "--training-run",
        choices=("recipe", "library"),
        default="recipe",
        help="what the memory run is: python -m recipes.vctk_unet, or a prepare_training_data + fit script",
    )
    p.add_argument("--batches", type=int, default=60, help="batches timed for the pipeline")
    p.add_argument("--small-steps", type=int, default=10)
    p.add_argument("--paper-steps", type=int, default=2)
    p.add_argument("--json", help="also write the results here")
    return p.parse_args(argv)


def recordings(shared: Path) -> list[tuple[Path, str, float]]:
    """(file, speaker, seconds) of every recording in the speech sets, from their manifests."""
    import csv

    out = []
    for name in SOURCES:
        manifest = shared / name / "manifest.csv"
        if not manifest.is_file():
            continue
        with open(manifest, newline="") as f:
            for row in csv.DictReader(f):
                out.append((shared / name / row["path"], f"{name}-{row['speaker']}", float(row["seconds"])))
    if not out:
        raise SystemExit(f"no recordings found under {shared} ({', '.join(SOURCES)} with manifest.csv)")
    return out


def build_corpus(root: Path, shared: Path, hours: float) -> tuple[int, float]:
    """Link the recordings copy after copy under new speakers until ``hours`` are reached."""
    recs = recordings(shared)
    per_copy = sum(s for _, _, s in recs)
    copies = int(-(-hours * 3600 // per_copy))
    n = 0
    for k in range(copies):
        for i, (path, speaker, _) in enumerate(recs):
            spk = f"c{k:03d}_{speaker}"
            dst = root / "wav48" / spk / f"{spk}_{i:04d}{path.suffix}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.is_symlink():
                dst.symlink_to(path.resolve())
            n += 1
    return n, copies * per_copy / 3600


_TRAIN_RUN = """
import resource, sys, time, json
import keras
from keras_audiosr.data import prepare_training_data
from keras_audiosr.models import AudioUNet
a = json.loads(sys.argv[1])
t = time.monotonic()
data = prepare_training_data(a["corpus"], hr_rate=a["hr_rate"], ratio=a["ratio"], patch_size=a["patch_size"],
                             degradations=a["degradations"], cache_dir=a["cache"], progress=False)
load_s = time.monotonic() - t
model = AudioUNet.from_size("tiny", ratio=a["ratio"], hr_rate=a["hr_rate"])
model.compile(keras.optimizers.Adam(1e-3), loss="mse")
model.fit(data.dataset(a["batch_size"]), epochs=1, steps_per_epoch=a["steps"], verbose=0)
print("RUN " + json.dumps({"load_s": load_s, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                           "files": len(data.store), "hours": data.store.seconds / 3600}), flush=True)
"""


# The recipe as `python -m` runs it, with its peak resident memory printed at the end (even on failure).
_RECIPE_RUN = """
import json, resource, runpy, sys, time
sys.argv = ["recipes.vctk_unet"] + json.loads(sys.argv[1])
t = time.monotonic()
try:
    runpy.run_module("recipes.vctk_unet", run_name="__main__", alter_sys=True)
finally:
    print("RUN " + json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                               "seconds": time.monotonic() - t}), flush=True)
"""


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv=None):
    args = parse_args(argv)
    shared = Path(args.shared).expanduser()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="keras_audiosr-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus, cache = work / "corpus", work / "cache"
    results = {"hours_requested": args.hours}
    try:
        t = time.monotonic()
        n_files, hours = build_corpus(corpus, shared, args.hours)
        results.update(files=n_files, corpus_hours=round(hours, 2), link_s=round(time.monotonic() - t, 1))
        print(f"[bench] corpus: {n_files} linked files, {hours:.1f} hours, in {corpus}", flush=True)

        from keras_audiosr.data import prepare_training_data

        common = dict(
            hr_rate=args.hr_rate,
            ratio=args.ratio,
            patch_size=args.patch_size,
            degradations=args.degradations,
            cache_dir=cache,
        )
        t = time.monotonic()
        data = prepare_training_data(corpus, workers=args.workers, **common)
        results["prepare_s"] = round(time.monotonic() - t, 1)
        results["train_files"] = len(data.store)
        results["train_hours"] = round(data.store.seconds / 3600, 2)
        results["store_bytes"] = data.store.disk_bytes()
        results["cache_bytes"] = du(cache)
        t = time.monotonic()
        prepare_training_data(corpus, workers=args.workers, progress=False, **common)
        results["reload_s"] = round(time.monotonic() - t, 2)
        print(
            f"[bench] prepared {results['train_hours']} h in {results['prepare_s']} s; reload "
            f"{results['reload_s']} s; store {results['store_bytes'] / 2**30:.2f} GiB",
            flush=True,
        )

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if args.training_run == "recipe":
            recipe_argv = [
                "--data-dir",
                str(corpus),
                "--cache-dir",
                str(cache),
                "--model-size",
                "tiny",
                "--epochs",
                "1",
                "--steps-per-epoch",
                str(args.steps),
                "--batch-size",
                str(args.batch_size),
                "--hr-rate",
                str(args.hr_rate),
                "--ratio",
                str(args.ratio),
                "--patch-size",
                str(args.patch_size),
                "--degradations",
                args.degradations,
                "--no-pesq",
                "--out",
                str(work / "recipe-run"),
            ]
            results["recipe_command"] = "python -m recipes.vctk_unet " + " ".join(recipe_argv)
            proc = subprocess.run(
                [sys.executable, "-c", _RECIPE_RUN, json.dumps(recipe_argv)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0:
                metrics = json.loads((work / "recipe-run" / "metrics.json").read_text())
                results["recipe_test_files"] = metrics["n_test_files"]
        else:
            run_args = json.dumps(
                {
                    "corpus": str(corpus),
                    "cache": str(cache),
                    "steps": args.steps,
                    "batch_size": args.batch_size,
                    "hr_rate": args.hr_rate,
                    "ratio": args.ratio,
                    "patch_size": args.patch_size,
                    "degradations": args.degradations,
                }
            )
            proc = subprocess.run(
                [sys.executable, "-c", _TRAIN_RUN, run_args], cwd=ROOT, env=env, capture_output=True, text=True
            )
        line = [x for x in proc.stdout.splitlines() if x.startswith("RUN ")]
        if proc.returncode or not line:
            raise SystemExit(f"training run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        run = json.loads(line[0][4:])
        results["train_run_maxrss_mb"] = round(run["maxrss_mb"], 1)
        results["train_run"] = args.training_run
        if "load_s" in run:
            results["train_run_load_s"] = round(run["load_s"], 2)
        if "seconds" in run:
            results["train_run_s"] = round(run["seconds"], 1)
        print(f"[bench] training run: peak RSS {run['maxrss_mb']:.0f} MB", flush=True)

        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
        ds = data.dataset(args.batch_size, seed=1)
        it = iter(ds)
        for _ in range(5):
            next(it)
        t = time.monotonic()
        for _ in range(args.batches):
            next(it)
        results["pipeline_examples_per_s"] = round(args.batches * args.batch_size / (time.monotonic() - t), 1)
        del it
        sampler = data.sampler()
        t = time.monotonic()
        sampler.batch(2, range(200))
        results["one_thread_examples_per_s"] = round(200 / (time.monotonic() - t), 1)
        print(f"[bench] pipeline: {results['pipeline_examples_per_s']} examples/s on {args.cores} cores", flush=True)

        import keras

        from keras_audiosr.models import AudioUNet

        lr, hr = sampler.batch(3, range(args.batch_size))
        for size, steps in (("small", args.small_steps), ("paper", args.paper_steps)):
            model = AudioUNet.from_size(size, ratio=args.ratio, hr_rate=args.hr_rate)
            model.compile(keras.optimizers.Adam(1e-4), loss="mse")
            model.train_on_batch(lr, hr)
            t = time.monotonic()
            for _ in range(steps):
                model.train_on_batch(lr, hr)
            rate = steps * args.batch_size / (time.monotonic() - t)
            results[f"{size}_examples_per_s"] = round(rate, 2)
            results[f"delivery_over_{size}"] = round(results["pipeline_examples_per_s"] / rate, 1)
            print(f"[bench] {size} AudioUNet consumes {rate:.2f} examples/s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["command"] = "python tools/bench_data.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table = markdown(results, args)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


def markdown(r: dict, args) -> str:
    rows = [
        (
            "corpus",
            f"{r['files']:,} linked files, {r['corpus_hours']:.1f} h (training split: "
            f"{r['train_files']:,} files, {r['train_hours']:.1f} h at {args.hr_rate} Hz)",
        ),
        (
            "preparation",
            f"{r['prepare_s']:.0f} s with {args.workers} processes "
            f"({r['train_hours'] * 3600 / r['prepare_s']:.0f}x real time); second call (load) "
            f"{r['reload_s']:.2f} s",
        ),
        ("disk", f"{r['store_bytes'] / 2**30:.2f} GiB (float16)"),
        (
            f"peak resident memory, {'recipe' if args.training_run == 'recipe' else 'training'} run",
            f"{r['train_run_maxrss_mb'] / 1024:.2f} GB ("
            + (
                f"`python -m recipes.vctk_unet --model-size tiny`, {args.steps} steps of {args.batch_size} x "
                f"{args.patch_size}, then evaluating its {r.get('recipe_test_files', '?')} test files; "
                f"{r.get('train_run_s', 0):.0f} s"
                if args.training_run == "recipe"
                else f"tiny AudioUNet, {args.steps} steps of {args.batch_size} x {args.patch_size}"
            )
            + ")",
        ),
        (
            "pipeline delivery",
            f"{r['pipeline_examples_per_s']:.0f} examples/s on {args.cores} cores "
            f"({r['one_thread_examples_per_s']:.0f}/s in one thread), {args.degradations}",
        ),
        (
            "small AudioUNet consumption",
            f"{r['small_examples_per_s']:.2f} examples/s (delivery = {r['delivery_over_small']:.0f}x)",
        ),
        (
            "paper AudioUNet consumption",
            f"{r['paper_examples_per_s']:.2f} examples/s (delivery = {r['delivery_over_paper']:.0f}x)",
        ),
    ]
    return "\n".join(["| measure | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]])


if __name__ == "__main__":
    main()
