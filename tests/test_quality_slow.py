"""Real training on real speech (slow, not in CI): the README's claim that AudioUNet beats spline."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_small_audiounet_beats_spline_on_held_out_vctk_speakers(shared_data, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "recipes.vctk_unet", "--data-dir", str(shared_data / "vctk-mini"), "--task", "multi",
           "--ratio", "2", "--hr-rate", "16000", "--model-size", "small", "--learning-rate", "1e-3", "--epochs", "400",
           "--max-minutes", "28", "--no-pesq", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert test["model"]["snr"] > test["spline"]["snr"]
    assert test["model"]["lsd"] < test["spline"]["lsd"]
