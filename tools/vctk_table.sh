#!/usr/bin/env bash
# Trains every VCTK recipe under the same wall-clock budget on ../shared/data/vctk-mini (multi-speaker
# split, 8 -> 16 kHz), one after another, then prints the README's results table.
# Usage: bash tools/vctk_table.sh [MINUTES]   (default 6; MU-GAN gets MINUTES/2 per stage)
set -euo pipefail
cd "$(dirname "$0")/.."
m="${1:-6}"
data="${DATA:-../shared/data/vctk-mini}"
# The papers' configurations (single filter, no band preservation, L2), as the README's table was measured.
common=(--data-dir "$data" --task multi --ratio 2 --hr-rate 16000 --model-size small --epochs 1000 --no-band-preserving --loss l2)
python -m recipes.vctk_unet "${common[@]}" --degradations cheby1:8 --learning-rate 1e-3 --max-minutes "$m" --out runs/table/unet
python -m recipes.vctk_edsr "${common[@]}" --degradations butter:8 --learning-rate 1e-3 --max-minutes "$m" --out runs/table/edsr
python -m recipes.vctk_unet_gan "${common[@]}" --degradations cheby1:8 --batch-size 20 --max-minutes "$m" --out runs/table/unet_gan
half=$(python -c "print($m / 2)")
python -m recipes.vctk_mugan "${common[@]}" --degradations cheby1:8 --learning-rate 1e-3 --max-minutes "$half" --out runs/table/mugan
python tools/results_table.py runs/table/unet runs/table/edsr runs/table/unet_gan runs/table/mugan --md runs/table/table.md
