"""The keras-audiosr command line's start-up: help texts, ``python -m``, what importing loads (no TensorFlow
for help and version), registration of Keras objects by decorator, and TensorFlow's log lines."""

import os
import subprocess
import sys

import pytest

from keras_audiosr import cli
from keras_audiosr.models import AudioUNet
from tests.test_cli import REPO, _run, _subprocess_env


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    AudioUNet.from_size("tiny", ratio=2, hr_rate=16000).save(path)
    return path


@pytest.mark.parametrize("command", ["upsample", "models", "resample", "degrade", "evaluate", "info"])
def test_subcommand_help(capsys, command):
    rc, out, _ = _run(capsys, command, "--help")
    assert rc == 0 and f"usage: keras-audiosr {command}" in out
    assert {"degrade": "--ratio", "resample": "--rate", "models": "--json"}.get(command, "--model") in out
    if command in ("upsample", "evaluate"):
        assert "(default: 16384)" in out and "(default: 1024)" in out


def test_python_dash_m_help():
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "keras_audiosr", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: keras-audiosr" in proc.stdout
    assert all(c in proc.stdout for c in ("upsample", "models", "resample", "degrade", "evaluate", "info"))


def test_import_is_light_and_registration_precedes_loading(model_path):
    code = (
        "import sys\n"
        "import keras_audiosr, keras_audiosr.cli, keras_audiosr.audio, keras_audiosr.degrade, keras_audiosr.utils\n"
        "keras_audiosr.cli.build_parser()\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'scipy.signal', 'scipy.interpolate') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
        "keras_audiosr.register_serializables()\n"
        "import keras\n"
        f"model = keras.models.load_model({str(model_path)!r}, compile=False)\n"
        "print('LOADED', type(model).__name__, keras_audiosr.training.metrics.SNRMetric.__name__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_subprocess_env(TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HEAVY []" in proc.stdout and "LOADED AudioUNet SNRMetric" in proc.stdout


def test_registration_is_by_decorator_as_modules_are_imported():
    code = (
        "import keras\nimport keras_audiosr\nfrom keras_audiosr.layers import SubPixel1D\n"
        "names = ('SubPixel1D', 'AudioUNet', 'SNRMetric', 'AdversarialTrainer')\n"
        "def missing():\n"
        "    return [n for n in names if keras.saving.get_registered_object('keras_audiosr>' + n) is None]\n"
        "print('LAYERS ONLY', missing())\n"
        "keras_audiosr.register_serializables()\n"
        "print('MISSING', missing())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_subprocess_env(TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LAYERS ONLY ['AudioUNet', 'SNRMetric', 'AdversarialTrainer']" in proc.stdout  # no import hook
    assert "MISSING []" in proc.stdout


def test_help_and_version_start_without_tensorflow():
    code = (
        "import sys\nfrom keras_audiosr.cli import main\n"
        "for argv in (['--help'], ['--version'], ['upsample', '--help'], ['resample', '--help'], ['models']):\n"
        "    assert main(argv) == 0\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'scipy.signal') if m in sys.modules], "
        "file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=_subprocess_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "HEAVY []\n"


def _info_cmd(model_path):
    return [sys.executable, "-m", "keras_audiosr", "info", "--model", str(model_path)]


def test_no_tensorflow_log_lines_unless_verbose(model_path):
    quiet = subprocess.run(
        _info_cmd(model_path), capture_output=True, text=True, cwd=REPO, env=_subprocess_env(), timeout=300
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and "AudioUNet" in quiet.stdout


@pytest.mark.slow  # a second TensorFlow start-up; kept out of the default run for time (-m slow runs it)
def test_verbose_shows_tensorflow_log_lines(model_path):
    cmd = _info_cmd(model_path)
    loud = subprocess.run(
        cmd[:3] + ["--verbose"] + cmd[3:], capture_output=True, text=True, cwd=REPO, env=_subprocess_env(), timeout=300
    )
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.strip() != ""  # TensorFlow's start-up lines, shown on request


def _all_actions(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {a.dest}", a, sub) for a in sub._actions)
        else:
            yield action.dest, action, parser


def test_every_option_has_help_with_its_default_and_no_backticks(capsys):
    import argparse

    parser = cli.build_parser()
    for name, action, owner in _all_actions(parser):
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        assert action.help, f"{name}: no help text"
        if action.option_strings and not action.required and action.default not in (False, argparse.SUPPRESS):
            text = owner.formatter_class("x")._get_help_string(action)
            assert "default" in text, f"{name}: help does not state the default: {text!r}"
    for argv in (
        ["--help"],
        *([c, "--help"] for c in ("upsample", "models", "resample", "degrade", "evaluate", "info")),
    ):
        rc, out, _ = _run(capsys, *argv)
        assert rc == 0 and "`" not in out, argv
