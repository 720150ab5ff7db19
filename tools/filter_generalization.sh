#!/usr/bin/env bash
# Sulun & Davies (2020, Table II) on speech: does a model trained on one anti-alias filter lose SNR on
# filters it never saw, and does training on many filters recover it? AudioUNet small, the paper setup
# (no band preservation, L2, lr 1e-3) on VCTK-mini (held-out p258, p259, p273), a fixed number of steps
# each (not minutes: the runs share the cores), trained on cheby1:8 only, on Sulun & Davies' multi-filter
# set, and on speech-robust; then all three are evaluated on the same held-out files under seen and unseen
# filters and the sinc resampler, beside sinc and spline.
# Usage: bash tools/filter_generalization.sh [EPOCHS_OF_100_STEPS] [OUT]   (default 8, runs/filter_gen)
# PYTHON names the interpreter (default: python on PATH, as tools/venv.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
e="${1:-8}"
out="${2:-runs/filter_gen}"
d="${DATA:-../shared/data}"
py="${PYTHON:-python}"
common=(--data-dir "$d/vctk-mini" --task multi --ratio 2 --hr-rate 16000 --model-size small --epochs "$e"
        --steps-per-epoch 100 --no-band-preserving --loss l2 --learning-rate 1e-3)
filters="cheby1:8,cheby1:12,bessel:6,ellip:12,butter:8,butter:4,butter:6,resample"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM
for r in cheby1:8 multi-filter speech-robust; do
    "$py" -m recipes.vctk_unet "${common[@]}" --degradations "$r" --out "$out/${r/:/-}" &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
[ "$rc" -eq 0 ] || { echo "filter_generalization.sh: a training run failed (exit $rc)" >&2; exit "$rc"; }
held_out=("$d"/vctk-mini/wav48/p258 "$d"/vctk-mini/wav48/p259 "$d"/vctk-mini/wav48/p273)
for r in cheby1-8 multi-filter speech-robust; do
    "$py" -m keras_audiosr.cli evaluate --model "$out/$r/model.keras" --data "${held_out[@]}" \
        --degradations "$filters" --quiet --json "$out/$r/filters.json"
done
"$py" tools/results_table.py --filters "cheby1:8 only=$out/cheby1-8/filters.json" \
    "multi-filter=$out/multi-filter/filters.json" "speech-robust=$out/speech-robust/filters.json" --md "$out/table.md"
