"""tools/gpu_check.sh runs on a CPU with tiny settings: MirroredStrategy over two logical CPUs, mixed_float16."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.corpus_helpers import make_vctk

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # kept out of the default run for time (-m slow runs it)
def test_gpu_check_smoke_run_on_cpu(tmp_path):
    import sys

    corpus = make_vctk(tmp_path / "corpus", seconds=0.5)
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("TF_CONFIG", None)
    out = subprocess.run(
        [
            "bash",
            "tools/gpu_check.sh",
            str(corpus),
            "--model-size",
            "tiny",
            "--steps",
            "3",
            "--warmup",
            "1",
            "--batch-size",
            "2",
            "--patch-size",
            "1024",
            "--pipeline-batches",
            "3",
            "--cpu-replicas",
            "2",
            "--workers",
            "1",
            "--processes",
            "2",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert "| fit, disk pipeline |" in out.stdout and "| fit, synthetic in-memory batches |" in out.stdout
    r = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert r["replicas"] == 2 and r["policy"] == "mixed_float16" and r["output_dtype"] == "float32"
    assert r["global_batch"] == 4 and r["processes"] == 2
    for key in ("pipeline_examples_per_s", "fit_disk_examples_per_s", "fit_synthetic_examples_per_s"):
        assert r[key] > 0
    assert r["fit_disk_loss"] == r["fit_disk_loss"] and r["fit_synthetic_loss"] == r["fit_synthetic_loss"]


def test_gpu_check_usage_error():
    out = subprocess.run(["bash", "tools/gpu_check.sh"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "usage: bash tools/gpu_check.sh DATA_DIR" in out.stderr
