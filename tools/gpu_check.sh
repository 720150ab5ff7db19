#!/usr/bin/env bash
# GPU check: a short MirroredStrategy fit of the paper AudioUNet on every visible GPU,
# mixed_float16, fed by the disk pipeline and by synthetic in-memory batches; prints examples/s side by side.
#
#   bash tools/gpu_check.sh DATA_DIR [DATA_DIR ...] [--flag value ...]
#   bash tools/gpu_check.sh data/vctk-mini                                    # on the GPU machine (about 3 min)
#   bash tools/gpu_check.sh ../shared/data/vctk-mini --model-size tiny --steps 3 --warmup 1 \
#        --batch-size 2 --patch-size 2048 --pipeline-batches 3 --cpu-replicas 2  # a CPU smoke run
#
# Flags after the folders go to tools/gpu_check.py (--help lists them). PYTHON picks the interpreter.
# Without TensorFlow (this workplace's H200 image has PyTorch and JAX, and a TensorFlow wheel is far over the
# 64 MiB a device call may carry) it runs on Keras's JAX backend. Wheels to carry for python3.12 there (4.4 MB):
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0 soundfile==0.14.0 \
#     cffi==2.1.1 pycparser==3.12
#   then there: python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
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
if ! "$PY" -c "import tensorflow" >/dev/null 2>&1; then
    export KERAS_BACKEND=${KERAS_BACKEND:-jax}
    echo "[gpu_check] no TensorFlow for $PY: Keras on $KERAS_BACKEND, one device (see tools/gpu_check.py)"
fi
exec "$PY" tools/gpu_check.py "${data[@]}" "$@"
