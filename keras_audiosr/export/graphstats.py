"""What a ``.tflite`` costs, counted from its graph: multiply-accumulates per invoke and parameters.

MACs are those of the operators that do multiply-accumulate work (elementwise operators, copies and
activations are not counted):

* ``CONV_2D``: output elements x kernel height x kernel width x input channels per group;
* ``DEPTHWISE_CONV_2D``: output elements x kernel height x kernel width;
* ``TRANSPOSE_CONV``: input elements x kernel height x kernel width x output channels;
* ``FULLY_CONNECTED``: output elements x input features;
* ``BATCH_MATMUL``: output elements x the contracted dimension.

Tensor shapes come from the flatbuffer; in a graph with dynamic shapes they are taken from the
interpreter after one invoke on a zero input of the declared shape. Parameters are the elements of
the constant weight and bias inputs of those operators, counted per operator (the converter stores
identical constants, such as zero biases, once; they count for each operator that uses them;
float16 weights are counted through the DEQUANTIZE that feeds them).
"""

from __future__ import annotations

import numpy as np

from keras_audiosr.export.opcheck import operators
from keras_audiosr.streaming.metadata import load_flatbuffer, parse_model

__all__ = ["MAC_OPS", "graph_stats"]

MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED", "BATCH_MATMUL")
# Which operator inputs are weights/biases (constant tensors counted as parameters).
_WEIGHT_INPUTS = {
    "CONV_2D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "FULLY_CONNECTED": (1, 2),
    "TRANSPOSE_CONV": (1, 3),
    "BATCH_MATMUL": (1,),
}


def _resolved_shapes(data: bytes) -> dict[int, tuple]:
    """Tensor index -> shape after one invoke (for graphs with dynamic shapes)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(
        model_content=data,
        num_threads=1,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    for d in interp.get_input_details():
        shape = [1 if s < 0 else int(s) for s in d["shape_signature"]]
        interp.resize_tensor_input(d["index"], shape, strict=False)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    interp.invoke()
    return {int(t["index"]): tuple(int(s) for s in t["shape"]) for t in interp.get_tensor_details()}


def graph_stats(source) -> dict:
    """``{"macs", "macs_by_op", "parameters", "operators"}`` of subgraph 0 (the model's main graph)."""
    data, _ = load_flatbuffer(source)
    model = parse_model(data)
    subgraph = model.subgraphs[0]
    tensors = subgraph.tensors
    ops = [op for op in operators(data) if op[0] == 0]
    dynamic = any(t.shapeSignature is not None and any(int(d) < 0 for d in t.shapeSignature) for t in tensors)
    resolved = _resolved_shapes(data) if dynamic and any(op[2] in MAC_OPS for op in ops) else {}

    def shape(i: int) -> tuple:
        if i in resolved:
            return resolved[i]
        return tuple(int(d) for d in (tensors[i].shape if tensors[i].shape is not None else ()))

    # float16 weights reach their operator through a DEQUANTIZE of the stored constant.
    dequantized = {outs[0]: ins[0] for _, _, name, ins, outs in ops if name == "DEQUANTIZE" and ins and outs}

    def constant(i: int) -> bool:
        t = tensors[i]
        buf = model.buffers[t.buffer] if t.buffer is not None and t.buffer < len(model.buffers) else None
        return buf is not None and buf.data is not None and len(buf.data) > 0

    macs_by_op: dict[str, int] = {}
    params = 0
    for _, _, name, ins, outs in ops:
        if name not in MAC_OPS:
            continue
        out = shape(outs[0])
        n_out = int(np.prod(out)) if out else 1
        if name == "CONV_2D":
            k = shape(ins[1])  # [out_ch, kh, kw, in_ch / groups]
            macs = n_out * k[1] * k[2] * k[3]
        elif name == "DEPTHWISE_CONV_2D":
            k = shape(ins[1])  # [1, kh, kw, out_ch]
            macs = n_out * k[1] * k[2]
        elif name == "TRANSPOSE_CONV":
            k, x = shape(ins[1]), shape(ins[2])  # weights [out_ch, kh, kw, in_ch], input [n, h, w, in_ch]
            macs = int(np.prod(x)) * k[0] * k[1] * k[2]
        elif name == "FULLY_CONNECTED":
            macs = n_out * shape(ins[1])[-1]  # weights [units, in_features]
        else:  # BATCH_MATMUL: the contracted dim is the last of the first operand (adj_x aside)
            macs = n_out * shape(ins[0])[-1]
        macs_by_op[name] = macs_by_op.get(name, 0) + int(macs)
        for j in _WEIGHT_INPUTS[name]:
            if j < len(ins) and ins[j] >= 0:
                source = dequantized.get(ins[j], ins[j])
                if constant(source):
                    params += int(np.prod(shape(ins[j])))
    return {
        "macs": int(sum(macs_by_op.values())),
        "macs_by_op": macs_by_op,
        "parameters": int(params),
        "operators": len(ops),
    }
