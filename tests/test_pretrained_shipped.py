"""The models shipped in keras_audiosr/pretrained: each loads, its .tflite files match their fixtures, its card
matches the model, all together stay under 20 MB; the wheel carries them; an offline install runs them.

The per-model tests skip (one skipped test) while no model is shipped. The wheel test builds the wheel
from a copy of the source tree with one extra folder holding a file of every kind package_data must
carry, so it checks setup.py whether or not real models are shipped.

The slow offline-install test makes a fresh virtual environment outside the repository (no
``--system-site-packages``) and installs the wheel with ``pip install --no-index --no-deps``: nothing is
downloaded. TensorFlow and the other dependencies cannot be installed offline (no wheels of them are
cached here), so the environment reaches them through a ``.pth`` file naming a folder of links to the
test interpreter's site-packages entries, leaving out its keras_audiosr (an editable install of the
checkout); the keras_audiosr that runs is the wheel's, asserted by its path.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from keras_audiosr import pretrained

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "keras_audiosr" / "pretrained"
REQUIRED = ("telephony-8k-16k", "wideband-16k-48k")
MAX_TOTAL_BYTES = 20_000_000


def shipped_folders() -> list[Path]:
    return sorted(d for d in SHIPPED_DIR.iterdir() if d.is_dir() and (d / "card.json").is_file())


SHIPPED = shipped_folders()
NONE_SHIPPED = pytest.mark.skipif(not SHIPPED, reason="no model is shipped yet in keras_audiosr/pretrained")
PER_MODEL = [pytest.param(d, id=d.name) for d in SHIPPED] or [
    pytest.param(None, id="none", marks=pytest.mark.skip(reason="no model is shipped yet in keras_audiosr/pretrained"))
]


@pytest.fixture
def package_registry(monkeypatch):
    monkeypatch.delenv("KERAS_AUDIOSR_PRETRAINED_DIR", raising=False)
    assert pretrained.models_dir() == SHIPPED_DIR


@pytest.mark.parametrize("folder", PER_MODEL)
def test_shipped_model_loads_runs_and_matches_its_fixtures(folder, package_registry):
    pytest.importorskip("ai_edge_litert")
    from tests.pretrained_checks import check_card, check_fixtures, check_stream

    info = pretrained.info(folder.name)
    card = check_card(info)
    model = pretrained.load(info.name)
    assert (int(model.lr_rate), int(model.hr_rate), int(model.ratio)) == (info.lr_rate, info.hr_rate, card["ratio"])
    assert model.count_params() == card["parameters"]
    for _mode, name in info.tflite.items():
        assert check_fixtures(folder / name)
        check_stream(model, folder / name, min_int8_snr_db=25.0)
    assert pretrained.for_rate(info.lr_rate, info.hr_rate) == info.name


@NONE_SHIPPED
def test_the_issue_models_are_shipped(package_registry):
    names = {m.name for m in pretrained.list()}
    assert set(REQUIRED) <= names, f"shipped: {sorted(names)}"
    assert pretrained.for_rate(8000) == "telephony-8k-16k"
    assert pretrained.for_rate(16000, 48000) == "wideband-16k-48k"


def test_shipped_models_together_under_20_mb():
    total = sum(p.stat().st_size for d in SHIPPED for p in d.rglob("*") if p.is_file())
    assert total < MAX_TOTAL_BYTES, f"{total / 1e6:.1f} MB in {SHIPPED_DIR}"


# ---- the wheel -------------------------------------------------------------------------------------
def source_copy(dest: Path) -> Path:
    """The source tree as ``pip wheel .`` sees it (tracked and untracked files, .gitignore honoured) in ``dest``."""
    try:
        files = (
            subprocess.run(
                ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
            )
            .stdout.decode()
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:
        shutil.copytree(
            ROOT,
            dest,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"
            ),
        )
        return dest
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def build_wheel(src: Path, out: Path) -> Path:
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    (wheel,) = out.glob("keras_audiosr-*.whl")
    return wheel


def test_wheel_contains_every_shipped_model(tmp_path):
    src = source_copy(tmp_path / "src")
    kinds = src / "keras_audiosr" / "pretrained" / "zz-package-data-check"
    kinds.mkdir(parents=True)
    for name in (
        "model.keras",
        "card.json",
        "MODEL_CARD.md",
        "m_stream_int8.tflite",
        "m_stream_int8.json",
        "m_stream_int8.inputs.npz",
        "m_stream_int8.expected.npz",
        "m_window.input.npy",
    ):
        (kinds / name).write_bytes(b"x")
    wheel = build_wheel(src, tmp_path / "wheel")
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {
        p.relative_to(src).as_posix()
        for d in (src / "keras_audiosr" / "pretrained").iterdir()
        if d.is_dir()
        for p in d.iterdir()
        if p.is_file()
    }
    assert want and not want - names, sorted(want - names)
    assert {f"keras_audiosr/pretrained/{d.name}/card.json" for d in SHIPPED} <= names


# ---- an offline install ----------------------------------------------------------------------------
def _dependencies_folder(dest: Path) -> Path:
    """Links to the test interpreter's installed packages, without keras_audiosr (see the module docstring)."""
    site = Path(sysconfig.get_paths()["purelib"])
    dest.mkdir()
    for entry in site.iterdir():
        low = entry.name.lower()
        if low.startswith(("keras_audiosr", "__editable__")) or entry.suffix == ".pth":
            continue
        (dest / entry.name).symlink_to(entry)
    return dest


def _tiny_shipped_model(src: Path, work: Path) -> None:
    """Trains a tiny StreamingBWE with the recipe and ships it into the source copy as telephony-8k-16k."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = work / "run"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "recipes.streaming_bwe",
            "--model-size",
            "tiny",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--batch-size",
            "2",
            "--no-pesq",
            "--out",
            str(run),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.ship_model",
            "--run",
            str(run),
            "--name",
            "telephony-8k-16k",
            "--out",
            str(src / "keras_audiosr" / "pretrained"),
            "--calibration-windows",
            "16",
            "--max-seconds",
            "2",
            "--no-progress",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]


@pytest.mark.slow
def test_offline_install_into_a_fresh_venv_upsamples_with_the_shipped_model(tmp_path):
    src = source_copy(tmp_path / "src")
    if not SHIPPED:  # nothing shipped yet: ship a tiny model trained by the recipe into the copy
        _tiny_shipped_model(src, tmp_path)
    wheel = build_wheel(src, tmp_path / "wheel")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    venv_site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (venv_site / "zz_keras_audiosr_test_dependencies.pth").write_text(
        str(_dependencies_folder(tmp_path / "deps")) + "\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "KERAS_AUDIOSR_PRETRAINED_DIR", "PIP_FIND_LINKS", "PIP_INDEX_URL")
    }
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="2")
    res = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-index", "--no-deps", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = (
        "import json, keras_audiosr; from keras_audiosr import pretrained; from keras_audiosr.data import "
        "embedded_corpus_dir; print(json.dumps({'file': keras_audiosr.__file__, 'models': [[m.name, m.lr_rate, "
        "m.hr_rate] for m in pretrained.list()], 'wav': str(embedded_corpus_dir() / 'p273' / 'p273_023.flac')}))"
    )
    res = subprocess.run([str(py), "-c", probe], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    found = json.loads(res.stdout.strip().splitlines()[-1])
    assert Path(found["file"]).is_relative_to(venv), found["file"]
    assert ["telephony-8k-16k", 8000, 16000] in found["models"], found["models"]
    cli = str(venv / "bin" / "keras-audiosr")
    steps = [
        [cli, "resample", found["wav"], "in_8k.wav", "--rate", "8000"],
        [cli, "upsample", "in_8k.wav", "out_16k.wav"],
    ]  # no --model: the shipped model for 8 kHz
    for cmd in steps:
        res = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, " ".join(cmd) + "\n" + res.stdout[-2000:] + res.stderr[-3000:]
    import soundfile as sf

    low, out = sf.info(str(work / "in_8k.wav")), sf.info(str(work / "out_16k.wav"))
    assert (low.samplerate, out.samplerate) == (8000, 16000)
    assert out.frames == 2 * low.frames
    y, _ = sf.read(str(work / "out_16k.wav"))
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 1e-3


@pytest.mark.parametrize("folder", PER_MODEL)
def test_shipped_streams_run_on_the_second_runtime(folder):
    """Each shipped .tflite under Arm NN (CpuRef) on its golden fixture gives LiteRT's outputs within the
    fixture tolerance, operator by operator for the integer ones (skipped where Arm NN is not installed)."""
    from keras_audiosr.export.armnn import armnn_status
    from keras_audiosr.export.gates import second_runtime_outcome

    ok, about = armnn_status()
    if not ok:
        pytest.skip(about)
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    for name in card["tflite"].values():
        path = folder / name
        files = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["files"]
        outcome = second_runtime_outcome(
            path.read_bytes(),
            dict(np.load(folder / files["inputs"])),
            dict(np.load(folder / files["expected"])),
            files["atol"],
        )
        assert outcome.ok is True, f"{name}: {outcome.message}"
