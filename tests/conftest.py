"""Shared fixtures: the real-speech folder beside the repo (skips when absent) and quiet TF logs."""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

SHARED_DATA = Path(os.environ.get("KERAS_AUDIOSR_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")).resolve()


@pytest.fixture
def shared_data():
    """Path to ../shared/data (VCTK and LJ Speech minis); skips the test when absent."""
    if not (SHARED_DATA / "vctk-mini").is_dir():
        pytest.skip(f"real-speech folder not found at {SHARED_DATA}")
    return SHARED_DATA
