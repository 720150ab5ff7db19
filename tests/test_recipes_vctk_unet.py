"""recipes.vctk_unet end to end on tiny settings; argument checks; resume after real kills at every kill point."""

import io
import json
import zipfile

import h5py
import pytest

from tests.corpus_helpers import logged_epochs, run_recipe, tiny_args


def test_recipe_tiny_writes_everything(tmp_path):
    out = tmp_path / "run"
    proc = run_recipe(tiny_args(out, 1))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "embedded default corpus (speech16k: 48 real recordings" in proc.stdout
    assert "AudioUNet tiny (2,498 parameters): chosen with --model-size" in proc.stdout
    assert "--degradations speech-robust (14 members, random gain)" in proc.stdout
    assert "shuffle=True` was passed" not in proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ratio"] == 2 and metrics["hr_rate"] == 16000 and metrics["embedded_default"] is True
    assert metrics["test_speakers"] == ["speech16k/p273"] and metrics["model_size"] == "tiny"
    assert metrics["parameters"] == 2498
    data = metrics["data"]  # the data summary: corpora, speakers and hours per split, degradation set
    assert data["embedded"] and data["degradations"]["name"] == "speech-robust"
    corpus = data["corpora"][0]
    assert (
        corpus["name"] == "speech16k"
        and corpus["train_speakers"] == 10
        and corpus["test_speakers"] == ["speech16k/p273"]
    )
    assert 0.08 < corpus["train_hours"] < 0.1 and corpus["test_hours"] == pytest.approx(12.72 / 3600, abs=1e-3)
    assert metrics["degradation"]["filter"] == "cheby1:8"  # the set's representative
    assert metrics["epochs_run"] == 1 and metrics["training_processes"] == 1 and metrics["train_seconds"] > 0
    for system in ("model", "spline", "sinc"):
        assert set(metrics["test"][system]) >= {"snr", "lsd", "lsd_hf"}
    # The evaluation suite: the model's own degradation (as "test"), a sinc resampler, an unseen
    # Butterworth 4 and, the input being 8 kHz, the telephone channel; eval.json holds the whole report.
    suite = metrics["degradations"]
    assert list(suite) == ["own", "resample", "butter:4", "telephone:mulaw"]
    assert suite["own"]["degradation"] == "speech-robust" and suite["own"]["mean"] == metrics["test"]
    assert (
        "resample_poly" in suite["resample"]["text"] and "SNR and LB-SNR say little" in suite["telephone:mulaw"]["note"]
    )
    for entry in suite.values():
        assert set(entry["mean"]) == {"model", "sinc", "spline"} and entry["n_files"] == metrics["n_test_files"]
    report = json.loads((out / "eval.json").read_text())
    assert report["order"] == list(suite) and report["degradations"]["butter:4"]["mean"] == suite["butter:4"]["mean"]
    assert "[telephone:mulaw] telephone channel" in proc.stdout
    assert (out / "model.keras").is_file() and (out / "config.json").is_file() and (out / "eval.json").is_file()
    assert any((out / "logs").rglob("*tfevents*")) and (out / "checkpoints" / "last.weights.h5").is_file()
    assert not (out / "backup").exists()
    assert json.loads((out / "train_state.json").read_text())["status"] == "trained"
    import keras_audiosr  # noqa: F401
    from keras_audiosr.models.saving import load_model

    model = load_model(out / "model.keras")
    assert model.training_degradations == "speech-robust" and model.band_preserving
    config = json.loads((out / "config.json").read_text())
    assert config["model_size"] == "tiny" and config["epochs"] == 1 and config["recipe"] == "vctk_unet"
    with zipfile.ZipFile(out / "model.keras") as z:  # the model for use carries no optimizer state
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            assert "optimizer" not in f and "layers" in f
    # a second run fine-tunes the first model (--init-from) and loads the prepared store instead of preparing it
    proc2 = run_recipe(tiny_args(tmp_path / "run2", 1, "--init-from", str(out / "model.keras")))
    assert proc2.returncode == 0, proc2.stderr[-3000:]
    assert "loaded from cache" in proc2.stdout and f"generator initialised from {out / 'model.keras'}" in proc2.stdout


def test_missing_data_dir_exits_2_with_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = run_recipe(["--data-dir", str(tmp_path / "no-such-corpus"), "--out", str(out)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("python -m recipes.vctk_unet: error: argument --data-dir:")
        and "no-such-corpus: no such folder" in last
    )
    assert not out.exists()


def test_resume_after_kill_inside_a_backup_write(tmp_path):
    """SIGKILL while the second epoch's backup is half written: the restart resumes from the first epoch."""
    out = tmp_path / "run"
    first = run_recipe(tiny_args(out, 3), kill_at="backup:2")
    assert first.returncode == -9, first.stderr[-3000:]
    assert not (out / "metrics.json").exists()
    state = json.loads((out / "train_state.json").read_text())
    assert state["status"] == "training" and state["epochs"] == 1 and state["backup"]["current"]["epoch"] == 1
    assert logged_epochs(out) == [0, 1]  # the second epoch's row was logged before its backup was cut short

    second = run_recipe(tiny_args(out, 3))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming at epoch 2" in second.stdout
    assert "the example stream continues at batch 2" in second.stdout  # epoch 2's crops, not epoch 1's again
    assert logged_epochs(out) == [0, 1, 2], "train_log.csv must hold each epoch once"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and metrics["training_processes"] == 2
    assert metrics["train_seconds"] > state["train_seconds"]
    assert not (out / "backup").exists()


def test_restart_after_kill_during_evaluation_skips_training(tmp_path):
    out = tmp_path / "run"
    first = run_recipe(tiny_args(out, 2), kill_at="evaluation")
    assert first.returncode == -9, first.stderr[-3000:]
    assert (out / "model.keras").is_file() and not (out / "metrics.json").exists()
    state = json.loads((out / "train_state.json").read_text())
    assert state["status"] == "trained" and state["epochs"] == 2

    second = run_recipe(tiny_args(out, 2))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "training finished already (2 epochs" in second.stdout
    assert "Epoch 1/" not in second.stdout
    assert logged_epochs(out) == [0, 1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and metrics["train_seconds"] == pytest.approx(state["train_seconds"], abs=0.06)
