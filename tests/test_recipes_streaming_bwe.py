"""recipes.streaming_bwe: the build step (StreamingBWE compiled with the sample loss + MR-STFT), 16 -> 48 kHz,
and its argument rules (the recipe's run on tiny settings is in test_recipes_all)."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_audiosr.degrade import Degradation
from keras_audiosr.models import StreamingBWE
from keras_audiosr.recipes.config import RecipeConfig
from keras_audiosr.recipes.streaming_bwe import RECIPE, build

ROOT = Path(__file__).resolve().parents[1]


def test_build_compiles_the_model_with_the_spectral_loss_at_48k():
    keras.utils.set_random_seed(0)
    cfg = RecipeConfig(
        ratio=3,
        hr_rate=48000,
        model_size="tiny",
        loss="l1+mrstft",
        sample_loss_weight=30.0,
        degradations="speech-robust",
        learning_rate=1e-3,
    )
    model = build(cfg, Degradation(3))
    assert model.training_degradations == "speech-robust"
    assert model.transition == (0.9, 1.0)  # the recipe's band merge: the input passes untouched up to 0.9 x Nyquist
    assert isinstance(model, StreamingBWE) and (model.ratio, model.hr_rate, model.lr_rate) == (3, 48000, 16000)
    assert model.loss.get_config()["weights"] == {"l1": 30.0, "mrstft": 1.0}
    x = (0.1 * np.random.default_rng(0).standard_normal((2, 1024, 1))).astype("float32")
    history = model.fit(x, np.repeat(x, 3, axis=1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    d = RECIPE.defaults
    assert (d.ratio, d.hr_rate, d.model_size, d.degradations, d.loss) == (
        2,
        16000,
        "small",
        "speech-robust",
        "l2+mrstft",
    )
    assert d.sample_loss_weights() == {"l2": 1000.0, "mrstft": 1.0}


def test_paper_size_is_refused_before_any_work(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "recipes.streaming_bwe", "--model-size", "paper", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "StreamingBWE comes in small and tiny" in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_transition_flag_is_checked_and_reaches_the_model():
    from keras_audiosr.recipes.streaming_bwe import FLAGS, _transition

    assert _transition("0.85,1") == [0.85, 1.0] and FLAGS["transition"]["default"] == [0.9, 1.0]
    for bad in ("0.9", "1.0,0.9", "0,1", "a,b"):
        with pytest.raises(Exception, match="STOP"):
            _transition(bad)
    cfg = RecipeConfig(ratio=2, hr_rate=16000, model_size="tiny", loss="l2", degradations="speech-robust")
    cfg.extra = {"transition": [0.8, 1.0]}
    assert build(cfg, Degradation(2)).transition == (0.8, 1.0)


def test_fold_flag_reaches_the_model_and_rejects_nonsense(capsys):
    cfg = RECIPE.parse(["--ratio", "3", "--hr-rate", "48000", "--fold", "8", "--model-size", "tiny"])
    assert cfg.extra["fold"] == 8
    assert build(cfg, Degradation(3)).fold == 8
    assert build(RECIPE.parse(["--model-size", "tiny"]), Degradation(2)).fold == StreamingBWE.presets["tiny"]["fold"]
    with pytest.raises(SystemExit):
        RECIPE.parse(["--fold", "0"])
    assert "--fold: expected a positive integer, got '0'" in capsys.readouterr().err
