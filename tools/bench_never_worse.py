"""Parameters and CPU time of one training step of the never-worse study's pieces, side by side in one run.

    python tools/bench_never_worse.py                    # patch 8192, batch 4, 6 timed steps per row
    python tools/bench_never_worse.py --steps 10 --json out.json

Rows: AudioUNet small with and without band preservation (``train_on_batch``, L2), the same model
with the L2 + MR-STFT loss, and ``AdversarialTrainer`` (AudioUNet small, band-preserving) with the
seeds' ``AudioUNetGANCritic`` ("gan", n_critic 1) and with MultiPeriodCritic + MultiResolutionCritic
(tiny / small; "lsgan", feature matching 2.0, L1 + MR-STFT); then MU-GAN small's two stages as
``recipes.vctk_mugan`` builds them (autoencoder, L2; GAN step with the autoencoder's feature loss) with
SuperPixel1D and with strided-convolution down-sampling (the paper's Table 5 training-time column).
Rows are timed in interleaved rounds (one step of each row per round, after two warm-up steps), and the
median per row is reported, so load from other processes hits every row alike; compare rows as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=8192, help="high-rate samples per example")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per row")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="time only the rows whose name contains TEXT (repeatable; default: every row)",
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from keras_audiosr.models import (
        AudioUNet,
        AudioUNetGANCritic,
        MUGANAutoencoder,
        MUGANDiscriminator,
        MUGANGenerator,
        MultiPeriodCritic,
        MultiResolutionCritic,
    )
    from keras_audiosr.training import AdversarialTrainer, get_sample_loss

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    hr = (0.1 * rng.standard_normal((args.batch, args.patch, 1))).astype("float32")
    lr = hr[:, ::2]

    def unet(band_preserving, loss="l2"):
        model = AudioUNet.from_size("small", ratio=2, band_preserving=band_preserving)
        model.compile(keras.optimizers.Adam(1e-3), loss=get_sample_loss(loss))
        return model, model.count_params(), 0, (lr, hr)

    def trainer(critics, loss, **kwargs):
        generator = AudioUNet.from_size("small", ratio=2)
        t = AdversarialTrainer(generator, critics, loss=loss, n_critic=1, **kwargs)
        t.compile()
        return t, generator.count_params(), t.critic.count_params(), (lr, hr)

    def mugan_autoencoder(downsample):
        ae = MUGANAutoencoder.from_size("small", hr_rate=16000, downsample=downsample)
        ae.compile(keras.optimizers.Adam(1e-4), loss=get_sample_loss("l2"))
        return ae, ae.count_params(), 0, (hr, hr)

    def mugan_gan(downsample):  # as keras_audiosr.training.mugan.build_gan, the paper's L2
        generator = MUGANGenerator.from_size(
            "small", ratio=2, hr_rate=16000, downsample=downsample, band_preserving=False
        )
        ae = MUGANAutoencoder.from_size("small", hr_rate=16000, downsample=downsample)
        t = AdversarialTrainer(
            generator,
            MUGANDiscriminator.from_size("small"),
            loss="gan",
            n_critic=1,
            sample_loss="l2",
            adversarial_weight=1e-3,
            feature_extractor=ae.feature_extractor(),
            feature_weight=1.0,
        )
        t.compile(keras.optimizers.Adam(1e-4, beta_1=0.5), keras.optimizers.Adam(1e-4, beta_1=0.5))
        return t, generator.count_params(), t.critic.count_params(), (lr, hr)

    rows = {
        "AudioUNet small, band_preserving=False, L2": lambda: unet(False),
        "AudioUNet small, band_preserving=True, L2": lambda: unet(True),
        "AudioUNet small, band_preserving=True, L2+MR-STFT": lambda: unet(True, "l2+mrstft"),
        "GAN: AudioUNetGANCritic small, gan, L2 (seeds)": lambda: trainer(AudioUNetGANCritic.from_size("small"), "gan"),
        "GAN: MPD+MRD tiny, lsgan, FM 2, L1+MR-STFT": lambda: trainer(
            [MultiPeriodCritic.from_size("tiny"), MultiResolutionCritic.from_size("tiny")],
            "lsgan",
            feature_matching_weight=2.0,
            sample_loss="l1+mrstft",
        ),
        "GAN: MPD+MRD small, lsgan, FM 2, L1+MR-STFT": lambda: trainer(
            [MultiPeriodCritic.from_size("small"), MultiResolutionCritic.from_size("small")],
            "lsgan",
            feature_matching_weight=2.0,
            sample_loss="l1+mrstft",
        ),
        "MU-GAN small stage 1 (autoencoder, L2), superpixel": lambda: mugan_autoencoder("superpixel"),
        "MU-GAN small stage 1 (autoencoder, L2), strided": lambda: mugan_autoencoder("strided"),
        "MU-GAN small stage 2 (GAN, L2 + feature), superpixel": lambda: mugan_gan("superpixel"),
        "MU-GAN small stage 2 (GAN, L2 + feature), strided": lambda: mugan_gan("strided"),
    }
    only = [r for r in rows if any(k in r for k in args.only)] if args.only else list(rows)
    if not only:
        parser.error(f"--only {args.only}: no row matches; rows: {'; '.join(rows)}")
    rows = {r: rows[r] for r in only}
    built = {}
    for name, build in rows.items():
        model, g_params, d_params, inputs = build()  # inputs: the (x, y) of one training step
        built[name] = (model, g_params, d_params, [], inputs)
        for _ in range(2):  # warm-up: tracing
            model.train_on_batch(*inputs)
        print(f"built {name}", file=sys.stderr, flush=True)
    for _ in range(args.steps):
        for _name, (model, _, _, times, inputs) in built.items():
            start = time.perf_counter()
            model.train_on_batch(*inputs)
            times.append(time.perf_counter() - start)
    results = []
    base = statistics.median(built[next(iter(built))][3])
    print(
        f"patch {args.patch}, batch {args.batch}, {args.steps} interleaved steps per row, median; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print("| row | generator parameters | critic parameters | s / step | x first row |\n|---|---|---|---|---|")
    for name, (_, g, d, times, _) in built.items():
        med = statistics.median(times)
        results.append(
            {
                "row": name,
                "generator_params": g,
                "critic_params": d,
                "seconds_per_step": med,
                "ratio": med / base,
                "times": times,
            }
        )
        print(f"| {name} | {g:,} | {d:,} | {med:.3f} | {med / base:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"patch": args.patch, "batch": args.batch, "rows": results}, indent=1))


if __name__ == "__main__":
    main()
