"""recipes.streaming_bwe --adversarial: HiFi-GAN's critics (MPD + MRD), LSGAN and feature matching beside the
reconstruction loss; the saved model stays the plain StreamingBWE; flags are checked; old runs still resume."""

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from keras_audiosr.degrade import Degradation
from keras_audiosr.models import MultiPeriodCritic, MultiResolutionCritic, StreamingBWE
from keras_audiosr.models.saving import load_model, save_model
from keras_audiosr.recipes import streaming_bwe
from keras_audiosr.recipes.streaming_bwe import RECIPE, build
from keras_audiosr.training import AdversarialTrainer
from keras_audiosr.training.generator import generator_of

ROOT = Path(__file__).resolve().parents[1]


def _pairs(n=4, lr_len=1024, ratio=2, seed=0):
    """Low-rate / high-rate pairs: random tones at the high rate, their every ratio-th sample as the input."""
    rng = np.random.default_rng(seed)
    t = np.arange(lr_len * ratio) / 16000.0
    hr = np.stack([0.3 * np.sin(2 * np.pi * rng.uniform(200, 7000) * t + rng.uniform(0, 6)) for _ in range(n)])
    hr = (hr + 0.01 * rng.standard_normal(hr.shape))[..., None].astype("float32")
    return hr[:, ::ratio], hr


def test_adversarial_stage_trains_the_critics_and_saves_the_plain_generator(tmp_path):
    keras.utils.set_random_seed(0)
    cfg = RECIPE.parse(["--adversarial", "--model-size", "tiny", "--out", str(tmp_path / "run")])
    trainer = build(cfg, Degradation(2))
    generator = generator_of(trainer)
    assert isinstance(trainer, AdversarialTrainer) and isinstance(generator, StreamingBWE)
    assert [type(c) for c in trainer.critic.critics] == [MultiPeriodCritic, MultiResolutionCritic]
    assert trainer.adversarial_loss == "lsgan" and trainer.n_critic == 1
    assert trainer.adversarial_weight == pytest.approx(1 / 15) and trainer.feature_matching_weight == pytest.approx(
        2 / 15
    )
    assert float(trainer.g_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(trainer.d_optimizer.learning_rate) == pytest.approx(2e-4)
    assert trainer._sample_loss_fn.get_config()["weights"] == {"l2": 1000.0, "mrstft": 1.0}  # the plain recipe's loss

    critic_before = [np.array(w) for w in trainer.critic.weights]
    generator_before = [np.array(w) for w in generator.trainable_weights]
    x, y = _pairs()
    history = trainer.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    for name in ("g_loss", "d_loss", "sample_loss", "adv_loss", "fm_loss"):
        assert np.isfinite(history[name][0]), (name, history[name])
    assert history["fm_loss"][0] > 0
    assert int(trainer.d_optimizer.iterations) == 2 and int(trainer.g_optimizer.iterations) == 2
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(critic_before, trainer.critic.weights))
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(generator_before, generator.trainable_weights))

    # What the runner saves (generator_of(model)) is the plain StreamingBWE: no critic, no optimizer.
    path = tmp_path / "model.keras"
    save_model(generator, path)
    loaded = load_model(path)
    assert type(loaded) is StreamingBWE and loaded.lr_rate == 8000 and loaded.transition == (0.9, 1.0)
    plain = build(RECIPE.parse(["--model-size", "tiny", "--out", str(tmp_path / "plain")]), Degradation(2))
    assert [w.shape for w in loaded.weights] == [w.shape for w in plain.weights]
    assert not any("critic" in w.path or "period" in w.path or "resolution" in w.path for w in loaded.weights)
    with zipfile.ZipFile(path) as z:
        assert "critic" not in z.read("config.json").decode()
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            assert "optimizer" not in f
    np.testing.assert_allclose(np.asarray(loaded(x[:1])), np.asarray(generator(x[:1])), atol=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--adv-weight", "0.1"], "--adv-weight applies to the adversarial stage: add --adversarial"),
        (["--fm-weight", "2"], "--fm-weight applies to the adversarial stage: add --adversarial"),
        (["--adv-learning-rate", "1e-4"], "--adv-learning-rate applies to the adversarial stage: add --adversarial"),
        (["--adversarial", "--adv-weight", "0", "--fm-weight", "0"], "trains nothing against the critics"),
        (["--adversarial", "--fm-weight", "-1"], "argument --fm-weight:"),
        (["--adversarial", "--adv-learning-rate", "0"], "argument --adv-learning-rate:"),
    ],
)
def test_adversarial_flags_are_checked_in_one_line(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        RECIPE.parse([*args, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and message in err[-1], err
    assert err[-1].startswith("python -m recipes.streaming_bwe: error: ")
    assert not (tmp_path / "run").exists()


def test_the_stage_is_off_by_default_and_needs_tensorflow_only_when_on(tmp_path):
    plain = RECIPE.parse(["--out", str(tmp_path / "a")])
    assert streaming_bwe.adversarial_settings(plain) is None and RECIPE.backends_for(plain) is None
    assert "adversarial" not in RECIPE.extra_metrics(plain)
    cfg = RECIPE.parse(["--adversarial", "--adv-weight", "0.5", "--out", str(tmp_path / "b")])
    assert RECIPE.backends_for(cfg) == ("tensorflow",)
    assert streaming_bwe.adversarial_settings(cfg) == {
        "adv_weight": 0.5,
        "fm_weight": pytest.approx(2 / 15),
        "learning_rate": 2e-4,
    }
    assert RECIPE.extra_metrics(cfg)["adversarial"]["critics"] == ["MultiPeriodCritic", "MultiResolutionCritic"]


def test_a_run_recorded_before_the_stage_existed_still_resumes(tmp_path):
    """A plain run started before these flags existed: its config.json lacks them, and they are at their defaults."""
    from keras_audiosr.training.resume import _recorded_config

    out = tmp_path / "run"
    out.mkdir()
    cfg = RECIPE.parse(["--out", str(out)])
    recorded = {"recipe": "streaming_bwe", **cfg.to_dict()}
    recorded["extra"] = {k: v for k, v in recorded["extra"].items() if k in ("fold", "transition")}
    (out / "config.json").write_text(json.dumps(recorded))
    (out / "train_state.json").write_text(json.dumps({"status": "training"}))
    assert _recorded_config(RECIPE, cfg)["recipe"] == "streaming_bwe"
    with pytest.raises(SystemExit):  # and the stage does not silently continue a plain run
        _recorded_config(RECIPE, RECIPE.parse(["--adversarial", "--out", str(out)]))


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_hifigan_mel_l1_of_the_scale_tool():
    pytest.importorskip("librosa")
    from tools.gan_loss_scales import hifigan_mel_l1

    y = 0.1 * np.random.default_rng(0).standard_normal(8000)  # every mel band above the 1e-5 floor
    assert hifigan_mel_l1(y, y, 16000) == 0
    assert hifigan_mel_l1(y, 0.5 * y, 16000) == pytest.approx(np.log(2), rel=0.05)  # |ln a|


@pytest.mark.slow  # ~30 s of CPU: two tiny recipe runs with their evaluation
def test_recipe_fine_tunes_with_init_from_max_minutes_and_resumes_after_a_kill(tmp_path):
    """The whole recipe, tiny: --init-from a plain model, --max-minutes, SIGKILL inside the second epoch's backup;
    the same command resumes at epoch 2 with the critics' state and writes the plain generator."""
    keras.utils.set_random_seed(1)
    source = tmp_path / "plain.keras"
    save_model(build(RECIPE.parse(["--model-size", "tiny", "--out", str(tmp_path / "p")]), Degradation(2)), source)
    out = tmp_path / "run"
    args = ["-m", "recipes.streaming_bwe", "--adversarial", "--model-size", "tiny", "--epochs", "3"]
    args += ["--steps-per-epoch", "2", "--batch-size", "4", "--no-pesq", "--max-minutes", "30"]
    args += ["--init-from", str(source), "--out", str(out)]

    def run(*prefix):
        cmd = [sys.executable, *prefix, *args]
        return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)

    first = run(str(ROOT / "tests" / "kill_at.py"), "backup:2")
    assert first.returncode == -9, first.stderr[-3000:]
    assert f"generator initialised from {source}" in first.stdout
    state = json.loads((out / "train_state.json").read_text())
    assert state["status"] == "training" and state["backup"]["current"]["epoch"] == 1

    second = run()
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming at epoch 2" in second.stdout and "generator initialised" not in second.stdout
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert all(np.isfinite(float(r[k])) for r in rows for k in ("g_loss", "d_loss", "fm_loss", "adv_loss"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and metrics["training_processes"] == 2
    assert metrics["adversarial"]["loss"] == "lsgan" and metrics["model"] == "StreamingBWE"
    model = load_model(out / "model.keras")
    assert type(model) is StreamingBWE and model.count_params() == load_model(source).count_params()
