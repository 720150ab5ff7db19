"""The test suite keeps to itself: prepared data and generated corpora go to a per-session temporary
folder (conftest.py), never to the user's ~/.cache/keras_audiosr, in this process and in subprocesses."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from keras_audiosr.data import default_cache_dir


def test_cache_is_a_session_temporary_folder_also_for_subprocesses():
    cache = default_cache_dir()
    assert cache != Path.home() / ".cache" / "keras_audiosr"
    assert Path(tempfile.gettempdir()).resolve() in cache.resolve().parents
    code = "import os; print(os.environ['KERAS_AUDIOSR_CACHE'])"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(cache)
