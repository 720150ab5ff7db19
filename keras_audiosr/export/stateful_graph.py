"""Surgery on a converted stateful streaming ``.tflite`` (:mod:`keras_audiosr.export.stateful`), and its cost.

:func:`rewire_io` turns the converter's float state inputs and outputs of the integer core into int8
tensors (and, for ``int8-pcm16``, the audio into int16 PCM) by editing the flatbuffer, dropping the
tensors that no operator uses any more; :func:`tflite_macs` counts the multiply-accumulates of one call.
"""

from __future__ import annotations

import numpy as np

from keras_audiosr.streaming.metadata import TFLiteError, parse_model
from keras_audiosr.streaming.runtime import SIGNATURE

__all__ = ["PCM16_SCALE", "rewire_io", "tflite_macs"]

PCM16_SCALE = 1.0 / 32768.0


def _names():
    from ai_edge_litert import schema_py_generated as schema

    ops = vars(schema.BuiltinOperator).items()
    return schema, {v: k for k, v in ops if not k.startswith("_") and isinstance(v, int)}


def _opcode(model, schema, op) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def _opcode_index(model, schema, builtin: int, version: int = 1) -> int:
    for i, code in enumerate(model.operatorCodes):
        if max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) == builtin:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    code.version = version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _signature(model, key=SIGNATURE):
    for sig in model.signatureDefs or []:
        k = sig.signatureKey.decode() if isinstance(sig.signatureKey, bytes) else sig.signatureKey
        if k == key:
            return sig
    raise TFLiteError(f"no {key!r} signature in the converted model")


def _tensor_map(entries) -> dict:
    return {(e.name.decode() if isinstance(e.name, bytes) else e.name): e for e in entries}


def rewire_io(data: bytes, int8_inputs=(), int8_outputs=(), pcm16: bool = False) -> bytes:
    """Flatbuffer surgery on a converted model's boundary (signature names as in :meth:`streaming_model`).

    * ``int8_inputs`` / ``int8_outputs``: drop the ``QUANTIZE`` after (``DEQUANTIZE`` before) each named
      float tensor, so the int8 tensor itself is the model's input (output): int8 state passes
      through the app untouched, at the scale the core uses.
    * ``pcm16``: the audio input ``frame`` and output ``output`` become int16 PCM (scale 1/32768) with
      a ``DEQUANTIZE`` / ``QUANTIZE`` added at the boundary.
    Every input and output tensor is then named as its signature entry (``frame``, ``output``,
    ``<layer>_state``, ``<layer>_state_out``), so runtimes that bind tensors by name without reading
    signatures (Arm NN's TfLite parser) find them; unused tensors are dropped.
    """
    import flatbuffers

    schema, _ = _names()
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    sg = model.subgraphs[0]
    sig = _signature(model)
    ins, outs = _tensor_map(sig.inputs), _tensor_map(sig.outputs)
    ops = list(sg.operators)
    Q, DQ = schema.BuiltinOperator.QUANTIZE, schema.BuiltinOperator.DEQUANTIZE

    def retarget(graph_list, old, new):
        graph_list[list(graph_list).index(old)] = new

    for name in int8_inputs:
        if name not in ins:
            raise TFLiteError(f"rewire_io: no input {name!r} in the signature (have {sorted(ins)})")
        t = ins[name].tensorIndex
        users = [op for op in ops if t in list(op.inputs)]
        if len(users) != 1 or _opcode(model, schema, users[0]) != Q:
            raise TFLiteError(f"rewire_io: input {name!r} does not feed exactly one QUANTIZE (the core's int8 range)")
        q = int(users[0].outputs[0])
        ops.remove(users[0])
        sg.inputs = np.asarray(sg.inputs).copy()
        retarget(sg.inputs, t, q)
        ins[name].tensorIndex = q
        sg.tensors[q].name = sg.tensors[t].name
    for name in int8_outputs:
        if name not in outs:
            raise TFLiteError(f"rewire_io: no output {name!r} in the signature (have {sorted(outs)})")
        t = outs[name].tensorIndex
        producers = [op for op in ops if t in list(op.outputs)]
        if len(producers) != 1 or _opcode(model, schema, producers[0]) != DQ:
            raise TFLiteError(f"rewire_io: output {name!r} is not made by a DEQUANTIZE of the core's int8 tensor")
        src = int(producers[0].inputs[0])
        ops.remove(producers[0])
        sg.outputs = np.asarray(sg.outputs).copy()
        retarget(sg.outputs, t, src)
        outs[name].tensorIndex = src
        sg.tensors[src].name = sg.tensors[t].name
    if pcm16:

        def pcm_tensor(like, name):
            t = schema.TensorT()
            t.shape = np.asarray(like.shape).copy()
            t.shapeSignature = None if like.shapeSignature is None else np.asarray(like.shapeSignature).copy()
            t.type = schema.TensorType.INT16
            t.name = name
            t.buffer = len(model.buffers)
            model.buffers.append(schema.BufferT())
            t.quantization = schema.QuantizationParametersT()
            t.quantization.scale = np.asarray([PCM16_SCALE], np.float32)
            t.quantization.zeroPoint = np.asarray([0], np.int64)
            sg.tensors.append(t)
            return len(sg.tensors) - 1

        def op(code, inputs, outputs):
            o = schema.OperatorT()
            o.opcodeIndex = _opcode_index(model, schema, code)
            o.inputs = np.asarray(inputs, np.int32)
            o.outputs = np.asarray(outputs, np.int32)
            return o

        t_in = ins["frame"].tensorIndex
        p_in = pcm_tensor(sg.tensors[t_in], "frame_pcm16")
        ops.insert(0, op(DQ, [p_in], [t_in]))
        sg.inputs = np.asarray(sg.inputs).copy()
        retarget(sg.inputs, t_in, p_in)
        ins["frame"].tensorIndex = p_in
        t_out = outs["output"].tensorIndex
        p_out = pcm_tensor(sg.tensors[t_out], "output_pcm16")
        ops.append(op(Q, [t_out], [p_out]))
        sg.outputs = np.asarray(sg.outputs).copy()
        retarget(sg.outputs, t_out, p_out)
        outs["output"].tensorIndex = p_out
    sg.operators = ops
    for name, entry in list(ins.items()) + list(outs.items()):
        sg.tensors[entry.tensorIndex].name = name
    _drop_unused_tensors(sg, sig)
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _drop_unused_tensors(sg, sig) -> None:
    used = set(int(i) for i in sg.inputs) | set(int(i) for i in sg.outputs)
    for op in sg.operators:
        used |= {int(i) for i in op.inputs if i >= 0} | {int(i) for i in op.outputs}
    keep = sorted(used)
    new_index = {old: new for new, old in enumerate(keep)}
    sg.tensors = [sg.tensors[i] for i in keep]
    remap = np.vectorize(lambda i: new_index[int(i)] if i >= 0 else -1, otypes=[np.int32])
    for op in sg.operators:
        op.inputs = remap(np.asarray(op.inputs)) if len(op.inputs) else op.inputs
        op.outputs = remap(np.asarray(op.outputs))
    sg.inputs = remap(np.asarray(sg.inputs))
    sg.outputs = remap(np.asarray(sg.outputs))
    for entry in list(sig.inputs) + list(sig.outputs):
        entry.tensorIndex = new_index[int(entry.tensorIndex)]


def tflite_macs(source) -> int:
    """Multiply-accumulates of one invocation, counted from the flatbuffer's tensor shapes:
    CONV_2D (output elements x kernel taps x input channels), DEPTHWISE_CONV_2D (output elements x
    taps), FULLY_CONNECTED (output elements x input features) and MUL (output elements)."""
    schema, names = _names()
    model = parse_model(source)
    total = 0
    for sg in model.subgraphs:
        for op in sg.operators:
            name = names.get(_opcode(model, schema, op), "")
            out = int(np.prod(sg.tensors[op.outputs[0]].shape))
            if name == "CONV_2D":
                _, kh, kw, cin = sg.tensors[op.inputs[1]].shape
                total += out * int(kh) * int(kw) * int(cin)
            elif name == "DEPTHWISE_CONV_2D":
                _, kh, kw, _ = sg.tensors[op.inputs[1]].shape
                total += out * int(kh) * int(kw)
            elif name == "FULLY_CONNECTED":
                total += out * int(sg.tensors[op.inputs[1]].shape[-1])
            elif name == "MUL":
                total += out
    return total
