"""tools/results_table.py --filters: Sulun & Davies' seen/unseen-filter table from evaluate reports."""

import json

import pytest

from tools import results_table


def _report(filter_spec, training_set, model_snr):
    order = ["cheby1:8", "butter:4", "resample"]
    degs = {
        lb: {
            "spec": lb,
            "mean": {
                "sinc": {"snr": 18.0, "pesq": 3.5},
                "spline": {"snr": 17.5, "pesq": 3.0},
                "model": {"snr": model_snr[lb], "pesq": 3.1},
            },
        }
        for lb in order
    }
    return {
        "lr_rate": 8000,
        "hr_rate": 16000,
        "n_files": 3,
        "order": order,
        "degradations": degs,
        "model": {"degradation": {"filter": filter_spec}, "training_degradations": training_set},
    }


def test_filters_table_marks_who_saw_each_filter_and_the_difference_to_sinc(tmp_path, capsys):
    single = _report("cheby1:8", None, {"cheby1:8": 19.5, "butter:4": 15.0, "resample": 14.25})
    multi = _report("cheby1:8", "multi-filter", {"cheby1:8": 19.0, "butter:4": 18.5, "resample": 18.0})
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(single))
    b.write_text(json.dumps(multi))
    results_table.main(["--filters", f"one filter={a}", f"many={b}", "--md", str(tmp_path / "t.md")])
    out = capsys.readouterr().out
    assert (tmp_path / "t.md").read_text().strip() == out.strip()
    assert "| `cheby1:8` | one filter, many | 18.00 | 17.50 | 19.50 (+1.50) | 19.00 (+1.00) |" in out
    assert "| `butter:4` | none | 18.00 | 17.50 | 15.00 (-3.00) | 18.50 (+0.50) |" in out
    assert "| `resample` | none |" in out
    assert "PESQ-WB" in out and "LSD" not in out  # a metric the reports lack is left out


def test_filters_table_refuses_reports_of_different_inputs(tmp_path):
    single = _report("cheby1:8", None, {"cheby1:8": 19.5, "butter:4": 15.0, "resample": 14.25})
    other = dict(single, n_files=2)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(single))
    b.write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="other degradations or files"):
        results_table.main(["--filters", f"x={a}", f"y={b}"])


def test_filters_table_refuses_own_and_reports_of_other_files(tmp_path):
    single = _report("cheby1:8", None, {"cheby1:8": 19.5, "butter:4": 15.0, "resample": 14.25})
    for _lb, rep in single["degradations"].items():
        rep["files"] = [{"path": "a.flac"}, {"path": "b.flac"}, {"path": "c.flac"}]
    moved = json.loads(json.dumps(single))
    moved["degradations"]["resample"]["files"][2]["path"] = "d.flac"
    own = json.loads(json.dumps(single))
    own["order"][0] = "own"
    own["degradations"]["own"] = own["degradations"].pop("cheby1:8")
    paths = {}
    for name, rep in (("a", single), ("b", moved), ("o", own)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(rep))
    with pytest.raises(SystemExit, match="other degradations or files"):
        results_table.main(["--filters", f"x={paths['a']}", f"y={paths['b']}"])
    with pytest.raises(SystemExit, match="'own' differs per model"):
        results_table.main(["--filters", f"x={paths['o']}", f"y={paths['o']}"])
