"""The description inside every shipped and exported .tflite: the standard TFLITE_METADATA entry (a TFLite
ModelMetadata flatbuffer), the keras_audiosr JSON entry and the sidecar, all the same document; the step
signature; the reader without TensorFlow; damaged files as errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_audiosr.streaming.metadata import (
    STANDARD_METADATA_NAME,
    TFLiteError,
    describe_text,
    read_metadata,
    read_model_metadata,
)

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "keras_audiosr" / "pretrained"
SHIPPED = sorted(PRETRAINED.glob("*/*.tflite"))
SIDECAR_ONLY = {
    "edge_ready",
    "files",
    "float_max_abs_error",
    "gates",
    "ops",
    "parity",
    "parity_gates_db",
    "sha256",
    "size_bytes",
}


def _card(path: Path) -> dict:
    return json.loads((path.parent / "card.json").read_text())


def test_every_shipped_model_has_its_three_streams():
    folders = {p.parent.name for p in SHIPPED}
    assert {"telephony-8k-16k", "wideband-16k-48k", "narrowband-8k-48k"} <= folders, folders
    assert len(SHIPPED) == 3 * len(folders), SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_tflite_describes_itself(path):
    standard = read_model_metadata(path)
    assert standard is not None, f"{path}: no {STANDARD_METADATA_NAME}"
    doc = standard["document"]
    card = _card(path)
    # one document: the standard entry's custom metadata, the JSON entry and the sidecar agree
    assert doc == read_metadata(path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert {k: v for k, v in sidecar.items() if k not in SIDECAR_ONLY} == doc
    assert sidecar["size_bytes"] == path.stat().st_size
    if "sha256" in sidecar:
        import hashlib

        assert sidecar["sha256"][path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    # the ModelMetadata's own fields
    assert standard["name"] == doc["name"] == card["name"]
    assert standard["version"] == doc["version"] and standard["author"] == doc["author"]
    assert standard["license"] == doc["licence"] and "Apache-2.0" in doc["licence"]
    assert standard["description"] == doc["description"] == card["description"]
    assert standard["min_parser_version"] == "1.5.0"
    # rates, frame, format, latency, states, level contract
    assert (doc["lr_rate"], doc["hr_rate"]) == (card["lr_rate"], card["hr_rate"])
    assert doc["frame_length"] == card["frame_length"] and doc["output_length"] == doc["frame_length"] * doc["ratio"]
    assert doc["algorithmic_latency_ms"] == pytest.approx(card["algorithmic_latency_ms"])
    fmt = doc["audio"]["input"]["format"]
    assert ("int16 PCM" in fmt) == (doc["io"] == "pcm16") and doc["audio"]["input"]["sample_rate"] == doc["lr_rate"]
    assert doc["level_normalization"]["inside_model"] and doc["level_normalization"]["window_ms"] > 0
    assert doc["signatures"] == ["serving_default", "step"]
    for s in doc["states"]:
        assert s["initial_value"] == (s["zero_point"] if s["dtype"] == "int8" else 0.0)
        assert s["output"] in s["feeds"] and s["input"] in s["feeds"]
    # one TensorMetadata per subgraph input/output, in the subgraph's order; audio tensors carry their rate
    from keras_audiosr.streaming.metadata import parse_model

    model = parse_model(path)
    graph = model.subgraphs[0]
    sg = standard["subgraphs"][0]
    assert [t["name"] for t in sg["inputs"]] == [graph.tensors[i].name.decode() for i in graph.inputs]
    assert [t["name"] for t in sg["outputs"]] == [graph.tensors[i].name.decode() for i in graph.outputs]
    audio_in = next(t for t in sg["inputs"] if t["name"] == doc["input"]["name"])
    audio_out = next(t for t in sg["outputs"] if t["name"] == doc["output"]["name"])
    assert audio_in["audio"] == {"sample_rate": doc["lr_rate"], "channels": 1}
    assert audio_out["audio"] == {"sample_rate": doc["hr_rate"], "channels": 1}
    assert sum("audio" in t for t in sg["inputs"] + sg["outputs"]) == 2
    text = describe_text(path)
    assert STANDARD_METADATA_NAME in text and card["name"] in text and f"{len(doc['states'])} (each" in text


@pytest.mark.parametrize("path", [p for p in SHIPPED if "int8" in p.name], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_step_signature_is_serving_default(path):
    """The ``step`` signature has serving_default's names and computes the same outputs on the golden fixture."""
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    sigs = it.get_signature_list()
    assert sigs["step"] == sigs["serving_default"]
    inputs = dict(np.load(path.with_name(path.stem + ".inputs.npz")))
    step = it.get_signature_runner("step")(**inputs)
    expected = np.load(path.with_name(path.stem + ".expected.npz"))
    serving = it.get_signature_runner("serving_default")(**inputs)
    atol = json.loads(path.with_suffix(".json").read_text())["files"]["atol"]
    for k in serving:
        np.testing.assert_array_equal(step[k], serving[k])
        assert np.max(np.abs(step[k].astype(np.float64) - expected[k])) <= atol[k]


def test_reader_imports_no_tensorflow_or_litert():
    code = (
        "import sys; from keras_audiosr.streaming.metadata import read_model_metadata as r, describe_text as d; "
        f"m = r({str(SHIPPED[0])!r}); d({str(SHIPPED[0])!r}); assert m['document']['stateful']; "
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras', 'ai_edge_litert')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_add_metadata_round_trip_and_plain_documents():
    """An export's document is completed and written to both entries; any other document goes in as it is."""
    from keras_audiosr.export.metadata import add_metadata

    path = next(p for p in SHIPPED if p.name.endswith("_int8.tflite"))
    data = path.read_bytes()
    plain = add_metadata(data, {"x": 1})
    assert read_metadata(plain) == {"x": 1} and read_model_metadata(plain)["document"] == {"x": 1}
    doc = {
        k: v
        for k, v in read_metadata(path).items()
        if k not in ("name", "version", "author", "licence", "description", "audio", "signatures")
    }
    written = add_metadata(data, doc)
    assert doc["name"] == doc["model"] and doc["version"] and doc["signatures"] == ["serving_default", "step"]
    assert read_model_metadata(written)["document"] == read_metadata(written) == doc
    again = add_metadata(written, doc)  # replaces, never appends a second copy
    assert len(again) == len(written)
    from keras_audiosr.streaming.metadata import parse_model

    names = [e.name.decode() for e in parse_model(again).metadata]
    assert names.count(STANDARD_METADATA_NAME) == 1 and names.count("keras_audiosr") == 1


def test_damaged_files_are_errors_naming_the_file(tmp_path):
    path = next(p for p in SHIPPED if p.name.endswith("_int8-pcm16.tflite"))
    data = path.read_bytes()
    short = tmp_path / "short.tflite"
    short.write_bytes(data[: len(data) // 2])
    with pytest.raises(TFLiteError, match="short.tflite"):
        read_model_metadata(short)
    # damage the ModelMetadata flatbuffer itself: its root offset points past the end
    at = data.find(b"M001") - 4
    assert at > 0
    bad = bytearray(data)
    bad[at : at + 4] = (10**8).to_bytes(4, "little")
    damaged = tmp_path / "damaged.tflite"
    damaged.write_bytes(bytes(bad))
    with pytest.raises(TFLiteError, match="damaged.tflite.*TFLITE_METADATA"):
        read_model_metadata(damaged)
    # a model without the standard entry: None from the reader, the JSON entry still read
    import flatbuffers

    from keras_audiosr.streaming.metadata import parse_model

    model = parse_model(data)
    model.metadata = [e for e in model.metadata if e.name.decode() != STANDARD_METADATA_NAME]
    builder = flatbuffers.Builder(len(data))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    legacy = bytes(builder.Output())
    assert read_model_metadata(legacy) is None and read_metadata(legacy) == read_metadata(path)
    assert "JSON entry only" in describe_text(legacy)


def test_stamp_tool_keeps_numerics(tmp_path):
    """tools/stamp_metadata.py on a copy of a shipped folder: weights and fixture outputs unchanged, idempotent."""
    import shutil

    pytest.importorskip("ai_edge_litert")
    folder = tmp_path / "telephony-8k-16k"
    shutil.copytree(PRETRAINED / "telephony-8k-16k", folder, ignore=shutil.ignore_patterns("model.keras"))
    shutil.copyfile(PRETRAINED / "telephony-8k-16k" / "model.keras", folder / "model.keras")
    before = {p.name: p.read_bytes() for p in folder.glob("*.tflite")}
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "stamp_metadata.py"), str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("weights byte-identical, fixture outputs identical") == 3
    assert {p.name: p.read_bytes() for p in folder.glob("*.tflite")} == before  # already stamped: same bytes


def test_cli_info_prints_the_embedded_description(capsys):
    from keras_audiosr.cli import main

    path = next(p for p in SHIPPED if p.name.endswith("_int8-pcm16.tflite"))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    doc = read_metadata(path)
    for text in (
        STANDARD_METADATA_NAME,
        doc["name"],
        "int16 PCM",
        f"{doc['lr_rate']} Hz",
        "reset",
        "level:",
        doc["states"][0]["output"],
    ):
        assert text in out, text
    assert main(["info", "--json", str(path)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["description"] == doc and facts["tflite_metadata"]["document"] == doc
    assert main(["info", str(path.with_name("absent.tflite"))]) == 2
    assert "absent.tflite: file not found" in capsys.readouterr().err


def test_stamp_updates_the_sidecar_size_and_digest(tmp_path):
    """Stamping after an export keeps the sidecar true to the new bytes (size and SHA-256), the rest unchanged."""
    import hashlib
    import shutil

    from keras_audiosr.export.metadata import stamp_tflite

    src = next(p for p in SHIPPED if p.name.endswith("_int8.tflite"))
    path = tmp_path / src.name
    shutil.copyfile(src, path)
    side = json.loads(src.with_suffix(".json").read_text())
    side["sha256"] = {path.name: "stale", "other.npz": "kept"}
    path.with_suffix(".json").write_text(json.dumps(side))
    doc = stamp_tflite(path, name="renamed", description="a test stamp")
    new = json.loads(path.with_suffix(".json").read_text())
    assert doc["name"] == read_metadata(path)["name"] == read_model_metadata(path)["name"] == new["name"] == "renamed"
    assert new["sha256"] == {path.name: hashlib.sha256(path.read_bytes()).hexdigest(), "other.npz": "kept"}
    assert new["size_bytes"] == path.stat().st_size and new["gates"] == side["gates"]
