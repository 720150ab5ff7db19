"""tools/compare_systems.py: systems of several reports side by side, on the inputs they share."""

import json

import pytest

from tools import compare_systems


def _suite(path, model, sinc, own="cheby1:8", n_files=7, extra=None):
    degs = {
        "own": {"spec": own, "mean": {"model": model, "sinc": sinc}},
        "resample": {"spec": "resample", "mean": {"model": model, "sinc": sinc, **(extra or {})}},
    }
    path.write_text(json.dumps({"order": ["own", "resample"], "degradations": degs, "n_files": n_files}))
    return str(path)


def test_side_by_side_with_lsd_ratios_and_a_second_reference(tmp_path, capsys):
    sinc = {"visqol": 3.0, "lsd": 4.0, "pesq": 3.5}
    a = _suite(tmp_path / "a.json", {"visqol": 3.5, "lsd": 1.0, "pesq": 3.6}, sinc, extra={"cascade": {"lsd": 2.0}})
    card = tmp_path / "card.json"
    card.write_text(
        json.dumps(
            {
                "metrics": {"own": {"int8": {"visqol": 9.0}}, "resample": {"int8": {"visqol": 3.9, "lsd": 0.8}}},
                "evaluation": {"n_files": 7, "degradations": {"own": {"spec": "speech-robust"}}},
            }
        )
    )
    out = tmp_path / "t.md"
    argv = [f"a={a}", f"b={card}:int8", "--reference", "sinc,cascade", "--metrics", "visqol,lsd", "--md", str(out)]
    assert compare_systems.main(argv) == 0
    text = capsys.readouterr().out
    assert text == out.read_text()
    lines = text.splitlines()
    assert (
        lines[0]
        == "| input | ViSQOL sinc | ViSQOL cascade | ViSQOL a | ViSQOL b | LSD sinc | LSD cascade | LSD a | LSD b |"
    )
    assert (
        lines[2] == "| resample | 3.000 | - | 3.500 | 3.900 | 4.000 | 2.000 (0.50x) | 1.000 (0.25x) | 0.800 (0.20x) |"
    )
    assert len(lines) == 3  # "own" is a different input in the two reports: left out


def test_refuses_reports_of_different_files_or_a_missing_system(tmp_path):
    a = _suite(tmp_path / "a.json", {"lsd": 1.0}, {"lsd": 2.0})
    b = _suite(tmp_path / "b.json", {"lsd": 1.0}, {"lsd": 2.0}, n_files=3)
    with pytest.raises(SystemExit, match="different numbers of files"):
        compare_systems.main([f"a={a}", f"b={b}"])
    with pytest.raises(SystemExit, match="has no system 'int8'"):
        compare_systems.main([f"a={a}:int8"])
    with pytest.raises(SystemExit, match="no report has the reference system 'cascade'"):
        compare_systems.main([f"a={a}", "--reference", "sinc,cascade"])
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SystemExit, match="neither a model's card.json nor an evaluation suite report"):
        compare_systems.main([f"x={tmp_path / 'x.json'}"])
