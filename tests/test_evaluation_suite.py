"""The evaluation suite: several input degradations, every system on the same inputs, per-corpus and pooled means."""

import json

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from keras_audiosr.baselines import sinc_upsample, spline_upsample
from keras_audiosr.degrade import Degradation, get_degradation_set
from keras_audiosr.evaluation import (
    check_degradation_names,
    default_degradations,
    draw_for_file,
    evaluate_suite,
    format_suite,
    format_suite_markdown,
    resolve_degradations,
    suite_summary,
)
from keras_audiosr.evaluation import suite as evaluation
from keras_audiosr.metrics import evaluate_pair
from keras_audiosr.training.runner import corpus_groups


class SpyModel:
    """Zero-order hold that records every low-rate input it is given (whole signals: one call each)."""

    def __init__(self, ratio=2, hr_rate=16000, filter="cheby1:8", training_degradations=None):
        self.ratio, self.hr_rate, self.lr_rate = ratio, hr_rate, hr_rate // ratio
        self.name, self.layers, self.input_shape = "spy", [], (None, None, 1)
        self.degradation = {"ratio": ratio, "filter": filter, "zero_phase": True}
        if training_degradations is not None:
            self.training_degradations = training_degradations
        self.seen = []

    def __call__(self, x, training=False):
        x = np.asarray(x)
        self.seen.append(x[0, :, 0].copy())
        return np.repeat(x, self.ratio, axis=1)


def _tones(seconds, rate, freqs=(150.0, 1000.0, 2500.0, 3800.0, 6000.0), seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = sum(0.15 * np.sin(2 * np.pi * f * t + k) for k, f in enumerate(freqs))
    return (x + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def _write(path, x, rate=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype="FLOAT")
    return path


@pytest.fixture
def files(tmp_path):
    return [_write(tmp_path / "c1" / f"f{i}.wav", _tones(0.4 + 0.1 * i, 16000, seed=i)) for i in range(3)]


def _amplitude(x, rate, f):
    """Amplitude of the component at ``f`` Hz (a Hann-windowed DFT bin)."""
    n = len(x)
    w = np.hanning(n)
    return abs(np.sum(x * w * np.exp(-2j * np.pi * f * np.arange(n) / rate))) * 2 / w.sum()


def test_each_input_is_what_its_spec_says_and_every_system_sees_it(files):
    model = SpyModel()
    inputs = []
    suite = evaluate_suite(
        model,
        files[:1],
        degradations=["resample", "telephone:mulaw", "butter:4"],
        with_pesq=False,
        progress=False,
        systems={"spy": lambda low: inputs.append(low) or np.repeat(low, 2)},
    )
    ref = sf.read(str(files[0]), dtype="float32")[0]
    resampled, telephone, butter = inputs
    # The model got the same input as the extra system; the baselines are scored on it too.
    for low, seen in zip(inputs, model.seen):
        np.testing.assert_array_equal(low, seen)
    np.testing.assert_allclose(resampled, signal.resample_poly(ref.astype(np.float64), 1, 2), atol=1e-6)
    np.testing.assert_array_equal(butter, Degradation(2, "butter:4")(ref))
    # The telephone input is band-passed to 300-3400 Hz and mu-law companded (at most 256 levels).
    assert _amplitude(telephone, 8000, 1000) > 0.12
    assert _amplitude(telephone, 8000, 150) < 0.3 * _amplitude(resampled, 8000, 150)
    assert _amplitude(telephone, 8000, 3800) < 0.3 * _amplitude(resampled, 8000, 3800)
    assert len(np.unique(telephone)) <= 256 < len(np.unique(resampled))
    for label, low in zip(["resample", "telephone:mulaw", "butter:4"], inputs):
        rep = suite["degradations"][label]
        f = rep["files"][0]
        assert f["sinc"] == pytest.approx(evaluate_pair(sinc_upsample(low, 2), ref, 2, 16000, with_pesq=False))
        assert f["spline"] == pytest.approx(evaluate_pair(spline_upsample(low, 2), ref, 2, 16000, with_pesq=False))
        assert f["model"] == pytest.approx(f["spy"])
    assert suite["order"] == ["resample", "telephone:mulaw", "butter:4"]
    assert suite["degradations"]["telephone:mulaw"]["note"].startswith("the telephone channel's causal band-pass")
    assert suite["degradations"]["resample"]["note"] is None
    assert "G.711 mu-law" in suite["degradations"]["telephone:mulaw"]["degradation_text"]


def test_default_degradations_and_names():
    assert default_degradations(SpyModel()) == ["own", "resample", "butter:4", "telephone:mulaw"]
    assert default_degradations(SpyModel(ratio=3, hr_rate=48000)) == ["own", "resample", "butter:4"]
    # A model trained on one of the defaults is not evaluated twice under it.
    assert [i.label for i in resolve_degradations(SpyModel(filter="resample"))] == [
        "own",
        "butter:4",
        "telephone:mulaw",
    ]
    own = resolve_degradations(SpyModel(filter="bessel:6"))[0]
    assert (own.label, own.spec, own.drawn, own.degradation) == ("own", "bessel:6", False, Degradation(2, "bessel:6"))
    assert check_degradation_names(" OWN, Butter:4 ,speech-robust") == ["own", "butter:4", "speech-robust"]
    for bad in ("gauss:4", "telephone:ulaw", "cheby1:x"):
        with pytest.raises(ValueError) as err:
            check_degradation_names(["own", bad])
        message = str(err.value)
        assert repr(bad) in message and "'own'" in message and "speech-robust" in message
        assert "resample" in message and "telephone[:mulaw|:alaw]" in message and "family[:order[:cutoff]]" in message
    with pytest.raises(ValueError, match="label 'x' appears twice"):
        resolve_degradations(SpyModel(), {"x": "resample", " x": "butter:4"})
    mapped = resolve_degradations(SpyModel(), {"seen": "cheby1:8", "unseen": "butter:6"})
    assert [(i.label, i.spec) for i in mapped] == [("seen", "cheby1:8"), ("unseen", "butter:6")]


def test_set_trained_model_draws_per_file_reproducibly(files, tmp_path):
    model = SpyModel(training_degradations="speech-robust")
    paths = files + [_write(tmp_path / "c2" / f"g{i}.wav", _tones(0.4, 16000, seed=10 + i)) for i in range(5)]
    suite = evaluate_suite(model, paths, degradations=["own"], with_pesq=False, progress=False, seed=7)
    rep = suite["degradations"]["own"]
    assert (
        rep["drawn"] and rep["spec"] == "speech-robust" and suite["model"]["training_degradations"] == "speech-robust"
    )
    assert rep["degradation"]["set"]["name"] == "speech-robust" and rep["degradation"]["seed"] == 7
    dset = get_degradation_set("speech-robust")
    draws = [f["degradation"] for f in rep["files"]]
    assert draws == [draw_for_file(dset, p, 2, 7).filter for p in paths]
    assert len(set(draws)) > 1 and sum(rep["draws"].values()) == len(paths)
    # Each file's input is its drawn degradation (no gain), and the draw follows the file, not the list.
    for f, low in zip(rep["files"], model.seen):
        ref = sf.read(f["path"], dtype="float32")[0]
        np.testing.assert_allclose(low, Degradation(2, f["degradation"])(ref), atol=1e-6)
    again = evaluate_suite(
        SpyModel(training_degradations="speech-robust"),
        paths[::-1],
        degradations=["own"],
        with_pesq=False,
        progress=False,
        seed=7,
    )["degradations"]["own"]
    assert [f["degradation"] for f in again["files"]] == draws[::-1]
    other = evaluate_suite(
        SpyModel(training_degradations="speech-robust"),
        paths,
        degradations=["own"],
        with_pesq=False,
        progress=False,
        seed=8,
    )["degradations"]["own"]
    assert [f["degradation"] for f in other["files"]] != draws
    assert "drawn from the set 'speech-robust' (seed 7; its random gain is not applied)" in format_suite(suite)
    # A set of one is the single spec; an unknown set name falls back to the recorded degradation.
    assert not resolve_degradations(SpyModel(training_degradations="bessel:6"))[0].drawn
    with pytest.warns(UserWarning, match="'no-such-set' are unknown here"):
        assert resolve_degradations(SpyModel(training_degradations="no-such-set"))[0].spec == "cheby1:8"


def test_per_corpus_and_pooled_means(files, tmp_path):
    other = [_write(tmp_path / "c2" / "g.wav", _tones(0.6, 16000, freqs=(440.0, 2000.0), seed=5))]
    groups = {"c1": [str(p) for p in files], "c2": [str(p) for p in other]}
    suite = evaluate_suite(SpyModel(), groups, degradations="own,resample", with_pesq=False, progress=False)
    assert suite["groups"] == groups and suite["n_files"] == 4
    for label in ("own", "resample"):
        rep = suite["degradations"][label]
        for system in ("model", "sinc", "spline"):
            for metric in ("snr", "snr_lb", "lsd", "lsd_hf"):
                vals = {f["path"]: f[system][metric] for f in rep["files"]}
                for g, ps in groups.items():
                    assert rep["groups"][g]["mean"][system][metric] == pytest.approx(np.mean([vals[p] for p in ps]))
                    assert rep["groups"][g]["n_files"] == len(ps)
                assert rep["mean"][system][metric] == pytest.approx(np.mean(list(vals.values())))
    summary = suite_summary(suite)
    assert summary["resample"]["by_corpus"]["c2"]["mean"] == suite["degradations"]["resample"]["groups"]["c2"]["mean"]
    assert summary["own"]["degradation"] == "cheby1:8" and summary["own"]["n_files"] == 4
    json.dumps(summary)
    text = format_suite(suite)
    assert "c1 (3)" in text and "c2 (1)" in text and "pooled (4)" in text
    with pytest.raises(ValueError, match="in more than one group"):
        evaluate_suite(SpyModel(), {"a": [files[0]], "b": [files[0]]}, progress=False)


def test_markdown_summary(files):
    suite = evaluate_suite(SpyModel(), {"c1": files[:2], "c2": files[2:]}, with_pesq=False, progress=False)
    md = format_suite_markdown(suite)
    lines = md.splitlines()
    assert lines[0].startswith("8000 Hz -> 16000 Hz (ratio 2), 3 files")
    assert lines[2] == "| input | system | SNR (dB) | LB-SNR (dB) | LSD | LSD-HF |"
    assert lines[3] == "|---|---|---:|---:|---:|---:|"
    rows = [ln for ln in lines[4:] if ln.startswith("| ")]
    assert len(rows) == 4 * 3  # four degradations x (model, sinc, spline)
    assert rows[0].startswith("| own (`cheby1:8`) | model | ") and rows[1].startswith("|  | sinc | ")
    assert rows[3].startswith("| resample | model | ")
    snr = suite["degradations"]["butter:4"]["mean"]["spline"]["snr"]
    assert "| butter:4 | model |" in md and f"| {snr:.2f} |" in md
    assert "- **telephone:mulaw** (`telephone:mulaw`): telephone channel" in md and "say little here" in md
    per_corpus = format_suite_markdown(suite, per_corpus=True)
    assert "| input | corpus | system |" in per_corpus and "| own (`cheby1:8`) | c1 (2) | model |" in per_corpus
    assert "|  | pooled (3) | model |" in per_corpus
    only = format_suite_markdown(suite, systems=["model", "sinc"], metrics=["pesq", "lsd"])
    assert "| input | system | PESQ-WB | LSD |" in only and "| spline |" not in only


def test_corpus_groups_from_namespaced_speakers():
    from types import SimpleNamespace as NS

    test = [NS(path=f"/d/{c}/{s}.wav", speaker=f"{c}/{s}") for c, s in [("vctk", "p1"), ("vctk", "p2"), ("lj", "lj")]]
    data = NS(split=NS(test=test))
    assert corpus_groups(data) == {"vctk": ["/d/vctk/p1.wav", "/d/vctk/p2.wav"], "lj": ["/d/lj/lj.wav"]}
    assert corpus_groups(NS(split=NS(test=test[:2]))) is None  # one corpus: pooled means only
    assert corpus_groups(NS(split=NS(test=[NS(path="/x.wav", speaker="p1")]))) is None
    assert corpus_groups(data, {"a": ["/1.wav"], "b": ["/2.wav"]}) == {"a": ["/1.wav"], "b": ["/2.wav"]}
    with_method = NS(split=NS(test=test), test_by_corpus=lambda: {"x": test[:1], "y": test[1:]})
    assert corpus_groups(with_method) == {"x": ["/d/vctk/p1.wav"], "y": ["/d/vctk/p2.wav", "/d/lj/lj.wav"]}


def test_four_degradations_on_held_out_real_speech(shared_data):
    from keras_audiosr.models import AudioUNet

    model = AudioUNet.from_size("tiny", ratio=2, hr_rate=16000)
    paths = [shared_data / "vctk-mini" / "wav48" / s / f"{s}_023.flac" for s in ("p258", "p259")]
    suite = evaluate_suite(model, {"vctk-mini": paths}, progress=False, max_seconds=3.0)
    assert suite["order"] == ["own", "resample", "butter:4", "telephone:mulaw"]
    for label, rep in suite["degradations"].items():
        assert rep["n_files"] == 2 and [f["seconds"] for f in rep["files"]] == [3.0, 3.0]
        sinc, spline = rep["mean"]["sinc"], rep["mean"]["spline"]
        assert all(
            np.isfinite(v) for s in ("model", "sinc", "spline") for v in rep["mean"][s].values() if v is not None
        )
        assert sinc["lsd_hf"] > sinc["lsd"] > 0
        if evaluation.pesq_available():
            assert 1.0 <= sinc["pesq"] <= 4.7
        if label != "telephone:mulaw":
            assert sinc["snr"] > 10.0 and spline["snr"] > 5.0
        else:  # the causal band-pass shifts the phase: the waveform SNR collapses for every system
            assert sinc["snr"] < 5.0
    assert suite_summary(suite)["own"]["by_corpus"]["vctk-mini"]["n_files"] == 2


def test_choose_high_band_trim_scores_each_trim_and_leaves_the_choice_applied():
    import keras

    pytest.importorskip("pesq")
    from keras_audiosr.data import embedded_corpus_dir
    from keras_audiosr.models import StreamingBWE
    from keras_audiosr.pretrained.trim import choose_high_band_trim

    keras.utils.set_random_seed(0)
    model = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    files = sorted(embedded_corpus_dir().glob("p2*/*.flac"))[:2]
    lines = []
    best, rows = choose_high_band_trim(
        model, files, candidates_db=(0, -20), max_seconds=2.0, log=lines.append, objective="pesq"
    )
    assert [r["trim_db"] for r in rows] == [0.0, -20.0] and len(lines) == 2
    assert rows[0]["sinc_pesq"] == pytest.approx(rows[1]["sinc_pesq"])  # the same inputs for every trim
    allowed = [r for r in rows if r["lsd_ratio_worst"] <= 0.6] or rows[:1]
    assert best == max(allowed, key=lambda r: r["pesq"])["trim_db"]
    assert model.high_band_trim_db == pytest.approx(best)
    # objective "lsd": the loudest trim within 1 dB of sinc's SNR and 0.05 of its PESQ-WB (same inputs, same rows)
    best_lsd, rows_lsd = choose_high_band_trim(
        model, files, candidates_db=(0, -20), max_seconds=2.0, objective="lsd", log=None
    )
    start = best  # the candidates are relative to the trim the model had
    ok = [r for r in rows_lsd if r["snr_margin_worst"] >= -1.0 and r["pesq"] >= r["sinc_pesq"] - 0.05]
    expect = max(ok, key=lambda r: r["trim_db"]) if ok else max(rows_lsd, key=lambda r: r["snr_margin_worst"])
    assert best_lsd == expect["trim_db"] and model.high_band_trim_db == pytest.approx(start + best_lsd)
    with pytest.raises(ValueError, match="objective"):
        choose_high_band_trim(model, files, objective="loudness")

    with pytest.raises(ValueError, match="has no trim_high_band"):
        choose_high_band_trim(keras.Sequential(), files)


def test_choose_high_band_trim_by_visqol_obeys_the_guards():
    """The default objective: the best ViSQOL among trims that keep PESQ-WB >= sinc and (LB-)SNR within 1 dB."""
    import keras

    pytest.importorskip("pesq")
    pytest.importorskip("visqol")
    from keras_audiosr.data import embedded_corpus_dir
    from keras_audiosr.models import StreamingBWE
    from keras_audiosr.pretrained.trim import PESQ_MARGIN, choose_high_band_trim, high_band_trim_rule

    keras.utils.set_random_seed(0)
    model = StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)
    degs, objective = high_band_trim_rule(model)
    assert objective == "visqol" and degs[:2] == ("resample", "telephone:mulaw")
    files = sorted(embedded_corpus_dir().glob("p2*/*.flac"))[:1]
    best, rows = choose_high_band_trim(
        model, files, degradations=("resample",), candidates_db=(0, -30), max_seconds=1.5, log=None
    )
    for r in rows:
        assert r["passes"] == (r["pesq_margin"] >= 0 and r["snr_margin"] >= 0 and r["lb_snr_margin"] >= 0)
        assert r["pesq_margin"] == pytest.approx(r["pesq"] - r["sinc_pesq"] - PESQ_MARGIN)
    ok = [r for r in rows if r["passes"]]
    worst = lambda r: min(r["pesq_margin"], r["snr_margin"], r["lb_snr_margin"])  # noqa: E731
    expect = max(ok, key=lambda r: r["visqol"]) if ok else max(rows, key=worst)
    assert best == expect["trim_db"] and model.high_band_trim_db == pytest.approx(best)
