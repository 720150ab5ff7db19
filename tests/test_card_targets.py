"""Quality targets of shipped models (keras_audiosr.pretrained.card): bounds against sinc, the 8 -> 48 kHz model's
bound against the shipped cascade, the phase-free guards, and the cascade runner itself."""

import numpy as np
import pytest

from keras_audiosr.pretrained.card import (
    REFERENCE_CASCADES,
    Target,
    check_targets,
    reference_systems,
    targets_for,
)


def _report(rows):
    """A minimal evaluate_suite report: ``{label: (spec, {system: {metric: value}})}``."""
    return {
        "lr_rate": 8000,
        "hr_rate": 48000,
        "order": list(rows),
        "degradations": {k: {"spec": spec, "mean": mean} for k, (spec, mean) in rows.items()},
    }


def test_targets_per_rate_pair():
    assert [t.text for t in targets_for(8000, 16000)[:2]] == ["ViSQOL >= sinc + 0.35", "LSD <= 0.4 x sinc"]
    assert [t.text for t in targets_for(16000, 48000)[:2]] == ["ViSQOL >= sinc + 1.2", "LSD <= 0.28 x sinc"]
    nb = targets_for(8000, 48000)
    assert [t.text for t in nb[:2]] == ["ViSQOL > cascade", "LSD < cascade"]
    assert {t.against for t in nb[2:]} == {"sinc"}  # the guards stay against sinc
    # PESQ-WB guards the models whose input is narrower than the band it hears; 16 kHz input: SNR guards only.
    assert [t.metric for t in nb[2:]] == [t.metric for t in targets_for(8000, 16000)[2:]] == ["pesq", "snr", "snr_lb"]
    assert [t.metric for t in targets_for(16000, 48000)[2:]] == ["snr", "snr_lb"]


def test_beats_is_strict_and_knows_which_way_is_better():
    up, down = Target("visqol", "beats", against="cascade"), Target("lsd", "beats", against="cascade")
    assert up.met(4.0, 3.9) and not up.met(3.9, 3.9) and not up.met(3.8, 3.9)
    assert down.met(0.9, 1.0) and not down.met(1.0, 1.0) and not down.met(1.1, 1.0)


def test_check_targets_reads_each_targets_reference_system():
    good = {"visqol": 4.0, "lsd": 0.9, "pesq": 3.0, "snr": 20.0, "snr_lb": 30.0}
    sinc = {"visqol": 3.0, "lsd": 3.0, "pesq": 2.9, "snr": 20.5, "snr_lb": 30.0}
    cascade = {"visqol": 3.8, "lsd": 1.0, "pesq": 3.1, "snr": 20.0, "snr_lb": 30.0}
    worse = dict(good, lsd=1.2)
    report = _report(
        {
            "resample": ("resample", {"model": good, "sinc": sinc, "cascade": cascade}),
            "codec:gsm": ("codec:gsm", {"model": worse, "sinc": dict(sinc, snr=40.0), "cascade": cascade}),
        }
    )
    verdict = check_targets(report, "model")
    assert verdict["by_degradation"]["resample"]["met"] is True
    gsm = verdict["by_degradation"]["codec:gsm"]
    assert gsm["lsd"]["met"] is False and gsm["lsd"]["sinc"] == 1.0  # bounded by the cascade, not sinc
    assert gsm["snr"]["applies"] is False  # a codec shifts the phase: the SNR guard does not apply
    assert verdict["met"] is False
    del report["degradations"]["resample"]["mean"]["cascade"]  # not evaluated: unknown, not met
    assert check_targets(report, "model")["by_degradation"]["resample"]["met"] is None


def test_reference_cascade_runs_the_shipped_streams_in_turn():
    pytest.importorskip("ai_edge_litert")
    from keras_audiosr import pretrained
    from keras_audiosr.streaming import StreamingUpsampler

    names = REFERENCE_CASCADES[(8000, 48000)]
    try:
        paths = [pretrained.tflite_path(n, "int8") for n in names]
    except Exception as err:  # the shipped files are part of the package
        pytest.fail(f"shipped cascade models missing: {err}")
    low = (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)
    high = reference_systems(8000, 48000)["cascade"](low)
    first = StreamingUpsampler.from_tflite(paths[0]).run(low)
    expected = StreamingUpsampler.from_tflite(paths[1]).run(first)
    assert high.shape == (6 * len(low),) and np.array_equal(high, expected)
    assert reference_systems(8000, 16000) == {}


def test_ship_trim_is_a_level_from_the_trained_level_not_added_to_a_carried_one():
    pytest.importorskip("keras")
    from keras_audiosr.models.streaming_bwe import StreamingBWE
    from keras_audiosr.pretrained.trim import apply_high_band_trim

    model = StreamingBWE.from_size("tiny", high_band_trim_db=-9.0)  # as if carried from a shipped model
    assert apply_high_band_trim(model, [], "none", False) == {
        "trim_db": -9.0,
        "how": "kept (carried from the source model)",
    }
    assert model.high_band_trim_db == -9.0
    assert apply_high_band_trim(model, [], "-3", False)["trim_db"] == -3.0 and model.high_band_trim_db == -3.0
    logged = []
    info = apply_high_band_trim(model, [], "auto", False, log=logged.append)  # no PESQ-WB: kept as it was
    assert info["trim_db"] == -3.0 and model.high_band_trim_db == -3.0 and "kept" in logged[0]


def test_trim_guards_leave_out_pesq_for_a_16k_input():
    from keras_audiosr.pretrained.trim import _guards, _passes

    model, sinc = {"pesq": 4.58, "snr": 24.0, "snr_lb": 40.0}, {"pesq": 4.63, "snr": 24.5, "snr_lb": 40.0}
    narrow = _guards({}, [("resample", model, sinc)], pesq_guard=True)
    wide = _guards({}, [("resample", model, sinc)], pesq_guard=False)
    assert narrow["pesq_margin"] < 0 and not _passes(narrow)
    assert wide["pesq_margin"] is None and _passes(wide)
    assert not _passes(_guards({}, [("resample", dict(model, snr=23.0), sinc)], pesq_guard=False))
    # the PESQ-WB margin: a model 0.1 above sinc passes without one and fails with 0.2 (the worst condition counts)
    above = [("resample", dict(model, pesq=4.73), sinc), ("codec:gsm", dict(model, pesq=4.93), sinc)]
    assert _passes(_guards({}, above)) and _guards({}, above)["pesq_margin"] == pytest.approx(0.1)
    assert not _passes(_guards({}, above, pesq_margin=0.2))
    assert _guards({}, above, pesq_margin=0.2)["pesq_margin"] == pytest.approx(-0.1)


def _gap_card(**trim):
    rows = [{"trim_db": -9.0, "pesq_margin": 0.05}, {"trim_db": -12.0, "pesq_margin": 0.2}]
    metrics = {
        "resample": {"int8": {"pesq": 3.5}, "model": {"pesq": 3.52}, "sinc": {"pesq": 3.6}},
        "telephone:mulaw": {"int8": {"pesq": 3.05}, "model": {"pesq": 3.06}, "sinc": {"pesq": 3.1}},
        "butter:4": {"int8": {"pesq": 3.0}, "model": {"pesq": 3.0}, "sinc": {"pesq": 3.6}},  # not a calibration input
    }
    t = {"trim_db": -9.0, "how": "auto", "degradations": ["resample", "telephone:mulaw"], "calibration": rows}
    return {"name": "m", "high_band_trim": {**t, **trim}, "metrics": metrics}


def test_guard_gap_compares_calibration_and_held_out_margins_at_the_chosen_level():
    from keras_audiosr.pretrained.trim import guard_gap

    g = guard_gap(_gap_card())
    assert g["conditions"] == ["resample", "telephone:mulaw"] and g["trim_db"] == -9.0
    assert g["held_out"] == pytest.approx({"resample": -0.1, "telephone:mulaw": -0.05})
    assert g["calibration_margin"] == pytest.approx(0.05) and g["gap"] == pytest.approx(0.15)
    assert guard_gap(_gap_card(), "model")["gap"] == pytest.approx(0.05 + 0.08)
    # a recorded guard margin is added back: the calibration row's margin was counted from sinc + 0.21
    assert guard_gap(_gap_card(pesq_guard_margin=0.21))["calibration_margin"] == pytest.approx(0.26)
    with pytest.raises(ValueError, match="m: no PESQ-WB-guarded level"):
        guard_gap(_gap_card(how="given"))
    with pytest.raises(ValueError, match="none of the calibration's conditions"):
        guard_gap(_gap_card(degradations=["codec:gsm"]))


def test_guard_gap_tool_prints_a_row_per_card_and_refuses_a_bad_one(tmp_path, capsys):
    import json

    from tools import guard_gap

    card = tmp_path / "card.json"
    card.write_text(json.dumps(_gap_card()))
    assert guard_gap.main([str(card)]) == 0
    out = capsys.readouterr().out
    assert "| m | -9 | resample, telephone:mulaw | +0.050 | -0.100 (-0.080) | 0.150 (0.130) |" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert guard_gap.main([str(card), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "bad.json: not a readable model card" in captured.err


def test_target_origin_names_the_cascade_and_the_guards_per_input_rate():
    from keras_audiosr.pretrained.card import target_origin

    assert target_origin(8000, 16000).startswith("the best published systems") and "PESQ-WB, SNR" in target_origin(
        8000, 16000
    )
    assert "PESQ-WB, which hears only the input band, is reported" in target_origin(16000, 48000)
    assert "`telephony-8k-16k` -> `wideband-16k-48k`" in target_origin(8000, 48000)


def test_the_upper_band_is_freed_only_for_a_narrow_input_and_a_wide_output(monkeypatch):
    pytest.importorskip("keras")
    from keras_audiosr.models.streaming_bwe import StreamingBWE
    from keras_audiosr.pretrained import trim as trim_mod

    narrow_wide = StreamingBWE.from_size("tiny", ratio=6, hr_rate=48000, transition=(0.9, 1.0))
    assert trim_mod.upper_band_split_hz(narrow_wide) == 9000.0
    assert trim_mod.upper_band_split_hz(StreamingBWE.from_size("tiny", ratio=2, hr_rate=16000)) is None
    assert trim_mod.upper_band_split_hz(StreamingBWE.from_size("tiny", ratio=3, hr_rate=48000)) is None
    calls, picks = [], [-6.0, -15.0]

    def fake_choose(model, files, **kw):
        calls.append(kw)
        level = picks.pop(0)
        model.set_upper_band(kw["upper_band_hz"], level)
        return level, [{"trim_db": level, "visqol": 3.0}]

    monkeypatch.setattr(trim_mod, "choose_high_band_trim", fake_choose)
    rows = [{"trim_db": db, "passes": db <= -12} for db in (0.0, -6.0, -12.0, -15.0)]
    quiet = lambda t: None  # noqa: E731
    upper = trim_mod._choose_upper_band(narrow_wide, ["a.wav"], ("resample",), "visqol", -15.0, rows, quiet)
    assert calls[0]["candidates_db"] == [0.0, -6.0, -12.0, -15.0] and calls[0]["upper_band_hz"] == 9000.0
    assert upper["applied"] and upper["trim_db"] == -6.0 and narrow_wide.upper_band_trim_db == -6.0
    # the sweep keeps the level below: one level, no upper band set
    upper = trim_mod._choose_upper_band(narrow_wide, ["a.wav"], ("resample",), "visqol", -15.0, rows, quiet)
    assert not upper["applied"] and narrow_wide.upper_band_hz is None
    narrow_wide.set_upper_band(8000.0, -6.0)
    # a chosen level that failed its guards: the upper band cannot mend it
    assert trim_mod._choose_upper_band(narrow_wide, [], ("resample",), "visqol", -6.0, rows, quiet) is None
    # "none", and "auto" without PESQ-WB, keep a carried upper band as it was, and say so
    for how in ("none", "auto"):
        info = trim_mod.apply_high_band_trim(narrow_wide, [], how, False, log=quiet)
        assert info["upper_band"] == {"hz": 8000.0, "trim_db": -6.0, "how": "kept", "applied": True}
        assert (narrow_wide.upper_band_hz, narrow_wide.upper_band_trim_db) == (8000.0, -6.0)
    assert "upper_band" not in trim_mod.apply_high_band_trim(narrow_wide, [], "-3", False)
    assert narrow_wide.upper_band_hz is None  # a given level is one level for the whole band


def test_the_card_shows_the_upper_band_level_and_its_sweep():
    from keras_audiosr.pretrained.card_levels import _upper_line
    from keras_audiosr.pretrained.card_levels import level_sweep_block as _sweep_block

    row = dict.fromkeys(("visqol", "pesq", "lsd", "snr", "snr_lb"), 1.0)
    row.update({f"sinc_{k}": 0.5 for k in ("visqol", "pesq", "lsd", "snr", "snr_lb")})
    upper = {"hz": 8000.0, "trim_db": -6.0, "applied": True, "calibration": [dict(row, trim_db=-6.0, passes=True)]}
    trim = {
        "trim_db": -15.0,
        "how": "auto",
        "degradations": ["resample"],
        "calibration": [dict(row, trim_db=-15.0, passes=True)],
        "upper_band": upper,
    }
    assert "Above 8 kHz the added band is set -6 dB" in _upper_line(trim) and "-15 dB" in _upper_line(trim)
    block = _sweep_block(trim)
    assert "Then the level above 8 kHz" in block and "| -6 **chosen** |" in block
    assert _upper_line({"trim_db": -9.0}) == "" and "Then the level" not in _sweep_block(dict(trim, upper_band=None))
    assert "the same level" in _upper_line(dict(trim, upper_band=dict(upper, trim_db=-15.0, applied=False)))
    assert "as the model had it" in _upper_line(dict(trim, upper_band=dict(upper, how="kept", calibration=None)))


def test_calibration_files_take_each_corpus_in_turn():
    from types import SimpleNamespace

    from keras_audiosr.pretrained.trim import calibration_files

    # as a multi-corpus run names them: 200 LibriSpeech readers (speaker/chapter/file), 3 VCTK speakers, LJ Speech
    utts = [
        SimpleNamespace(path=f"data/s16/librispeech/{i}/{i}-1/{i}-1-{j}.flac", speaker=f"s16/librispeech/libri{i}")
        for i in range(100, 300)
        for j in range(3)
    ]
    utts += [
        SimpleNamespace(path=f"data/vctk/wav48/p{i}/p{i}_{j}.flac", speaker=f"vctk/p{i}")
        for i in range(3)
        for j in range(2)
    ]
    utts += [SimpleNamespace(path="data/lj/LJ001.flac", speaker="lj/lj")]
    files = calibration_files(utts, n=8)
    assert len(files) == 8 and len(set(files)) == 8
    assert sum("/vctk/" in f for f in files) == 3 and sum("/lj/" in f for f in files) == 1
    libri = [f for f in files if "/librispeech/" in f]
    assert len(libri) == 4 and libri[0].endswith("100-1-1.flac")  # the middle file of each speaker
    assert max(int(f.split("/")[3]) for f in libri) > 200  # spread over the readers, not the first four
    assert calibration_files(utts[:2], n=8) == [utts[1].path]


def test_card_level_line_states_the_pesq_guard_margin_it_was_chosen_with():
    from keras_audiosr.pretrained.card_levels import level_lines

    trim = {"trim_db": -12.0, "how": "auto", "pesq_guard": True, "degradations": ["resample"], "files": ["a"]}
    assert "PESQ-WB at or above sinc's" in level_lines(trim)
    line = level_lines({**trim, "pesq_guard_margin": 0.21})
    assert "PESQ-WB at least 0.21 above sinc's" in line and "tools.guard_gap" in line and "-12 dB" in line
    assert "PESQ-WB at" not in level_lines({**trim, "pesq_guard": False, "pesq_guard_margin": None})
