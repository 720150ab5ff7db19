"""The entry points answer before TensorFlow: ``--help`` and argument errors of the recipes, the edge tools and
``keras-audiosr train/export`` import neither TensorFlow nor Keras and take under 2 s; importing a recipe
changes no environment; the recipes' light vocabularies agree with the Keras classes they name; and (slow) the
wheel installs one package that upsamples a file with no TensorFlow in its environment."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "jax")
HELP_SECONDS = 2.0


def _env():
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(args, tries=3):
    """``(proc, fastest wall seconds, heavy modules imported)`` of ``python -X importtime ARGS`` (the fastest of
    ``tries`` runs: the machine may be busy)."""
    best = None
    for _ in range(tries):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=_env(),
            timeout=120,
        )
        seconds = time.perf_counter() - t
        best = seconds if best is None else min(best, seconds)
        if best < HELP_SECONDS:
            break
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return proc, best, sorted(m for m in imported if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "module",
    [
        "recipes.vctk_unet",
        "recipes.streaming_bwe",
        "recipes.vctk_unet_gan",
        "recipes.vctk_mugan",
        "recipes.music_resnet",
        "edge.convert",
        "edge.compare",
        "edge.benchmark",
        "keras_audiosr.recipes.vctk_edsr",
    ],
)
def test_help_answers_before_tensorflow(module):
    proc, seconds, heavy = _run(["-m", module, "--help"])
    assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr[-2000:]
    assert heavy == [], f"{module} --help imported {heavy[:5]}"
    assert seconds < HELP_SECONDS, f"{module} --help took {seconds:.2f} s"


@pytest.mark.parametrize("tool", ["convert", "compare", "benchmark"])
def test_export_tools_name_how_they_were_run(tool):
    """``usage:`` and error lines name the module ``python -m`` ran (the edge/ shim or the package's own); called
    from Python, the installed command (``keras-audiosr export``) or the package's module."""
    for module in (f"edge.{tool}", f"keras_audiosr.export.{tool}"):
        proc, _, _ = _run(["-m", module, "--help"], tries=1)
        assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m {module} "), proc.stdout[:300]
    if tool == "convert":
        args = ["-m", f"keras_audiosr.export.{tool}", "--model", "m.keras", "--mode", "int5", "--out", "o"]
        proc, _, _ = _run(args, tries=1)
        last = proc.stderr.splitlines()[-1]  # (after -X importtime's lines)
        assert proc.returncode == 2 and last.startswith("python -m keras_audiosr.export.convert: error: "), last
    from keras_audiosr.export import benchmark, compare, convert

    built = {"convert": convert.build_parser, "compare": compare.build_parser, "benchmark": benchmark.build_parser}
    expected = "keras-audiosr export" if tool == "convert" else f"python -m keras_audiosr.export.{tool}"
    assert built[tool]().prog == expected


@pytest.mark.parametrize(
    "args,message",
    [
        (["-m", "recipes.vctk_unet", "--epochs", "0"], "argument --epochs"),
        (["-m", "recipes.streaming_bwe", "--model-size", "paper"], "StreamingBWE comes in small and tiny"),
        (["-m", "recipes.vctk_unet_gan", "--batch-size", "2"], "smaller than --n-critic 5"),
        (["-m", "recipes.piano_mugan", "--downsample", "pool"], "argument --downsample"),
        (["-m", "edge.convert", "--model", "m.keras", "--mode", "int5", "--out", "o"], "unknown quantization mode"),
        (["-m", "keras_audiosr.cli", "train", "vctk_unet", "--ratio", "x"], "argument --ratio"),
        (["-m", "keras_audiosr.cli", "export", "--model", "no.keras", "--mode", "int8", "--out", "o"], "no such file"),
    ],
)
def test_argument_errors_come_before_tensorflow(args, message):
    proc, _, heavy = _run(args, tries=1)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert heavy == [], f"{' '.join(args)} imported {heavy[:5]} before its argument error"


def test_importing_a_recipe_sets_nothing():
    code = (
        "import os, sys\nimport recipes.vctk_unet, keras_audiosr.recipes.streaming_bwe, keras_audiosr.recipes\n"
        "print('KERAS_BACKEND' in os.environ, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "[]"], proc.stdout


def test_light_vocabularies_agree_with_the_keras_classes():
    from keras_audiosr.models import StreamingBWE
    from keras_audiosr.models.audio_unet import MODEL_SIZES
    from keras_audiosr.models.mu_gan import DOWNSAMPLING
    from keras_audiosr.recipes import RECIPES, config, get_recipe, streaming_bwe, vctk_mugan, vctk_unet_gan
    from keras_audiosr.training.losses import ADVERSARIAL_LOSSES

    assert config.MODEL_SIZES == MODEL_SIZES
    assert set(streaming_bwe.MODEL_SIZES) == set(StreamingBWE.presets)
    assert vctk_mugan.DOWNSAMPLING == DOWNSAMPLING
    assert vctk_unet_gan.ADVERSARIAL_N_CRITIC == {k: v.default_n_critic for k, v in ADVERSARIAL_LOSSES.items()}
    assert sorted(
        p.stem
        for p in (REPO / "keras_audiosr" / "recipes").glob("*.py")
        if p.stem not in ("__init__", "config", "recipe")
    ) == sorted(RECIPES)
    assert all(get_recipe(name).name == name for name in RECIPES)
    with pytest.raises(ValueError, match="unknown recipe 'nope'; choose one of: vctk_unet"):
        get_recipe("nope")


@pytest.mark.slow
def test_wheel_is_one_light_package_that_upsamples_without_tensorflow(tmp_path):
    """Build the wheel, install it alone into a fresh venv (dependencies from the configured index) and
    upsample a file with the shipped model's int8 stream."""
    import zipfile

    import numpy as np
    import soundfile as sf

    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build the wheel here: {build.stderr.strip()[-300:]}")
    wheel = next(wheels.glob("*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"keras_audiosr"}
    venv = tmp_path / "light"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900
    )
    if install.returncode != 0:
        pytest.skip(f"cannot install the dependencies here (no index?): {install.stderr.strip()[-300:]}")
    listed = subprocess.run([str(venv / "bin" / "pip"), "list"], capture_output=True, text=True, check=True).stdout
    assert "tensorflow" not in listed.lower() and "\nkeras " not in listed.lower()
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    sf.write(tmp_path / "in_8k.wav", x, 8000, subtype="PCM_16")
    proc = subprocess.run(
        [str(venv / "bin" / "keras-audiosr"), "upsample", "-q", str(tmp_path / "in_8k.wav"), str(tmp_path / "out.wav")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "int8 streaming .tflite, LiteRT" in proc.stderr
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.frames) == (16000, 16000)
    proc = subprocess.run(
        [
            str(venv / "bin" / "keras-audiosr"),
            "upsample",
            "-q",
            "--keras",
            str(tmp_path / "in_8k.wav"),
            str(tmp_path / "k.wav"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 2 and "pip install 'keras-audiosr[train]'" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("keras-audiosr: error:")
