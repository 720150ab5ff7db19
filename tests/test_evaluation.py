"""Evaluation of a model and the baselines against high-rate references."""

import numpy as np
import pytest
import soundfile as sf

from keras_audiosr.audio import AudioError
from keras_audiosr.baselines import sinc_upsample, spline_upsample
from keras_audiosr.degrade import degrade
from keras_audiosr.evaluation import evaluate_files, evaluate_signal, format_table
from keras_audiosr.evaluation import suite as evaluation
from keras_audiosr.metrics import evaluate_pair
from keras_audiosr.models import AudioUNet


class RepeatModel:
    """Zero-order-hold generator: its estimate is exactly ``np.repeat(low, ratio)``."""

    def __init__(self, ratio=2, hr_rate=16000, filter="butter:6"):
        self.ratio, self.hr_rate, self.lr_rate = ratio, hr_rate, hr_rate // ratio
        self.name, self.layers, self.input_shape = "repeat", [], (None, None, 1)
        self.degradation = {"ratio": ratio, "filter": filter, "zero_phase": True}

    def __call__(self, x, training=False):
        return np.repeat(np.asarray(x), self.ratio, axis=1)


def _speechlike(seconds, rate, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = sum(0.2 / k * np.sin(2 * np.pi * 220 * k * t + k) for k in range(1, 20) if 220 * k < rate / 2)
    return (x * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def test_evaluate_signal_matches_manual_pipeline():
    model = RepeatModel()
    ref = _speechlike(0.5, 16000)[:7999]  # odd length: trimmed to a multiple of the ratio
    res = evaluate_signal(model, ref, baselines=("spline", "sinc"), with_pesq=False, return_signals=True)
    trimmed = ref[:7998]
    low = degrade(trimmed, 2, "butter:6")
    assert res["model"] == pytest.approx(evaluate_pair(np.repeat(low, 2), trimmed, 2, 16000, with_pesq=False))
    assert res["spline"] == pytest.approx(evaluate_pair(spline_upsample(low, 2), trimmed, 2, 16000, with_pesq=False))
    assert res["sinc"] == pytest.approx(evaluate_pair(sinc_upsample(low, 2), trimmed, 2, 16000, with_pesq=False))
    assert res["seconds"] == pytest.approx(7998 / 16000)
    assert list(res["signals"]) == ["reference", "low", "spline", "sinc", "model"]
    np.testing.assert_array_equal(res["signals"]["low"], low)
    # on a harmonic signal spline beats sample-and-hold
    assert res["spline"]["snr"] > res["model"]["snr"]


def test_evaluate_signal_rates_and_names():
    model = RepeatModel()
    hi = _speechlike(0.5, 32000)
    res = evaluate_signal(model, hi, rate=32000, with_pesq=False)  # resampled down to 16 kHz
    assert res["seconds"] == pytest.approx(0.5)
    with pytest.raises(AudioError, match="clip.*8000 Hz is below.*16000"):
        evaluate_signal(model, _speechlike(0.5, 8000), rate=8000, name="clip", with_pesq=False)
    with pytest.raises(ValueError, match="unknown baseline 'cubic'"):
        evaluate_signal(model, hi, rate=32000, baselines=("cubic",))


@pytest.fixture
def wav_files(tmp_path):
    paths = []
    for i, (rate, channels) in enumerate([(16000, 1), (32000, 2), (16000, 1)]):
        x = _speechlike(0.6 + 0.2 * i, rate, seed=i)
        if channels == 2:
            x = np.stack([x, 0.5 * x], axis=1)
        d = tmp_path / f"spk{i % 2}"
        d.mkdir(exist_ok=True)
        p = d / "utt.wav"  # two files share a stem: plots must not overwrite each other
        p = p if not p.exists() else d / "utt2.wav"
        sf.write(str(p), x, rate, subtype="FLOAT")
        paths.append(p)
    return paths


def test_evaluate_files_report_and_plots(tmp_path, wav_files):
    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    report = evaluate_files(
        model, wav_files, baselines=("spline",), with_pesq=False, plot_dir=tmp_path / "plots", progress=False
    )
    assert [f["path"] for f in report["files"]] == [str(p) for p in wav_files]
    assert report["ratio"] == 2 and report["hr_rate"] == 16000 and report["lr_rate"] == 8000
    assert report["degradation"] == model.degradation and "cheby1 order 8" in report["degradation_text"]
    assert report["systems"] == ["model", "spline"]
    for f in report["files"]:
        for s in ("model", "spline"):
            assert set(f[s]) == {"snr", "snr_lb", "lsd", "lsd_hf"} and all(np.isfinite(v) for v in f[s].values())
    assert report["files"][1]["seconds"] == pytest.approx(0.8)  # the 32 kHz stereo file, mixed and resampled
    for s in ("model", "spline"):
        for m in ("snr", "lsd", "lsd_hf"):
            assert report["mean"][s][m] == pytest.approx(np.mean([f[s][m] for f in report["files"]]))
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 3 and sorted(f["plot"] for f in report["files"]) == [str(p) for p in pngs]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

    table = format_table(report)
    lines = table.splitlines()
    assert len(lines) == 4 + 3 + 2  # summary, 2 header rows, rule; 3 files; rule, mean
    assert [ln.split()[0] for ln in lines[4:7]] == ["spk0/utt.wav", "spk1/utt.wav", "spk0/utt2.wav"]
    assert "mean (3 files)" in lines[-1] and "LSD-HF" in table and "PESQ" not in table
    assert f"{report['mean']['spline']['snr']:.2f}" in lines[-1]


def test_means_skip_missing_pesq(tmp_path, wav_files, monkeypatch):
    calls = []

    def fake_pair(est, ref, ratio, rate, with_pesq=None, perceptual=None):
        calls.append(with_pesq)
        return {"snr": 1.0 * len(calls), "lsd": 1.0, "lsd_hf": 2.0, "pesq": None if len(calls) <= 2 else 3.0}

    monkeypatch.setattr(evaluation, "evaluate_pair", fake_pair)
    report = evaluate_files(RepeatModel(), wav_files[:2], with_pesq=True, progress=False)
    assert calls == [True] * 4
    assert report["mean"]["model"] == {"snr": 2.0, "lsd": 1.0, "lsd_hf": 2.0, "pesq": 3.0}
    assert report["files"][0]["model"]["pesq"] is None
    assert "-" in format_table(report).splitlines()[4]  # None shown as a dash


def test_evaluate_files_rejects_low_rate_reference(tmp_path):
    low = tmp_path / "low.wav"
    sf.write(str(low), _speechlike(0.5, 8000), 8000)
    with pytest.raises(AudioError, match=r"low\.wav.*8000 Hz is below"):
        evaluate_files(RepeatModel(), [low], progress=False)
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(AudioError, match=r"notes\.wav"):
        evaluate_files(RepeatModel(), [tmp_path / "notes.wav"], progress=False)
    with pytest.raises(ValueError, match="no files"):
        evaluate_files(RepeatModel(), [], progress=False)


def test_plot_spectrograms_rows_atomic_and_backend(tmp_path, monkeypatch):
    import matplotlib
    from matplotlib.figure import Figure

    from keras_audiosr.plots import plot_spectrograms

    backend = matplotlib.get_backend()
    ref = _speechlike(0.4, 16000)
    low = degrade(ref, 2)
    signals = {"reference": ref, "low": low, "stereo": np.stack([ref, ref], axis=1), "short": ref[:100]}
    rates = {"reference": 16000, "low": 8000, "stereo": 16000, "short": 16000}
    two = plot_spectrograms(dict(list(signals.items())[:2]), rates, tmp_path / "two.png")
    four = plot_spectrograms(signals, rates, tmp_path / "sub" / "four.png", title="t")
    img2, img4 = matplotlib.image.imread(two), matplotlib.image.imread(four)
    assert img4.shape[0] > img2.shape[0] * 1.5 and img4.shape[1] == img2.shape[1]  # one row per signal
    assert matplotlib.get_backend() == backend
    with pytest.raises(ValueError, match="no rate given for low"):
        plot_spectrograms({"low": low}, {}, tmp_path / "x.png")

    def boom(self, fname, *a, **k):
        open(fname, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", boom)
    with pytest.raises(OSError, match="disk full"):
        plot_spectrograms(signals, rates, tmp_path / "two.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "two.png"]
    assert matplotlib.image.imread(two).shape == img2.shape  # the old picture is untouched


class SameRateIdentity(RepeatModel):
    """Same-rate bandwidth extender that changes nothing: its score must equal the low-passed input's."""

    def __init__(self):
        super().__init__(ratio=1, hr_rate=16000)
        self.degradation = {"ratio": 2, "filter": "cheby1:6", "zero_phase": True}


def test_same_rate_model(tmp_path):
    from keras_audiosr.degrade import lowpass

    model = SameRateIdentity()
    ref = _speechlike(0.5, 16000)
    res = evaluate_signal(model, ref, with_pesq=False, return_signals=True)
    low = lowpass(ref, 2, "cheby1:6")
    assert res["model"] == res["input"] == pytest.approx(evaluate_pair(low, ref, 2, 16000, with_pesq=False))
    spline = spline_upsample(degrade(ref, 2, "cheby1:6"), 2)
    assert res["spline"] == pytest.approx(evaluate_pair(spline, ref, 2, 16000, with_pesq=False))
    assert res["signals"]["low"].shape == ref.shape
    path = tmp_path / "ref.wav"
    sf.write(str(path), ref, 16000, subtype="FLOAT")
    report = evaluate_files(model, [path], with_pesq=False, progress=False, plot_dir=tmp_path)
    assert report["systems"] == ["model", "input", "spline"] and report["band_ratio"] == 2
    assert format_table(report).startswith("same rate 16000 Hz, band limit 4000 Hz")


def test_means_leave_out_non_finite_values_and_say_so(tmp_path, wav_files):
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(8000, np.float32), 16000, subtype="FLOAT")
    report = evaluate_files(
        RepeatModel(), [wav_files[0], silent, wav_files[2]], baselines=("spline",), with_pesq=False, progress=False
    )
    assert report["files"][1]["model"]["snr"] == float("-inf") or not np.isfinite(report["files"][1]["model"]["snr"])
    for s in ("model", "spline"):
        snrs = [f[s]["snr"] for f in report["files"] if np.isfinite(f[s]["snr"])]
        assert len(snrs) == 2 and report["mean"][s]["snr"] == pytest.approx(np.mean(snrs))
        assert report["mean_excluded"][s]["snr"] == 1
    assert report["mean_excluded"]["model"]["lsd"] == sum(not np.isfinite(f["model"]["lsd"]) for f in report["files"])
    table = format_table(report)
    assert (
        "note: means leave out non-finite or missing values: model SNR (1 file), model LB-SNR (1 file), "
        "spline SNR (1 file), spline LB-SNR (1 file)"
    ) in table
    assert "-inf" not in table.splitlines()[-2]  # the mean row is a number
    assert evaluation.finite_mean([1.0, None, float("nan"), 3.0, float("inf")]) == (2.0, 3)
    assert evaluation.finite_mean([None]) == (None, 1)
