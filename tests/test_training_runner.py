"""The recipe config and runner: flags from RecipeConfig, checks before any work, model size by hardware."""

import dataclasses
import importlib
import json

import pytest

from keras_audiosr.recipes.config import RecipeConfig, build_parser, flag_name, parse_config
from keras_audiosr.training.runner import choose_model_size

RECIPES = ("vctk_unet", "vctk_edsr", "vctk_unet_gan", "vctk_mugan", "piano_mugan", "music_resnet")


def _recipe(name):
    return importlib.import_module(f"keras_audiosr.recipes.{name}").RECIPE


def test_every_config_field_is_a_documented_flag():
    parser = build_parser(RecipeConfig())
    options = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(RecipeConfig):
        if f.name == "extra":
            continue
        assert f.name in options and options[f.name].help, f.name
    assert options["pesq"].option_strings == ["--no-pesq"]
    assert flag_name("steps_per_epoch") == "--steps-per-epoch"


def test_parse_defaults_recipe_flags_and_ratio_adapted_patch_size():
    defaults = RecipeConfig(hr_rate=48000, out="runs/x")
    cfg = parse_config(
        defaults,
        ["--ratio", "3", "--arch", "unet", "--test-speakers", "p1,p2"],
        flags={"arch": dict(choices=("resnet", "unet"), default="resnet", help="h")},
    )
    assert cfg.ratio == 3 and cfg.patch_size == 8190 and cfg.extra == {"arch": "unet"}
    assert cfg.test_speakers == ["p1", "p2"] and cfg.out == "runs/x" and cfg.pesq is True
    assert parse_config(defaults, ["--no-pesq"]).pesq is False


BAD = [
    ("vctk_unet", ["--data-dir", "{tmp}/missing"], "argument --data-dir: {tmp}/missing: no such folder"),
    ("vctk_unet", ["--ratio", "3", "--hr-rate", "16000"], "--hr-rate 16000 is not divisible by --ratio 3"),
    ("vctk_unet", ["--ratio", "1"], "--ratio must be an integer >= 2"),
    ("vctk_unet", ["--filter", "gauss:4"], "argument --filter: degradation spec 'gauss:4': unknown family 'gauss'"),
    (
        "vctk_unet",
        ["--degradations", "robust"],
        "argument --degradations: unknown degradation set 'robust'; known sets: speech-robust, multi-filter, "
        "telephone-any",
    ),
    (
        "vctk_unet",
        ["--filter", "butter:6", "--degradations", "resample"],
        "--filter butter:6 and --degradations resample disagree",
    ),
    ("vctk_unet", ["--loss", "l3"], "argument --loss: invalid choice: 'l3'"),
    (
        "vctk_unet",
        ["--loss", "l1+mrstft", "--sample-loss-weight", "0", "--mrstft-weight", "0"],
        "--loss l1+mrstft: every term has weight 0",
    ),
    ("vctk_unet", ["--corpus-weights", "a=1"], "--corpus-weights needs --data-dir"),
    ("vctk_unet", ["--corpus-weights", "a"], "argument --corpus-weights: expected name=weight pairs"),
    (
        "vctk_unet",
        ["--hr-rate", "48000", "--ratio", "3"],
        "the embedded default corpus is 16000 Hz speech, so it cannot train a model with a high rate of 48000 Hz; "
        "pass --data-dir",
    ),
    (
        "vctk_unet",
        ["--init-from", "no-such-model"],
        "argument --init-from: no-such-model: no such file and not the name of a shipped model (shipped models: ",
    ),
    ("vctk_unet", ["--data-dir", "{tmp},{tmp}/missing"], "argument --data-dir: {tmp}/missing: no such folder"),
    ("vctk_unet", ["--model-size", "huge"], "argument --model-size: invalid choice: 'huge'"),
    ("vctk_unet", ["--task", "both"], "argument --task: invalid choice"),
    ("vctk_unet", ["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    ("vctk_unet", ["--batch-size", "x"], "argument --batch-size: expected a positive integer, got 'x'"),
    ("vctk_unet", ["--learning-rate", "-0.001"], "argument --learning-rate: expected a positive number"),
    ("vctk_unet", ["--max-minutes", "nan"], "argument --max-minutes: expected a positive number"),
    ("vctk_unet", ["--patch-size", "8193"], "--patch-size 8193 is not a multiple of --ratio 2"),
    ("vctk_unet", ["--stride", "3"], "--stride 3 is not a multiple of --ratio 2"),
    ("vctk_unet", ["--bogus"], "unrecognized arguments: --bogus"),
    ("vctk_edsr", ["--ratio", "3", "--hr-rate", "48000"], "--ratio 3: AudioEDSR up-samples by factors of two"),
    ("vctk_unet_gan", ["--batch-size", "4"], "--batch-size 4 is smaller than --n-critic 5"),
    ("vctk_unet_gan", ["--init-from", "{tmp}/none.keras"], "argument --init-from: {tmp}/none.keras: no such file"),
    ("vctk_unet_gan", ["--critic", "vgg"], "argument --critic: invalid choice: 'vgg'"),
    (
        "vctk_unet_gan",
        ["--feature-matching-weight", "2"],
        "--feature-matching-weight 2 needs critics with feature maps",
    ),
    (
        "music_resnet",
        ["--multifilter", "--degradations", "resample"],
        "--multifilter and --degradations resample disagree",
    ),
    ("music_resnet", ["--degradations", "butter:6"], "unseen filter butter:6 is one of the training degradations"),
    ("vctk_mugan", ["--feature-weight", "-1"], "argument --feature-weight: expected a number >= 0"),
    ("piano_mugan", ["--downsample", "pool"], "argument --downsample: invalid choice: 'pool'"),
    ("music_resnet", ["--dropout", "1.5"], "--dropout 1.5: a rate must be below 1"),
    ("music_resnet", ["--arch", "vgg"], "argument --arch: invalid choice"),
]


@pytest.mark.parametrize("name,argv,message", BAD, ids=[f"{n}:{' '.join(a)}" for n, a, _ in BAD])
def test_bad_arguments_exit_2_with_one_line_before_anything_is_written(name, argv, message, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        _recipe(name).main([*argv, "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"python -m recipes.{name}: error: ") and message.replace("{tmp}", str(tmp_path)) in err, err
    assert not out.exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit):
        _recipe("vctk_unet").main(["--out", str(tmp_path / "f")])
    assert f"--out {tmp_path / 'f'}: exists and is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--test-speakers", "nobody"], "unknown test speakers nobody"),
        (["--data-dir", "{tmp}/empty"], "no audio files"),
    ],
)
def test_bad_data_exits_2_before_config_is_written(argv, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        _recipe("vctk_unet").main([a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--out", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def _started_run(folder, **config):
    folder.mkdir()
    recipe = _recipe("vctk_unet")
    defaults = dataclasses.replace(recipe.defaults, **recipe.embedded, epochs=recipe.epochs[0])
    (folder / "config.json").write_text(json.dumps({"recipe": "vctk_unet", **dataclasses.asdict(defaults), **config}))
    (folder / "train_state.json").write_text(json.dumps({"status": "training", "epochs": 1}))


def test_resuming_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    _started_run(out, model_size="tiny", learning_rate=3e-4, filter="cheby1:8", data_dir=None, out=str(out))
    with pytest.raises(SystemExit) as exit_info:
        _recipe("vctk_unet").main(["--out", str(out), "--model-size", "small"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "trained with model_size='tiny', not 'small'" in err
    with pytest.raises(SystemExit):
        _recipe("vctk_edsr").main(["--out", str(out)])
    assert "holds a run of 'vctk_unet', not 'vctk_edsr'" in capsys.readouterr().err


def test_resuming_a_run_older_than_a_recipe_flag_accepts_only_its_default(tmp_path, capsys):
    from keras_audiosr.training.runner import _recorded_config

    recipe = _recipe("vctk_mugan")
    out = tmp_path / "run"
    out.mkdir()
    cfg = parse_config(recipe.defaults, ["--out", str(out)], flags=recipe.flags)
    old = {"recipe": "vctk_mugan", **cfg.to_dict()}
    del old["extra"]["downsample"]  # recorded before --downsample existed
    (out / "config.json").write_text(json.dumps(old))
    (out / "train_state.json").write_text(json.dumps({"status": "training", "epochs": 1}))
    assert _recorded_config(recipe, cfg)["recipe"] == "vctk_mugan"
    strided = parse_config(recipe.defaults, ["--out", str(out), "--downsample", "strided"], flags=recipe.flags)
    with pytest.raises(SystemExit):
        _recorded_config(recipe, strided)
    assert "holds a run trained with extra=" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["vctk_mugan", "piano_mugan"])
def test_mugan_downsample_flag_reaches_both_networks_and_metrics(name):
    from keras_audiosr.training import mugan

    recipe = _recipe(name)
    assert recipe.extra_metrics(parse_config(recipe.defaults, [], flags=recipe.flags)) == {"downsample": "superpixel"}
    cfg = parse_config(recipe.defaults, ["--downsample", "strided"], flags=recipe.flags)
    cfg.model_size = "tiny"
    assert recipe.extra_metrics(cfg) == {"downsample": "strided"}
    autoencoder = mugan.build_autoencoder(cfg)
    trainer = recipe.build(cfg, cfg.degradation(), autoencoder=autoencoder)
    assert autoencoder.downsample == trainer.generator.downsample == "strided"
    assert trainer.generator.get_layer("down0_strided").strides == 2


def test_model_size_by_hardware(monkeypatch):
    import tensorflow as tf

    corpus = RecipeConfig(data_dir="/data/VCTK-Corpus")
    assert choose_model_size(corpus) == (
        "small",
        "the default on a CPU (no GPU visible); --model-size paper for the published configuration",
    )
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["/gpu:0"] if kind == "GPU" else [])
    assert choose_model_size(corpus)[0] == "paper" and "GPU" in choose_model_size(corpus)[1]
    assert choose_model_size(RecipeConfig())[0] == "small"  # the embedded demonstration corpus
    assert choose_model_size(dataclasses.replace(corpus, model_size="tiny")) == ("tiny", "chosen with --model-size")
    assert choose_model_size(corpus, recorded="small")[0] == "small"  # a resumed run keeps its size


@pytest.mark.parametrize(
    "argv,variant_lr", [([], 1e-4), (["--adversarial", "wgan"], 5e-5), (["--learning-rate", "2e-4"], 2e-4)]
)
def test_gan_recipe_uses_the_learning_rate_flag(argv, variant_lr):
    recipe = _recipe("vctk_unet_gan")
    cfg = parse_config(recipe.defaults, argv, flags=recipe.flags)
    cfg.model_size = "tiny"
    trainer = recipe.build(cfg, cfg.degradation())
    for opt in (trainer.g_optimizer, trainer.d_optimizer):
        assert float(opt.learning_rate) == pytest.approx(variant_lr)


def test_several_data_dirs_corpus_weights_and_old_single_folder(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    recipe = _recipe("vctk_unet")
    cfg = parse_config(
        recipe.defaults,
        [
            "--data-dir",
            str(tmp_path / "a"),
            "--data-dir",
            f"{tmp_path / 'b'},{tmp_path / 'c'}",
            "--corpus-weights",
            "a=2, c=0.5",
        ],
    )
    assert cfg.data_dir == [str(tmp_path / n) for n in "abc"] and cfg.corpus_weights == {"a": 2.0, "c": 0.5}
    assert parse_config(recipe.defaults, ["--data-dir", str(tmp_path / "a")]).data_dir == [str(tmp_path / "a")]


def test_degradations_band_preservation_and_loss_flags():
    recipe = _recipe("vctk_unet")
    cfg = parse_config(recipe.defaults, [])
    assert (cfg.degradations, cfg.band_preserving, cfg.loss) == ("speech-robust", True, "l2+mrstft")
    assert cfg.degradation().filter == "cheby1:8" and cfg.sample_loss_weights() == {"l2": 1.0, "mrstft": 1.0}
    paper = parse_config(recipe.defaults, ["--degradations", "Cheby1:8", "--no-band-preserving", "--loss", "l2"])
    assert (paper.degradations, paper.band_preserving, paper.loss) == ("cheby1:8", False, "l2")
    old = parse_config(recipe.defaults, ["--filter", "butter:6"])  # the old flag: a single-spec set
    assert old.degradations == "butter:6" and old.degradation().filter == "butter:6"
    assert (
        parse_config(recipe.defaults, ["--degradations", "telephone:mulaw"]).degradation().filter == "telephone:mulaw"
    )
    weighted = parse_config(
        recipe.defaults, ["--loss", "l1+mrstft", "--sample-loss-weight", "2", "--mrstft-weight", "0.5"]
    )
    assert weighted.sample_loss_weights() == {"l1": 2.0, "mrstft": 0.5}
    asymmetric = parse_config(recipe.defaults, ["--loss", "l2+mrstft+over", "--over-weight", "0.5"])
    assert asymmetric.sample_loss_weights() == {"l2": 1.0, "mrstft": 1.0, "over": 0.5}
    music = _recipe("music_resnet")
    assert (
        parse_config(music.defaults, ["--multifilter"], flags=music.flags, check=music.check).degradations
        == "multi-filter"
    )
    assert parse_config(music.defaults, [], flags=music.flags, check=music.check).degradations == "cheby1:8"


def test_built_models_follow_the_flags():
    import keras

    from keras_audiosr.training.losses import WeightedSampleLoss

    recipe = _recipe("vctk_unet")
    cfg = parse_config(recipe.defaults, ["--no-band-preserving", "--loss", "l1+mrstft", "--mrstft-weight", "0.25"])
    cfg.model_size = "tiny"
    model = recipe.build(cfg, cfg.degradation())
    assert not model.band_preserving and model.training_degradations == "speech-robust"
    assert isinstance(model.loss, WeightedSampleLoss) and model.loss.weights == {"l1": 1.0, "mrstft": 0.25}
    y = keras.ops.convert_to_numpy(model(keras.ops.zeros((1, 64, 1))))
    assert y.shape == (1, 128, 1)


@pytest.mark.parametrize("name", RECIPES)
def test_help_names_the_flags_and_the_paper_configuration(name, capsys):
    with pytest.raises(SystemExit):
        _recipe(name).main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in (
        "--degradations NAME",
        "--filter SPEC",
        "--band-preserving, --no-band-preserving",
        "--init-from",
        "--data-dir DIR",
        "--corpus-weights",
        "--sample-loss-weight",
        "--mrstft-weight",
    ):
        assert flag in text, flag
    assert "l1+mrstft" in text and "speech-robust" in text
    if name.startswith("vctk"):
        assert "--no-band-preserving --loss l2" in text and "paper's configuration" in text


def test_init_from_a_shipped_name_or_a_file_with_matching_rates(tmp_path, monkeypatch, capsys):
    from keras_audiosr.models import AudioUNet
    from keras_audiosr.recipes.config import resolve_init_from

    folder = tmp_path / "shipped" / "demo-8k-16k"
    folder.mkdir(parents=True)
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(folder / "model.keras")
    (folder / "card.json").write_text(
        json.dumps({"name": "demo-8k-16k", "lr_rate": 8000, "hr_rate": 16000, "keras": "model.keras"})
    )
    monkeypatch.setenv("KERAS_AUDIOSR_PRETRAINED_DIR", str(tmp_path / "shipped"))
    recipe = _recipe("vctk_unet")
    cfg = parse_config(recipe.defaults, ["--init-from", "demo-8k-16k"])
    assert cfg.init_from == "demo-8k-16k" and resolve_init_from(cfg.init_from) == folder / "model.keras"
    with pytest.raises(SystemExit):
        recipe.main(["--init-from", "demo-8k-1k", "--out", str(tmp_path / "r")])
    assert "not the name of a shipped model (shipped models: demo-8k-16k)" in capsys.readouterr().err
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:  # its rates differ from the run's: refused before anything is written
        recipe.main(["--init-from", "demo-8k-16k", "--ratio", "4", "--hr-rate", "16000", "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "that model up-samples by 2 to 16000 Hz, this run by 4 to 16000 Hz" in err
    assert not out.exists()


def test_init_matching_copies_the_layers_that_agree_and_names_the_fresh_ones(tmp_path, capsys):
    import numpy as np

    from keras_audiosr.models.streaming_bwe import StreamingBWE
    from keras_audiosr.training.generator import warm_start

    source = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    source.save(tmp_path / "source.keras")
    target = StreamingBWE.from_size("tiny", ratio=6, hr_rate=48000)  # another ratio: only core_out differs
    before = target.get_layer("core_out").get_weights()[0].copy()
    with pytest.raises(ValueError, match="--init-matching"):
        warm_start(target, tmp_path / "source.keras")
    warm_start(target, tmp_path / "source.keras", matching=True)
    out = capsys.readouterr().out
    assert "fresh: core_out" in out and "core_in" in out.split("fresh:")[0]
    for name in ("core_in", "core_d1_0", "core_d2_1"):
        for a, b in zip(target.get_layer(name).get_weights(), source.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(target.get_layer("core_out").get_weights()[0], before)
    other = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000, channels=4)  # nothing agrees
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="no layer of it"):
        warm_start(
            StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000, channels=6), tmp_path / "other.keras", matching=True
        )


def test_the_source_high_band_trim_is_carried_to_the_trained_model_not_into_training(tmp_path, capsys):
    """warm_start copies weights only (training runs untrimmed); carry_high_band_trim then gives the trained model
    the source's trim, exactly as StreamingBWE.trim_high_band does, and it survives saving. Not carried from a
    model for another band, nor into a model without a trim; a 0 dB source changes nothing."""
    import keras
    import numpy as np

    from keras_audiosr.models.streaming_bwe import StreamingBWE
    from keras_audiosr.training.generator import carry_high_band_trim, warm_start

    keras.utils.set_random_seed(0)
    source = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000).trim_high_band(-9.0)
    source.save(tmp_path / "source.keras")
    target = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    warm_start(target, tmp_path / "source.keras")
    assert target.high_band_trim_db == 0.0 and target.get_layer("gain").offset_db == 0.0  # trains untrimmed
    capsys.readouterr()
    assert carry_high_band_trim(target, tmp_path / "source.keras") == -9.0
    assert capsys.readouterr().out.strip().splitlines() == [
        f"[keras_audiosr] high-band trim -9 dB carried from {tmp_path / 'source.keras'} (training ran untrimmed)"
    ]
    x = (0.1 * np.random.default_rng(0).standard_normal((1, 512, 1))).astype("float32")
    np.testing.assert_allclose(target.predict(x, verbose=0), source.predict(x, verbose=0), atol=1e-6)
    target.save(tmp_path / "trained.keras")
    saved = keras.models.load_model(tmp_path / "trained.keras")
    assert saved.high_band_trim_db == -9.0 and saved.get_layer("gain").offset_db == -9.0

    other_band = StreamingBWE.from_size("tiny", ratio=6, hr_rate=48000)  # an --init-matching target
    assert carry_high_band_trim(other_band, tmp_path / "source.keras") is None and other_band.high_band_trim_db == 0
    StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000).save(tmp_path / "untrimmed.keras")
    assert carry_high_band_trim(target, tmp_path / "untrimmed.keras") is None and target.high_band_trim_db == -9.0
    assert carry_high_band_trim(keras.Sequential([keras.Input((4,))]), tmp_path / "source.keras") is None
    assert capsys.readouterr().out == ""


def test_a_run_from_a_trimmed_model_trains_untrimmed_and_saves_with_its_trim(tmp_path, monkeypatch, capsys):
    """streaming_bwe --init-from a model with a -9 dB trim (as telephony-8k-16k): fit sees trim 0, model.keras has
    -9 dB, and stdout says so in one line."""
    from keras_audiosr.degrade import Degradation
    from keras_audiosr.inference import load_model
    from keras_audiosr.recipes import streaming_bwe
    from keras_audiosr.training import runner

    cfg = streaming_bwe.RECIPE.parse(["--model-size", "tiny"])
    streaming_bwe.build(cfg, Degradation(2)).trim_high_band(-9.0).save(tmp_path / "shipped.keras")
    trims_in_training = []
    real_fit = runner.fit

    def fit(model, *args, **kwargs):
        state = real_fit(model, *args, **kwargs)
        trims_in_training.append(runner.generator_of(model).high_band_trim_db)
        return state

    monkeypatch.setattr(runner, "fit", fit)
    out = tmp_path / "run"
    argv = ["--model-size", "tiny", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--no-pesq"]
    streaming_bwe.RECIPE.main([*argv, "--init-from", str(tmp_path / "shipped.keras"), "--out", str(out)])
    assert trims_in_training == [0.0]
    assert load_model(out / "model.keras").high_band_trim_db == -9.0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "high-band trim" in ln]
    assert lines == [
        f"[keras_audiosr] high-band trim -9 dB carried from {tmp_path / 'shipped.keras'} (training ran untrimmed)"
    ]
