"""Metadata carried inside each ``.tflite``: rates, frame geometry, quantization, degradation.

The JSON document is stored as a named entry of the flatbuffer's ``metadata`` list (the mechanism
TensorFlow itself uses for its ``CONVERSION_METADATA``): ``Model.metadata[i].name ==
"keras_audiosr"`` points at ``Model.buffers[j].data``, the UTF-8 JSON. Any flatbuffer reader of
the TFLite schema finds it (in Kotlin: ``org.tensorflow.lite.schema.Model`` from the LiteRT metadata
library); a ``<name>.json`` sidecar with the same document is written beside every model for apps
that prefer to ship it as an asset.

The same document is also inside the standard ``TFLITE_METADATA`` entry, which LiteRT's metadata
tooling reads (Android's ``MetadataExtractor``): a TFLite ``ModelMetadata`` flatbuffer (``M001``) with
the name, version, author, licence, one ``TensorMetadata`` per input and output (audio tensors with
their sample rate) and the JSON as the ``keras_audiosr`` ``CustomMetadata`` of the first subgraph.
:func:`read_model_metadata` parses it by hand (bounds-checked, no TensorFlow, LiteRT or schema module)
and :func:`describe_text` prints it (``keras-audiosr info MODEL.tflite``); :func:`read_metadata` reads
the JSON entry (ai_edge_litert's flatbuffer schema, parsed whole). :mod:`keras_audiosr.export.metadata`
writes both.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = [
    "METADATA_FORMAT",
    "METADATA_NAME",
    "STANDARD_METADATA_NAME",
    "STEP_SIGNATURE",
    "TFLiteError",
    "describe_text",
    "load_flatbuffer",
    "parse_model",
    "read_metadata",
    "read_model_metadata",
]

METADATA_NAME = "keras_audiosr"
METADATA_FORMAT = "keras_audiosr.edge/1"
TFLITE_IDENTIFIER = b"TFL3"
STANDARD_METADATA_NAME = "TFLITE_METADATA"  # the entry LiteRT's metadata tooling reads: a ModelMetadata flatbuffer
STEP_SIGNATURE = "step"  # a stateful model's one-call signature (serving_default's tensors)


class TFLiteError(ValueError):
    """A ``.tflite`` file that cannot be used (missing, not a TFLite flatbuffer, corrupt); names the file."""


def litert_schema():
    """The TFLite flatbuffer schema (``ai_edge_litert.schema_py_generated``), imported on first use."""
    from ai_edge_litert import schema_py_generated as schema

    return schema


def load_flatbuffer(source, what: str | None = None) -> tuple[bytes, str]:
    """``(bytes, name)`` of a ``.tflite`` path or of raw model bytes, checked for the TFLite identifier."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), what or "<tflite bytes>"
    else:
        path = Path(source)
        name = what or str(path)
        if not path.exists():
            raise TFLiteError(f"{name}: file not found")
        if path.is_dir():
            raise TFLiteError(f"{name}: is a directory, not a .tflite file")
        data = path.read_bytes()
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise TFLiteError(
            f"{name}: not a TFLite model (no 'TFL3' flatbuffer identifier; "
            f"{len(data)} bytes) -- the file is corrupt, truncated or of another format"
        )
    return data, name


def parse_model(source, what: str | None = None):
    """The flatbuffer as a ``schema.ModelT`` object tree; :class:`TFLiteError` naming the file if it does not parse."""
    data, name = load_flatbuffer(source, what)
    try:
        return litert_schema().ModelT.InitFromPackedBuf(data, 0)
    except Exception as e:  # flatbuffers raises struct/index errors on damaged buffers
        raise TFLiteError(f"{name}: corrupt or truncated TFLite flatbuffer ({type(e).__name__}: {e})") from e


def read_metadata(source, name: str = METADATA_NAME) -> dict:
    """The JSON metadata entry ``name`` of a ``.tflite`` path or bytes.

    The whole flatbuffer is parsed first, so a truncated or damaged file is reported even when the
    entry itself survived. Raises :class:`TFLiteError` naming the file when it is not a valid TFLite
    model or has no such entry.
    """
    data, label = load_flatbuffer(source)
    model = parse_model(data, label)
    for entry in model.metadata or []:
        entry_name = entry.name.decode("utf-8") if isinstance(entry.name, bytes) else str(entry.name)
        if entry_name != name:
            continue
        try:
            raw = model.buffers[entry.buffer].data
            return json.loads(bytes(bytearray(raw)).decode("utf-8"))
        except (IndexError, TypeError, ValueError) as e:
            raise TFLiteError(f"{label}: corrupt {name!r} metadata entry ({type(e).__name__}: {e})") from e
    if name == METADATA_NAME:  # a file carrying only the standard entry
        standard = read_model_metadata(data, label)
        if standard is not None and standard["document"] is not None:
            return standard["document"]
    raise TFLiteError(f"{label}: no {name!r} metadata entry (not exported by edge.convert?)")


# ---- the standard TFLITE_METADATA entry, read without TensorFlow or LiteRT --------------------------
class _Flat:
    """A bounds-checked reader of flatbuffer tables (every offset checked: damage is an error, not a crash)."""

    def __init__(self, data: bytes, label: str):
        self.data, self.label = data, label

    def _need(self, at: int, n: int) -> None:
        if at < 0 or n < 0 or at + n > len(self.data):
            raise TFLiteError(
                f"{self.label}: corrupt or truncated flatbuffer (reads {n} bytes at {at} of {len(self.data)})"
            )

    def u32(self, at: int) -> int:
        self._need(at, 4)
        return int.from_bytes(self.data[at : at + 4], "little")

    def u16(self, at: int) -> int:
        self._need(at, 2)
        return int.from_bytes(self.data[at : at + 2], "little")

    def root(self, identifier: bytes) -> int:
        self._need(0, 8)
        if self.data[4:8] != identifier:
            raise TFLiteError(f"{self.label}: no {identifier.decode()!r} flatbuffer identifier")
        return self.u32(0)

    def field(self, table: int, index: int) -> int:
        self._need(table, 4)
        vtable = table - int.from_bytes(self.data[table : table + 4], "little", signed=True)
        size = self.u16(vtable)
        slot = 4 + 2 * index
        if slot + 2 > size:
            return 0
        off = self.u16(vtable + slot)
        return table + off if off else 0

    def table(self, table: int, index: int) -> int:
        f = self.field(table, index)
        return f + self.u32(f) if f else 0

    def scalar(self, table: int, index: int, width: int = 4, default: int = 0) -> int:
        f = self.field(table, index)
        if not f:
            return default
        self._need(f, width)
        return int.from_bytes(self.data[f : f + width], "little")

    def vector(self, table: int, index: int) -> list[int]:
        """Positions of a vector's elements (tables: dereferenced)."""
        f = self.field(table, index)
        if not f:
            return []
        v = f + self.u32(f)
        n = self.u32(v)
        self._need(v + 4, 4 * n)
        return [v + 4 + 4 * i + self.u32(v + 4 + 4 * i) for i in range(n)]

    def bytes_(self, table: int, index: int) -> bytes | None:
        f = self.field(table, index)
        if not f:
            return None
        v = f + self.u32(f)
        n = self.u32(v)
        self._need(v + 4, n)
        return bytes(self.data[v + 4 : v + 4 + n])

    def string(self, table: int, index: int) -> str | None:
        raw = self.bytes_(table, index)
        return None if raw is None else raw.decode("utf-8", errors="replace")


def _metadata_buffer(flat: _Flat, name: str) -> bytes | None:
    root = flat.root(TFLITE_IDENTIFIER)
    buffers = flat.vector(root, 4)  # Model.buffers
    for entry in flat.vector(root, 6):  # Model.metadata: {name, buffer}
        if flat.string(entry, 0) != name:
            continue
        index = flat.scalar(entry, 1)
        if index >= len(buffers):
            raise TFLiteError(f"{flat.label}: metadata entry {name!r} names buffer {index} of {len(buffers)}")
        data = flat.bytes_(buffers[index], 0)  # Buffer.data
        if data is None:  # Buffer.offset / size: stored after the flatbuffer
            offset, size = flat.scalar(buffers[index], 1, 8), flat.scalar(buffers[index], 2, 8)
            flat._need(offset, size)
            data = bytes(flat.data[offset : offset + size])
        return data
    return None


def _tensor_metadata(md: _Flat, t: int) -> dict:
    entry = {"name": md.string(t, 0), "description": md.string(t, 1)}
    content = md.table(t, 3)
    if content:
        kind = md.scalar(content, 0, 1)
        props = md.table(content, 1)
        if kind == 4 and props:  # AudioProperties
            entry["audio"] = {"sample_rate": md.scalar(props, 0), "channels": md.scalar(props, 1)}
        else:
            entry["content"] = {1: "feature", 2: "image", 3: "bounding_box"}.get(kind, kind)
    return entry


def read_model_metadata(source, what: str | None = None) -> dict | None:
    """The standard ``TFLITE_METADATA`` entry (a TFLite ``ModelMetadata`` flatbuffer) of a ``.tflite``, as a dict.

    ``{"name", "description", "version", "author", "license", "min_parser_version", "subgraphs": [{"name",
    "description", "inputs": [...], "outputs": [...], "custom": {name: bytes}}], "document": dict | None}``:
    each tensor ``{"name", "description"}`` plus ``"audio": {"sample_rate", "channels"}`` for an audio
    tensor; ``document`` is the ``keras_audiosr`` custom metadata (the JSON description) parsed. None
    when the file has no such entry. Walks the flatbuffers by hand: no TensorFlow, LiteRT or schema
    module is imported. Raises :class:`TFLiteError` naming the file when either flatbuffer is damaged.
    """
    data, label = load_flatbuffer(source, what)
    raw = _metadata_buffer(_Flat(data, label), STANDARD_METADATA_NAME)
    if raw is None:
        return None
    md = _Flat(raw, f"{label} ({STANDARD_METADATA_NAME})")
    root = md.root(b"M001")
    out = {
        "name": md.string(root, 0),
        "description": md.string(root, 1),
        "version": md.string(root, 2),
        "author": md.string(root, 4),
        "license": md.string(root, 5),
        "min_parser_version": md.string(root, 7),
        "subgraphs": [],
        "document": None,
    }
    for sg in md.vector(root, 3):
        custom = {md.string(c, 0): md.bytes_(c, 1) for c in md.vector(sg, 9)}
        out["subgraphs"].append(
            {
                "name": md.string(sg, 0),
                "description": md.string(sg, 1),
                "inputs": [_tensor_metadata(md, t) for t in md.vector(sg, 2)],
                "outputs": [_tensor_metadata(md, t) for t in md.vector(sg, 3)],
                "custom": custom,
            }
        )
        if out["document"] is None and custom.get(METADATA_NAME) is not None:
            try:
                out["document"] = json.loads(custom[METADATA_NAME].decode("utf-8"))
            except ValueError as e:
                raise TFLiteError(f"{label}: corrupt {METADATA_NAME!r} custom metadata ({e})") from e
    return out


def describe_text(source) -> str:
    """A human-readable account of a ``.tflite``'s embedded description (what ``keras-audiosr info`` prints)."""
    data, label = load_flatbuffer(source)
    standard = read_model_metadata(data, label)
    if standard is not None and standard["document"] is not None:
        doc, where = standard["document"], f"{STANDARD_METADATA_NAME} (ModelMetadata {standard['min_parser_version']})"
    else:
        doc, where = read_metadata(data), f"the {METADATA_NAME!r} JSON entry only (no {STANDARD_METADATA_NAME})"
    lines = [f"{label}", f"  metadata:    {where}"]

    def add(key, value):
        if value not in (None, "", [], {}):
            lines.append(f"  {key + ':':<12} {value}")

    add("name", doc.get("name", doc.get("model")))
    add("version", doc.get("version", doc.get("keras_audiosr_version")))
    add("author", doc.get("author"))
    add("licence", doc.get("licence"))
    add("description", doc.get("description"))
    add("model", f"{doc.get('model_class', doc.get('model'))}, mode {doc.get('mode')}")
    audio = doc.get("audio") or {}
    for side in ("input", "output"):
        a = audio.get(side)
        if a:
            add(
                side,
                f"{a.get('tensor')}: {a.get('samples_per_call')} samples at {a.get('sample_rate')} Hz, "
                f"{a.get('channels')} channel, {a.get('format')}",
            )
    if not audio:
        add("rates", f"{doc.get('lr_rate')} -> {doc.get('hr_rate')} Hz")
    add(
        "frame",
        f"{doc.get('frame_length')} samples ({doc.get('frame_ms')} ms), lookahead {doc.get('lookahead')}, "
        f"algorithmic latency {doc.get('algorithmic_latency_ms')} ms",
    )
    if doc.get("stateful"):
        add("signatures", ", ".join(doc.get("signatures") or [doc.get("signature", "")]))
        states = doc.get("states") or []
        lines.append(f"  states:      {len(states)} (each output feeds its input on the next call)")
        for s in states:
            scale = f", scale {s['scale']:.6g}, zero point {s['zero_point']}" if s.get("scale") else ""
            lines.append(
                f"    {s['name']:<14} {s['output']} -> {s['input']}  {s.get('dtype')} {s.get('shape')}"
                f"{scale}, reset {s.get('initial_value')}"
            )
    level = doc.get("level_normalization")
    if level:
        add(
            "level",
            f"inside the model ({level.get('window_ms')} ms RMS, floor {level.get('floor')}, clip "
            f"{level.get('clip')}): {level.get('contract')}",
        )
    elif "level_normalization" in doc:
        add("level", "none inside the model: feed audio at full scale 1.0 (int16: 32768)")
    return "\n".join(lines)
