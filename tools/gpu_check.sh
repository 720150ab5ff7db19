#!/usr/bin/env bash
# GPU check (issue 8, section 6): a short MirroredStrategy fit of the paper AudioUNet on every visible GPU,
# mixed_float16, fed by the disk pipeline and by synthetic in-memory batches; prints examples/s side by side.
#
#   bash tools/gpu_check.sh DATA_DIR [DATA_DIR ...] [--flag value ...]
#   bash tools/gpu_check.sh data/vctk-mini                                    # on the GPU machine (about 3 min)
#   bash tools/gpu_check.sh ../shared/data/vctk-mini --model-size tiny --steps 3 --warmup 1 \
#        --batch-size 2 --patch-size 2048 --pipeline-batches 3 --cpu-replicas 2  # a CPU smoke run
#
# Flags after the folders go to tools/gpu_check.py (--help lists them). PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
data=()
while [[ $# -gt 0 && "$1" != --* ]]; do data+=(--data "$1"); shift; done
if [[ ${#data[@]} -eq 0 ]]; then
    echo "usage: bash tools/gpu_check.sh DATA_DIR [DATA_DIR ...] [flags for tools/gpu_check.py]" >&2
    exit 2
fi
echo "[gpu_check] $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
else
    echo "[gpu_check] no nvidia-smi: no NVIDIA GPU visible"
fi
exec "$PY" tools/gpu_check.py "${data[@]}" "$@"
