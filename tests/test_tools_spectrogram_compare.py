"""tools/spectrogram_compare.py: one figure of the reference, the input, sinc and each system (a cascade too)."""

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
pytest.importorskip("matplotlib")
sf = pytest.importorskip("soundfile")

from tools import spectrogram_compare  # noqa: E402


def _tone(path, rate=48000, seconds=1.0):
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.2 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype("float32"), rate)
    return path


def test_draws_a_cascade_of_shipped_streams(tmp_path, capsys):
    ref, out = _tone(tmp_path / "ref.wav"), tmp_path / "fig.png"
    argv = ["--file", str(ref), "--rate-in", "8000", "--degradation", "telephone:mulaw", "--seconds", "0.5"]
    assert spectrogram_compare.main(argv + ["--model", "telephony-8k-16k+wideband-16k-48k", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "[spectrogram]" in capsys.readouterr().out


def test_refuses_systems_of_different_rates_and_a_low_rate_file(tmp_path, capsys):
    ref = _tone(tmp_path / "ref.wav")
    argv = ["--file", str(ref), "--rate-in", "8000", "--out", str(tmp_path / "f.png")]
    with pytest.raises(SystemExit):
        spectrogram_compare.main(argv + ["--model", "telephony-8k-16k", "--model", "telephony-8k-16k+wideband-16k-48k"])
    assert "they must all give one multiple of --rate-in" in capsys.readouterr().err
    low = _tone(tmp_path / "low.wav", rate=16000)
    with pytest.raises(SystemExit):
        spectrogram_compare.main(
            ["--file", str(low), "--rate-in", "8000", "--model", "wideband-16k-48k", "--out", "x.png"]
        )
    assert "16000 Hz is below the systems' output rate 48000 Hz" in capsys.readouterr().err
    assert not (tmp_path / "f.png").exists()
    with pytest.raises(SystemExit):
        spectrogram_compare.main(argv + ["--model", "no-such-model"])
    assert "--model: " in capsys.readouterr().err
