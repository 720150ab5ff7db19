"""Metadata carried inside each ``.tflite``: rates, frame geometry, quantization, degradation.

The JSON document is stored as a named entry of the flatbuffer's ``metadata`` list (the mechanism
TensorFlow itself uses for its ``CONVERSION_METADATA``): ``Model.metadata[i].name ==
"keras_audiosr"`` points at ``Model.buffers[j].data``, the UTF-8 JSON. Any flatbuffer reader of
the TFLite schema finds it (in Kotlin: ``org.tensorflow.lite.schema.Model`` from the LiteRT metadata
library); a ``<name>.json`` sidecar with the same document is written beside every model for apps
that prefer to ship it as an asset.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["METADATA_NAME", "METADATA_FORMAT", "TFLiteError", "add_metadata", "read_metadata", "load_flatbuffer",
           "parse_model"]

METADATA_NAME = "keras_audiosr"
METADATA_FORMAT = "keras_audiosr.edge/1"
_IDENTIFIER = b"TFL3"


class TFLiteError(ValueError):
    """A ``.tflite`` file that cannot be used (missing, not a TFLite flatbuffer, corrupt); names the file."""


def _schema():
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
    if len(data) < 8 or data[4:8] != _IDENTIFIER:
        raise TFLiteError(f"{name}: not a TFLite model (no 'TFL3' flatbuffer identifier; "
                          f"{len(data)} bytes) -- the file is corrupt, truncated or of another format")
    return data, name


def parse_model(source, what: str | None = None):
    """The flatbuffer as a ``schema.ModelT`` object tree; :class:`TFLiteError` naming the file if it does not parse."""
    data, name = load_flatbuffer(source, what)
    try:
        return _schema().ModelT.InitFromPackedBuf(data, 0)
    except Exception as e:  # flatbuffers raises struct/index errors on damaged buffers
        raise TFLiteError(f"{name}: corrupt or truncated TFLite flatbuffer ({type(e).__name__}: {e})") from e


def add_metadata(tflite: bytes, document: dict, name: str = METADATA_NAME) -> bytes:
    """``tflite`` with ``document`` (JSON) stored as metadata entry ``name``, replacing an older one."""
    import flatbuffers

    schema = _schema()
    model = parse_model(tflite)
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(document, sort_keys=True).encode("utf-8"))
    model.buffers = list(model.buffers or [])
    model.metadata = list(model.metadata or [])
    for entry in model.metadata:
        entry_name = entry.name.decode("utf-8") if isinstance(entry.name, bytes) else entry.name
        if entry_name == name:
            model.buffers[entry.buffer] = buffer
            break
    else:
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model.buffers) - 1
        model.metadata.append(entry)
    builder = flatbuffers.Builder(len(tflite) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=_IDENTIFIER)
    return bytes(builder.Output())


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
    raise TFLiteError(f"{label}: no {name!r} metadata entry (not exported by edge.convert?)")
