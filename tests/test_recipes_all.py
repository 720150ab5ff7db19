"""Every recipe runs one or two steps on tiny settings on its embedded default and writes what it promises."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from tests.corpus_helpers import tiny_args

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {
    "vctk_edsr": [],
    "vctk_unet_gan": ["--batch-size", "10"],
    "vctk_unet_gan:mpd+mrd": ["--critic", "mpd+mrd", "--degradations", "telephone-any"],
    "vctk_mugan": ["--ae-epochs", "1"],
    "piano_mugan": ["--ae-epochs", "1", "--downsample", "strided"],
    "music_resnet": ["--multifilter"],
    "streaming_bwe": [],
}


# piano_mugan (MU-GAN again, on the piano reader), the WGAN-GP vctk_unet_gan (mpd+mrd runs the same trainer),
# vctk_edsr (the EDSR model's own tests cover it) and music_resnet (the BWEResNet model's tests and the runner's other
# recipes cover it) run with -m slow, to keep the suite under 10 minutes.
SLOW = {"piano_mugan", "vctk_unet_gan", "vctk_edsr", "music_resnet"}


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k for k in sorted(RECIPES)])
def test_recipe_runs_and_writes_outputs(key, tmp_path):
    name = key.split(":")[0]
    out = tmp_path / "run"
    env = dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    cmd = [
        sys.executable,
        "-m",
        f"recipes.{name}",
        *tiny_args(out, 1, *RECIPES[key]),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"] == name and metrics["epochs_run"] == 1 and metrics["model_size"] == "tiny"
    assert "shuffle=True` was passed" not in proc.stderr
    for system in ("model", "spline"):
        assert all(isinstance(metrics["test"][system][m], float) for m in ("snr", "lsd", "lsd_hf"))
    import keras_audiosr

    keras_audiosr.register_serializables()
    model = keras.models.load_model(out / "model.keras")
    assert model.hr_rate == metrics["hr_rate"]
    if name.endswith("mugan"):
        assert (out / "autoencoder" / "model.keras").is_file()
        assert "stage 1 (autoencoder): MUGANAutoencoder tiny" in proc.stdout
        assert metrics["downsample"] == model.downsample == ("strided" if name == "piano_mugan" else "superpixel")
    if name == "music_resnet":
        assert set(metrics["filters"]) == {"seen", "unseen"} and metrics["filters"]["unseen"]["filter"] == "butter:6"
        assert metrics["filters"]["seen"]["filter"] == "cheby1:8"
        assert metrics["multifilter"] is True and metrics["data"]["degradations"]["name"] == "multi-filter"
        assert model.training_degradations == "multi-filter"
        # The seen/unseen filters are degradations of the evaluation suite; "own" is the multi-filter set drawn
        # per file, so the seen filter (its representative) is scored on its own.
        assert list(metrics["degradations"]) == ["own", "resample", "butter:4", "seen", "unseen"]
        assert metrics["filters"]["unseen"]["test"] == metrics["degradations"]["unseen"]["mean"]
        assert metrics["filters"]["seen"]["test"] == metrics["degradations"]["seen"]["mean"]
        assert metrics["test"] == metrics["degradations"]["own"]["mean"]
        assert set(metrics["test"]) == {"model", "input", "sinc", "spline"}
        assert metrics["multifilter"] is True
    if key == "vctk_unet_gan:mpd+mrd":  # HiFi-GAN's critics with LSGAN and feature matching
        assert (metrics["critic"], metrics["adversarial"], metrics["feature_matching_weight"]) == (
            "mpd+mrd",
            "lsgan",
            2.0,
        )
        assert metrics["n_critic"] == 1 and model.training_degradations == "telephone-any"
        assert metrics["degradation"]["filter"] == "telephone"
    if name == "streaming_bwe":
        assert metrics["model"] == "StreamingBWE" and metrics["loss_terms"] == "l2+mrstft"
        assert (metrics["ratio"], metrics["hr_rate"]) == (2, 16000)
