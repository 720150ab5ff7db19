"""Writing the description a ``.tflite`` carries inside itself (the reader is
:mod:`keras_audiosr.streaming.metadata`, which the runtime needs without the export side).

One document (a dict: rates, frame, latency, audio format, state tensors and their wiring, level
contract, name, version, licence, author) is written twice into the flatbuffer, from the same bytes:

* the ``keras_audiosr`` metadata entry: the UTF-8 JSON document itself (what this package has always
  read);
* the standard ``TFLITE_METADATA`` entry: a TFLite ``ModelMetadata`` flatbuffer (file identifier
  ``M001``, metadata schema 1.5) that LiteRT's metadata tooling reads (Android's ``MetadataExtractor``):
  name, description, version, author, licence; one ``TensorMetadata`` per input and output of the
  subgraph in its order (audio tensors with ``AudioProperties``: sample rate and channels; each state
  tensor says which output feeds it and its reset value); and a ``CustomMetadata`` entry
  ``keras_audiosr`` holding the same JSON document. It is built by hand with the ``flatbuffers``
  package (``tflite-support`` is not installable for this Python), field numbers as in
  ``tensorflow_lite_support/metadata/metadata_schema.fbs``.

A stateful model also gets a second signature, ``step``, with the same named inputs and outputs as
``serving_default``, so Android code can call ``runSignature(inputs, outputs, "step")``.
"""

from __future__ import annotations

import copy
import json

from keras_audiosr.streaming import metadata as _reader
from keras_audiosr.streaming.metadata import litert_schema, parse_model

METADATA_FORMAT, METADATA_NAME = _reader.METADATA_FORMAT, _reader.METADATA_NAME
STANDARD_METADATA_NAME, STEP_SIGNATURE = _reader.STANDARD_METADATA_NAME, _reader.STEP_SIGNATURE
TFLITE_IDENTIFIER = _reader.TFLITE_IDENTIFIER

__all__ = [
    "AUTHOR",
    "LICENCE",
    "add_metadata",
    "describe",
    "level_normalization",
    "model_metadata_flatbuffer",
    "stamp_model_folder",
    "stamp_tflite",
]

AUTHOR = "keras_audiosr contributors"
LICENCE = (
    "Apache-2.0 (code and weights); the shipped models were trained on CC BY 4.0, ODC-By 1.0 and public-domain "
    "speech: attribution in the model card"
)
MIN_PARSER_VERSION = "1.5.0"  # CustomMetadata in SubGraphMetadata
_AUDIO_PROPERTIES = 4  # ContentProperties union: FeatureProperties=1, ImageProperties, BoundingBox, Audio=4
_FEATURE_PROPERTIES = 1


def level_normalization(model) -> dict | None:
    """The level contract of ``model`` (a Keras model or its config dict), or None when it has no level stage."""
    config = model if isinstance(model, dict) else model.get_config()
    if "level_window_ms" not in config:
        return None
    return {
        "inside_model": True,
        "window_ms": float(config["level_window_ms"]),
        "floor": float(config["level_floor"]),
        "clip": None if config.get("level_clip") is None else float(config["level_clip"]),
        "state": "level",
        "contract": (
            "feed audio at its own level, full scale 1.0 (int16 PCM: 32768); the model divides the core's "
            "input by its running RMS (this window, this floor: full scale 1) and multiplies the core's "
            "output back, carrying the level in the 'level' state tensor: no AGC, gain or normalisation is "
            "needed before or after it, and the low band passes through at the input's level"
        ),
    }


def describe(
    document: dict,
    *,
    name: str | None = None,
    version: str | None = None,
    description: str | None = None,
    author: str = AUTHOR,
    licence: str = LICENCE,
    level=None,
) -> dict:
    """``document`` (an export's metadata) completed with the description fields an integrator needs.

    Adds, where absent: ``name``, ``version``, ``author``, ``licence``, ``description``, ``audio`` (rate,
    channels and sample format of the input and output), ``level_normalization`` (``level``: the
    model or its config) and, for a stateful model, ``signatures`` and each state's ``feeds``
    sentence. Returns a new dict; values already in ``document`` are kept.
    """
    import keras_audiosr

    doc = dict(document)
    stateful = bool(doc.get("stateful"))
    doc.setdefault("name", name or doc.get("model", "keras_audiosr model"))
    doc.setdefault("version", version or doc.get("keras_audiosr_version") or keras_audiosr.__version__)
    doc.setdefault("author", author)
    doc.setdefault("licence", licence)
    if "lr_rate" in doc and "hr_rate" in doc:
        what = "stateful streaming" if stateful else "fixed-window"
        doc.setdefault(
            "description",
            description
            or (
                f"speech bandwidth extension {doc['lr_rate']} Hz -> {doc['hr_rate']} Hz, {what} "
                f"{doc.get('mode', '')} model ({doc.get('model_class', doc.get('model', ''))}), "
                f"{doc.get('frame_length')}-sample frames, algorithmic latency {doc.get('algorithmic_latency_ms')} ms"
            ),
        )

        def audio(spec, rate, length):
            fmt = {
                "int16": "int16 PCM (full scale 32768)",
                "float32": "float32, full scale 1.0",
                "int8": "int8, quantized with the tensor's scale and zero point",
            }
            dtype = (spec or {}).get("dtype", "float32")
            return {
                "tensor": (spec or {}).get("name"),
                "sample_rate": int(rate),
                "channels": 1,
                "samples_per_call": length,
                "format": fmt.get(dtype, dtype),
            }

        doc.setdefault(
            "audio",
            {
                "input": audio(doc.get("input"), doc["lr_rate"], doc.get("input_length")),
                "output": audio(doc.get("output"), doc["hr_rate"], doc.get("output_length")),
            },
        )
    if level is not None:
        doc.setdefault("level_normalization", level_normalization(level))
    else:
        doc.setdefault("level_normalization", None)
    if stateful:
        doc.setdefault("signatures", [doc.get("signature", "serving_default"), STEP_SIGNATURE])
        doc["states"] = [
            {
                **s,
                "feeds": s.get("feeds")
                or (
                    f"output {s['output']} -> input {s['input']} of the next call; reset: every element "
                    f"{s.get('initial_value', 0)}"
                ),
            }
            for s in doc.get("states", [])
        ]
    return doc


# ---- the ModelMetadata flatbuffer -------------------------------------------------------------------
def _end_vector(builder, n):
    try:
        return builder.EndVector()
    except TypeError:  # flatbuffers < 2
        return builder.EndVector(n)


def _table(builder, fields: list) -> int:
    """A table of ``[(slot, kind, value)]``, kind ``"offset"``, ``"u32"`` or ``"u8"``; None values are skipped."""
    fields = [f for f in fields if f[2] is not None]
    builder.StartObject(max([f[0] for f in fields], default=-1) + 1)
    for slot, kind, value in fields:
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "u32":
            builder.PrependUint32Slot(slot, value, 0)
        else:
            builder.PrependUint8Slot(slot, value, 0)
    return builder.EndObject()


def _offsets(builder, offsets: list) -> int | None:
    if not offsets:
        return None
    builder.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        builder.PrependUOffsetTRelative(o)
    return _end_vector(builder, len(offsets))


def _aligned_bytes(builder, data: bytes, alignment: int = 16) -> int:
    builder.StartVector(1, len(data), alignment)
    builder.head = builder.head - len(data)
    builder.Bytes[builder.head : builder.head + len(data)] = data
    return _end_vector(builder, len(data))


def _tensor_entries(doc: dict, names: list, outputs: bool) -> list:
    """``(name, description, sample_rate or None)`` for each tensor name, in the subgraph's order."""
    audio = doc.get("output" if outputs else "input") or {}
    rate = doc.get("hr_rate" if outputs else "lr_rate")
    fmt = (doc.get("audio") or {}).get("output" if outputs else "input", {}).get("format", "")
    by_tensor = {(s["output"] if outputs else s["input"]): s for s in doc.get("states", [])}
    entries = []
    for name in names:
        if name == audio.get("name") and rate:
            length = doc.get("output_length" if outputs else "input_length")
            what = "output audio" if outputs else "input audio"
            entries.append((name, f"{what}: {length} samples at {rate} Hz, mono, {fmt}", int(rate)))
        elif name in by_tensor:
            s = by_tensor[name]
            role = (
                f"new state '{s['name']}': copy into input {s['input']} for the next call"
                if outputs
                else f"state '{s['name']}': the previous call's output {s['output']}; at the start of a stream every "
                f"element is {s.get('initial_value', 0)}"
            )
            entries.append((name, f"{role} ({s.get('dtype')}, shape {s.get('shape')})", None))
        else:
            entries.append((name, "", None))
    return entries


def model_metadata_flatbuffer(document: dict, input_names: list, output_names: list) -> bytes:
    """The TFLite ``ModelMetadata`` flatbuffer (``M001``) of ``document`` for a subgraph with these tensors."""
    import flatbuffers

    b = flatbuffers.Builder(4096)
    doc_bytes = json.dumps(document, sort_keys=True).encode("utf-8")

    def text(value):
        return None if value in (None, "") else b.CreateString(str(value))

    def tensors(entries):
        out = []
        for name, desc, rate in entries:
            if rate:
                props = _table(b, [(0, "u32", rate), (1, "u32", 1)])  # AudioProperties
                content = _table(b, [(0, "u8", _AUDIO_PROPERTIES), (1, "offset", props)])
            else:
                props = _table(b, [])  # FeatureProperties
                content = _table(b, [(0, "u8", _FEATURE_PROPERTIES), (1, "offset", props)])
            out.append(_table(b, [(0, "offset", text(name)), (1, "offset", text(desc)), (3, "offset", content)]))
        return _offsets(b, out)

    inputs = tensors(_tensor_entries(document, input_names, outputs=False))
    outputs = tensors(_tensor_entries(document, output_names, outputs=True))
    custom = _table(b, [(0, "offset", b.CreateString(METADATA_NAME)), (1, "offset", _aligned_bytes(b, doc_bytes))])
    custom_vec = _offsets(b, [custom])
    usage = document.get("usage")
    subgraph = _table(
        b,
        [
            (0, "offset", text(STEP_SIGNATURE if document.get("stateful") else None)),
            (1, "offset", text(usage)),
            (2, "offset", inputs),
            (3, "offset", outputs),
            (9, "offset", custom_vec),
        ],
    )
    subgraphs = _offsets(b, [subgraph])
    root = _table(
        b,
        [
            (0, "offset", text(document.get("name", document.get("model")))),
            (1, "offset", text(document.get("description"))),
            (2, "offset", text(document.get("version"))),
            (3, "offset", subgraphs),
            (4, "offset", text(document.get("author"))),
            (5, "offset", text(document.get("licence"))),
            (7, "offset", text(MIN_PARSER_VERSION)),
        ],
    )
    b.Finish(root, file_identifier=b"M001")
    return bytes(b.Output())


# ---- into the .tflite ---------------------------------------------------------------------------------
def _set_entry(schema, model, name: str, payload: bytes) -> None:
    buffer = schema.BufferT()
    buffer.data = list(payload)
    for entry in model.metadata:
        entry_name = entry.name.decode("utf-8") if isinstance(entry.name, bytes) else entry.name
        if entry_name == name:
            model.buffers[entry.buffer] = buffer
            return
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)


def _add_step_signature(model) -> None:
    keys = [
        s.signatureKey.decode() if isinstance(s.signatureKey, bytes) else s.signatureKey
        for s in model.signatureDefs or []
    ]
    if STEP_SIGNATURE in keys or not keys:
        return
    step = copy.deepcopy(model.signatureDefs[0])
    step.signatureKey = STEP_SIGNATURE
    model.signatureDefs.append(step)


def add_metadata(tflite: bytes, document: dict, name: str = METADATA_NAME) -> bytes:
    """``tflite`` with ``document`` stored inside, replacing older copies.

    ``document`` is written as the JSON entry ``name`` and, when ``name`` is the package's own entry,
    also as the standard ``TFLITE_METADATA`` (``ModelMetadata``, its ``CustomMetadata`` holding the same
    JSON). An export's document (``format`` :data:`METADATA_FORMAT`) is first completed in place by
    :func:`describe` -- so the sidecar JSON written from the same dict carries the same fields -- and a
    stateful model gains the ``step`` signature.
    """
    import flatbuffers

    schema = litert_schema()
    model = parse_model(tflite)
    if name == METADATA_NAME and document.get("format") == METADATA_FORMAT:
        completed = describe(document)
        document.clear()
        document.update(completed)
    model.buffers = list(model.buffers or [])
    model.metadata = list(model.metadata or [])
    _set_entry(schema, model, name, json.dumps(document, sort_keys=True).encode("utf-8"))
    if name == METADATA_NAME:
        graph = model.subgraphs[0]

        def names(indices):
            return [
                graph.tensors[i].name.decode("utf-8")
                if isinstance(graph.tensors[i].name, bytes)
                else str(graph.tensors[i].name)
                for i in indices
            ]

        _set_entry(
            schema,
            model,
            STANDARD_METADATA_NAME,
            model_metadata_flatbuffer(document, names(graph.inputs), names(graph.outputs)),
        )
        if document.get("stateful"):
            _add_step_signature(model)
    builder = flatbuffers.Builder(len(tflite) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    return bytes(builder.Output())


# ---- stamping files already written --------------------------------------------------------------------
def _keras_config(path) -> dict | None:
    """The model's config from a ``.keras`` archive (its ``config.json``), read without Keras."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("config.json")).get("config")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def stamp_tflite(
    path,
    *,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
    level=None,
    sidecar: bool = True,
) -> dict:
    """Re-writes the ``.tflite`` at ``path`` with its description completed and stored in both entries.

    The document already inside (its ``keras_audiosr`` entry) is kept and completed by :func:`describe`
    (``name``/``description``/``version`` given here replace the ones there; ``level``: the model or
    its config for the level contract). Only metadata buffers, metadata entries and the signature list
    change: every tensor, operator and weight buffer is repacked unchanged, so the numerics are the
    same. With ``sidecar``, the keys of the document in ``<stem>.json`` beside it are set to the same
    values, and its ``size_bytes`` and ``sha256`` of the file follow the new bytes. Returns the document.
    """
    from pathlib import Path

    from keras_audiosr.export.files import write_bytes
    from keras_audiosr.streaming.metadata import load_flatbuffer, read_metadata

    path = Path(path)
    data, _ = load_flatbuffer(path)
    doc = read_metadata(data)
    for key, value in (("name", name), ("description", description), ("version", version)):
        if value is not None:
            doc[key] = value
    if level is not None:
        doc["level_normalization"] = level_normalization(level)
    doc = describe(doc)
    stamped = add_metadata(data, doc)
    side = path.with_suffix(".json")
    if sidecar and side.is_file():
        import hashlib

        from keras_audiosr.export.files import json_bytes
        from keras_audiosr.utils import write_file_set

        old = json.loads(side.read_text())
        new = {**old, **doc}
        if "size_bytes" in old:
            new["size_bytes"] = len(stamped)
        if isinstance(old.get("sha256"), dict) and path.name in old["sha256"]:
            new["sha256"] = {**old["sha256"], path.name: hashlib.sha256(stamped).hexdigest()}
        # the model and its sidecar change together (the sidecar last), never one without the other
        write_file_set(path.parent, {path.name: stamped, side.name: json_bytes(new)}, manifest=side.name)
    else:
        write_bytes(path, stamped)
    return doc


def stamp_model_folder(folder, card: dict | None = None, log=print) -> list:
    """Stamps every ``.tflite`` a shipped model folder lists (its ``card.json``) with the card's name,
    description and version and the level contract of its ``model.keras``; returns the paths."""
    from pathlib import Path

    folder = Path(folder)
    if card is None:
        card = json.loads((folder / "card.json").read_text())
    config = _keras_config(folder / card.get("keras", "model.keras"))
    paths = []
    for mode, file in sorted((card.get("tflite") or {}).items()):
        path = folder / file
        doc = stamp_tflite(
            path,
            name=card.get("name"),
            description=card.get("description"),
            version=card.get("version") or card.get("keras_audiosr_version"),
            level=config,
        )
        log(
            f"[stamp] {path}: {STANDARD_METADATA_NAME} ({doc['name']} {doc['version']}, {mode}, "
            f"{len(doc.get('states', []))} states)"
        )
        paths.append(path)
    return paths
