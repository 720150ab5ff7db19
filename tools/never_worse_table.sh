#!/usr/bin/env bash
# The never-worse comparison on held-out real speakers, 8 -> 16 kHz, AudioUNet small under one wall-clock budget each:
# the paper setup (Chebyshev-I 8, no band preservation, L2) and its L1 twin (King et al., Table 2), the same
# network band-preserving + speech-robust + L2+MR-STFT, and that model GAN-fine-tuned (MPD + MRD, LSGAN, feature
# matching). Every model is evaluated under its own, a sinc-resampler, a Butterworth-4 and the telephone input.
# Then MU-GAN with superpixel vs strided-convolution down-sampling (Table 5), half the budget per stage each.
# Usage: bash tools/never_worse_table.sh [MINUTES] [OUT] [PARTS]   (default 6 minutes per run, runs/never_worse,
#        PARTS all; "unet" for the AudioUNet table only, "mugan" for the MU-GAN one only)
set -euo pipefail
cd "$(dirname "$0")/.."
m="${1:-6}"
out="${2:-runs/never_worse}"
parts="${3:-all}"
case "$parts" in all|unet|mugan) ;; *) echo "never_worse_table.sh: PARTS must be all, unet or mugan, got '$parts'" >&2; exit 2;; esac
d="${DATA:-../shared/data}"
data="$d/vctk-mini,$d/vctk-more,$d/ljspeech-mini,$d/speech22k-mini"
common=(--data-dir "$data" --test-speakers p258,p259,p273 --ratio 2 --hr-rate 16000 --model-size small --epochs 1000
        --steps-per-epoch 50 --max-minutes "$m")
paper=(--degradations cheby1:8 --no-band-preserving --learning-rate 1e-3)
if [ "$parts" != mugan ]; then
    python -m recipes.vctk_unet "${common[@]}" "${paper[@]}" --loss l2 --out "$out/paper-l2"
    python -m recipes.vctk_unet "${common[@]}" "${paper[@]}" --loss l1 --out "$out/paper-l1"
    python -m recipes.vctk_unet "${common[@]}" --out "$out/robust"
    python -m recipes.vctk_unet_gan "${common[@]}" --critic mpd+mrd --degradations speech-robust \
        --init-from "$out/robust/model.keras" --out "$out/robust-gan"
    python tools/results_table.py --suite "paper (cheby1:8, L2)=$out/paper-l2" "paper, L1=$out/paper-l1" \
        "band-preserving + speech-robust + L2+MR-STFT=$out/robust" "the same, GAN-fine-tuned (MPD+MRD)=$out/robust-gan" \
        --md "$out/table.md"
fi
[ "$parts" = unet ] && exit 0
half=$(python -c "print($m / 2)")
for ds in superpixel strided; do
    python -m recipes.vctk_mugan "${common[@]}" "${paper[@]}" --loss l2 --max-minutes "$half" --downsample "$ds" \
        --out "$out/mugan-$ds"
done
python tools/results_table.py --suite "MU-GAN, superpixel=$out/mugan-superpixel" "MU-GAN, strided=$out/mugan-strided" \
    --md "$out/mugan.md"
