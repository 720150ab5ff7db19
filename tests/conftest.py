"""Shared fixtures: the real-speech folder beside the repo (skips when absent), a private cache, quiet TF logs.

The whole session (and every subprocess it starts, which inherits the environment) caches
prepared data and generated corpora in a temporary folder, never in the user's
``~/.cache/keras_audiosr``.
"""

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SESSION_CACHE = Path(tempfile.mkdtemp(prefix="keras_audiosr-test-cache-"))
os.environ["KERAS_AUDIOSR_CACHE"] = str(SESSION_CACHE)

import pytest  # noqa: E402

SHARED_DATA = Path(
    os.environ.get("KERAS_AUDIOSR_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
).resolve()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_CACHE, ignore_errors=True)


@pytest.fixture
def shared_data():
    """Path to ../shared/data (VCTK and LJ Speech minis); skips the test when absent."""
    if not (SHARED_DATA / "vctk-mini").is_dir():
        pytest.skip(f"real-speech folder not found at {SHARED_DATA}")
    return SHARED_DATA
